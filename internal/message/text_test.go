package message

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestHTMLToText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"<p>Hello&nbsp;<b>World</b></p><p>Second   para\n line</p>", "Hello\u00a0World\nSecond para line"},
		{"<html><head><title>T</title><style>p{color:red}</style></head><body>Hi<br>there</body></html>", "Hi\nthere"},
		{"<script>alert('<p>x</p>')</script>after", "after"},
		{"<!-- comment <p>x</p> -->visible", "visible"},
		{"a &lt; b &amp;&amp; c &gt; d &#233;&eacute;", "a < b && c > d éé"},
		{"<table><tr><td>1</td><td>2</td></tr><tr><td>3</td></tr></table>", "1 2\n3"},
		{"x < y and <3", "x < y and <3"},
		{`<a href="x>y" title='>'>link</a> text`, "link text"},
		{"<A HREF=x>Upper</A><BR>case", "Upper\ncase"},
		{"<p>a</p>\n\n\n<p>b</p>", "a\nb"},
		{"<div>one</div><div></div><div></div><div>two</div>", "one\ntwo"},
		{"<style>unterminated", ""},
		{"<!DOCTYPE html><?xml version='1.0'?>text", "text"},
		{"text <unfinished", "text"},
	}
	for _, tc := range tests {
		if got := htmlToText(tc.in, 1000); got != tc.want {
			t.Errorf("htmlToText(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestText(t *testing.T) {
	msg := crlf(`Content-Type: multipart/mixed; boundary=m

--m
Content-Type: multipart/alternative; boundary=a

--a
Content-Type: text/html; charset=iso-8859-1

<p>HTML caf` + "\xe9" + `</p>
--a
Content-Type: text/plain; charset=iso-8859-1
Content-Transfer-Encoding: quoted-printable

Plain caf=E9
--a--
--m
Content-Type: text/plain; name=notes.txt
Content-Disposition: attachment; filename=notes.txt

attachment text is not body text
--m
Content-Type: image/png
Content-Transfer-Encoding: base64

iVBORw0KGgo=
--m
Content-Type: text/html
Content-Transfer-Encoding: base64

PGh0bWw+PGhlYWQ+PG1ldGEgY2hhcnNldD0id2luZG93cy0xMjUxIj48L2hlYWQ+PGJvZHk+z/Do4uXyPC9ib2R5PjwvaHRtbD4=
--m--
`)
	s := Parse(msg)
	if got, want := Text(msg, s, 1000), "Plain café\nПривет"; got != want {
		t.Errorf("Text = %q, want %q", got, want)
	}
	// The limit cuts on a character boundary.
	for limit := 0; limit < 20; limit++ {
		got := Text(msg, s, limit)
		if len(got) > limit || !utf8.ValidString(got) || !strings.HasPrefix("Plain café\nПривет", got) {
			t.Errorf("Text(limit %d) = %q", limit, got)
		}
	}
}

func TestTextMislabelledBase64(t *testing.T) {
	msg := crlf("Content-Type: text/plain\nContent-Transfer-Encoding: base64\n\nThis is plain text,\nnot base64 at all.\n")
	s := Parse(msg)
	if got := Text(msg, s, 100); got != "This is plain text,\nnot base64 at all." {
		t.Errorf("Text = %q", got)
	}
}

func TestTextEnriched(t *testing.T) {
	msg := crlf("Content-Type: text/enriched\n\n<bold>Now</bold> is the time <<for> all\n")
	if got := Text(msg, Parse(msg), 100); got != "Now is the time <for> all" {
		t.Errorf("Text = %q", got)
	}
}

func TestTextEncodedMessage(t *testing.T) {
	// message/rfc822 in base64 (forbidden by RFC 2046, seen in the wild).
	msg := crlf("Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\n" +
		"U3ViamVjdDogaW5uZXIKQ29udGVudC1UeXBlOiB0ZXh0L2h0bWwKCjxwPmlubmVyIGJvZHk8L3A+Cg==\n")
	s := Parse(msg)
	if s.Root.Envelope != nil || len(s.Root.Parts) != 0 {
		t.Errorf("encoded message/rfc822 should be a leaf: %s", sketch(&s.Root))
	}
	if got := Text(msg, s, 100); got != "inner body" {
		t.Errorf("Text = %q", got)
	}
}

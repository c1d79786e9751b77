package message

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"mailhouse/internal/testutil"
)

const mixedWithAttachment = `From: Alice Example <alice@example.org>
To: bob@example.net
Subject: Report
Date: Mon, 2 Jan 2006 15:04:05 -0700
Message-ID: <m1@example.org>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="XYZ"

This is a multi-part message in MIME format.

--XYZ
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

Hello Bob,=20
see the attached r=C3=A9sum=C3=A9.
--XYZ
Content-Type: application/pdf; name="cv.pdf"
Content-Transfer-Encoding: base64
Content-Disposition: attachment; filename="cv.pdf"; size=5
Content-ID: <cv@example.org>
Content-Description: my CV

JVBERi0=
--XYZ--
epilogue
`

func TestParseMultipartMixedAttachment(t *testing.T) {
	msg := crlf(mixedWithAttachment)
	s := Parse(msg)

	want := "multipart/mixed(text/plain;charset=utf-8 QUOTED-PRINTABLE 49b 1l, " +
		"application/pdf;name=cv.pdf BASE64 8b attachment;filename=cv.pdf;size=5 id=<cv@example.org>)"
	if got := sketch(&s.Root); got != want {
		t.Errorf("structure\n got %s\nwant %s", got, want)
	}
	if got, want := s.HeaderSize, int64(strings.Index(string(msg), "\r\n\r\n")+4); got != want {
		t.Errorf("HeaderSize = %d, want %d", got, want)
	}

	text, ok := s.PartAt([]int{1})
	if !ok {
		t.Fatal("part 1 missing")
	}
	if got := string(text.Body(msg)); got != "Hello Bob,=20\r\nsee the attached r=C3=A9sum=C3=A9." {
		t.Errorf("BODY[1] = %q", got)
	}
	if got := string(text.Header(msg)); got != "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" {
		t.Errorf("BODY[1.MIME] = %q", got)
	}
	dec, err := text.Decoded(msg)
	if err != nil || string(dec) != "Hello Bob, \r\nsee the attached résumé." {
		t.Errorf("BINARY[1] = %q, %v", dec, err)
	}

	pdf, ok := s.PartAt([]int{2})
	if !ok {
		t.Fatal("part 2 missing")
	}
	if pdf.Filename() != "cv.pdf" || pdf.Description != "my CV" {
		t.Errorf("attachment: filename %q, description %q", pdf.Filename(), pdf.Description)
	}
	if dec, err := pdf.Decoded(msg); err != nil || string(dec) != "%PDF-" {
		t.Errorf("BINARY[2] = %q, %v", dec, err)
	}
	if _, ok := s.PartAt([]int{3}); ok {
		t.Error("part 3 should not exist")
	}
	if _, ok := s.PartAt([]int{1, 1}); ok {
		t.Error("part 1.1 of a text part should not exist")
	}

	e := s.Envelope
	if e.Subject != "Report" || e.MessageID != "<m1@example.org>" || e.Date != "Mon, 2 Jan 2006 15:04:05 -0700" {
		t.Errorf("envelope strings: %+v", e)
	}
	if got := addrs(e.From); got != "Alice Example <alice@example.org>" {
		t.Errorf("From = %s", got)
	}
	if addrs(e.Sender) != addrs(e.From) || addrs(e.ReplyTo) != addrs(e.From) {
		t.Errorf("Sender/Reply-To should default to From: %s / %s", addrs(e.Sender), addrs(e.ReplyTo))
	}
	if !s.Date.Equal(time.Date(2006, 1, 2, 22, 4, 5, 0, time.UTC)) {
		t.Errorf("Date = %v", s.Date)
	}
	if _, off := s.Date.Zone(); off != -7*3600 {
		t.Errorf("Date zone offset = %d", off)
	}
	if got := Text(msg, s, 1000); got != "Hello Bob, \nsee the attached résumé." {
		t.Errorf("Text = %q", got)
	}
}

const nestedRFC822 = `From: list@example.org
Subject: Fwd: digest
Content-Type: multipart/mixed; boundary=outer

--outer
Content-Type: text/plain

See below.
--outer
Content-Type: message/rfc822
Content-Disposition: inline

From: =?iso-8859-1?q?J=F6rg?= <joerg@example.de>
To: undisclosed-recipients:;
Cc: Team: ann@example.com, "Bo, B." <bo@example.com>;, carl@example.com
Subject: =?utf-8?b?w5xiZXI=?= it
Date: 1 Feb 2007 01:02:03 +0200
Message-ID: <inner@example.de>
In-Reply-To: <parent@example.de>
Content-Type: multipart/alternative; boundary="inner"

--inner
Content-Type: text/plain; charset=iso-8859-1
Content-Transfer-Encoding: 8bit

Gr` + "\xfc\xdf" + `e
--inner
Content-Type: text/html

<p>Gr&uuml;&szlig;e</p>
--inner--

--outer
Content-Type: message/rfc822

Subject: bare

just text
--outer--
`

func TestParseNestedMessage(t *testing.T) {
	msg := crlf(nestedRFC822)
	s := Parse(msg)
	want := "multipart/mixed(text/plain 7BIT 10b 0l, " +
		"message/rfc822 7BIT 512b 19l inline {multipart/alternative(text/plain;charset=iso-8859-1 8BIT 5b 0l, text/html 7BIT 23b 0l)}, " +
		"message/rfc822 7BIT 26b 2l {text/plain;charset=us-ascii 7BIT 9b 0l})"
	if got := sketch(&s.Root); got != want {
		t.Errorf("structure\n got %s\nwant %s", got, want)
	}

	fwd, _ := s.PartAt([]int{2})
	env := fwd.Envelope
	if env == nil {
		t.Fatal("message/rfc822 part without envelope")
	}
	if got := addrs(env.From); got != "Jörg <joerg@example.de>" {
		t.Errorf("inner From = %s", got)
	}
	if env.To != nil {
		t.Errorf("an empty group is left out of ENVELOPE, got To = %s", addrs(env.To))
	}
	if got := addrs(env.Cc); got != `Team:, ann@example.com, Bo, B. <bo@example.com>, ;, carl@example.com` {
		t.Errorf("inner Cc = %s", got)
	}
	if env.Subject != "=?utf-8?b?w5xiZXI=?= it" || env.SubjectDecoded != "Über it" {
		t.Errorf("inner Subject = %q / %q", env.Subject, env.SubjectDecoded)
	}
	if env.InReplyTo != "<parent@example.de>" || env.MessageID != "<inner@example.de>" {
		t.Errorf("inner ids: %q %q", env.InReplyTo, env.MessageID)
	}

	// RFC 9051 §6.4.5 numbering: 2 is the message/rfc822 part, 2.1 and 2.2
	// the parts of its multipart body; 3.1 is the non-multipart body of the
	// third part's message.
	for path, want := range map[string]string{
		"2.1": "Gr\xfc\xdfe",
		"2.2": "<p>Gr&uuml;&szlig;e</p>",
		"3.1": "just text",
	} {
		p, ok := s.PartAt(parsePath(path))
		if !ok {
			t.Errorf("part %s missing", path)
			continue
		}
		if got := string(p.Body(msg)); got != want {
			t.Errorf("BODY[%s] = %q, want %q", path, got, want)
		}
	}
	p21, _ := s.PartAt([]int{2, 1})
	if got, err := p21.DecodedText(msg); err != nil || got != "Grüße" {
		t.Errorf("DecodedText(2.1) = %q, %v", got, err)
	}
	inner := &fwd.Parts[0]
	if got := string(inner.Header(msg)); !strings.HasPrefix(got, "From: =?iso") || !strings.HasSuffix(got, "boundary=\"inner\"\r\n\r\n") {
		t.Errorf("BODY[2.HEADER] = %q", got)
	}
	if _, ok := s.PartAt([]int{2, 3}); ok {
		t.Error("part 2.3 should not exist")
	}
	if got := Text(msg, s, 1000); got != "See below.\nGrüße\njust text" {
		t.Errorf("Text = %q", got)
	}

	var paths []string
	s.Walk(func(path []int, p *Part) bool {
		paths = append(paths, formatPath(path)+"="+p.Type+"/"+p.Subtype)
		return true
	})
	wantPaths := "=multipart/mixed 1=text/plain 2=message/rfc822 =multipart/alternative 2.1=text/plain 2.2=text/html 3=message/rfc822 3.1=text/plain"
	if got := strings.Join(paths, " "); got != wantPaths {
		t.Errorf("Walk\n got %s\nwant %s", got, wantPaths)
	}
}

func parsePath(s string) []int {
	var out []int
	for _, f := range strings.Split(s, ".") {
		n, _ := strconv.Atoi(f)
		out = append(out, n)
	}
	return out
}

func formatPath(p []int) string {
	var f []string
	for _, n := range p {
		f = append(f, strconv.Itoa(n))
	}
	return strings.Join(f, ".")
}

func TestParseStructures(t *testing.T) {
	tests := []struct {
		name, msg, want string
	}{
		{
			name: "no header at all",
			msg:  "just a line\nand another\n",
			want: "text/plain;charset=us-ascii 7BIT 24b 2l",
		},
		{
			name: "header without body",
			msg:  "Subject: x\n",
			want: "text/plain;charset=us-ascii 7BIT 0b 0l",
		},
		{
			name: "multipart without boundary parameter reads as text",
			msg:  "Content-Type: multipart/mixed\n\n--x\n\nbody\n",
			want: "text/plain;charset=us-ascii 7BIT 10b 3l",
		},
		{
			name: "boundary never used reads as text, charset kept",
			msg:  "Content-Type: multipart/mixed; boundary=a; charset=utf-8\n\nhello\n",
			want: "text/plain;charset=utf-8 7BIT 6b 1l",
		},
		{
			name: "unterminated multipart runs to the end",
			msg:  "Content-Type: multipart/mixed; boundary=a\n\n--a\n\none\n--a\nContent-Type: text/html\n\ntwo\n",
			want: "multipart/mixed(text/plain;charset=us-ascii 7BIT 3b 0l, text/html 7BIT 4b 1l)",
		},
		{
			name: "transport padding after boundaries, preamble and epilogue",
			msg:  "Content-Type: multipart/mixed; boundary=\"b\"\n\npre\n--b \t\n\none\n--b--  \nepi\n--b\n\nnot a part\n",
			want: "multipart/mixed(text/plain;charset=us-ascii 7BIT 3b 0l)",
		},
		{
			name: "boundary prefix of a longer line is not a delimiter",
			msg:  "Content-Type: multipart/mixed; boundary=b\n\n--b\n\n--bb is text\n--b--\n",
			want: "multipart/mixed(text/plain;charset=us-ascii 7BIT 12b 0l)",
		},
		{
			name: "digest parts default to message/rfc822",
			msg:  "Content-Type: multipart/digest; boundary=d\n\n--d\n\nSubject: one\n\n1\n--d\nContent-Type: text/plain\n\n2\n--d--\n",
			want: "multipart/digest(message/rfc822 7BIT 15b 2l {text/plain;charset=us-ascii 7BIT 1b 0l}, text/plain 7BIT 1b 0l)",
		},
		{
			name: "base64 message/rfc822 is a leaf",
			msg:  "Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\nU3ViamVjdDogeAoKeQo=\n",
			want: "message/rfc822 BASE64 21b 1l",
		},
		{
			name: "message/global encloses a message",
			msg:  "Content-Type: message/global\n\nSubject: =?utf-8?q?x?=\n\nbody\n",
			want: "message/global 7BIT 29b 3l {text/plain;charset=us-ascii 7BIT 5b 1l}",
		},
		{
			name: "invalid content type falls back to text/plain",
			msg:  "Content-Type: text\nContent-Transfer-Encoding: Base64 (comment)\n\naGk=\n",
			want: "text/plain;charset=us-ascii BASE64 5b 1l",
		},
		{
			name: "missing semicolon before parameter",
			msg:  "Content-Type: text/html charset=\"utf-8\"\n\n<b>x</b>\n",
			want: "text/html;charset=utf-8 7BIT 9b 1l",
		},
		{
			name: "unwrapped continuation of a part header",
			msg: "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: application/zip;\nname=\"a.zip\"\n" +
				"Content-Disposition: attachment\n\nUEsDBA==\n--b--\n",
			want: "multipart/mixed(application/zip;name=a.zip 7BIT 8b attachment)",
		},
		{
			name: "mbox From_ line before the header",
			msg:  "From someone@example.org Mon Jan  2 15:04:05 2006\nSubject: hi\nContent-Type: text/html\n\n<p>x</p>\n",
			want: "text/html 7BIT 9b 1l",
		},
		{
			name: "outer boundary closes an unterminated inner multipart",
			msg: "Content-Type: multipart/mixed; boundary=out\n\n--out\nContent-Type: multipart/alternative; boundary=in\n\n" +
				"--in\n\na\n--out\n\nb\n--out--\n",
			want: "multipart/mixed(multipart/alternative(text/plain;charset=us-ascii 7BIT 1b 0l), text/plain;charset=us-ascii 7BIT 1b 0l)",
		},
		{
			name: "header ended by the next boundary",
			msg:  "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/html\n--b\n\nx\n--b--\n",
			want: "multipart/mixed(text/html 7BIT 0b 0l, text/plain;charset=us-ascii 7BIT 1b 0l)",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, form := range []struct {
				name string
				msg  []byte
			}{{"LF", []byte(tc.msg)}, {"CRLF", crlf(tc.msg)}} {
				s := Parse(form.msg)
				got := sketch(&s.Root)
				want := tc.want
				if form.name == "CRLF" {
					want = crlfSizes(t, form.msg, s)
					got = sketch(&s.Root)
				}
				if got != want {
					t.Errorf("%s:\n got %s\nwant %s", form.name, got, want)
				}
				checkInvariants(t, form.msg, s)
			}
		})
	}
}

// crlfSizes returns the sketch expected for the CRLF form: the same tree
// as the LF form, with sizes grown by one octet per line.
func crlfSizes(t *testing.T, msg []byte, s *Structure) string {
	t.Helper()
	lf := Parse([]byte(strings.ReplaceAll(string(msg), "\r\n", "\n")))
	var fix func(a, b *Part)
	fix = func(a, b *Part) {
		if a.Lines != b.Lines || len(a.Parts) != len(b.Parts) {
			t.Errorf("LF and CRLF forms differ in lines or parts: %s vs %s", sketch(a), sketch(b))
			return
		}
		lines := int64(strings.Count(string(b.Body(msg)), "\n"))
		if got, want := b.Size(), a.Size()+lines; got != want {
			t.Errorf("CRLF size %d, want %d (LF size %d + %d lines)", got, want, a.Size(), lines)
		}
		for i := range a.Parts {
			fix(&a.Parts[i], &b.Parts[i])
		}
	}
	fix(&lf.Root, &s.Root)
	return sketch(&s.Root)
}

// TestImaptestExpectations checks our structure against the responses
// dovecot/imaptest expects for its messages (src/tests/*), stored with
// CRLF as the server stores them.
func TestImaptestExpectations(t *testing.T) {
	read := func(name string) []byte {
		t.Helper()
		dir := filepath.Dir(testutil.CorpusFiles(t)[0])
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return ToCRLF(b)
	}

	t.Run("fetch-bodystructure", func(t *testing.T) {
		// ("TEXT" "x-MYOWN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 7 1) "MIXED"
		s := Parse(read("imaptest__fetch-bodystructure.eml"))
		if got := sketch(&s.Root); got != "multipart/mixed(text/x-myown;charset=us-ascii 7BIT 7b 1l)" {
			t.Errorf("got %s", got)
		}
		if b := paramValue(s.Root.Params, "boundary"); b != "foo bar" {
			t.Errorf("folded quoted boundary = %q, want \"foo bar\"", b)
		}
	})

	t.Run("fetch-binary-mime-base64", func(t *testing.T) {
		msg := read("imaptest__fetch-binary-mime-base64.eml")
		s := Parse(msg)
		for n, want := range []string{"hello world", "hello world", "hello to you too", "hello to everyone!", "abcdefg\rhijkl\r\nmno\npqrstuvqxyz"} {
			p, _ := s.PartAt([]int{n + 1})
			got, err := p.Decoded(msg)
			if err != nil || string(got) != want {
				t.Errorf("BINARY[%d] = %q, %v; want %q", n+1, got, err, want)
			}
		}
	})

	t.Run("fetch-binary-mime-qp", func(t *testing.T) {
		msg := read("imaptest__fetch-binary-mime-qp.eml")
		s := Parse(msg)
		p, _ := s.PartAt([]int{1})
		got, err := p.Decoded(msg)
		want := "hello\r\nbar\r\nfoo\tbar\r\nfoo\t \tb\r\nfoo bar\r\nfoo b\r\nfoo\r\nbar\r\nfoo_bar\r\n"
		if err != nil || string(got) != want || len(got) != 65 {
			t.Errorf("BINARY[1] = %q (%d octets), %v; want %q (65)", got, len(got), err, want)
		}
	})

	t.Run("fetch-body-message-rfc822-mime", func(t *testing.T) {
		msg := read("imaptest__fetch-body-message-rfc822-mime.eml")
		s := Parse(msg)
		for path, want := range map[string]string{
			"1.1.MIME":   "\r\n",
			"1.2.MIME":   "X-Mime: m2 header\r\n\r\n",
			"1.1.HEADER": "From: m1@example.com\r\nSubject: m1\r\n\r\n",
			"1.1.TEXT":   "m1 body\r\n",
			"1.2":        "From: m2@example.com\r\nSubject: m2\r\n\r\nm2 body\r\n",
			"1.HEADER":   "From: sub@domain.org\r\nDate: Sun, 12 Aug 2012 12:34:56 +0300\r\nSubject: submsg\r\nContent-Type: multipart/digest; boundary=\"foo\"\r\n\r\n",
		} {
			if got := section(t, msg, s, path); got != want {
				t.Errorf("BODY[%s] = %q, want %q", path, got, want)
			}
		}
	})

	t.Run("fetch-body-message-rfc822-x2", func(t *testing.T) {
		msg := read("imaptest__fetch-body-message-rfc822-x2.eml")
		s := Parse(msg)
		for path, want := range map[string]string{
			"1.1":        "From: sub@domain.org\r\nDate: Sun, 12 Aug 2012 12:34:56 +0300\r\nSubject: submsg\r\n\r\nHello world\r\n",
			"1.1.1":      "Hello world\r\n",
			"1.1.HEADER": "From: sub@domain.org\r\nDate: Sun, 12 Aug 2012 12:34:56 +0300\r\nSubject: submsg\r\n\r\n",
			"1.TEXT":     "From: sub@domain.org\r\nDate: Sun, 12 Aug 2012 12:34:56 +0300\r\nSubject: submsg\r\n\r\nHello world\r\n",
		} {
			if got := section(t, msg, s, path); got != want {
				t.Errorf("BODY[%s] = %q, want %q", path, got, want)
			}
		}
	})

	t.Run("fetch-envelope", func(t *testing.T) {
		for _, tc := range []struct{ file, from, sender, to, cc string }{
			{"imaptest__fetch-envelope-2.eml", "user@domain", "user@domain", "", ""},
			{"imaptest__fetch-envelope-4.eml", "Real Name <user@domain>", "Real Name <user@domain>",
				"group:, g1@d1.org, g2@d2.org, ;, group2:, g3@d3.org, ;", ""},
			{"imaptest__fetch-envelope-5.eml", "Real Name <user@domain>", "Real Name <user@domain>", "", ""},
			{"imaptest__fetch-envelope-6.eml", "@route:user@domain", "@route:user@domain", "", ""},
		} {
			e := Parse(read(tc.file)).Envelope
			if addrs(e.From) != tc.from || addrs(e.Sender) != tc.sender || addrs(e.ReplyTo) != tc.sender ||
				addrs(e.To) != tc.to || addrs(e.Cc) != tc.cc {
				t.Errorf("%s: from %q sender %q reply-to %q to %q cc %q", tc.file,
					addrs(e.From), addrs(e.Sender), addrs(e.ReplyTo), addrs(e.To), addrs(e.Cc))
			}
		}
	})
}

// section resolves an IMAP section spec the way imapd will.
func section(t *testing.T, msg []byte, s *Structure, spec string) string {
	t.Helper()
	var nums []int
	rest := spec
	for rest != "" && rest[0] >= '0' && rest[0] <= '9' {
		n := 0
		for rest != "" && rest[0] >= '0' && rest[0] <= '9' {
			n = n*10 + int(rest[0]-'0')
			rest = rest[1:]
		}
		nums = append(nums, n)
		rest = strings.TrimPrefix(rest, ".")
	}
	p, ok := s.PartAt(nums)
	if !ok {
		t.Fatalf("no part %s", spec)
	}
	switch rest {
	case "":
		return string(p.Body(msg))
	case "MIME":
		return string(p.Header(msg))
	case "HEADER", "TEXT":
		m := p
		if len(nums) > 0 {
			if p.Envelope == nil {
				t.Fatalf("%s: not a message part", spec)
			}
			m = &p.Parts[0]
		}
		if rest == "HEADER" {
			return string(m.Header(msg))
		}
		return string(m.Body(msg))
	}
	t.Fatalf("bad spec %s", spec)
	return ""
}

package imapwire

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// readAll reads one command from text with generous limits.
func readOne(t *testing.T, text string, limit int64) (*Raw, error, int) {
	t.Helper()
	conts := 0
	r := NewReader(bufio.NewReaderSize(iotest.OneByteReader(strings.NewReader(text)), 16), ReaderOptions{
		MaxLine:      200,
		LiteralLimit: func([]byte) int64 { return limit },
		Continue:     func() error { conts++; return nil },
	})
	raw, err := r.ReadCommand()
	return raw, err, conts
}

func parse(t *testing.T, text string) (*Command, error) {
	t.Helper()
	raw, err, _ := readOne(t, text, 1<<20)
	if err != nil {
		t.Fatalf("read %q: %v", text, err)
	}
	return Parse(raw, Options{MaxDepth: 8})
}

func TestLiteralsAcrossReads(t *testing.T) {
	// One byte per read: the literal, its CRLF and the following line
	// arrive in pieces.
	raw, err, conts := readOne(t, "a1 LOGIN {5}\r\nalice {3+}\r\nx\"y\r\n", 100)
	if err != nil {
		t.Fatal(err)
	}
	if conts != 1 {
		t.Errorf("continuation requests = %d, want 1 (only for the synchronising literal)", conts)
	}
	cmd, err := Parse(raw, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if string(cmd.User) != "alice" || string(cmd.Password) != `x"y` {
		t.Errorf("user %q password %q", cmd.User, cmd.Password)
	}
}

func TestLiteralLimit(t *testing.T) {
	// A synchronising literal over the limit: refused, not fatal, no "+".
	_, err, conts := readOne(t, "a APPEND INBOX {1000}\r\n", 10)
	var re *ReadError
	if !errors.As(err, &re) || re.Fatal || re.Code != "TOOBIG" || re.Tag != "a" || conts != 0 {
		t.Fatalf("sync over limit: err %v conts %d", err, conts)
	}
	// LITERAL+ over the limit: fatal before any of the data is read.
	src := &countReader{r: strings.NewReader("b APPEND INBOX {1000+}\r\n" + strings.Repeat("x", 1000))}
	r := NewReader(bufio.NewReaderSize(src, 16), ReaderOptions{MaxLine: 100, LiteralLimit: func([]byte) int64 { return 10 }})
	_, err = r.ReadCommand()
	if !errors.As(err, &re) || !re.Fatal || re.Tag != "b" {
		t.Fatalf("non-sync over limit: %v", err)
	}
	if src.n > 100 {
		t.Errorf("read %d bytes: the literal's data was read", src.n)
	}
}

type countReader struct {
	r io.Reader
	n int
}

func (c *countReader) Read(p []byte) (int, error) {
	if len(p) > 16 {
		p = p[:16]
	}
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func TestLineTooLong(t *testing.T) {
	r := NewReader(bufio.NewReaderSize(strings.NewReader("x1 NOOP "+strings.Repeat("a", 500)+"\r\nx2 NOOP\r\n"), 64), ReaderOptions{MaxLine: 100})
	_, err := r.ReadCommand()
	var re *ReadError
	if !errors.As(err, &re) || re.Fatal || re.Tag != "x1" {
		t.Fatalf("got %v", err)
	}
	raw, err := r.ReadCommand()
	if err != nil || string(raw.Lines[0]) != "x2 NOOP" {
		t.Fatalf("next command: %v %v", raw, err)
	}
}

func TestParseCommands(t *testing.T) {
	for _, tc := range []struct {
		in    string
		check func(c *Command) bool
	}{
		{"a CAPABILITY\r\n", func(c *Command) bool { return c.Name == "CAPABILITY" }},
		{"a login alice@example.test \"p w\"\r\n", func(c *Command) bool { return string(c.Password) == "p w" }},
		{"a AUTHENTICATE PLAIN AGFsaWNlAHB3\r\n", func(c *Command) bool { return c.HasInitial && c.Mechanism == "PLAIN" }},
		{"a AUTHENTICATE PLAIN =\r\n", func(c *Command) bool { return string(c.InitialRes) == "=" }},
		{"a SELECT INBOX (CONDSTORE)\r\n", func(c *Command) bool { return c.SelectParams[0] == "CONDSTORE" }},
		{"a CREATE Foo (USE (\\Sent))\r\n", func(c *Command) bool { return c.CreateUse[0] == `\Sent` }},
		{"a RENAME a b\r\n", func(c *Command) bool { return c.Mailbox == "a" && c.Dest == "b" }},
		{"a LIST \"\" *\r\n", func(c *Command) bool { return c.List.Patterns[0] == "*" }},
		{"a LIST (SUBSCRIBED) \"\" (INBOX \"%\") RETURN (CHILDREN STATUS (MESSAGES UNSEEN))\r\n", func(c *Command) bool {
			return len(c.List.Patterns) == 2 && c.List.StatusItems[1] == "UNSEEN" && c.List.SelectOpts[0] == "SUBSCRIBED"
		}},
		{"a LSUB \"\" %/%\r\n", func(c *Command) bool { return c.List.Patterns[0] == "%/%" }},
		{"a STATUS INBOX (MESSAGES UIDNEXT SIZE)\r\n", func(c *Command) bool { return len(c.StatusItems) == 3 }},
		{"a APPEND INBOX (\\Seen) \" 1-Feb-2024 10:00:00 +0100\" {3}\r\nabc\r\n", func(c *Command) bool {
			return string(c.Append.Data) == "abc" && c.Append.Flags[0] == `\Seen` && c.Append.Date.Day() == 1
		}},
		{"a APPEND INBOX ~{3}\r\na\x00c\r\n", func(c *Command) bool { return c.Append.Binary }},
		{"a UID FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (From Subject)]<0.100>)\r\n", func(c *Command) bool {
			it := c.Fetch.Items[1]
			return c.UID && it.Peek && it.Section.Specifier == "HEADER.FIELDS" && it.Count == 100 &&
				it.ResponseName() == "BODY[HEADER.FIELDS (FROM SUBJECT)]<0>"
		}},
		{"a FETCH 2,4:6 FULL\r\n", func(c *Command) bool { return len(c.Fetch.Items) == 5 && len(c.Seq.Ranges) == 2 }},
		{"a FETCH * BODY[1.2.MIME]\r\n", func(c *Command) bool { return c.Fetch.Items[0].Section.String() == "1.2.MIME" }},
		{"a FETCH $ (BINARY.PEEK[1]<5.10> BINARY.SIZE[2] BODY)\r\n", func(c *Command) bool {
			return c.Seq.Saved && c.Fetch.Items[2].Name == "BODY.STRUCTURE"
		}},
		{"a FETCH 1 (FLAGS) (CHANGEDSINCE 5)\r\n", func(c *Command) bool { return c.Fetch.ChangedSince == 5 }},
		{"a STORE 1:3 +FLAGS.SILENT (\\deleted $Junk)\r\n", func(c *Command) bool {
			return c.Store.Op == '+' && c.Store.Silent && c.Store.Flags[0] == `\Deleted`
		}},
		{"a STORE 1 (UNCHANGEDSINCE 7) FLAGS \\Seen\r\n", func(c *Command) bool { return c.Store.UnchangedSince == 7 }},
		{"a UID MOVE 1:5 Archive\r\n", func(c *Command) bool { return c.Dest == "Archive" }},
		{"a UID EXPUNGE 3\r\n", func(c *Command) bool { return c.UID && c.Seq.Ranges[0].Start == 3 }},
		{"a SEARCH RETURN (MIN COUNT) CHARSET UTF-8 OR (FROM x SEEN) NOT TEXT {3}\r\nfoo UID 1:*\r\n", func(c *Command) bool {
			k := c.Search.Key.Children
			return c.Search.Charset == "UTF-8" && len(k) == 2 && k[0].Op == "OR" && k[0].Children[1].Children[0].Value == "foo"
		}},
		{"a SEARCH SINCE 1-Jan-2020 LARGER 100 HEADER X-Foo \"\" 1:3,5\r\n", func(c *Command) bool {
			k := c.Search.Key.Children
			return k[0].Date.Year() == 2020 && k[1].N == 100 && k[2].Field == "X-FOO" && k[3].Op == "SEQ"
		}},
		{"a ID (\"name\" \"x\" \"version\" NIL)\r\n", func(c *Command) bool { return len(c.ID) == 2 && c.ID[1].Nil }},
		{"a ENABLE UTF8=ACCEPT CONDSTORE\r\n", func(c *Command) bool { return c.Caps[0] == "UTF8=ACCEPT" }},
		{"a SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))\r\n", func(c *Command) bool {
			q := c.QResync
			return q.UIDValidity == 67890007 && q.ModSeq == 20050715194045000 && q.HasKnownUIDs && len(q.KnownUIDs.Ranges) == 3 && !q.HasSeqMatch
		}},
		{"a EXAMINE INBOX (CONDSTORE QRESYNC (6 9 1:29997 (5000,7500 15000,22500)))\r\n", func(c *Command) bool {
			q := c.QResync
			return c.SelectParams[0] == "CONDSTORE" && q.HasSeqMatch && q.SeqMatchUIDs.Ranges[1].Start == 22500 && q.KnownUIDs.Ranges[0].Stop == 29997
		}},
		{"a SELECT INBOX (QRESYNC (1 2 (1:3 4:6)))\r\n", func(c *Command) bool {
			return !c.QResync.HasKnownUIDs && c.QResync.HasSeqMatch
		}},
		{"a SELECT INBOX (QRESYNC (1 2))\r\n", func(c *Command) bool { return c.QResync.ModSeq == 2 }},
		{"a SORT (REVERSE DATE subject) UTF-8 ALL\r\n", func(c *Command) bool {
			s := c.Sort
			return len(s.Criteria) == 2 && s.Criteria[0] == SortCriterion{"DATE", true} && s.Criteria[1].Key == "SUBJECT" && s.Charset == "UTF-8"
		}},
		{"a UID SORT (DISPLAYFROM) us-ascii UNSEEN FROM x\r\n", func(c *Command) bool {
			return c.UID && c.Sort.Charset == "US-ASCII" && len(c.Sort.Key.Children) == 2
		}},
		{"a UID THREAD references UTF-8 SINCE 1-Jan-2020\r\n", func(c *Command) bool {
			return c.UID && c.Thread.Algorithm == "REFERENCES" && c.Thread.Key.Children[0].Op == "SINCE"
		}},
		{"a GETQUOTAROOT INBOX\r\n", func(c *Command) bool { return c.Mailbox == "INBOX" }},
		{"a GETQUOTA \"\"\r\n", func(c *Command) bool { return c.Name == "GETQUOTA" && c.QuotaRoot == "" }},
		{"a SETQUOTA \"\" (STORAGE 512 message 10)\r\n", func(c *Command) bool {
			return len(c.QuotaLimits) == 2 && c.QuotaLimits[1] == QuotaLimit{"MESSAGE", 10}
		}},
		{"a COMPRESS deflate\r\n", func(c *Command) bool { return c.Mechanism == "DEFLATE" }},
	} {
		c, err := parse(t, tc.in)
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if !tc.check(c) {
			t.Errorf("%q: parsed wrongly: %+v", tc.in, c)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, in := range []string{
		"\r\n", "a\r\n", "a FOO\r\n", "a LOGIN x\r\n", "a FETCH 0 FLAGS\r\n", "a FETCH 1 (FLAGS\r\n",
		"a FETCH 1 BODY[1.MIMEX]\r\n", "a SEARCH ((((((((((ALL))))))))))\r\n", "a SEARCH NOT NOT NOT NOT NOT NOT NOT NOT NOT ALL\r\n",
		"a STORE 1 FLAGS (\\Seen\r\n", "a SELECT \"INBOX\r\n", "a NOOP extra\r\n", "a UID NOOP\r\n",
		"a APPEND INBOX (\\Seen)\r\n", "a SEARCH SINCE 32-Jan-2020\r\n", "+ NOOP\r\n",
		"a SELECT INBOX (QRESYNC (0 1))\r\n", "a SELECT INBOX (QRESYNC (1 2 $))\r\n", "a SELECT INBOX (QRESYNC (1 2 1:3 (1:2)))\r\n",
		"a SELECT INBOX (QRESYNC)\r\n", "a SORT () UTF-8 ALL\r\n", "a SORT (FOO) UTF-8 ALL\r\n", "a SORT (DATE) ALL\r\n",
		"a SORT (REVERSE) UTF-8 ALL\r\n", "a THREAD REFERENCES\r\n", "a SETQUOTA \"\" (STORAGE)\r\n", "a COMPRESS\r\n",
		"a UID GETQUOTA \"\"\r\n",
	} {
		c, err := parse(t, in)
		if err == nil {
			t.Errorf("%q: no error", in)
		}
		if strings.HasPrefix(in, "a ") && c.Tag != "a" {
			t.Errorf("%q: tag %q", in, c.Tag)
		}
	}
}

func TestUTF7(t *testing.T) {
	for _, tc := range []struct{ utf8, utf7 string }{
		{"INBOX", "INBOX"},
		{"Entwürfe", "Entw&APw-rfe"},
		{"~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"},
		{"A&B", "A&-B"},
		{"😀 smile", "&2D3eAA- smile"},
	} {
		if got := EncodeUTF7(tc.utf8); got != tc.utf7 {
			t.Errorf("EncodeUTF7(%q) = %q, want %q", tc.utf8, got, tc.utf7)
		}
		if got, err := DecodeUTF7(tc.utf7); err != nil || got != tc.utf8 {
			t.Errorf("DecodeUTF7(%q) = %q, %v", tc.utf7, got, err)
		}
	}
	for _, bad := range []string{"&", "&AGE", "&AGE-&AGE-", "&AEE-", "Entwürfe", "&2D3-", "&001-", "&\n000-"} {
		if _, err := DecodeUTF7(bad); err == nil {
			t.Errorf("DecodeUTF7(%q): no error", bad)
		}
	}
}

func TestEncode(t *testing.T) {
	if got := string(AppendString(nil, "a\"b", false)); got != `"a\"b"` {
		t.Error(got)
	}
	if got := string(AppendString(nil, "a\r\nb", false)); got != "{4}\r\na\r\nb" {
		t.Error(got)
	}
	if got := string(AppendString(nil, "ü", false)); got != "{2}\r\nü" {
		t.Error(got)
	}
	if got := string(AppendString(nil, "ü", true)); got != `"ü"` {
		t.Error(got)
	}
	if got := string(AppendAString(nil, "nil", false)); got != `"nil"` {
		t.Error(got)
	}
	d := time.Date(2024, 2, 1, 10, 0, 0, 0, time.FixedZone("", 3600))
	if got := string(AppendDateTime(nil, d)); got != `" 1-Feb-2024 10:00:00 +0100"` {
		t.Error(got)
	}
	if got := FormatSet([]uint32{1, 2, 3, 7, 9, 10}); got != "1:3,7,9:10" {
		t.Error(got)
	}
}

// FuzzCommand reads and parses arbitrary input; nothing may panic, and
// what parses must read back the same after re-encoding its mailbox.
func FuzzCommand(f *testing.F) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewReader(bufio.NewReaderSize(bytes.NewReader(data), 16), ReaderOptions{
			MaxLine: 256, MaxLiterals: 8, LiteralLimit: func([]byte) int64 { return 64 },
		})
		for range 4 {
			raw, err := r.ReadCommand()
			if err != nil {
				var re *ReadError
				if errors.As(err, &re) && !re.Fatal {
					continue
				}
				return
			}
			cmd, err := Parse(raw, Options{MaxDepth: 8, UTF8: len(data)%2 == 0})
			if cmd == nil {
				t.Fatal("nil command")
			}
			if err == nil && cmd.Mailbox != "" {
				if dec, err := DecodeUTF7(cmd.Mailbox); err == nil {
					if EncodeUTF7(dec) != cmd.Mailbox {
						t.Fatalf("UTF-7 round trip of %q: %q", cmd.Mailbox, EncodeUTF7(dec))
					}
				}
			}
		}
	})
}

// FuzzUTF7 checks decode/encode round trips.
func FuzzUTF7(f *testing.F) {
	for _, s := range []string{"INBOX", "Entw&APw-rfe", "&-", "&2D3eAA-", "&U,BTFw-/&ZeVnLIqe-", "&AGE-&AGE-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		dec, err := DecodeUTF7(s)
		if err != nil {
			return
		}
		if enc := EncodeUTF7(dec); enc != s {
			t.Fatalf("%q decodes to %q which encodes to %q", s, dec, enc)
		}
	})
}

// seeds hold one example of every command, plus malformed ones.
var seeds = []string{
	"a CAPABILITY\r\n", "a NOOP\r\n", "a LOGOUT\r\n", "a STARTTLS\r\n", "a CHECK\r\n", "a CLOSE\r\n",
	"a UNSELECT\r\n", "a IDLE\r\nDONE\r\n", "a NAMESPACE\r\n", "a EXPUNGE\r\n", "a UID EXPUNGE 1:3\r\n",
	"a LOGIN {5}\r\nalice {3+}\r\npw!\r\n", "a AUTHENTICATE PLAIN AGFsaWNlAHB3\r\n",
	"a ENABLE UTF8=ACCEPT\r\n", "a ID (\"name\" \"mutt\")\r\n", "a ID NIL\r\n",
	"a SELECT INBOX (CONDSTORE)\r\n", "a EXAMINE \"Entw&APw-rfe\"\r\n", "a CREATE Foo/Bar (USE (\\Drafts))\r\n",
	"a DELETE Foo\r\n", "a RENAME Foo Bar\r\n", "a SUBSCRIBE Foo\r\n", "a UNSUBSCRIBE Foo\r\n",
	"a LIST (SPECIAL-USE) \"\" (* INBOX) RETURN (STATUS (MESSAGES SIZE) CHILDREN)\r\n", "a LSUB \"\" *\r\n",
	"a STATUS INBOX (MESSAGES UIDNEXT UIDVALIDITY UNSEEN DELETED SIZE)\r\n",
	"a APPEND INBOX (\\Seen) \"01-Feb-2024 10:00:00 +0000\" {5+}\r\nhello\r\n", "a APPEND X UTF8 (~{2}\r\nhi)\r\n",
	"a FETCH 1:*,3 (UID FLAGS ENVELOPE BODYSTRUCTURE BODY[HEADER.FIELDS.NOT (X)]<1.2> BINARY.SIZE[1] RFC822.SIZE)\r\n",
	"a UID FETCH 1:* FLAGS (CHANGEDSINCE 1 VANISHED)\r\n", "a STORE $ -FLAGS.SILENT \\Seen\r\n",
	"a UID STORE 1 (UNCHANGEDSINCE 3) FLAGS ()\r\n", "a COPY 1:2 Trash\r\n", "a UID MOVE 4 Archive\r\n",
	"a SEARCH RETURN (SAVE) CHARSET UTF-8 OR NOT SEEN (FROM \"x\" SUBJECT {2}\r\nab) UID 1:* SENTSINCE 1-Jan-2000\r\n",
	"a UID SEARCH MODSEQ \"/flags/\\\\draft\" all 620162338\r\n",
	"a FETCH 1 BODY[\r\n", "a LIST\r\n", "* OK\r\n", "a {3}\r\n", "a SEARCH ((((((((((ALL))))))))))\r\n",
	"a APPEND INBOX {99999}\r\n", "\x00\xff\r\n",
	"a SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541 (1:3 41,43,45)))\r\n",
	"a EXAMINE INBOX (CONDSTORE QRESYNC (1 0))\r\n", "a ENABLE QRESYNC CONDSTORE\r\n",
	"a UID SORT (REVERSE ARRIVAL DISPLAYFROM SIZE) UTF-8 UNSEEN MODSEQ 5\r\n", "a SORT (SUBJECT) US-ASCII ALL\r\n",
	"a UID THREAD REFERENCES UTF-8 ALL\r\n", "a THREAD ORDEREDSUBJECT UTF-8 SUBJECT {2}\r\nre\r\n",
	"a GETQUOTAROOT INBOX\r\n", "a GETQUOTA \"\"\r\n", "a SETQUOTA \"\" (STORAGE 512)\r\n", "a COMPRESS DEFLATE\r\n",
}

package imapd_test

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"mailhouse/internal/config"
	"mailhouse/internal/testenv"
)

// FuzzSession sends arbitrary commands to a logged-in session with INBOX
// selected. The server must neither crash nor stop answering: after the
// input, a NOOP on a new connection still works.
func FuzzSession(f *testing.F) {
	for _, s := range []string{
		"a FETCH 1:* (BODY[1.2.3.MIME] BINARY[1] BODY.PEEK[HEADER.FIELDS (A)]<0.1> ENVELOPE BODYSTRUCTURE)",
		"a UID SEARCH OR NOT TEXT x (HEADER y \"\" UID $) SENTON 1-Jan-2000",
		"a STORE 1 FLAGS (\\Seen $x)\r\nb EXPUNGE\r\nc CLOSE",
		"a APPEND INBOX {5+}\r\nhello\r\nb NOOP",
		"a CREATE x/y\r\nb RENAME x z\r\nc LIST \"\" *\r\nd DELETE z/y",
		"a MOVE 1 Trash\r\nb COPY 1:* Archive",
		"a IDLE\r\nDONE",
		"a SEARCH RETURN (SAVE) ALL\r\nb FETCH $ UID",
		"a STATUS INBOX (MESSAGES SIZE DELETED UNSEEN HIGHESTMODSEQ DELETED-STORAGE)",
		"a ENABLE QRESYNC\r\nb SELECT INBOX (QRESYNC (1 1 1:5 (1:2 1:2)))\r\nc UID FETCH 1:* FLAGS (CHANGEDSINCE 1 VANISHED)",
		"a STORE 1:* (UNCHANGEDSINCE 0) +FLAGS (\\Seen)\r\nb UID STORE 1 (UNCHANGEDSINCE 99) FLAGS.SILENT ()",
		"a SEARCH RETURN (MIN MAX) MODSEQ 1\r\nb SEARCH MODSEQ \"/flags/\\\\seen\" all 1",
		"a SORT (REVERSE DATE SUBJECT DISPLAYFROM) UTF-8 ALL\r\nb UID SORT (SIZE) US-ASCII UNSEEN",
		"a THREAD REFERENCES UTF-8 ALL\r\nb UID THREAD ORDEREDSUBJECT UTF-8 ALL",
		"a GETQUOTAROOT INBOX\r\nb GETQUOTA \"\"\r\nc SETQUOTA \"\" (STORAGE 1)",
		"a COMPRESS DEFLATE\r\nb NOOP",
		"a ID NIL",
	} {
		f.Add([]byte(s))
	}
	ts := startServer(f, config.IMAP{MaxConnsPerAccount: 1000, IdleTimeout: config.Duration{Duration: 2 * time.Second}})
	ts.deliver(f, alice(), testMessage("fuzz one"))
	mp := "Subject: two\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: message/rfc822\r\n\r\nSubject: in\r\n\r\nx\r\n--b\r\nContent-Transfer-Encoding: base64\r\n\r\nAAEC\r\n--b--\r\n"
	ts.deliver(f, alice(), mp)
	ts.deliver(f, alice(), "Subject: Re: [list] fuzz one\r\nIn-Reply-To: <fuzz.one@example.org>\r\nMessage-ID: <x@y>\r\n\r\nx\r\n")
	login := fmt.Sprintf("l LOGIN %s %q\r\ns SELECT INBOX\r\n", alice(), testenv.Password)
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := net.Dial("tcp", ts.insecAddr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(3 * time.Second))
		input := append([]byte(login), data...)
		if !bytes.HasSuffix(input, []byte("\r\n")) {
			input = append(input, "\r\n"...)
		}
		input = append(input, "DONE\r\nzz LOGOUT\r\n"...)
		go c.Write(input)
		io.Copy(io.Discard, c) // until the server closes or the deadline
		// The server still works.
		c2, err := net.Dial("tcp", ts.insecAddr)
		if err != nil {
			t.Fatal(err)
		}
		defer c2.Close()
		c2.SetDeadline(time.Now().Add(5 * time.Second))
		cl := &client{t: t, conn: c2, r: newReader(c2)}
		cl.expect("* OK")
		cl.ok("NOOP")
		if n := ts.insecurSrv.Panics(); n > 0 {
			t.Fatalf("%d sessions panicked (see the log with MAILHOUSE_TEST_LOG=1)", n)
		}
	})
}

package pop3d_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"mailhouse/internal/pop3d"
	"mailhouse/internal/testenv"
)

// FuzzSession feeds arbitrary input to a logged-in session of the real
// server over a real store: it must neither panic nor hang, and a reply
// must always come as whole CRLF lines.
func FuzzSession(f *testing.F) {
	f.Add([]byte("STAT\r\nLIST\r\nRETR 1\r\nTOP 2 1\r\nUIDL\r\nDELE 1\r\nRSET\r\nQUIT\r\n"))
	f.Add([]byte("DELE 1\r\nDELE 2\r\nQUIT\r\n"))
	f.Add([]byte("RETR 1\nRETR 2\nRETR 3\n"))
	f.Add([]byte("CAPA\r\nSTLS\r\nUSER x\r\nPASS y\r\nAUTH PLAIN =\r\nAPOP a b\r\nLIST 0\r\nRETR 99999999999\r\nTOP 1 99999999\r\n \r\nRETR\t1\r\nXYZ\x00\r\n\xff\r\n"))
	f.Add([]byte("AUTH PLAIN\r\n*\r\nCAPA\r\n" + strings.Repeat("x", 20000) + "\r\nNOOP\r\n"))
	e := newEnv(f, func(o *pop3d.Options) { o.MaxErrors = 1000 })
	mb := e.inbox(alice)
	f.Fuzz(func(t *testing.T, input []byte) {
		// Keep a few messages in the maildrop.
		msgs, err := e.stack.Store.ListMessages(context.Background(), mb.ID)
		if err != nil {
			t.Fatal(err)
		}
		for i := len(msgs); i < 3; i++ {
			if _, err := e.stack.Deliverer.Append(context.Background(), mb.ID, nil, time.Time{}, []byte("Subject: fuzz\n\n.line\nbody\r\n")); err != nil {
				t.Fatal(err)
			}
		}
		cli, srvConn := net.Pipe()
		done := make(chan struct{})
		go func() {
			e.srv.ServeFuzzConn(srvConn)
			close(done)
		}()
		outDone := make(chan []byte)
		go func() {
			b, _ := io.ReadAll(cli)
			outDone <- b
		}()
		_ = cli.SetWriteDeadline(time.Now().Add(10 * time.Second))
		_, _ = io.WriteString(cli, "USER "+alice+"\r\nPASS "+testenv.Password+"\r\n")
		_, _ = cli.Write(input)
		_, _ = io.WriteString(cli, "\r\nQUIT\r\n")
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Fatal("session did not end")
		}
		cli.Close()
		out := <-outDone
		if len(out) > 0 && !bytes.HasSuffix(out, []byte("\r\n")) {
			t.Fatalf("output does not end in CRLF: %q", out[max(0, len(out)-200):])
		}
	})
}

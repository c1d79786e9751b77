package sqlstore

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"mailhouse/internal/store"
)

// The crash test: a child process (this test binary, re-executed) delivers
// messages as fast as it can and prints each one as soon as Deliver has
// acknowledged it; the parent SIGKILLs it mid-stream, reopens the
// database and checks that a crash between write and commit leaves no
// orphan visible and loses no acknowledged message.

const (
	crashEnvPath  = "MAILHOUSE_SQLSTORE_CRASH_DB"
	crashEnvInbox = "MAILHOUSE_SQLSTORE_CRASH_INBOX"
	crashEnvArch  = "MAILHOUSE_SQLSTORE_CRASH_ARCHIVE"
	crashWorkers  = 8
	crashAcks     = 200 // acknowledgements read before the kill
)

// crashBody is message id's body: sizes from 1 KB to about 65 KB, so that
// many span SQLite overflow pages.
func crashBody(id int) []byte {
	n := 1000 + (id*7919)%64000
	var b bytes.Buffer
	fmt.Fprintf(&b, "Subject: crash %d\r\n\r\n", id)
	for b.Len() < n {
		fmt.Fprintf(&b, "%d:%d ", id, b.Len())
	}
	return b.Bytes()
}

func crashPrefix(id int) []byte { return fmt.Appendf(nil, "X-Crash-Id: %d\r\n", id) }

func TestCrashRecovery(t *testing.T) {
	if path := os.Getenv(crashEnvPath); path != "" {
		crashChild(t, path)
		return
	}
	if testing.Short() {
		t.Skip("crash test re-executes the test binary; skipped with -short")
	}
	path := filepath.Join(t.TempDir(), "mail.db")
	s, a, in := setup(t, path)
	arch, err := s.GetMailbox(t.Context(), a.ID, "Archive")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashRecovery$", "-test.count=1")
	cmd.Env = append(os.Environ(),
		crashEnvPath+"="+path,
		crashEnvInbox+"="+strconv.FormatInt(int64(in.ID), 10),
		crashEnvArch+"="+strconv.FormatInt(int64(arch.ID), 10))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	type ack struct {
		id          int
		inbox, arch store.UID
	}
	var acks []ack
	sc := bufio.NewScanner(out)
	timeout := time.AfterFunc(60*time.Second, func() { cmd.Process.Kill() })
	killed := false
	for sc.Scan() {
		var a ack
		if _, err := fmt.Sscanf(sc.Text(), "ack %d %d %d", &a.id, &a.inbox, &a.arch); err != nil {
			continue // test framework output
		}
		acks = append(acks, a)
		if len(acks) == crashAcks && !killed {
			// SIGKILL: no deferred function, no Close, no flush runs.
			if err := cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			killed = true
			// Keep reading: lines already in the pipe were acknowledged
			// too, and must be there as well.
		}
	}
	timeout.Stop()
	err = cmd.Wait()
	if !killed {
		t.Fatalf("child ended after %d acknowledgements without being killed: %v", len(acks), err)
	}
	t.Logf("child killed after %d acknowledged deliveries (%v)", len(acks), err)

	s = openTest(t, path)
	ctx := t.Context()
	for _, a := range acks {
		for _, c := range []struct {
			mb  store.MailboxID
			uid store.UID
		}{{in.ID, a.inbox}, {arch.ID, a.arch}} {
			got, err := s.ReadMessage(ctx, c.mb, c.uid)
			if err != nil {
				t.Fatalf("acknowledged message %d (mailbox %d UID %d) lost: %v", a.id, c.mb, c.uid, err)
			}
			if want := append(crashPrefix(a.id), crashBody(a.id)...); !bytes.Equal(got, want) {
				t.Fatalf("acknowledged message %d (mailbox %d UID %d): %d bytes, want %d", a.id, c.mb, c.uid, len(got), len(want))
			}
		}
	}
	// Deliveries in flight at the kill are all there or all gone: both
	// mailboxes hold the same number of messages.
	sin, _ := s.MailboxStatus(ctx, in.ID)
	sarch, _ := s.MailboxStatus(ctx, arch.ID)
	if sin.Messages != sarch.Messages || sin.Messages < len(acks) {
		t.Errorf("after the crash: INBOX %d, Archive %d messages; %d acknowledged", sin.Messages, sarch.Messages, len(acks))
	}
	t.Logf("after reopening: %d messages in each mailbox (%d acknowledged, the rest committed but not yet reported)", sin.Messages, len(acks))
	checkIntegrity(t, s)
	// And the store works on.
	deliverN(t, s, in.ID, 1)
}

// crashChild delivers until killed, printing "ack <id> <inbox uid>
// <archive uid>" once each delivery is acknowledged.
func crashChild(t *testing.T, path string) {
	inbox, _ := strconv.ParseInt(os.Getenv(crashEnvInbox), 10, 64)
	arch, _ := strconv.ParseInt(os.Getenv(crashEnvArch), 10, 64)
	s, err := Open(context.Background(), Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	next := 0
	var wg sync.WaitGroup
	deadline := time.Now().Add(50 * time.Second) // the parent kills long before
	for range crashWorkers {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				mu.Lock()
				id := next
				next++
				mu.Unlock()
				out, err := s.Deliver(context.Background(), store.Delivery{
					Body: crashBody(id),
					Targets: []store.Target{
						{Mailbox: store.MailboxID(inbox), Prefix: crashPrefix(id)},
						{Mailbox: store.MailboxID(arch), Prefix: crashPrefix(id)},
					},
				})
				if err != nil {
					fmt.Fprintln(os.Stderr, "crash child:", err)
					os.Exit(3)
				}
				mu.Lock()
				// os.Stdout is unbuffered: the line is in the pipe when
				// Fprintf returns.
				fmt.Fprintf(os.Stdout, "ack %d %d %d\n", id, out[0].UID, out[1].UID)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	s.Close()
}

package imapd_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"

	"mailhouse/internal/config"
	"mailhouse/internal/store"
)

// setQuota sets alice's limits as an administrator would.
func setQuota(t *testing.T, ts *testServer, bytes, messages int64) {
	t.Helper()
	ctx := context.Background()
	if err := ts.Store.SetQuota(ctx, alice(), bytes); err != nil {
		t.Fatal(err)
	}
	if err := ts.Store.(store.Sync).SetMessageQuota(ctx, alice(), messages); err != nil {
		t.Fatal(err)
	}
}

// TestQuotaImapclient: GETQUOTAROOT and GETQUOTA through go-imap's
// client, with STORAGE in KiB and MESSAGE counts (RFC 9208 §5); SETQUOTA
// is the administrator's.
func TestQuotaImapclient(t *testing.T) {
	ts := startServer(t, config.IMAP{})
	for range 3 {
		ts.deliver(t, alice(), testMessage("quota"))
	}
	c := dialClient(t, ts, alice(), nil)
	caps, err := c.Capability().Wait()
	if err != nil {
		t.Fatal(err)
	}
	if !caps.Has(imap.CapQuota) || len(caps.QuotaResourceTypes()) != 2 {
		t.Errorf("capabilities: %v", caps)
	}
	// Without limits there is no quota root.
	roots, err := c.GetQuotaRoot("INBOX").Wait()
	if err != nil || len(roots) != 0 {
		t.Errorf("GETQUOTAROOT without limits: %+v, %v", roots, err)
	}
	setQuota(t, ts, 10<<20, 1000)
	roots, err = c.GetQuotaRoot("INBOX").Wait()
	if err != nil || len(roots) != 1 || roots[0].Root != "" {
		t.Fatalf("GETQUOTAROOT: %+v, %v", roots, err)
	}
	st := roots[0].Resources[imap.QuotaResourceStorage]
	msg := roots[0].Resources[imap.QuotaResourceMessage]
	if st.Limit != 10<<10 || st.Usage != 0 || msg.Limit != 1000 || msg.Usage != 3 {
		t.Errorf("resources: %+v", roots[0].Resources)
	}
	q, err := c.GetQuota("").Wait()
	if err != nil || q.Resources[imap.QuotaResourceMessage].Usage != 3 {
		t.Errorf("GETQUOTA: %+v, %v", q, err)
	}
	if _, err := c.GetQuota("other").Wait(); err == nil {
		t.Error("GETQUOTA of an unknown root succeeded")
	}
	if err := c.SetQuota("", map[imap.QuotaResourceType]int64{imap.QuotaResourceStorage: 1 << 30}).Wait(); err == nil {
		t.Error("SETQUOTA by a user succeeded")
	}
	if _, err := c.GetQuotaRoot("Nonexistent").Wait(); err == nil {
		t.Error("GETQUOTAROOT of a missing mailbox succeeded")
	}
}

// TestOverQuota: APPEND and COPY past a limit fail with NO [OVERQUOTA]
// (RFC 9208 §4.3.1), and nothing is stored; MOVE, which frees as much as
// it takes, still works, so that a full mailbox can be cleaned up.
func TestOverQuota(t *testing.T) {
	ts := startServer(t, config.IMAP{})
	ts.deliver(t, alice(), testMessage("one"))
	ts.deliver(t, alice(), testMessage("two"))
	setQuota(t, ts, 0, 3)
	c := ts.login(t, alice())
	msg := testMessage("appended")
	c.write("a APPEND INBOX {" + itoa(len(msg)) + "+}\r\n" + msg + "\r\n")
	c.expect("a OK [APPENDUID ")
	c.write("b APPEND INBOX {" + itoa(len(msg)) + "+}\r\n" + msg + "\r\n")
	c.expect("b NO [OVERQUOTA] ")
	c.ok("SELECT INBOX")
	if st := c.status("COPY 1 Archive"); !strings.HasPrefix(st, "NO [OVERQUOTA]") {
		t.Errorf("COPY over the message limit: %s", st)
	}
	c.ok("MOVE 1 Trash")
	u := c.ok("STATUS Archive (MESSAGES)")
	if !containsLine(u, "MESSAGES 0") {
		t.Errorf("Archive: %q", u)
	}
	// The byte limit too.
	setQuota(t, ts, 100, 0)
	if st := c.status("COPY 1 Archive"); !strings.HasPrefix(st, "NO [OVERQUOTA]") {
		t.Errorf("COPY over the byte limit: %s", st)
	}
	setQuota(t, ts, 0, 0)
	c.ok("COPY 1 Archive")
}

// TestImapclientCondstore drives CONDSTORE through go-imap's client:
// SELECT (CONDSTORE) gives HIGHESTMODSEQ, FETCH (CHANGEDSINCE) only what
// changed, STORE (UNCHANGEDSINCE) fails on a message changed elsewhere,
// STATUS HIGHESTMODSEQ follows, and ID tells name and version.
func TestImapclientCondstore(t *testing.T) {
	ts := startServer(t, config.IMAP{})
	for range 4 {
		ts.deliver(t, alice(), testMessage("cs"))
	}
	c := dialClient(t, ts, alice(), nil)
	id, err := c.ID(&imap.IDData{Name: "test", Version: "1"}).Wait()
	if err != nil || id.Name != "mailhouse" || id.Version == "" || id.OS != "" {
		t.Errorf("ID: %+v, %v", id, err)
	}
	sel, err := c.Select("INBOX", &imap.SelectOptions{CondStore: true}).Wait()
	if err != nil || sel.HighestModSeq == 0 {
		t.Fatalf("SELECT: %+v, %v", sel, err)
	}
	other := dialClient(t, ts, alice(), nil)
	if _, err := other.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := other.Store(imap.UIDSetNum(3), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagFlagged}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	msgs, err := c.Fetch(imap.UIDSetNum(1, 2, 3, 4), &imap.FetchOptions{UID: true, Flags: true, ChangedSince: sel.HighestModSeq}).Collect()
	if err != nil || len(msgs) != 1 || msgs[0].UID != 3 || msgs[0].ModSeq <= sel.HighestModSeq {
		t.Errorf("FETCH CHANGEDSINCE: %+v, %v", msgs, err)
	}
	// Message 3 changed after HighestModSeq: the conditional STORE
	// leaves it alone (MODIFIED) and stores the others.
	cmd := c.Store(imap.UIDSetNum(1, 3), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagSeen}},
		&imap.StoreOptions{UnchangedSince: sel.HighestModSeq})
	stored, err := cmd.Collect()
	if err != nil {
		t.Fatal(err)
	}
	// The other session's change to 3 may be reported here too, but
	// without \Seen.
	seen := map[imap.UID]bool{}
	for _, m := range stored {
		seen[m.UID] = slices.Contains(m.Flags, imap.FlagSeen)
	}
	if !seen[1] || seen[3] {
		t.Errorf("STORE UNCHANGEDSINCE: %v", seen)
	}
	st, err := c.Status("Archive", &imap.StatusOptions{HighestModSeq: true, NumDeleted: true}).Wait()
	if err != nil || st.HighestModSeq == 0 || st.NumDeleted == nil {
		t.Errorf("STATUS: %+v, %v", st, err)
	}
	if sel2, err := c.Select("INBOX", &imap.SelectOptions{CondStore: true}).Wait(); err != nil || sel2.HighestModSeq <= sel.HighestModSeq {
		t.Errorf("reselect: %+v, %v", sel2, err)
	}
}

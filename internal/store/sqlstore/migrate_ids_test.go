package sqlstore

import (
	"database/sql"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"mailhouse/internal/store"
)

// Migration 0006 (account and mailbox ids never reused). Why ids must
// never come back: what a running server keeps under an id trusts that
// the id names one account or mailbox for ever.
//   - delivery's caches: recipient resolutions (holding account ids),
//     "account has no quota" by account id, INBOX by account id
//     (internal/delivery/resolvecache.go; driven over SMTP by
//     TestDeletedAccountsMailNeverReachesANewOne there);
//   - IMAP's structure cache (imapd/structcache.go), webmail's list rows
//     (webmail/list.go) and POP3's sizes (pop3d/maildrop.go), keyed by
//     (mailbox id, UIDVALIDITY, UID). UIDVALIDITY alone does not tell
//     two accounts' mailboxes apart: each account counts its own, and
//     two mailboxes made in the same second get the same value. The
//     structure cache also compares size, date and prefix length on a
//     hit; the other two compare nothing;
//   - webmail's contacts (webmail/contacts.go), by account id, for ten
//     minutes;
//   - live sessions: IMAP and POP3 sessions hold their account's and
//     selected mailbox's ids, webmail sessions their account's id
//     (web/session.go), and the periodic session check and the IMAP
//     change feeds go by account id (auth/sessions.go, imapd/server.go).
//     A session of an account deleted from another process lives until
//     the check; with the id given to a new account it would have become
//     that account's (TestDeletedAccountsSessionSeesNothingOfANewOne in
//     internal/app shows it over IMAP).
// With ids never reused (AUTOINCREMENT here, identity sequences in
// PostgreSQL, and ImportSQLite starting those past SQLite's high-water
// marks) and UIDs never reused within a mailbox, each of these keys
// names one message, mailbox or account for ever. An entry or session of
// a deleted account or mailbox can only ask the store about the deleted
// id, which it answers with ErrNotFound; it never reaches a new one.

// migrationsUpTo is the real migration files of versions 1 to v: the
// schema of the release that had v as its newest.
func migrationsUpTo(t *testing.T, v int) fs.FS {
	t.Helper()
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	out := fstest.MapFS{}
	for _, n := range names {
		num, _, _ := strings.Cut(path.Base(n), "_")
		if nv, err := strconv.Atoi(num); err != nil || nv > v {
			continue
		}
		b, err := fs.ReadFile(migrationFiles, n)
		if err != nil {
			t.Fatal(err)
		}
		out[n] = &fstest.MapFile{Data: b}
	}
	if len(out) != v {
		t.Fatalf("%d migration files up to version %d", len(out), v)
	}
	return out
}

// openVersion opens a store whose schema stops at version v.
func openVersion(t *testing.T, path string, v int) *Store {
	t.Helper()
	s, err := Open(t.Context(), Options{Path: path, migrations: migrationsUpTo(t, v)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// rawDB opens the database file directly, read-only, to look at what the
// store's API does not show.
func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func queryStrings(t *testing.T, db *sql.DB, q string, args ...any) [][]string {
	t.Helper()
	rows, err := db.Query(q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var out [][]string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		row := make([]string, len(cols))
		for i, v := range vals {
			row[i] = fmt.Sprintf("%T:%v", v, v)
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func queryInt(t *testing.T, db *sql.DB, q string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := db.QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// dbSnapshot is every row of every table, and the schema.
type dbSnapshot struct {
	rows   map[string][]string // table: its rows, sorted
	schema map[string]string   // "type name": its SQL
	shape  map[string]string   // table: columns, foreign keys and indexes
}

func snapshot(t *testing.T, path string) dbSnapshot {
	t.Helper()
	db := rawDB(t, path)
	sn := dbSnapshot{rows: map[string][]string{}, schema: map[string]string{}, shape: map[string]string{}}
	for _, o := range queryStrings(t, db, "SELECT type, name, coalesce(sql, '') FROM sqlite_master") {
		typ, name := strings.TrimPrefix(o[0], "string:"), strings.TrimPrefix(o[1], "string:")
		sn.schema[typ+" "+name] = o[2]
		if typ != "table" {
			continue
		}
		var rows []string
		for _, r := range queryStrings(t, db, `SELECT * FROM "`+name+`"`) {
			rows = append(rows, strings.Join(r, "|"))
		}
		slices.Sort(rows)
		sn.rows[name] = rows
		var shape []string
		for _, q := range []string{"pragma_table_xinfo(?)", "pragma_foreign_key_list(?)", "pragma_index_list(?)"} {
			for _, r := range queryStrings(t, db, "SELECT * FROM "+q, name) {
				shape = append(shape, q+" "+strings.Join(r, "|"))
			}
		}
		for _, ix := range queryStrings(t, db, "SELECT name FROM pragma_index_list(?)", name) {
			ixName := strings.TrimPrefix(ix[0], "string:")
			for _, r := range queryStrings(t, db, "SELECT * FROM pragma_index_xinfo(?)", ixName) {
				shape = append(shape, "index "+ixName+" "+strings.Join(r, "|"))
			}
		}
		sn.shape[name] = strings.Join(shape, "\n")
	}
	return sn
}

// fillVersion5 puts data in every table of schema version 5 through the
// store's API, and returns the accounts' and mailboxes' ids.
func fillVersion5(t *testing.T, s *Store) (accts []store.Account, mbs []store.Mailbox) {
	t.Helper()
	ctx := t.Context()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{"example.org", "example.net"} {
		_, err := s.AddDomain(ctx, d)
		must(err)
	}
	for i, addr := range []string{"alice@example.org", "bob@example.org", "carol@example.net"} {
		a, err := s.AddAccount(ctx, store.NewAccount{Address: addr, PasswordHash: "$argon2id$x" + addr, QuotaBytes: int64(i) * 1e6})
		must(err)
		accts = append(accts, a)
	}
	alice, bob, carol := accts[0], accts[1], accts[2]
	must(s.AddAlias(ctx, store.Alias{Address: "postmaster@example.org", Targets: []string{alice.Address, "x@elsewhere.test"}}))
	must(s.SetAdmin(ctx, alice.Address, true))
	must(s.SetDisabled(ctx, bob.Address, true))
	must(s.SetMessageQuota(ctx, alice.Address, 1000))
	must(s.SetQuotaWarned(ctx, alice.ID, 80))
	must(s.SetDomainQuota(ctx, "example.org", 1e9))
	must(s.SetRetention(ctx, store.RetentionRule{Domain: "example.org", Folder: store.SpecialTrash, Days: 30}))
	must(s.AddBlock(ctx, store.Block{Key: "ip:192.0.2.1", Until: time.Now().Add(time.Hour), Reason: "test"}))
	must(s.AddAudit(ctx, store.AuditEntry{Time: time.Now(), Actor: "cli:root", Action: "account.add", Target: alice.Address}))
	_, err := s.AddToken(ctx, store.APIToken{Name: "panel", Hash: []byte("0123456789abcdef0123456789abcdef"), Created: time.Now(), CreatedBy: "cli:root"})
	must(err)
	_, err = s.QueueAdd(ctx, store.NewQueueEntry{From: alice.Address, To: []string{"x@elsewhere.test", "y@elsewhere.test"}, Data: []byte("Subject: out\r\n\r\nhi\r\n"), NextAttempt: time.Now()})
	must(err)
	must(s.AddDKIMKey(ctx, store.DKIMKey{Domain: "example.org", Selector: "ed1", Algorithm: "ed25519", PrivateKey: []byte{1, 2, 3}}))

	for _, a := range accts {
		in, err := s.GetMailbox(ctx, a.ID, "INBOX")
		must(err)
		mbs = append(mbs, in)
	}
	for _, a := range []store.Account{alice, carol} {
		mb, err := s.CreateMailbox(ctx, a.ID, "Lists", "")
		must(err)
		must(s.SetSubscribed(ctx, a.ID, "Lists", true))
		mbs = append(mbs, mb)
	}
	// One body shared by the three INBOXes, then a few messages each;
	// some seen, some copied, some expunged (expunge history).
	_, err = s.Deliver(ctx, store.Delivery{
		Body: []byte("Subject: to all\r\n\r\nshared\r\n"),
		Targets: []store.Target{
			{Mailbox: mbs[0].ID, Prefix: []byte("Delivered-To: alice@example.org\r\n")},
			{Mailbox: mbs[1].ID, Prefix: []byte("Delivered-To: bob@example.org\r\n"), Flags: []string{store.FlagSeen}},
			{Mailbox: mbs[2].ID, Prefix: []byte("Delivered-To: carol@example.net\r\n")},
		},
	})
	must(err)
	for _, mb := range mbs {
		uids := deliverN(t, s, mb.ID, 4)
		_, err := s.UpdateFlags(ctx, store.FlagUpdate{Mailbox: mb.ID, UIDs: uids[:2], Op: store.FlagsAdd, Flags: []string{store.FlagSeen, "$Work"}})
		must(err)
		_, err = s.Expunge(ctx, mb.ID, uids[1:2])
		must(err)
	}
	_, _, err = s.Copy(ctx, mbs[0].ID, []store.UID{1, 2, 3}, mbs[3].ID)
	must(err)
	return accts, mbs
}

// TestMigrateIDsKeepsData: a version-5 database with data in every table
// migrates to 6 with every row, index and trigger as it was, counters
// still kept by the triggers afterwards, and SQLite's checks clean.
func TestMigrateIDsKeepsData(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "mail.db")
	s5 := openVersion(t, path, 5)
	accts, mbs := fillVersion5(t, s5)
	checkIntegrity(t, s5)
	if err := s5.Close(); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, path)
	for table, rows := range before.rows {
		if len(rows) == 0 && table != "sqlite_sequence" {
			t.Errorf("version 5 table %s has no rows: the test should fill every table", table)
		}
	}
	if strings.Contains(before.schema["table accounts"], "AUTOINCREMENT") {
		t.Fatal("version 5 already has AUTOINCREMENT: not the old schema")
	}

	s := openTest(t, path)
	after := snapshot(t, path)
	db := rawDB(t, path)
	if v := queryInt(t, db, "SELECT max(version) FROM schema_version"); v != 6 {
		t.Fatalf("schema version %d after migrating", v)
	}

	// Every row of every table, as it was.
	for table, rows := range before.rows {
		if table == "schema_version" {
			continue
		}
		if !slices.Equal(rows, after.rows[table]) {
			t.Errorf("table %s changed:\nbefore %q\nafter  %q", table, rows, after.rows[table])
		}
	}
	// The schema: the same objects; the same SQL except for the two
	// rebuilt tables, whose columns, keys and indexes are the same.
	for obj, sqlText := range before.schema {
		got, ok := after.schema[obj]
		switch {
		case !ok:
			t.Errorf("%s is gone", obj)
		case obj == "table accounts" || obj == "table mailboxes":
			if !strings.Contains(got, "AUTOINCREMENT") {
				t.Errorf("%s without AUTOINCREMENT: %s", obj, got)
			}
		case got != sqlText:
			t.Errorf("%s changed:\n%s\n%s", obj, sqlText, got)
		}
	}
	for obj := range after.schema {
		if _, ok := before.schema[obj]; !ok && obj != "table sqlite_sequence" {
			t.Errorf("new object %s", obj)
		}
	}
	for table, shape := range before.shape {
		if after.shape[table] != shape {
			t.Errorf("table %s: columns, keys or indexes changed:\n%s\n--\n%s", table, shape, after.shape[table])
		}
	}
	for _, trig := range []string{"messages_count_insert", "messages_count_delete", "messages_count_flags", "messages_body_gc"} {
		if after.schema["trigger "+trig] == "" {
			t.Errorf("trigger %s is missing", trig)
		}
	}
	// sqlite_sequence starts at the largest id of each table.
	for _, table := range []string{"accounts", "mailboxes"} {
		seq := queryInt(t, db, "SELECT seq FROM sqlite_sequence WHERE name = ?", table)
		if mx := queryInt(t, db, "SELECT max(id) FROM "+table); seq != mx {
			t.Errorf("sqlite_sequence for %s is %d, max(id) %d", table, seq, mx)
		}
	}
	checkIntegrity(t, s)

	// The writer enforces foreign keys again, and renames the modern way.
	err := s.write(ctx, func(w *wtx) error {
		for p, want := range map[string]string{"foreign_keys": "1", "legacy_alter_table": "0"} {
			var got string
			if err := w.queryRow("PRAGMA "+p, nil, &got); err != nil {
				return err
			}
			if got != want {
				t.Errorf("writer after migrating: PRAGMA %s = %s, want %s", p, got, want)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// The triggers still keep the counters: deliver, flag, expunge.
	alice, carol := accts[0], accts[2]
	st0, err := s.MailboxStatus(ctx, mbs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	uids := deliverN(t, s, mbs[0].ID, 2)
	st1, err := s.MailboxStatus(ctx, mbs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if st1.Messages != st0.Messages+2 || st1.Unseen != st0.Unseen+2 || st1.Size <= st0.Size || st1.UIDNext != st0.UIDNext+2 {
		t.Errorf("after delivering 2: %+v, before %+v", st1, st0)
	}
	if _, err := s.UpdateFlags(ctx, store.FlagUpdate{Mailbox: mbs[0].ID, UIDs: uids[:1], Op: store.FlagsAdd, Flags: []string{store.FlagSeen}}); err != nil {
		t.Fatal(err)
	}
	if gone, err := s.Expunge(ctx, mbs[0].ID, uids[1:]); err != nil || len(gone) != 1 {
		t.Fatalf("expunge: %v %v", gone, err)
	}
	st2, err := s.MailboxStatus(ctx, mbs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if st2.Messages != st0.Messages+1 || st2.Unseen != st0.Unseen {
		t.Errorf("after flag and expunge: %+v, before %+v", st2, st0)
	}
	ch, err := s.Changes(ctx, mbs[0].ID, st1.HighestModSeq)
	if err != nil || !slices.Contains(ch.Expunged, uids[1]) {
		t.Errorf("expunge history after migrating: %+v %v", ch, err)
	}
	checkIntegrity(t, s)

	// Deleting the newest mailbox and the newest account: the next ones
	// get higher ids, and the deleted account's rows go with it (foreign
	// keys cascade again).
	maxMailbox := queryInt(t, db, "SELECT max(id) FROM mailboxes")
	if maxMailbox != int64(mbs[len(mbs)-1].ID) {
		t.Fatalf("newest mailbox %d, want carol's Lists %d", maxMailbox, mbs[len(mbs)-1].ID)
	}
	if err := s.DeleteMailbox(ctx, carol.ID, "Lists"); err != nil {
		t.Fatal(err)
	}
	mb, err := s.CreateMailbox(ctx, alice.ID, "Projects", "")
	if err != nil {
		t.Fatal(err)
	}
	if int64(mb.ID) <= maxMailbox {
		t.Errorf("new mailbox got id %d after mailbox %d was deleted", mb.ID, maxMailbox)
	}
	if err := s.DeleteAccount(ctx, carol.Address); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		"SELECT count(*) FROM mailboxes WHERE account_id = ?",
		"SELECT count(*) FROM account_flags WHERE account_id = ?",
		"SELECT count(*) FROM messages WHERE mailbox_id IN (SELECT id FROM mailboxes WHERE account_id = ?)",
	} {
		if n := queryInt(t, db, q, carol.ID); n != 0 {
			t.Errorf("%s: %d after deleting the account", q, n)
		}
	}
	if n := queryInt(t, db, "SELECT count(*) FROM messages WHERE mailbox_id = ?", mbs[2].ID); n != 0 {
		t.Errorf("carol's INBOX kept %d messages", n)
	}
	dave, err := s.AddAccount(ctx, store.NewAccount{Address: "dave@example.net"})
	if err != nil {
		t.Fatal(err)
	}
	if dave.ID <= carol.ID {
		t.Errorf("new account got id %d after account %d was deleted", dave.ID, carol.ID)
	}
	daveIn, err := s.GetMailbox(ctx, dave.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	if daveIn.ID <= mb.ID {
		t.Errorf("new INBOX got id %d, not above %d", daveIn.ID, mb.ID)
	}
	checkIntegrity(t, s)

	// After a restart too: the high-water mark is in the database.
	if err := s.DeleteAccount(ctx, dave.Address); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTest(t, path)
	erin, err := s.AddAccount(ctx, store.NewAccount{Address: "erin@example.net"})
	if err != nil {
		t.Fatal(err)
	}
	erinIn, err := s.GetMailbox(ctx, erin.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	if erin.ID <= dave.ID || erinIn.ID <= daveIn.ID {
		t.Errorf("after reopening: account %d (deleted %d), INBOX %d (deleted %d)", erin.ID, dave.ID, erinIn.ID, daveIn.ID)
	}
	if v := queryInt(t, db, "SELECT count(*) FROM schema_version WHERE version = 6"); v != 1 {
		t.Errorf("version 6 recorded %d times", v)
	}
	checkIntegrity(t, s)

	// A backup (VACUUM INTO) keeps the high-water marks: a server
	// restored from it does not hand out the ids of accounts and
	// mailboxes deleted before the backup.
	if err := s.DeleteAccount(ctx, erin.Address); err != nil {
		t.Fatal(err)
	}
	bpath := filepath.Join(t.TempDir(), "backup.db")
	if _, err := s.Backup(ctx, bpath); err != nil {
		t.Fatal(err)
	}
	bdb := rawDB(t, bpath)
	if seq := queryInt(t, bdb, "SELECT seq FROM sqlite_sequence WHERE name = 'accounts'"); seq != int64(erin.ID) {
		t.Errorf("backup: accounts sequence %d, want %d (deleted erin)", seq, erin.ID)
	}
	if seq := queryInt(t, bdb, "SELECT seq FROM sqlite_sequence WHERE name = 'mailboxes'"); seq < int64(erinIn.ID) {
		t.Errorf("backup: mailboxes sequence %d, below deleted INBOX %d", seq, erinIn.ID)
	}
}

// TestVersion5ReusesIDs shows what 0006 fixes, on the real old schema:
// there the account created after the newest was deleted gets its id.
func TestVersion5ReusesIDs(t *testing.T) {
	ctx := t.Context()
	s := openVersion(t, filepath.Join(t.TempDir(), "mail.db"), 5)
	if _, err := s.AddDomain(ctx, "example.org"); err != nil {
		t.Fatal(err)
	}
	a, err := s.AddAccount(ctx, store.NewAccount{Address: "a@example.org"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteAccount(ctx, a.Address); err != nil {
		t.Fatal(err)
	}
	b, err := s.AddAccount(ctx, store.NewAccount{Address: "b@example.org"})
	if err != nil {
		t.Fatal(err)
	}
	if b.ID != a.ID {
		t.Errorf("version 5 gave id %d after deleting %d: the reuse 0006 fixes is not shown", b.ID, a.ID)
	}
}

// TestMigrateIDsRefusesForeignKeysOn: run with foreign keys enforced,
// migration 0006 stops at its guard rather than dropping tables whose
// rows the cascade would delete; the data stays.
func TestMigrateIDsRefusesForeignKeysOn(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mail.db")
	s5 := openVersion(t, path, 5)
	fillVersion5(t, s5)
	if err := s5.Close(); err != nil {
		t.Fatal(err)
	}
	migration, err := fs.ReadFile(migrationFiles, "migrations/0006_ids.sql")
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?_foreign_keys=1&_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	before := queryInt(t, db, "SELECT count(*) FROM messages")
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	_, err = tx.Exec(string(migration))
	_ = tx.Rollback()
	if err == nil || !strings.Contains(err.Error(), "CHECK") {
		t.Fatalf("0006 with foreign keys on: %v", err)
	}
	if after := queryInt(t, db, "SELECT count(*) FROM messages"); after != before || before == 0 {
		t.Errorf("messages: %d before, %d after", before, after)
	}
	// migrate turns them off itself: the same file opens fine.
	s := openTest(t, path)
	checkIntegrity(t, s)
}

package pgstore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"net/url"
	"strings"

	"github.com/jackc/pgx/v5"
	_ "modernc.org/sqlite" // the source of ImportSQLite

	"mailhouse/internal/store"
)

// Moving an installation from SQLite (internal/store/sqlstore) to
// PostgreSQL: `mailhouse migrate-store`. The two schemas have the same
// tables and columns (migrations of the same numbers), so the copy is
// row for row, keeping every ID, UID, UIDVALIDITY and modseq: IMAP
// clients see the same mailboxes and need not download anything again.

// importTables are the tables copied, parents first, each with the
// columns that order its rows.
var importTables = []struct{ name, order string }{
	{"domains", "id"},
	{"accounts", "id"},
	{"aliases", "id"},
	{"alias_targets", "alias_id, position"},
	{"mailboxes", "id"},
	{"bodies", "id"},
	{"messages", "mailbox_id, uid"},
	{"expunged", "mailbox_id, uid"},
	{"account_flags", "account_id"},
	{"audit_log", "id"},
	{"api_tokens", "id"},
	{"queue", "id"},
	{"queue_rcpts", "queue_id, position"},
	{"dkim_keys", "domain_id, selector"},
	{"account_quotas", "account_id"},
	{"domain_quotas", "domain_id"},
	{"quota_warnings", "account_id"},
	{"retention_rules", "domain, account, folder"},
	{"login_blocks", "key"},
}

// TableSum is one table's row count and SHA-256 over its rows in key
// order (values in a canonical form, so that SQLite's 0/1 and
// PostgreSQL's booleans sum alike).
type TableSum struct {
	Table string
	Rows  int64
	Sum   [32]byte
}

// ImportReport is what ImportSQLite copied and verified.
type ImportReport struct {
	Tables []TableSum
	Counts store.Counts
}

// ImportSQLite copies the SQLite store at path into the PostgreSQL
// database at dsn, which must hold no mailhouse data yet (it is migrated
// first). The source is read in one read transaction (one snapshot), so
// a server may even run meanwhile, though mail it accepts after the
// start is not copied: stop it first. The target is written in one
// transaction: on any error nothing is left behind. After the copy every
// table's row count and checksum is compared between source and target.
func ImportSQLite(ctx context.Context, path, dsn string) (ImportReport, error) {
	var rep ImportReport
	u := url.URL{Scheme: "file", Path: path}
	src, err := sql.Open("sqlite", "file:"+u.EscapedPath()+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		return rep, err
	}
	defer src.Close()
	stx, err := src.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return rep, fmt.Errorf("reading %s: %w", path, err)
	}
	defer func() { _ = stx.Rollback() }()
	var srcVersion int
	if err := stx.QueryRowContext(ctx, "SELECT coalesce(max(version), 0) FROM schema_version").Scan(&srcVersion); err != nil {
		return rep, fmt.Errorf("%s is not a mailhouse store: %w", path, err)
	}

	// Migrate the target, and check it is empty and of the same version.
	s, err := Open(ctx, Options{DSN: dsn})
	if err != nil {
		return rep, err
	}
	s.Close()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return rep, errors.New("pgstore: cannot connect to the target database")
	}
	defer conn.Close(context.Background())
	var dstVersion int
	if err := conn.QueryRow(ctx, "SELECT max(version) FROM schema_version").Scan(&dstVersion); err != nil {
		return rep, err
	}
	if dstVersion != srcVersion {
		return rep, fmt.Errorf("source schema version %d, target %d: run the same mailhouse version on the source first", srcVersion, dstVersion)
	}

	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		for _, t := range importTables {
			var n int64
			if err := tx.QueryRow(ctx, "SELECT count(*) FROM "+t.name).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return fmt.Errorf("the target database is not empty (table %s has %d rows)", t.name, n)
			}
		}
		for _, t := range importTables {
			cols, err := columns(ctx, tx, t.name)
			if err != nil {
				return err
			}
			src, err := copyTable(ctx, stx, tx, t.name, t.order, cols)
			if err != nil {
				return fmt.Errorf("copying %s: %w", t.name, err)
			}
			rep.Tables = append(rep.Tables, src)
		}
		// The triggers counted the copied messages again: recount from
		// the rows, and set the identity sequences past the copied IDs.
		if _, err := tx.Exec(ctx, `UPDATE mailboxes m SET
			message_count = coalesce((SELECT count(*) FROM messages WHERE mailbox_id = m.id), 0),
			message_bytes = coalesce((SELECT sum(size) FROM messages WHERE mailbox_id = m.id), 0),
			unseen_count  = coalesce((SELECT sum(mh_unseen(flags)) FROM messages WHERE mailbox_id = m.id), 0)`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE bodies b SET refs = (SELECT count(*) FROM messages WHERE body_id = b.id)`); err != nil {
			return err
		}
		// Past SQLite's high-water marks too (sqlite_sequence, for its
		// AUTOINCREMENT tables): an account or mailbox deleted before the
		// move keeps its id to itself.
		used, err := sqliteSequences(ctx, stx)
		if err != nil {
			return err
		}
		for _, t := range importTables {
			if t.order != "id" {
				continue
			}
			if _, err := tx.Exec(ctx, fmt.Sprintf(`SELECT setval(pg_get_serial_sequence('%[1]s', 'id'),
				greatest(coalesce((SELECT max(id) FROM %[1]s), 0), $1::bigint) + 1, false)`, t.name), used[t.name]); err != nil {
				return err
			}
		}
		// Verify inside the transaction: a mismatch rolls everything back.
		for _, want := range rep.Tables {
			t := tableByName(want.Table)
			cols, err := columns(ctx, tx, t.name)
			if err != nil {
				return err
			}
			got, err := sumTable(ctx, pgRows{tx}, t.name, t.order, cols)
			if err != nil {
				return err
			}
			if got != want {
				return fmt.Errorf("verification failed for %s: source %d rows %x, target %d rows %x",
					t.name, want.Rows, want.Sum[:8], got.Rows, got.Sum[:8])
			}
		}
		return nil
	})
	if err != nil {
		return rep, fmt.Errorf("pgstore: import: %w", err)
	}
	for _, t := range rep.Tables {
		switch t.Table {
		case "domains":
			rep.Counts.Domains = int(t.Rows)
		case "accounts":
			rep.Counts.Accounts = int(t.Rows)
		case "aliases":
			rep.Counts.Aliases = int(t.Rows)
		case "mailboxes":
			rep.Counts.Mailboxes = int(t.Rows)
		case "messages":
			rep.Counts.Messages = int(t.Rows)
		case "bodies":
			rep.Counts.Bodies = int(t.Rows)
		case "queue":
			rep.Counts.QueueEntries = int(t.Rows)
		}
	}
	rep.Counts.SchemaVersion = dstVersion
	return rep, nil
}

// sqliteSequences reads SQLite's sqlite_sequence: the highest id each
// AUTOINCREMENT table ever handed out (none before schema version 6).
func sqliteSequences(ctx context.Context, stx *sql.Tx) (map[string]int64, error) {
	used := map[string]int64{}
	var n int
	if err := stx.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_sequence'").Scan(&n); err != nil || n == 0 {
		return used, err
	}
	rows, err := stx.QueryContext(ctx, "SELECT name, seq FROM sqlite_sequence")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		var seq int64
		if err := rows.Scan(&name, &seq); err != nil {
			return nil, err
		}
		used[name] = seq
	}
	return used, rows.Err()
}

func tableByName(name string) struct{ name, order string } {
	for _, t := range importTables {
		if t.name == name {
			return t
		}
	}
	panic("unknown table " + name)
}

// column is a target column: whether it is boolean (0/1 in SQLite), and
// whether it is NOT NULL bytea (SQLite returns an empty BLOB as NULL).
type column struct {
	name  string
	bool  bool
	bytes bool
}

// columns lists a target table's columns, without the PostgreSQL-only
// bodies.refs (recomputed).
func columns(ctx context.Context, tx pgx.Tx, table string) ([]column, error) {
	rows, err := tx.Query(ctx, `SELECT column_name, data_type, is_nullable FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position`, table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var cols []column
	for rows.Next() {
		var name, typ, nullable string
		if err := rows.Scan(&name, &typ, &nullable); err != nil {
			return nil, err
		}
		if table == "bodies" && name == "refs" {
			continue
		}
		cols = append(cols, column{name: name, bool: typ == "boolean", bytes: typ == "bytea" && nullable == "NO"})
	}
	return cols, rows.Err()
}

func names(cols []column) []string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = c.name
	}
	return out
}

// copyTable streams a table from SQLite into PostgreSQL with COPY and
// returns the source's sum.
func copyTable(ctx context.Context, stx *sql.Tx, tx pgx.Tx, table, order string, cols []column) (TableSum, error) {
	sum := TableSum{Table: table}
	rows, err := stx.QueryContext(ctx, "SELECT "+strings.Join(names(cols), ", ")+" FROM "+table+" ORDER BY "+order)
	if err != nil {
		return sum, err
	}
	defer rows.Close()
	h := sha256.New()
	src := &sqliteSource{rows: rows, cols: cols, h: h}
	n, err := tx.CopyFrom(ctx, pgx.Identifier{table}, names(cols), src)
	if err != nil {
		return sum, err
	}
	if src.err != nil {
		return sum, src.err
	}
	sum.Rows = n
	copy(sum.Sum[:], h.Sum(nil))
	return sum, nil
}

// sqliteSource is a pgx.CopyFromSource over SQLite rows, converting 0/1
// to booleans where the target wants them and summing as it goes.
type sqliteSource struct {
	rows *sql.Rows
	cols []column
	h    hash.Hash
	vals []any
	err  error
}

func (s *sqliteSource) Next() bool {
	if !s.rows.Next() {
		s.err = s.rows.Err()
		return false
	}
	vals := make([]any, len(s.cols))
	ptrs := make([]any, len(s.cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := s.rows.Scan(ptrs...); err != nil {
		s.err = err
		return false
	}
	for i, c := range s.cols {
		switch {
		case c.bool:
			if n, ok := vals[i].(int64); ok {
				vals[i] = n != 0
			}
		case c.bytes:
			if b, ok := vals[i].([]byte); vals[i] == nil || ok && b == nil {
				vals[i] = []byte{}
			}
		}
	}
	hashRow(s.h, vals)
	s.vals = vals
	return true
}

func (s *sqliteSource) Values() ([]any, error) { return s.vals, nil }
func (s *sqliteSource) Err() error             { return s.err }

type pgRows struct{ tx pgx.Tx }

// sumTable reads a table back from PostgreSQL and sums it like
// copyTable summed the source.
func sumTable(ctx context.Context, q pgRows, table, order string, cols []column) (TableSum, error) {
	sum := TableSum{Table: table}
	rows, err := q.tx.Query(ctx, "SELECT "+strings.Join(names(cols), ", ")+" FROM "+table+" ORDER BY "+order)
	if err != nil {
		return sum, err
	}
	defer rows.Close()
	h := sha256.New()
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return sum, err
		}
		hashRow(h, vals)
		sum.Rows++
	}
	if err := rows.Err(); err != nil {
		return sum, err
	}
	copy(sum.Sum[:], h.Sum(nil))
	return sum, nil
}

// hashRow feeds one row to h in a canonical form: integers and booleans
// as int64, text and bytes alike, NULL apart.
func hashRow(h hash.Hash, vals []any) {
	var b [9]byte
	for _, v := range vals {
		switch x := v.(type) {
		case nil:
			h.Write([]byte{0})
		case bool:
			n := int64(0)
			if x {
				n = 1
			}
			b[0] = 1
			binary.BigEndian.PutUint64(b[1:], uint64(n))
			h.Write(b[:])
		case int64, int32, int16, int:
			b[0] = 1
			binary.BigEndian.PutUint64(b[1:], uint64(toInt64(x)))
			h.Write(b[:])
		case string:
			writeBytes(h, []byte(x))
		case []byte:
			writeBytes(h, x)
		default:
			writeBytes(h, fmt.Appendf(nil, "%T:%v", v, v))
		}
	}
}

func toInt64(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case int32:
		return int64(x)
	case int16:
		return int64(x)
	case int:
		return int64(x)
	}
	return 0
}

func writeBytes(h hash.Hash, p []byte) {
	var b [9]byte
	b[0] = 2
	binary.BigEndian.PutUint64(b[1:], uint64(len(p)))
	h.Write(b[:])
	h.Write(p)
}

package sqlstore

import (
	"database/sql"
	"fmt"

	"mailhouse/internal/store"
	"mailhouse/internal/store/sqlcore"
)

// SQLite's own checks, run by the shared Check (sqlcore) beside
// mailhouse's invariants: every page, index and record, and the foreign
// keys (SQLite enforces them only on writes made with foreign_keys on).

func sqliteChecks() []sqlcore.CheckStep {
	return []sqlcore.CheckStep{
		{Name: "integrity", Slow: true, Run: integrity},
		{Name: "foreign-keys", Run: foreignKeys},
	}
}

// integrity is SQLite's own check of every page, index and record.
func integrity(c *sqlcore.Checker) error {
	return c.Rows("PRAGMA integrity_check(100)", func(r sqlcore.Rows) error {
		var msg string
		if err := r.Scan(&msg); err != nil {
			return err
		}
		if msg != "ok" {
			c.Problem(store.Problem{Kind: store.ProblemIntegrity, Where: "database", Detail: msg})
		}
		return nil
	})
}

// foreignKeys reports rows pointing at missing rows, by table; a message
// without its body is reported in detail by the shared messages check.
func foreignKeys(c *sqlcore.Checker) error {
	type pair struct{ table, parent string }
	n := map[pair]int{}
	var order []pair
	err := c.Rows("PRAGMA foreign_key_check", func(r sqlcore.Rows) error {
		var table, parent string
		var rowid sql.NullInt64
		var fkid int
		if err := r.Scan(&table, &rowid, &parent, &fkid); err != nil {
			return err
		}
		p := pair{table, parent}
		if p == (pair{"messages", "bodies"}) {
			return nil
		}
		if n[p] == 0 {
			order = append(order, p)
		}
		n[p]++
		return nil
	})
	for _, p := range order {
		c.Problem(store.Problem{Kind: store.ProblemForeignKey, Where: "table " + p.table,
			Detail: fmt.Sprintf("%d rows refer to missing rows of %s", n[p], p.parent)})
	}
	return err
}

package pgstore

import (
	"context"
	"testing"

	"mailhouse/internal/store"
	"mailhouse/internal/store/pgstore/pgtest"
	"mailhouse/internal/store/storetest"
)

// testStore adds the storetest.Inspector window to a Store.
type testStore struct{ *Store }

func (s testStore) CountBodies(ctx context.Context) (int64, error) {
	var n int64
	err := s.read(ctx, func(r reader) error {
		return r.queryRow("SELECT count(*) FROM bodies", nil, &n)
	})
	return n, err
}

func openTest(t testing.TB, dsn string) *Store {
	t.Helper()
	s, err := Open(t.Context(), Options{DSN: dsn})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	srv := pgtest.Start(t)
	storetest.Run(t, func(t *testing.T) store.Store {
		return testStore{openTest(t, srv.NewDB(t))}
	})
}

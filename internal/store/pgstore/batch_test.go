package pgstore

import (
	"testing"

	"mailhouse/internal/store"
	"mailhouse/internal/store/pgstore/pgtest"
	"mailhouse/internal/store/storetest"
)

func TestBatchConformance(t *testing.T) {
	srv := pgtest.Start(t)
	storetest.RunBatch(t, func(t *testing.T) store.Store {
		return openTest(t, srv.NewDB(t))
	})
}

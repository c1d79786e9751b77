package sqlstore

import (
	"path/filepath"
	"testing"

	"mailhouse/internal/store"
	"mailhouse/internal/store/storetest"
)

func TestBatchConformance(t *testing.T) {
	storetest.RunBatch(t, func(t *testing.T) store.Store {
		return openTest(t, filepath.Join(t.TempDir(), "mail.db"))
	})
}

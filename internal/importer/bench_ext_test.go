package importer_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mailhouse/internal/importer"
	"mailhouse/internal/testenv"
)

// BenchmarkMaildirImport imports a 500-message Maildir (4 KB each) into
// a new account per round, through the real deliverer and store
// (fsynced commits): the rate an admin sees.
func BenchmarkMaildirImport(b *testing.B) {
	const n = 500
	root := filepath.Join(b.TempDir(), "Maildir")
	body := strings.Repeat("x", 4000)
	for i := range n {
		writeFileB(b, filepath.Join(root, "cur", fmt.Sprintf("%d.M%d.h:2,S", 1600000000+i, i)),
			fmt.Sprintf("Subject: %d\nMessage-ID: <%d@b>\n\n%s\n", i, i, body), time.Unix(int64(1600000000+i), 0))
	}
	mkMaildirB(b, root)
	stack := testenv.NewStack(b)
	im := importer.New(importer.Options{Store: stack.Store, Deliverer: stack.Deliverer})
	round := 0
	start := time.Now()
	for b.Loop() {
		round++
		addr := fmt.Sprintf("u%d@%s", round, testenv.Domain)
		stack.AddUser(b, addr)
		res, err := im.Maildir(b.Context(), addr, root)
		if err != nil || res.Imported != n {
			b.Fatalf("%+v %v", res, err)
		}
	}
	b.ReportMetric(float64(n*round)/time.Since(start).Seconds(), "msgs/s")
}

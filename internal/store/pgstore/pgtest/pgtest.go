// Package pgtest starts a private PostgreSQL server for tests: initdb
// into a temporary folder, postgres listening on 127.0.0.1 at a free
// port, stopped and removed when the test ends. It never touches the
// system's PostgreSQL service.
//
// The server binaries come from Debian's postgresql package
// (/usr/lib/postgresql/<version>/bin). Without them the test fails when
// CI is set (the CI must install them) and is skipped elsewhere. As root
// the server runs as the "postgres" user (PostgreSQL refuses to run as
// root).
package pgtest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Server is a running private PostgreSQL.
type Server struct {
	Dir  string // the data directory's parent (removed at the end)
	Port int
	bin  string
	as   *user.User // run as this user; nil: as ourselves
	dbs  atomic.Int64
}

// binDir finds the newest installed server binaries.
func binDir() (string, bool) {
	if d := os.Getenv("MAILHOUSE_PG_BIN"); d != "" {
		return d, true
	}
	ds, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(ds, func(a, b string) int {
		va, _ := strconv.Atoi(filepath.Base(filepath.Dir(a)))
		vb, _ := strconv.Atoi(filepath.Base(filepath.Dir(b)))
		return va - vb
	})
	for i := len(ds) - 1; i >= 0; i-- {
		if _, err := os.Stat(filepath.Join(ds[i], "initdb")); err == nil {
			return ds[i], true
		}
	}
	return "", false
}

// Start starts a server for tb and stops it when tb ends.
func Start(tb testing.TB) *Server {
	tb.Helper()
	bin, ok := binDir()
	if !ok {
		if os.Getenv("CI") != "" {
			tb.Fatal("PostgreSQL server binaries not found (Debian package postgresql)")
		}
		tb.Skip("PostgreSQL server binaries not found (Debian package postgresql)")
	}
	dir, err := os.MkdirTemp("", "mailhouse-pgtest-")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	s := &Server{Dir: dir, bin: bin}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			tb.Fatalf("running as root and there is no postgres user to run the server as: %v", err)
		}
		s.as = u
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chmod(dir, 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.Chown(dir, uid, gid); err != nil {
			tb.Fatal(err)
		}
	}
	data := filepath.Join(dir, "data")
	if out, err := s.run("initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync").CombinedOutput(); err != nil {
		tb.Fatalf("initdb: %v\n%s", err, out)
	}
	// A free port: bind 0, close, use it. Another process may take it in
	// between; then starting fails and we try again.
	for attempt := 0; ; attempt++ {
		s.Port = freePort(tb)
		opts := fmt.Sprintf("-p %d -c listen_addresses=127.0.0.1 -k %s -c max_connections=200 -c fsync=on", s.Port, dir)
		cmd := s.run("pg_ctl", "-D", data, "-l", filepath.Join(dir, "log"), "-o", opts, "-w", "-t", "60", "start")
		out, err := cmd.CombinedOutput()
		if err == nil {
			break
		}
		if attempt >= 2 {
			log, _ := os.ReadFile(filepath.Join(dir, "log"))
			tb.Fatalf("pg_ctl start: %v\n%s\n%s", err, out, log)
		}
	}
	tb.Cleanup(func() {
		if out, err := s.run("pg_ctl", "-D", data, "-m", "fast", "-w", "stop").CombinedOutput(); err != nil {
			tb.Logf("pg_ctl stop: %v\n%s", err, out)
		}
	})
	return s
}

func (s *Server) run(tool string, args ...string) *exec.Cmd {
	path := filepath.Join(s.bin, tool)
	if s.as == nil {
		return exec.Command(path, args...)
	}
	return exec.Command("runuser", append([]string{"-u", s.as.Username, "--", path}, args...)...)
}

func freePort(tb testing.TB) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// DSN is the connection string of database db.
func (s *Server) DSN(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.Port, db)
}

// NewDB creates a new, empty database and returns its DSN.
func (s *Server) NewDB(tb testing.TB) string {
	tb.Helper()
	name := fmt.Sprintf("t%d_%s", s.dbs.Add(1), strings.ToLower(sanitize(tb.Name())))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, s.DSN("postgres"))
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		tb.Fatal(err)
	}
	return s.DSN(name)
}

// sanitize keeps a database name short and made of [a-z0-9_].
func sanitize(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if b.Len() >= 40 {
			break
		}
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

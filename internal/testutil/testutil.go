// Package testutil holds small helpers shared by tests: where the shared
// mail corpus is, and how to require an external tool.
//
// It is imported only from _test.go files.
package testutil

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"
)

// RepoRoot returns the folder holding go.mod, found from the working
// directory upwards.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the working directory")
		}
		dir = parent
	}
}

// CorpusFiles returns the paths of every message in ../shared/corpus/mime
// beside the repository, sorted. The corpus is required: a missing corpus
// fails the test rather than skipping it.
func CorpusFiles(t testing.TB) []string {
	t.Helper()
	dir := filepath.Join(RepoRoot(t), "..", "shared", "corpus", "mime")
	if d := os.Getenv("MAILHOUSE_CORPUS"); d != "" {
		dir = d
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.eml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("mail corpus not found in %s (set MAILHOUSE_CORPUS)", dir)
	}
	sort.Strings(files)
	return files
}

// NeedTool returns the path of an external program the test drives. It
// fails the test when the program is missing in CI (CI=true) and skips it
// with a clear reason elsewhere.
func NeedTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is required in CI but not installed (see .ci/run)", name)
	}
	t.Skipf("%s not installed; .ci/run installs it", name)
	return ""
}

package load

import (
	"os/exec"
	"path/filepath"
	"testing"
)

// TestScriptsParse: the comparison scripts are valid bash (they are not
// run in CI: Postfix and Dovecot are not installed there).
func TestScriptsParse(t *testing.T) {
	scripts, err := filepath.Glob("../*.sh")
	if err != nil || len(scripts) < 4 {
		t.Fatalf("scripts: %v %v", scripts, err)
	}
	for _, s := range scripts {
		if out, err := exec.Command("bash", "-n", s).CombinedOutput(); err != nil {
			t.Errorf("%s: %v\n%s", s, err, out)
		}
	}
}

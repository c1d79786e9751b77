package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const full = `hostname = "mail.example.com"
data_dir = "data"
[tls]
cert_file = "tls/cert.pem"
key_file  = "tls/key.pem"
[listen]
smtp        = ["0.0.0.0:25"]
submission  = ["0.0.0.0:587", "0.0.0.0:2525"]
submissions = ["0.0.0.0:465"]
imap  = ["0.0.0.0:143"]
imaps = ["0.0.0.0:993"]
pop3  = ["0.0.0.0:110"]
pop3s = ["0.0.0.0:995"]
http  = ["0.0.0.0:80"]
https = ["0.0.0.0:443"]
`

func TestLoadFull(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "mailhouse.toml")
	if err := os.WriteFile(p, []byte(full), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if c.Hostname != "mail.example.com" || len(c.Listen.Submission) != 2 || c.Listen.IMAPS[0] != "0.0.0.0:993" {
		t.Fatalf("decoded wrong: %+v", c)
	}
	if got, want := c.Path(c.TLS.CertFile), filepath.Join(dir, "tls/cert.pem"); got != want {
		t.Errorf("cert path %q, want %q", got, want)
	}
	if got, want := c.DataPath("x.db"), filepath.Join(dir, "data", "x.db"); got != want {
		t.Errorf("data path %q, want %q", got, want)
	}
	if c.SMTP.MaxMessageBytes != 25<<20 || c.SMTP.MaxRecipients != 100 || c.POP3.IdleTimeout.Duration != 10*time.Minute {
		t.Errorf("defaults not applied: %+v %+v", c.SMTP, c.POP3)
	}
}

func TestLoadErrors(t *testing.T) {
	for _, tc := range []struct{ name, text, want string }{
		{"unknown top key", "hostname = \"m.x\"\nfoo = 1\n", `line 2: unknown key "foo"`},
		{"unknown nested key", "hostname = \"m.x\"\n[listen]\nimap = []\nsmpt = [\"1.2.3.4:25\"]\n", `line 4: unknown key "listen.smpt"`},
		{"syntax", "hostname = \"m.x\"\n[listen\n", "line 2"},
		{"bad type", "hostname = 5\n", "line 1"},
		{"no hostname", "data_dir = \"d\"\n", "hostname: must be set"},
		{"bad listen", "hostname = \"m.x\"\n[listen]\nimap = [\"143\"]\n", `line 3: listen.imap: "143" is not host:port`},
		{"host name in listen", "hostname = \"m.x\"\n[listen]\nimap = [\"example.com:143\"]\n", "host must be an IP address"},
		{"half tls", "hostname = \"m.x\"\n[tls]\ncert_file = \"c.pem\"\n", "cert_file and key_file must be set together"},
		{"bad duration", "hostname = \"m.x\"\n[smtp]\ncommand_timeout = \"soon\"\n", "line 3"},
		{"short line limit", "hostname = \"m.x\"\n[smtp]\nmax_line_length = 80\n", "line 3: smtp.max_line_length: must be at least 1000"},
		{"negative", "hostname = \"m.x\"\n[smtp]\nmax_recipients = -1\n", "smtp.max_recipients: must not be negative"},
		{"pop3 timeout", "hostname = \"m.x\"\n[pop3]\nidle_timeout = \"1m\"\n", "at least 10m"},
		{"log level", "hostname = \"m.x\"\n[log]\nlevel = \"loud\"\n", "log.level"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.text), t.TempDir())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
}

func TestConfigPath(t *testing.T) {
	t.Setenv(EnvConfig, "")
	if got := ConfigPath(""); got != DefaultPath {
		t.Errorf("default %q", got)
	}
	t.Setenv(EnvConfig, "/etc/m.toml")
	if got := ConfigPath(""); got != "/etc/m.toml" {
		t.Errorf("env %q", got)
	}
	if got := ConfigPath("x.toml"); got != "x.toml" {
		t.Errorf("flag %q", got)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(full))
	f.Add([]byte("hostname = \"m.x\"\n[smtp]\ncommand_timeout = \"5s\"\n"))
	f.Add([]byte("hostname = \"m.x\"\n[listen]\nimap = [\"[::1]:143\"]\n"))
	f.Add([]byte("[a.b.c]\nx = [1, [2, {y = 3}]]\n"))
	f.Add([]byte("hostname = '''\nm\n'''"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := Parse(b, "/tmp")
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error %q", err)
			}
			return
		}
		if c.Hostname == "" || c.SMTP.MaxMessageBytes <= 0 || c.POP3.IdleTimeout.Duration < 10*time.Minute {
			t.Fatalf("accepted config breaks invariants: %+v", c)
		}
	})
}

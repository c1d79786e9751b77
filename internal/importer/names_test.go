package importer

import (
	"reflect"
	"testing"
)

func TestMaildirInfo(t *testing.T) {
	for name, want := range map[string][2]string{
		"1551000001.M1P1.host:2,FS":         {"1551000001.M1P1.host", "FS"},
		"1551000001.M1P1.host,S=12:2,":      {"1551000001.M1P1.host,S=12", ""},
		"1551000001.M1P1.host":              {"1551000001.M1P1.host", ""},
		"1551000001.M1P1.host!2,RS":         {"1551000001.M1P1.host", "RS"},
		"1551000001.M1P1.host;2,S":          {"1551000001.M1P1.host", "S"},
		"1551000001.M1P1.a:2,b:2,Sa":        {"1551000001.M1P1.a:2,b", "Sa"},
		"1551000001.M1P1.host:1,experiment": {"1551000001.M1P1.host:1,experiment", ""},
	} {
		u, f := maildirInfo(name)
		if u != want[0] || f != want[1] {
			t.Errorf("%s: %q %q, want %q", name, u, f, want)
		}
	}
}

func TestMaildirFlags(t *testing.T) {
	kw := parseKeywords([]byte("0 $Label1\n1 Junk\n2 bad keyword\n3 (paren\n99 far\nnonsense\n4 $MDNSent\n"))
	if kw[0] != "$Label1" || kw[1] != "Junk" || kw[2] != "" || kw[3] != "" || kw[4] != "$MDNSent" {
		t.Errorf("keywords %q", kw[:5])
	}
	got := maildirFlags("DFPRSTabcez", kw)
	want := []string{"$Forwarded", "$Label1", "$MDNSent", "Junk", `\Answered`, `\Deleted`, `\Draft`, `\Flagged`, `\Seen`}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("flags %v, want %v", got, want)
	}
	letters, kw2 := maildirLetters(got, nil)
	if letters != "DFPRSTabc" || !reflect.DeepEqual(kw2, []string{"$Label1", "$MDNSent", "Junk"}) {
		t.Errorf("letters %q %v", letters, kw2)
	}
	if back := maildirFlags(letters, kw2); !reflect.DeepEqual(back, want) {
		t.Errorf("round trip %v", back)
	}
	if cleanFlags([]string{`\Recent`, `\seen`, `\Unknown`, "ok", "", "a b", "ok"}) == nil {
		t.Error("cleanFlags dropped everything")
	}
	if got := cleanFlags([]string{`\Recent`, `\seen`, `\Unknown`, "ok", "", "a b", "ok", "x]"}); !reflect.DeepEqual(got, []string{`\Seen`, "ok"}) {
		t.Errorf("cleanFlags %v", got)
	}
}

func TestMaildirPlusNames(t *testing.T) {
	for dir, want := range map[string]string{
		".Sent":            "Sent",
		".Archive.2024":    "Archive/2024",
		".&AMk-t&AOk-":     "Été",
		".INBOX.Lists":     "INBOX/Lists",
		".a&AC4-b":         "a.b",
		".&AOk-&AC4-&AOk-": "é.é",
		".raw-ütf8":        "raw-ütf8",
		".bad&utf7":        "bad&utf7",
		".slash/in":        "slash_in",
	} {
		got, ok := maildirPlusName(dir)
		if !ok || got != want {
			t.Errorf("%s: %q %v, want %q", dir, got, ok, want)
		}
	}
	for _, bad := range []string{".", "Sent", ".a..b", ".a.", "..a"} {
		if got, ok := maildirPlusName(bad); ok {
			t.Errorf("%q accepted as %q", bad, got)
		}
	}
	for _, name := range []string{"Sent", "Archive/2024", "Été", "v1.2", "a&b", "INBOX/x", "日本語/メール"} {
		if got, ok := maildirPlusName(maildirPlusDir(name)); !ok || got != name {
			t.Errorf("%q → %q → %q", name, maildirPlusDir(name), got)
		}
	}
}

func TestSubscriptionsAndUIDList(t *testing.T) {
	if got := parseSubscriptions([]byte("V\t2\n\nSent\nArchive\t2024\nINBOX\tx\n"), ".", false); !reflect.DeepEqual(got, []string{"Sent", "Archive/2024", "INBOX/x"}) {
		t.Errorf("dovecot v2: %v", got)
	}
	if got := parseSubscriptions([]byte("INBOX.Sent\r\nINBOX.Lists.go\n"), ".", true); !reflect.DeepEqual(got, []string{"Sent", "Lists/go"}) {
		t.Errorf("courier: %v", got)
	}
	m := parseUIDList([]byte("3 V1 N4 Gabc\n1 :a.host\n2 W120 S118 :b.host,S=118\n3 c.host\nx :d\n"))
	if m["a.host"] != 1 || m["b.host,S=118"] != 2 || m["c.host"] != 3 || len(m) != 3 {
		t.Errorf("uidlist %v", m)
	}
}

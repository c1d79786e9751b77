package importer

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"
)

const sampleMbox = `From alice@old.example Mon Mar  4 10:30:00 2019
From: alice@old.example
Subject: first
Message-ID: <first@old.example>
Status: RO
X-Status: AF
X-Keywords: $Label1, work
X-UID: 7

Hello.
>From the start of a line, escaped.
>>From twice escaped.

From MAILER-DAEMON Tue Mar  5 11:00:00 2019
From: daemon@old.example
Subject: second
X-Mozilla-Status: 1003
X-Mozilla-Status2: 00000000
X-Mozilla-Keys: $label2

From a body line that was not escaped: no date, so no new message.

From - Wed Mar  6 12:00:00 2019
Subject: deleted in Thunderbird
X-Mozilla-Status: 0009

gone

From bob@old.example Thu Mar  7 13:00:00 +0100 2019
Subject: last
Message-ID: <last@old.example>

The end, without a final blank line.
`

func TestMboxReader(t *testing.T) {
	r := newMboxReader(strings.NewReader(sampleMbox), 1<<20)
	var got []*mboxMessage
	for {
		m, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, m)
	}
	if len(got) != 4 {
		t.Fatalf("%d messages, want 4", len(got))
	}
	if !bytes.Contains(got[0].data, []byte("\nFrom the start of a line, escaped.\n>From twice escaped.\n")) {
		t.Errorf("unescaping: %q", got[0].data)
	}
	if bytes.HasSuffix(got[0].data, []byte("\n\n")) {
		t.Errorf("the separator blank line stayed: %q", got[0].data)
	}
	if !bytes.Contains(got[1].data, []byte("From a body line")) {
		t.Errorf("an unescaped From line split a message: %q", got[1].data)
	}
	if want := time.Date(2019, 3, 7, 13, 0, 0, 0, time.FixedZone("", 3600)); !mboxDate(got[3].fromLine).Equal(want) {
		t.Errorf("date of %q = %v", got[3].fromLine, mboxDate(got[3].fromLine))
	}
	data, flags, expunged := mboxFlags(got[0].data)
	if want := []string{"$Label1", `\Answered`, `\Flagged`, `\Seen`, "work"}; !reflect.DeepEqual(flags, want) || expunged {
		t.Errorf("flags %v, want %v", flags, want)
	}
	if bytes.Contains(data, []byte("Status:")) || bytes.Contains(data, []byte("X-UID")) || !bytes.Contains(data, []byte("Subject: first\nMessage-ID")) {
		t.Errorf("state headers not removed: %q", data)
	}
	if _, flags, _ := mboxFlags(got[1].data); !reflect.DeepEqual(flags, []string{"$Forwarded", "$label2", `\Answered`, `\Seen`}) {
		t.Errorf("Mozilla flags: %v", flags)
	}
	if _, _, expunged := mboxFlags(got[2].data); !expunged {
		t.Error("Thunderbird's expunged message not recognised")
	}
	if _, err := newMboxReader(strings.NewReader("Subject: x\n\nnot an mbox\n"), 1<<20).Next(); !errors.Is(err, errNotMbox) {
		t.Errorf("not an mbox: %v", err)
	}
	// Over the limit: reported, not kept.
	m, err := newMboxReader(strings.NewReader(sampleMbox), 50).Next()
	if err != nil || !m.tooLarge {
		t.Errorf("limit: %+v %v", m, err)
	}
}

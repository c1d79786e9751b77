package message

import (
	"errors"
	"testing"
)

func TestMarshalRoundTrip(t *testing.T) {
	for _, m := range []string{mixedWithAttachment, nestedRFC822, "", "x", "Subject: only\n"} {
		s := Parse(crlf(m))
		b := s.Marshal()
		back, err := Unmarshal(b)
		if err != nil {
			t.Fatalf("Unmarshal: %v", err)
		}
		if !equalStructures(s, back) {
			t.Errorf("round trip differs for %.40q:\n%+v\n%+v", m, s, back)
		}
	}
}

func TestUnmarshalRejects(t *testing.T) {
	good := Parse(crlf(nestedRFC822)).Marshal()

	if _, err := Unmarshal(nil); err == nil {
		t.Error("empty input accepted")
	}
	old := append([]byte{formatVersion + 1}, good[1:]...)
	if _, err := Unmarshal(old); !errors.Is(err, ErrVersion) {
		t.Errorf("other version: %v, want ErrVersion", err)
	}
	// Every truncation and trailing junk is an error, not a panic.
	for n := 1; n < len(good); n++ {
		if _, err := Unmarshal(good[:n]); err == nil {
			t.Errorf("truncated at %d of %d accepted", n, len(good))
		}
	}
	if _, err := Unmarshal(append(good, 0)); err == nil {
		t.Error("trailing byte accepted")
	}
	// A huge list length must not allocate.
	huge := []byte{formatVersion, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}
	if _, err := Unmarshal(huge); err == nil {
		t.Error("huge count accepted")
	}
}

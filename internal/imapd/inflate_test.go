package imapd

import (
	"bufio"
	"bytes"
	"compress/flate"
	"errors"
	"io"
	"math/rand"
	"testing"
)

// inflateAll decodes a whole stream with inflate.
func inflateAll(data []byte) ([]byte, error) {
	var out bytes.Buffer
	err := inflate(bufio.NewReader(bytes.NewReader(data)), &out)
	if errors.Is(err, errInflateFinal) || errors.Is(err, io.ErrUnexpectedEOF) {
		err = nil
	}
	return out.Bytes(), err
}

// compressChunks compresses chunks with compress/flate, sync-flushing
// after each as a COMPRESS peer does.
func compressChunks(t testing.TB, level int, chunks [][]byte) []byte {
	var buf bytes.Buffer
	w, err := flate.NewWriter(&buf, level)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range chunks {
		w.Write(c)
		w.Flush()
	}
	return buf.Bytes()
}

func TestInflate(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	text := bytes.Repeat([]byte("a FETCH 1:* (UID FLAGS BODY.PEEK[HEADER.FIELDS (From Subject)])\r\n"), 2000)
	random := make([]byte, 100_000)
	r.Read(random)
	for _, level := range []int{flate.NoCompression, flate.BestSpeed, flate.DefaultCompression, flate.BestCompression, flate.HuffmanOnly} {
		for _, data := range [][]byte{nil, []byte("x"), text, random, append(text[:50_000:50_000], random...)} {
			var chunks [][]byte
			for rest := data; len(rest) > 0; {
				n := min(len(rest), 1+r.Intn(70_000))
				chunks = append(chunks, rest[:n])
				rest = rest[n:]
			}
			got, err := inflateAll(compressChunks(t, level, chunks))
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("level %d, %d bytes: got %d bytes, %v", level, len(data), len(got), err)
			}
		}
	}
}

// TestInflateBlockEnd: the bytes of a sync-flushed burst are handed out
// before any more input arrives, as a session needs.
func TestInflateBlockEnd(t *testing.T) {
	pr, pw := io.Pipe()
	zr := inflateReader(bufio.NewReader(pr))
	defer zr.Close()
	w, _ := flate.NewWriter(pw, flate.BestSpeed)
	go func() {
		w.Write([]byte("a NOOP\r\n"))
		w.Flush()
	}()
	line, err := bufio.NewReader(zr).ReadString('\n')
	if err != nil || line != "a NOOP\r\n" {
		t.Fatalf("%q, %v", line, err)
	}
	pw.Close()
}

func TestInflateCorrupt(t *testing.T) {
	for _, data := range [][]byte{
		{0x07},                         // block type 3
		{0x00, 0x01, 0x00, 0x00, 0x00}, // stored length check fails
		distanceBeforeStart(),
	} {
		if _, err := inflateAll(data); err == nil {
			t.Errorf("%x: no error", data)
		}
	}
}

// distanceBeforeStart is a fixed-code block whose first symbol copies
// from before the start of the stream.
func distanceBeforeStart() []byte {
	var out []byte
	var acc, n uint
	put := func(v, bits uint) { // LSB first
		acc |= v << n
		n += bits
		for n >= 8 {
			out = append(out, byte(acc))
			acc >>= 8
			n -= 8
		}
	}
	huff := func(code, bits uint) { // Huffman codes go MSB first
		for i := int(bits) - 1; i >= 0; i-- {
			put(code>>uint(i)&1, 1)
		}
	}
	put(1, 1)  // final
	put(1, 2)  // fixed codes
	huff(1, 7) // symbol 257: length 3
	huff(0, 5) // distance code 0: distance 1
	huff(0, 7) // end of block
	put(0, 7)
	return out
}

// FuzzInflate decodes what compress/flate encodes (a differential test)
// and decodes arbitrary bytes without panicking or looping.
func FuzzInflate(f *testing.F) {
	f.Add([]byte("a LOGIN x y\r\nb SELECT INBOX\r\n"), uint8(1), uint16(7))
	f.Add(bytes.Repeat([]byte("abcabcabd"), 1000), uint8(9), uint16(100))
	f.Add([]byte{}, uint8(0), uint16(0))
	f.Fuzz(func(t *testing.T, data []byte, level uint8, cut uint16) {
		lvl := int(level%11) - 2 // -2 (HuffmanOnly) to 8
		split := int(cut) % (len(data) + 1)
		enc := compressChunks(t, lvl, [][]byte{data[:split], data[split:]})
		got, err := inflateAll(enc)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("round trip at level %d: %d bytes back of %d, %v", lvl, len(got), len(data), err)
		}
		// The same bytes as compressed input: any outcome but a panic.
		inflateAll(data)
	})
}

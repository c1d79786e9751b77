package imapd

import (
	"bufio"
	"errors"
	"io"
)

// A streaming DEFLATE decoder (RFC 1951) for COMPRESS=DEFLATE.
//
// compress/flate's reader hands out decoded bytes only when its window
// fills, at a stored block (Z_SYNC_FLUSH's empty one) or at the end of
// the stream. A client that flushes with Z_PARTIAL_FLUSH (isync does)
// ends its burst with an empty fixed-code block instead, and its command
// would sit in the window while the server waits for more. This decoder
// releases its output at the end of every block. It follows Mark Adler's
// puff.c: canonical Huffman codes decoded bit by bit, which is slower
// than table decoding but small and plenty for client commands. It runs
// in its own goroutine, writing to a pipe that the session reads.

// Errors of malformed DEFLATE data.
var (
	errInflateCorrupt = errors.New("inflate: corrupt DEFLATE data")
	errInflateFinal   = errors.New("inflate: the client ended its compressed stream")
)

const (
	maxCodeBits = 15
	windowSize  = 32 << 10
	// flushAt is how much decoded output is gathered before it is
	// written out in the middle of a block.
	flushAt = 16 << 10
)

// huffman is a canonical Huffman code: how many codes of each length,
// and the symbols ordered by code.
type huffman struct {
	count  [maxCodeBits + 1]uint16
	symbol []uint16
}

// build makes the code for the given code lengths. It returns the number
// of codes left unused: negative means over-subscribed (invalid), 0
// complete, positive incomplete.
func (h *huffman) build(lengths []uint8) int {
	h.count = [maxCodeBits + 1]uint16{}
	for _, l := range lengths {
		h.count[l]++
	}
	if int(h.count[0]) == len(lengths) {
		h.symbol = h.symbol[:0]
		return 0
	}
	left := 1
	for l := 1; l <= maxCodeBits; l++ {
		left <<= 1
		left -= int(h.count[l])
		if left < 0 {
			return left
		}
	}
	var offs [maxCodeBits + 2]uint16
	for l := 1; l < maxCodeBits; l++ {
		offs[l+1] = offs[l] + h.count[l]
	}
	if cap(h.symbol) < len(lengths) {
		h.symbol = make([]uint16, len(lengths))
	}
	h.symbol = h.symbol[:len(lengths)]
	for sym, l := range lengths {
		if l != 0 {
			h.symbol[offs[l]] = uint16(sym)
			offs[l]++
		}
	}
	return left
}

// inflater decodes one DEFLATE stream.
type inflater struct {
	in    *bufio.Reader
	out   io.Writer
	bits  uint32
	nbits uint
	// win holds the last windowSize bytes of output and the output not
	// yet written (from pend on).
	win  []byte
	pend int
	// total counts the output, for checking distances early on.
	total int64
	lit   huffman
	dist  huffman
	lens  [320]uint8
}

// inflate decodes the stream from in to out until in or out fails; it
// never returns nil.
func inflate(in *bufio.Reader, out io.Writer) error {
	f := &inflater{in: in, out: out, win: make([]byte, 0, 2*windowSize+flushAt)}
	for {
		final, err := f.need(1)
		if err != nil {
			return err
		}
		kind, err := f.need(2)
		if err != nil {
			return err
		}
		switch kind {
		case 0:
			err = f.stored()
		case 1:
			err = f.fixed()
		case 2:
			err = f.dynamic()
		default:
			err = errInflateCorrupt
		}
		if err == nil {
			// The end of a block: hand out what it decoded.
			err = f.flush()
		}
		if err != nil {
			return err
		}
		if final == 1 {
			return errInflateFinal
		}
	}
}

// need returns the next n bits (n <= 24).
func (f *inflater) need(n uint) (uint32, error) {
	for f.nbits < n {
		c, err := f.in.ReadByte()
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return 0, err
		}
		f.bits |= uint32(c) << f.nbits
		f.nbits += 8
	}
	v := f.bits & (1<<n - 1)
	f.bits >>= n
	f.nbits -= n
	return v, nil
}

// emit appends decoded bytes, writing out and sliding the window as it
// fills.
func (f *inflater) emit(b byte) error {
	f.win = append(f.win, b)
	f.total++
	if len(f.win)-f.pend >= flushAt {
		return f.flush()
	}
	return nil
}

// flush writes the pending output and keeps the last windowSize bytes.
func (f *inflater) flush() error {
	if f.pend < len(f.win) {
		if _, err := f.out.Write(f.win[f.pend:]); err != nil {
			return err
		}
	}
	if len(f.win) > windowSize {
		n := copy(f.win, f.win[len(f.win)-windowSize:])
		f.win = f.win[:n]
	}
	f.pend = len(f.win)
	return nil
}

// stored copies a stored block (RFC 1951 §3.2.4).
func (f *inflater) stored() error {
	f.bits, f.nbits = 0, 0 // to the byte boundary
	var hdr [4]byte
	if _, err := io.ReadFull(f.in, hdr[:]); err != nil {
		return err
	}
	n := int(hdr[0]) | int(hdr[1])<<8
	if n != ^(int(hdr[2])|int(hdr[3])<<8)&0xffff {
		return errInflateCorrupt
	}
	for ; n > 0; n-- {
		c, err := f.in.ReadByte()
		if err != nil {
			return err
		}
		if err := f.emit(c); err != nil {
			return err
		}
	}
	return nil
}

// decode reads one symbol of h.
func (f *inflater) decode(h *huffman) (int, error) {
	code, first, index := 0, 0, 0
	for l := 1; l <= maxCodeBits; l++ {
		b, err := f.need(1)
		if err != nil {
			return 0, err
		}
		code |= int(b)
		count := int(h.count[l])
		if code-count < first {
			return int(h.symbol[index+code-first]), nil
		}
		index += count
		first += count
		first <<= 1
		code <<= 1
	}
	return 0, errInflateCorrupt
}

// Length and distance bases and extra bits (RFC 1951 §3.2.5).
var (
	lengthBase  = [29]uint16{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	lengthExtra = [29]uint8{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	distBase    = [30]uint16{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577}
	distExtra   = [30]uint8{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}
)

// codes decodes a block's symbols with the current codes until its end.
func (f *inflater) codes() error {
	for {
		sym, err := f.decode(&f.lit)
		if err != nil {
			return err
		}
		switch {
		case sym < 256:
			if err := f.emit(byte(sym)); err != nil {
				return err
			}
			continue
		case sym == 256:
			return nil
		}
		sym -= 257
		if sym >= len(lengthBase) {
			return errInflateCorrupt
		}
		extra, err := f.need(uint(lengthExtra[sym]))
		if err != nil {
			return err
		}
		length := int(lengthBase[sym]) + int(extra)
		dsym, err := f.decode(&f.dist)
		if err != nil {
			return err
		}
		if dsym >= len(distBase) {
			return errInflateCorrupt
		}
		if extra, err = f.need(uint(distExtra[dsym])); err != nil {
			return err
		}
		d := int(distBase[dsym]) + int(extra)
		if int64(d) > f.total || d > len(f.win) {
			return errInflateCorrupt // before the start of the stream
		}
		for ; length > 0; length-- {
			if err := f.emit(f.win[len(f.win)-d]); err != nil {
				return err
			}
		}
	}
}

// fixed decodes a block with the fixed codes (RFC 1951 §3.2.6).
func (f *inflater) fixed() error {
	l := f.lens[:288]
	for i := range l {
		switch {
		case i < 144:
			l[i] = 8
		case i < 256:
			l[i] = 9
		case i < 280:
			l[i] = 7
		default:
			l[i] = 8
		}
	}
	f.lit.build(l)
	d := f.lens[:30]
	for i := range d {
		d[i] = 5
	}
	f.dist.build(d)
	return f.codes()
}

// codeOrder is the order of the code length code lengths.
var codeOrder = [19]uint8{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}

// dynamic decodes a block with its own codes (RFC 1951 §3.2.7).
func (f *inflater) dynamic() error {
	hdr, err := f.need(14)
	if err != nil {
		return err
	}
	nlen, ndist, ncode := int(hdr&31)+257, int(hdr>>5&31)+1, int(hdr>>10)+4
	if nlen > 286 || ndist > 30 {
		return errInflateCorrupt
	}
	var clen [19]uint8
	for i := range ncode {
		v, err := f.need(3)
		if err != nil {
			return err
		}
		clen[codeOrder[i]] = uint8(v)
	}
	var lencode huffman
	if lencode.build(clen[:]) != 0 {
		return errInflateCorrupt // the code length code must be complete
	}
	l := f.lens[:nlen+ndist]
	for i := 0; i < len(l); {
		sym, err := f.decode(&lencode)
		if err != nil {
			return err
		}
		if sym < 16 {
			l[i] = uint8(sym)
			i++
			continue
		}
		var v uint8
		var rep uint32
		switch sym {
		case 16:
			if i == 0 {
				return errInflateCorrupt
			}
			v = l[i-1]
			rep, err = f.need(2)
			rep += 3
		case 17:
			rep, err = f.need(3)
			rep += 3
		default:
			rep, err = f.need(7)
			rep += 11
		}
		if err != nil {
			return err
		}
		if i+int(rep) > len(l) {
			return errInflateCorrupt
		}
		for ; rep > 0; rep-- {
			l[i] = v
			i++
		}
	}
	if l[256] == 0 {
		return errInflateCorrupt // no end-of-block code
	}
	// An incomplete code is allowed only as a single code of one bit (as
	// puff.c and zlib allow).
	if left := f.lit.build(l[:nlen]); left < 0 || (left > 0 && nlen != int(f.lit.count[0]+f.lit.count[1])) {
		return errInflateCorrupt
	}
	if left := f.dist.build(l[nlen:]); left < 0 || (left > 0 && ndist != int(f.dist.count[0]+f.dist.count[1])) {
		return errInflateCorrupt
	}
	return f.codes()
}

// inflateReader runs inflate in a goroutine and returns the decoded
// stream; closing it stops the goroutine (and in fails when the
// connection closes).
func inflateReader(in *bufio.Reader) io.ReadCloser {
	pr, pw := io.Pipe()
	go func() {
		pw.CloseWithError(inflate(in, pw))
	}()
	return pr
}

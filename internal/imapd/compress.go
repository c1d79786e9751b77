package imapd

import (
	"bufio"
	"bytes"
	"compress/flate"
	"io"

	"mailhouse/internal/imapd/imapwire"
)

// COMPRESS=DEFLATE (RFC 4978): after the tagged OK, both directions are
// raw DEFLATE streams (RFC 1951, no zlib or gzip header). Every burst of
// responses ends with a sync flush (§4: "the server MUST flush"), so
// that the client can decode it without waiting for more.
//
// It is offered only on TLS connections (implicit or after STARTTLS):
// the design keeps plaintext IMAP for tests and STARTTLS, not for mail.
// Input is decoded by inflate.go (compress/flate's reader waits for more
// input after a client's Z_PARTIAL_FLUSH). Memory: compress/flate's
// writer allocates about 1.2 MB at level 1 (0.8 MB at the default
// level), plus the decoder's 80 KB, for as long as the connection
// lives; Options.MaxCompressed bounds how many sessions hold it. Level 1
// (BestSpeed) compresses base64 attachments at about 150 MB/s here,
// against 12 MB/s at the default level: for a mail server the CPU is the
// scarcer of the two.

// compressLevel is the DEFLATE level of server output.
const compressLevel = flate.BestSpeed

// flusher is a compressing writer.
type flusher interface {
	io.Writer
	Flush() error
}

func (s *session) cmdCompress(c *imapwire.Command) error {
	if c.Mechanism != "DEFLATE" {
		return bad("unknown compression mechanism %s", c.Mechanism) // RFC 4978 §3
	}
	if s.zw != nil {
		return no("COMPRESSIONACTIVE", "compression is already active") // RFC 4978 §3
	}
	if !s.isTLS {
		return no("CANNOT", "COMPRESS is offered only under TLS")
	}
	if !s.srv.claimCompress() {
		return no("LIMIT", "too many compressed sessions; go on without") // RFC 5530
	}
	s.tagged(c.Tag, &result{status: "OK", text: "DEFLATE active"})
	if err := s.flush(); err != nil {
		s.srv.releaseCompress()
		return errAlreadyAnswered
	}
	// Bytes the client sent after the command are already compressed:
	// they are the start of the compressed stream.
	pending, _ := s.br.Peek(s.br.Buffered())
	in := io.MultiReader(bytes.NewReader(bytes.Clone(pending)), s.conn)
	zw, err := flate.NewWriter(s.conn, compressLevel)
	if err != nil {
		s.srv.releaseCompress()
		s.log.Error("COMPRESS", "err", err)
		s.state = stateLogout
		return errAlreadyAnswered
	}
	s.zw = zw
	zr := inflateReader(bufio.NewReaderSize(in, readBufSize))
	s.zr = zr
	s.br = bufio.NewReaderSize(zr, readBufSize)
	s.bw = bufio.NewWriterSize(zw, writeBufSize)
	s.rd.SetBufio(s.br)
	s.log.Debug("compression active")
	return errAlreadyAnswered
}

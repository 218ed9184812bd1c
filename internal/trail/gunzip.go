package trail

import (
	"bufio"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// gunzipper inflates gzip members into a buffer. Unlike compress/gzip it does not compute the
// CRC-32 of the output (a sixth of the reading time): a log file's integrity is what `trail
// verify` proves with SHA-256, and a truncated or corrupt stream still fails here, on the
// DEFLATE framing or on the length in the trailer.
type gunzipper struct {
	fr io.ReadCloser
}

var errTruncated = errors.New("truncated gzip stream")

// inflate appends the decompressed content of every gzip member in br to buf, up to limit bytes.
func (g *gunzipper) inflate(br *bufio.Reader, buf *bytes.Buffer, limit int64) error {
	for member := 0; ; member++ {
		magic, err := br.Peek(2)
		if member > 0 && (err == io.EOF || len(magic) == 0) {
			return nil
		}
		if err != nil || magic[0] != 0x1f || magic[1] != 0x8b {
			if member > 0 {
				return errors.New("gzip: trailing garbage")
			}
			return errors.New("gzip: invalid header")
		}
		if err := skipHeader(br); err != nil {
			return err
		}
		if g.fr == nil {
			g.fr = flate.NewReader(br)
		} else if err := g.fr.(flate.Resetter).Reset(br, nil); err != nil {
			return err
		}
		before := buf.Len()
		n, err := buf.ReadFrom(io.LimitReader(g.fr, limit+1-int64(before)))
		if err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) {
				return errTruncated
			}
			return fmt.Errorf("gzip: %w", err)
		}
		if int64(buf.Len()) > limit {
			return fmt.Errorf("object larger than %d bytes uncompressed", limit)
		}
		var trailer [8]byte
		if _, err := io.ReadFull(br, trailer[:]); err != nil {
			return errTruncated
		}
		if binary.LittleEndian.Uint32(trailer[4:]) != uint32(n) {
			return errors.New("gzip: length in trailer does not match the data")
		}
	}
}

func skipHeader(br *bufio.Reader) error {
	var h [10]byte
	if _, err := io.ReadFull(br, h[:]); err != nil {
		return errTruncated
	}
	if h[2] != 8 {
		return errors.New("gzip: unsupported compression method")
	}
	flg := h[3]
	if flg&4 != 0 { // FEXTRA
		var l [2]byte
		if _, err := io.ReadFull(br, l[:]); err != nil {
			return errTruncated
		}
		if _, err := br.Discard(int(binary.LittleEndian.Uint16(l[:]))); err != nil {
			return errTruncated
		}
	}
	for _, bit := range []byte{8, 16} { // FNAME, FCOMMENT: zero-terminated
		if flg&bit != 0 {
			if _, err := br.ReadSlice(0); err != nil && !errors.Is(err, bufio.ErrBufferFull) {
				return errTruncated
			}
		}
	}
	if flg&2 != 0 { // FHCRC
		if _, err := br.Discard(2); err != nil {
			return errTruncated
		}
	}
	return nil
}

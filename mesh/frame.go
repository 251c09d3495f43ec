package mesh

import (
	"encoding/binary"
	"fmt"
	"io"
	"slices"
)

// putHeader writes m's header into b[:HeaderSize].
func putHeader(b []byte, m *Message) {
	binary.BigEndian.PutUint16(b[offMagic:], Magic)
	b[offVersion] = Version
	b[offResv] = 0
	binary.BigEndian.PutUint16(b[offFlags:], m.Flags)
	binary.BigEndian.PutUint32(b[offDst:], uint32(m.Dst))
	binary.BigEndian.PutUint32(b[offSrc:], uint32(m.Src))
	binary.BigEndian.PutUint32(b[offAuth:], uint32(m.Auth))
	binary.BigEndian.PutUint32(b[offHandle:], uint32(m.Handle))
	binary.BigEndian.PutUint32(b[offReplyTo:], uint32(m.ReplyTo))
	binary.BigEndian.PutUint32(b[offLength:], uint32(len(m.Body)))
}

// parseHeader checks b[:HeaderSize] and fills m's header fields. It
// returns the body length. maxSize bounds the body length.
func parseHeader(b []byte, m *Message, maxSize int) (int, error) {
	if g := binary.BigEndian.Uint16(b[offMagic:]); g != Magic {
		return 0, &FrameError{fmt.Sprintf("magic %#04x, want %#04x (stream corrupt or not a mesh peer)", g, Magic)}
	}
	if v := b[offVersion]; v != Version {
		return 0, &FrameError{fmt.Sprintf("version %d, want %d", v, Version)}
	}
	if b[offResv] != 0 {
		return 0, &FrameError{fmt.Sprintf("reserved byte %#02x, want 0", b[offResv])}
	}
	m.Flags = binary.BigEndian.Uint16(b[offFlags:])
	if m.Flags&^knownFlags != 0 {
		return 0, &FrameError{fmt.Sprintf("unknown flags %#04x", m.Flags&^knownFlags)}
	}
	m.Dst = ID(binary.BigEndian.Uint32(b[offDst:]))
	m.Src = ID(binary.BigEndian.Uint32(b[offSrc:]))
	m.Auth = ID(binary.BigEndian.Uint32(b[offAuth:]))
	m.Handle = Handle(binary.BigEndian.Uint32(b[offHandle:]))
	m.ReplyTo = Handle(binary.BigEndian.Uint32(b[offReplyTo:]))
	n := binary.BigEndian.Uint32(b[offLength:])
	if uint64(n) > uint64(maxSize) {
		return 0, &FrameError{fmt.Sprintf("length %d exceeds the maximum message size %d", n, maxSize)}
	}
	return int(n), nil
}

// readFrame reads one frame from r. Any error other than a clean io.EOF
// before the first header byte means the stream is unusable: a
// *FrameError for a malformed or oversized frame, io.ErrUnexpectedEOF for
// a frame cut short.
func readFrame(r io.Reader, hdr *[HeaderSize]byte, maxSize int) (*Message, error) {
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	m := new(Message)
	n, err := parseHeader(hdr[:], m, maxSize)
	if err != nil {
		return nil, err
	}
	if n > 0 {
		body, err := readBody(r, n)
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		m.Body = body
	}
	return m, nil
}

// bodyChunk is the most readBody allocates before the bytes it has read
// justify more: a header that declares a large body costs memory only as
// its bytes arrive.
const bodyChunk = 1 << 20

// readBody reads n bytes, growing its buffer as they arrive.
func readBody(r io.Reader, n int) ([]byte, error) {
	if n <= bodyChunk {
		b := make([]byte, n)
		_, err := io.ReadFull(r, b)
		return b, err
	}
	b := make([]byte, 0, bodyChunk)
	for len(b) < n {
		if len(b) == cap(b) {
			b = slices.Grow(b, min(cap(b), n-len(b)))
		}
		k, err := io.ReadFull(r, b[len(b):min(cap(b), n)])
		b = b[:len(b)+k]
		if err != nil {
			return nil, err
		}
	}
	return b, nil
}

// writeFrame writes m's header and body to w.
func writeFrame(w io.Writer, hdr *[HeaderSize]byte, m *Message) error {
	putHeader(hdr[:], m)
	if _, err := w.Write(hdr[:]); err != nil {
		return err
	}
	if len(m.Body) > 0 {
		if _, err := w.Write(m.Body); err != nil {
			return err
		}
	}
	return nil
}

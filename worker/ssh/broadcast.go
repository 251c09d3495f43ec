package sshworker

import (
	"errors"
	"io"
	"sync"
)

// Broadcast gives every node the same standard input: it reads its
// source once and each Reader returned by NewReader reads the whole
// stream from the beginning, at its own pace, blocking until more arrives.
// What the source sent is kept for readers started later (a node that
// gets its fanout slot late still sees all of it), so memory grows with
// the input, as ClusterShell's does. No goroutine is started: the reader
// that first needs new data reads the source while the others wait.
type Broadcast struct {
	src io.Reader

	mu      sync.Mutex
	cond    *sync.Cond
	buf     []byte
	err     error // the source's terminal error (io.EOF at the end)
	reading bool  // a reader is in src.Read
}

// NewBroadcast returns a Broadcast of src.
func NewBroadcast(src io.Reader) *Broadcast {
	b := &Broadcast{src: src}
	b.cond = sync.NewCond(&b.mu)
	return b
}

// NewReader returns a reader of the whole stream from its first byte.
// It is safe to use concurrently with the other readers.
func (b *Broadcast) NewReader() io.ReadCloser { return &broadcastReader{b: b} }

// ErrReaderClosed is returned by a Broadcast reader after its Close.
var ErrReaderClosed = errors.New("sshworker: broadcast reader closed")

type broadcastReader struct {
	b      *Broadcast
	off    int
	closed bool
}

const broadcastChunk = 64 << 10

// Read implements io.Reader.
func (r *broadcastReader) Read(p []byte) (int, error) {
	b := r.b
	b.mu.Lock()
	defer b.mu.Unlock()
	for {
		if r.closed {
			return 0, ErrReaderClosed
		}
		if r.off < len(b.buf) {
			n := copy(p, b.buf[r.off:])
			r.off += n
			return n, nil
		}
		if b.err != nil {
			return 0, b.err
		}
		if len(p) == 0 {
			return 0, nil
		}
		if b.reading {
			b.cond.Wait()
			continue
		}
		b.reading = true
		chunk := make([]byte, broadcastChunk)
		b.mu.Unlock()
		n, err := b.src.Read(chunk)
		b.mu.Lock()
		b.reading = false
		b.buf = append(b.buf, chunk[:n]...)
		if err != nil {
			b.err = err
		}
		b.cond.Broadcast()
	}
}

// Close makes further reads fail; a read blocked in the source ends when
// the source returns.
func (r *broadcastReader) Close() error {
	r.b.mu.Lock()
	r.closed = true
	r.b.cond.Broadcast()
	r.b.mu.Unlock()
	return nil
}

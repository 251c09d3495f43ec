package worker

import (
	"context"
	"fmt"
	"io"
	"sync"
)

// Broadcast is a standard input shared by every node of a worker: each
// reader made by Reader receives every chunk written, in order, then
// io.EOF once the Broadcast is closed. Chunks are kept until the Broadcast
// is dropped, so a node that starts late still reads the input from its
// first byte. Its methods are safe for concurrent use.
type Broadcast struct {
	mu     sync.Mutex
	chunks [][]byte
	closed bool
	more   chan struct{} // closed when a chunk is added or the stream closes
}

// NewBroadcast returns an empty, open Broadcast.
func NewBroadcast() *Broadcast { return &Broadcast{more: make(chan struct{})} }

// Write appends a copy of p for every reader. It fails, wrapping
// io.ErrClosedPipe, after Close.
func (b *Broadcast) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return 0, fmt.Errorf("write to closed standard input: %w", io.ErrClosedPipe)
	}
	if len(p) == 0 {
		return 0, nil
	}
	b.chunks = append(b.chunks, append([]byte(nil), p...))
	close(b.more)
	b.more = make(chan struct{})
	return len(p), nil
}

// Close ends the stream: readers get io.EOF after the last chunk. Closing
// twice does nothing.
func (b *Broadcast) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.closed {
		b.closed = true
		close(b.more)
	}
	return nil
}

// Reader returns a new Input that reads the stream from its first chunk.
func (b *Broadcast) Reader() Input { return &broadcastReader{b: b} }

type broadcastReader struct {
	b   *Broadcast
	pos int
}

func (r *broadcastReader) Next(ctx context.Context) ([]byte, error) {
	for {
		r.b.mu.Lock()
		if r.pos < len(r.b.chunks) {
			c := r.b.chunks[r.pos]
			r.pos++
			r.b.mu.Unlock()
			return c, nil
		}
		if r.b.closed {
			r.b.mu.Unlock()
			return nil, io.EOF
		}
		more := r.b.more
		r.b.mu.Unlock()
		select {
		case <-more:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

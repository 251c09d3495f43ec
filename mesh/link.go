package mesh

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

const (
	readBufSize  = 256 << 10
	writeBufSize = 256 << 10
	// highWater is how many queued bytes make a local sender wait for the
	// writer, and make the reader of a link whose frames are forwarded here
	// stop reading until the writer has taken the queue.
	highWater = 8 << 20
)

// stallLimit is how long a reader waits for room on a link whose writer
// takes nothing before it takes that link's peer for hung, and closes the
// link (a child's process is killed). A waiting reader reads nothing,
// not even the end of its own link, so the wait must end. A variable for
// tests.
var stallLimit = 30 * time.Second

// link is one stream to a directly connected context: a parent or a child.
// One reader goroutine routes what arrives; one writer goroutine writes the
// queue through a buffer that it flushes whenever the queue is empty, so a
// burst of messages costs one write.
type link struct {
	r      *Router
	peer   ID
	parent bool
	name   string

	rd io.Reader
	wc io.WriteCloser

	mu      sync.Mutex
	q       []*Message
	spare   []*Message
	qbytes  int
	space   chan struct{} // closed when the writer has taken the queue
	wake    chan struct{}
	closing bool
	err     error // why the link closed

	// stop releases the transport once the reader has ended (reap the
	// child, close the session). kill ends the transport by force so that
	// a hung peer cannot keep the reader blocked. Either may be nil.
	stop, kill func()

	// stderr holds the last lines of a child's stderr, for the reason
	// given to waiters when the link closes.
	stderr *tailWriter

	// ids are the context ids handed down a child link (the child's own,
	// and the blocks it asked for): the only ids whose ADD_ROUTE it is
	// believed for. blocks counts the blocks. Guarded by the Router's mu.
	ids    []idSpan
	blocks int

	// egress holds the ids of the contexts whose messages were forwarded
	// down this child link: the only ones whose DEL_ROUTE it needs.
	// Guarded by mu.
	egress map[ID]struct{}

	stalls atomic.Int64 // times waitRoom waited (for tests)
	wrote  atomic.Int64 // when the writer last wrote bytes (UnixNano)

	quit       chan struct{} // closed once closing: stop waiting to forward
	quitOnce   sync.Once
	writerDone chan struct{}
	done       chan struct{}
}

// idSpan is the ids first to end-1.
type idSpan struct{ first, end ID }

func (l *link) ownsLocked(id ID) bool {
	for _, s := range l.ids {
		if id >= s.first && id < s.end {
			return true
		}
	}
	return false
}

func (l *link) grantLocked(first ID, n uint32) {
	if k := len(l.ids); k > 0 && l.ids[k-1].end == first {
		l.ids[k-1].end += ID(n)
		return
	}
	l.ids = append(l.ids, idSpan{first, first + ID(n)})
}

func newLink(r *Router, peer ID, parent bool, name string, rd io.Reader, wc io.WriteCloser, stop, kill func()) *link {
	if _, ok := rd.(*bufio.Reader); !ok {
		rd = bufio.NewReaderSize(rd, readBufSize)
	}
	return &link{
		r: r, peer: peer, parent: parent, name: name,
		rd: rd, wc: wc, stop: stop, kill: kill,
		wake:       make(chan struct{}, 1),
		quit:       make(chan struct{}),
		writerDone: make(chan struct{}),
		done:       make(chan struct{}),
	}
}

// start runs the reader and writer goroutines.
func (l *link) start() {
	go l.writer()
	go l.reader()
}

// send queues m without blocking.
func (l *link) send(m *Message) error {
	l.mu.Lock()
	if l.closing {
		l.mu.Unlock()
		return ErrClosed
	}
	if m.Src != l.r.id && !l.parent {
		if _, ok := l.egress[m.Src]; !ok {
			if l.egress == nil {
				l.egress = map[ID]struct{}{}
			}
			l.egress[m.Src] = struct{}{}
		}
	}
	l.q = append(l.q, m)
	l.qbytes += HeaderSize + len(m.Body)
	first := len(l.q) == 1
	l.mu.Unlock()
	if first {
		select {
		case l.wake <- struct{}{}:
		default:
		}
	}
	return nil
}

// sendWait queues m, first waiting while the queue holds more than
// highWater bytes (backpressure for bulk senders).
func (l *link) sendWait(ctx context.Context, m *Message) error {
	l.mu.Lock()
	for l.qbytes > highWater && !l.closing {
		if l.space == nil {
			l.space = make(chan struct{})
		}
		ch := l.space
		l.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
		l.mu.Lock()
	}
	l.mu.Unlock()
	return l.send(m)
}

// waitRoom waits, after a forwarded message, while the queue holds more
// than highWater bytes: the reader of the link the messages come from
// stops reading, so that a fast sender cannot fill this process's memory
// with messages for a slow peer. It returns when the writer has taken the
// queue, this link closes, or stop (the reading link's quit) is closed.
// Local deliveries never wait, so no cycle of readers waits on itself.
//
// A peer that takes nothing for stallLimit is taken for hung: its link is
// closed and killed, with the reason logged and given to its waiters.
func (l *link) waitRoom(stop <-chan struct{}) {
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	l.mu.Lock()
	for l.qbytes > highWater && !l.closing {
		if l.space == nil {
			l.space = make(chan struct{})
		}
		ch := l.space
		queued := l.qbytes
		l.mu.Unlock()
		l.stalls.Add(1)
		if timer == nil {
			timer = time.NewTimer(stallLimit)
		} else {
			timer.Reset(stallLimit)
		}
		since := time.Now().UnixNano()
	wait:
		select {
		case <-ch:
		case <-l.writerDone:
			return
		case <-stop:
			return
		case <-timer.C:
			if l.wrote.Load() > since { // slow, but reading
				since = time.Now().UnixNano()
				timer.Reset(stallLimit)
				goto wait
			}
			err := fmt.Errorf("context %d read nothing for %v with %d bytes queued for it: taken for hung", l.peer, stallLimit, queued)
			l.r.log.Error("mesh: closing the link to a peer that reads nothing", "peer", l.peer, "name", l.name, "err", err)
			l.fail(err)
			l.close()
			if l.kill != nil {
				l.kill()
			}
			return
		}
		l.mu.Lock()
	}
	l.mu.Unlock()
}

func (l *link) writer() {
	defer close(l.writerDone)
	defer func() { // wake anyone waiting for room: there will be none
		l.mu.Lock()
		l.closing = true
		if l.space != nil {
			close(l.space)
			l.space = nil
		}
		l.mu.Unlock()
		l.quitOnce.Do(func() { close(l.quit) })
	}()
	bw := bufio.NewWriterSize(&progressWriter{w: l.wc, at: &l.wrote}, writeBufSize)
	var hdr [HeaderSize]byte
	for {
		<-l.wake
		for {
			l.mu.Lock()
			batch := l.q
			closing := l.closing
			if len(batch) > 0 {
				// the writer owns batch until it hands it back as spare
				l.q, l.spare = l.spare[:0], nil
			}
			l.qbytes = 0
			if l.space != nil {
				close(l.space)
				l.space = nil
			}
			l.mu.Unlock()
			if len(batch) == 0 {
				if err := bw.Flush(); err != nil {
					l.fail(err)
				}
				if closing {
					_ = l.wc.Close()
					return
				}
				break
			}
			for i, m := range batch {
				if err := writeFrame(bw, &hdr, m); err != nil {
					l.fail(err)
					_ = l.wc.Close()
					return
				}
				batch[i] = nil
			}
			l.mu.Lock()
			l.spare = batch[:0]
			l.mu.Unlock()
		}
	}
}

func (l *link) reader() {
	var hdr [HeaderSize]byte
	max := l.r.cfg.MaxMessageSize
	for {
		m, err := readFrame(l.rd, &hdr, max)
		if err != nil {
			var fe *FrameError
			if errors.As(err, &fe) {
				l.r.log.Error("mesh: closing link after a bad frame", "peer", l.peer, "name", l.name, "reason", fe.Reason)
			} else if err != io.EOF {
				l.r.log.Debug("mesh: link read failed", "peer", l.peer, "name", l.name, "err", err)
			}
			l.fail(err)
			break
		}
		m.router = l.r
		m.link = l
		if out := l.r.forward(m, l); out != nil {
			out.waitRoom(l.quit)
		}
	}
	l.close()
	<-l.writerDone
	if l.stop != nil {
		l.stop()
	}
	l.r.linkDown(l)
	close(l.done)
}

// fail records the first error that ends the link.
func (l *link) fail(err error) {
	l.mu.Lock()
	if l.err == nil {
		l.err = err
	}
	l.mu.Unlock()
}

// close stops accepting messages; the writer flushes what is queued and
// closes the write side, which tells the peer to go.
func (l *link) close() {
	l.mu.Lock()
	if l.closing {
		l.mu.Unlock()
		return
	}
	l.closing = true
	l.mu.Unlock()
	l.quitOnce.Do(func() { close(l.quit) })
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// progressWriter writes to w in pieces of at most 1 MiB and records when
// each piece went out, so that a slow peer that still reads is told from
// a hung one.
type progressWriter struct {
	w  io.Writer
	at *atomic.Int64
}

func (p *progressWriter) Write(b []byte) (int, error) {
	total := 0
	for len(b) > 0 {
		n, err := p.w.Write(b[:min(len(b), 1<<20)])
		total += n
		if n > 0 {
			p.at.Store(time.Now().UnixNano())
		}
		if err != nil {
			return total, err
		}
		b = b[n:]
	}
	return total, nil
}

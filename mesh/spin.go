package mesh

import (
	"errors"
	"io"
	"os"
	"runtime"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// spinWindow is how long a link reader polls a pipe for the next frame
// before it sleeps in the poller. On a machine with idle cores, waking a
// sleeping thread on another core costs 10–15 µs; a call's round trip to a
// local child takes two such wakes, while the work itself takes a few µs.
// Polling, when frames have been arriving closer together than the window,
// took the round trip from 23–34 µs to 5.0–5.3 µs here (a 50 µs window
// caught too few replies on a loaded machine: 13–27 µs).
const spinWindow = 100 * time.Microsecond

// maxSpinBackoff caps the backoff after polls that found nothing: at most
// one read in 2^maxSpinBackoff polls while a link's traffic fools the
// prediction.
const maxSpinBackoff = 6

// spinners counts the readers polling now, process-wide; at most
// maxSpinners poll at once, so polling never takes more than half the
// machine's cores from other work.
var spinners atomic.Int32

func maxSpinners() int32 { return int32(max(1, runtime.GOMAXPROCS(0)/2)) }

// spinReader reads a pipe, polling it for up to spinWindow before sleeping
// when the last frames came close together. A link whose frames come far
// apart never polls; one where polling keeps finding nothing backs off
// exponentially. It is used by one goroutine (the link's reader).
type spinReader struct {
	f  *os.File
	rc syscall.RawConn

	last   time.Time // when the last Read returned data
	close  bool      // the data before last came within spinWindow
	fails  uint      // polls in a row that found nothing
	misses uint      // reads not polled since the last failed poll
}

// newSpinReader wraps r when it is a pipe or other pollable *os.File, and
// returns r unchanged otherwise (an ssh channel, a test's reader).
func newSpinReader(r io.Reader) io.Reader {
	f, ok := r.(*os.File)
	if !ok {
		return r
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return r
	}
	nonblock := false
	if err := rc.Control(func(fd uintptr) {
		fl, err := unix.FcntlInt(fd, unix.F_GETFL, 0)
		nonblock = err == nil && fl&unix.O_NONBLOCK != 0
	}); err != nil || !nonblock {
		return r // a blocking descriptor would block the poll (and f.Fd would make it one)
	}
	return &spinReader{f: f, rc: rc}
}

// shouldPoll decides whether the next Read polls first.
func (s *spinReader) shouldPoll() bool {
	if !s.close {
		return false
	}
	if s.fails > 0 {
		s.misses++
		if s.misses < 1<<min(s.fails, maxSpinBackoff) {
			return false
		}
		s.misses = 0
	}
	return true
}

func (s *spinReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if s.shouldPoll() {
		if spinners.Add(1) <= maxSpinners() {
			n, err, done := s.poll(p)
			spinners.Add(-1)
			if done {
				return n, err
			}
		} else {
			spinners.Add(-1)
		}
	}
	n, err := s.f.Read(p)
	if n > 0 {
		now := time.Now()
		s.close = now.Sub(s.last) < spinWindow
		s.last = now
	}
	return n, err
}

// poll reads without sleeping until data comes or the window since the
// last data ends; done is false when it found nothing.
func (s *spinReader) poll(p []byte) (n int, err error, done bool) {
	deadline := s.last.Add(spinWindow)
	for {
		var rerr error
		if cerr := s.rc.Read(func(fd uintptr) bool {
			n, rerr = unix.Read(int(fd), p)
			return true // one attempt: never wait in the poller here
		}); cerr != nil {
			return 0, nil, false // closed: let the plain read say so, as it would unpolled
		}
		switch {
		case n > 0:
			s.last, s.close, s.fails, s.misses = time.Now(), true, 0, 0
			return n, nil, true
		case rerr == nil:
			return 0, io.EOF, true
		case !errors.Is(rerr, unix.EAGAIN) && !errors.Is(rerr, unix.EINTR):
			return 0, &os.PathError{Op: "read", Path: s.f.Name(), Err: rerr}, true
		}
		if time.Now().After(deadline) {
			s.fails++
			return 0, nil, false
		}
		runtime.Gosched() // let the goroutines this frame woke run here
	}
}

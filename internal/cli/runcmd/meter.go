package runcmd

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/muster-sh/muster/task"
)

// meterDelay is how long a run goes before clush's progress line shows;
// richDelay is the same for muster's own meter.
var (
	meterDelay = 1330 * time.Millisecond
	richDelay  = time.Second
)

// meterStyle is the kind of progress line shown.
type meterStyle int

const (
	// meterClush is clush's bare counter ("clush: 12/100\r"), shown in the
	// same cases as clush, terminal or not, so that clush's bytes are kept.
	meterClush meterStyle = iota + 1
	// meterRich is muster's own meter: done/total, failures and nodes per
	// second, shown on a terminal (or with -P) and erased at the end.
	meterRich
)

// meter is the progress line on stderr, refreshed every third of a second
// once the delay is over.
type meter struct {
	task.BaseHandler
	d       *display
	style   meterStyle
	ws      []*task.Worker
	total   int
	last    string
	width   int // length of the last line written, to erase it
	started bool
	start   time.Time
	now     func() time.Time
	written int64
	timer   *task.Timer
}

func newMeter(d *display, tk *task.Task, total int, style meterStyle) *meter {
	m := &meter{d: d, style: style, total: total, now: time.Now}
	m.start = m.now()
	delay := meterDelay
	if style == meterRich {
		delay = richDelay
	}
	m.timer = tk.Timer(delay, m, task.Every(time.Second/3), task.Autoclose())
	return m
}

// newMeter starts the progress meter this session shows for a run of
// total nodes, or returns nil. buffered is true for -b and -L, where
// clush shows its counter at normal verbosity.
func (s *session) newMeter(d *display, tk *task.Task, total int, buffered bool) *meter {
	v := s.o.verbosity
	switch s.meterStyle() {
	case meterClush:
		if buffered && v >= verbStd || s.o.progress && v > verbQuiet {
			return newMeter(d, tk, total, meterClush)
		}
	case meterRich:
		if v > verbQuiet && (s.o.progress || isTerminal(s.stdio.Err)) {
			return newMeter(d, tk, total, meterRich)
		}
	}
	return nil
}

// meterStyle is clush's counter under the name clush, muster's otherwise.
func (s *session) meterStyle() meterStyle {
	if s.prog == "clush" {
		return meterClush
	}
	return meterRich
}

func (m *meter) OnTimer(*task.Timer) { m.update() }

func humanBytes(v float64) string {
	units := []string{"TiB", "GiB", "MiB", "KiB"}
	for i, u := range units {
		f := float64(int64(1) << (10 * (4 - i)))
		if v >= f {
			return fmt.Sprintf("%.2f %s", v/f, u)
		}
	}
	return fmt.Sprintf("%d B", int64(v))
}

// counts returns how many nodes are done and how many of them failed (a
// non-zero exit code, an error or a timeout).
func (m *meter) counts() (done, failed int) {
	for _, w := range m.ws {
		done += w.Finished()
		for _, rg := range w.Retcodes() {
			if rg.Code != 0 {
				failed += len(rg.Nodes)
			}
		}
		failed += w.NumTimeout()
	}
	return done, failed
}

// render returns the progress line (without the carriage return).
func (m *meter) render(done, failed int, elapsed time.Duration) string {
	n := len(strconv.Itoa(m.total))
	line := fmt.Sprintf("%s: %*d/%*d", m.d.prog, n, done, n, m.total)
	if m.style == meterRich {
		line += fmt.Sprintf(" done, %d failed", failed)
		if secs := elapsed.Seconds(); secs > 0 {
			line += fmt.Sprintf(", %.1f nodes/s", float64(done)/secs)
		}
	}
	if m.written > 0 && elapsed > 0 {
		line += " write: " + humanBytes(float64(m.written)/elapsed.Seconds()) + "/s"
	}
	return line
}

func (m *meter) update() {
	if m == nil || len(m.ws) == 0 {
		return
	}
	done, failed := m.counts()
	line := m.render(done, failed, m.now().Sub(m.start))
	if m.style == meterClush {
		// clush redraws only when the count changes (or after other output)
		line = m.render(done, failed, 0)
		if m.written > 0 {
			line = m.render(done, failed, m.now().Sub(m.start))
		} else if line == m.last {
			return
		}
	}
	m.last = line
	line += "\r"
	if m.width > len(line) {
		// a shorter line than the last one: blank what would remain
		line = line[:len(line)-1] + strings.Repeat(" ", m.width-len(line)) + "\r"
	}
	m.width = len(line) // as clush: the carriage return counts
	m.d.err.WriteString(line)
	m.d.err.Flush()
	m.started = true
}

// dirty forces the next update to print.
func (m *meter) dirty() {
	if m != nil {
		m.last = ""
	}
}

// erase blanks the progress line before other stderr output.
func (m *meter) erase() {
	if m == nil || m.width == 0 {
		return
	}
	m.d.err.WriteString(strings.Repeat(" ", m.width) + "\r")
	m.width = 0
}

// finalize stops the meter. clush's counter, if it was shown, ends on the
// final count (on its own line in interactive mode); muster's is erased.
func (m *meter) finalize() {
	if m == nil {
		return
	}
	m.timer.Invalidate()
	if !m.started {
		return
	}
	m.erase()
	if m.style == meterRich {
		m.started = false
		return
	}
	n := len(strconv.Itoa(m.total))
	end := "\r"
	if m.d.interactive {
		end = "\n"
	}
	fmt.Fprintf(m.d.err, "%s: %*d/%*d%s", m.d.prog, n, m.total, n, m.total, end)
	m.started = false
}

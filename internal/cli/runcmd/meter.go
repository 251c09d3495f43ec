package runcmd

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/muster-sh/muster/task"
)

// meterDelay is how long a run goes before the progress line shows.
var meterDelay = 1330 * time.Millisecond

// meter is clush's progress line on stderr ("clush: 12/100\r"), shown
// from 1.33 s after the start and refreshed every third of a second.
type meter struct {
	task.BaseHandler
	d       *display
	ws      []*task.Worker
	total   int
	last    int
	width   int // length of the last line written, to erase it
	started bool
	start   time.Time
	written int64
	timer   *task.Timer
}

func newMeter(d *display, tk *task.Task, total int) *meter {
	m := &meter{d: d, total: total, last: -1, start: time.Now()}
	m.timer = tk.Timer(meterDelay, m, task.Every(time.Second/3), task.Autoclose())
	return m
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

func (m *meter) update() {
	if m == nil || len(m.ws) == 0 {
		return
	}
	done := 0
	for _, w := range m.ws {
		done += w.Finished()
	}
	if m.written == 0 && done == m.last {
		return
	}
	m.last = done
	n := len(strconv.Itoa(m.total))
	line := fmt.Sprintf("%s: %*d/%*d", m.d.prog, n, done, n, m.total)
	if m.written > 0 {
		line += " write: " + humanBytes(float64(m.written)/time.Since(m.start).Seconds()) + "/s"
	}
	line += "\r"
	m.width = len(line)
	m.d.err.WriteString(line)
	m.d.err.Flush()
	m.started = true
}

// dirty forces the next update to print.
func (m *meter) dirty() {
	if m != nil {
		m.last = -1
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

// finalize stops the meter and prints the final count if it was shown.
func (m *meter) finalize() {
	if m == nil {
		return
	}
	m.timer.Invalidate()
	if !m.started {
		return
	}
	m.erase()
	n := len(strconv.Itoa(m.total))
	fmt.Fprintf(m.d.err, "%s: %*d/%*d\r", m.d.prog, n, m.total, n, m.total)
}

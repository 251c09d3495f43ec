package openssh

import (
	"bytes"
	"sync"
)

// tailWriter passes everything to w and remembers the last non-empty line
// written, for ConnError.Message.
type tailWriter struct {
	w    interface{ Write([]byte) (int, error) }
	mu   sync.Mutex
	cur  []byte // the line being written
	last []byte // the last complete non-empty line
}

const maxTail = 1024

func (t *tailWriter) Write(p []byte) (int, error) {
	t.mu.Lock()
	for _, line := range bytes.SplitAfter(p, []byte{'\n'}) {
		if len(line) == 0 {
			continue
		}
		complete := line[len(line)-1] == '\n'
		if len(t.cur) < maxTail {
			t.cur = append(t.cur, line[:min(len(line), maxTail-len(t.cur))]...)
		}
		if complete {
			if l := bytes.TrimSpace(t.cur); len(l) > 0 {
				t.last = append(t.last[:0], l...)
			}
			t.cur = t.cur[:0]
		}
	}
	t.mu.Unlock()
	return t.w.Write(p)
}

// Last returns the last non-empty line, including an unterminated one.
func (t *tailWriter) Last() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if l := bytes.TrimSpace(t.cur); len(l) > 0 {
		return string(l)
	}
	return string(t.last)
}

package task

import (
	"cmp"
	"iter"
	"slices"

	"github.com/muster-sh/muster/gather"
)

// Task-wide results cover the workers of the current (or last) run. Call
// them from handlers or after Run returns; they are not safe while Run is
// in progress on another goroutine. A node that several workers ran on
// has its buffers concatenated in schedule order and its highest exit code.

// NodeBuffer returns node's standard output across workers (nil if none).
func (t *Task) NodeBuffer(node string) []byte {
	return t.concat(func(w *Worker) []byte { return w.NodeBuffer(node) })
}

// NodeError returns node's standard error across workers (nil if none).
func (t *Task) NodeError(node string) []byte {
	return t.concat(func(w *Worker) []byte { return w.NodeError(node) })
}

func (t *Task) concat(get func(*Worker) []byte) []byte {
	var out []byte
	for _, w := range t.workers {
		if b := get(w); b != nil {
			if out == nil {
				out = b
			} else {
				out = append(out, b...)
			}
		}
	}
	return out
}

// NodeRetcode returns node's highest exit code across workers and whether
// it has one.
func (t *Task) NodeRetcode(node string) (int, bool) {
	m, ok := 0, false
	for _, w := range t.workers {
		if rc, has := w.NodeRetcode(node); has && (!ok || rc > m) {
			m, ok = rc, true
		}
	}
	return m, ok
}

// MaxRetcode returns the highest exit code of all nodes, and false when
// no node finished (none ran, or all timed out).
func (t *Task) MaxRetcode() (int, bool) {
	m, ok := 0, false
	for _, w := range t.workers {
		if rc, has := w.MaxRetcode(); has && (!ok || rc > m) {
			m, ok = rc, true
		}
	}
	return m, ok
}

// Retcodes returns each exit code, lowest first, with its nodes (in
// schedule order, then node order).
func (t *Task) Retcodes() []RetcodeGroup {
	by := map[int][]string{}
	for _, w := range t.workers {
		for _, g := range w.Retcodes() {
			by[g.Code] = append(by[g.Code], g.Nodes...)
		}
	}
	out := make([]RetcodeGroup, 0, len(by))
	for code, nodes := range by {
		out = append(out, RetcodeGroup{code, nodes})
	}
	slices.SortFunc(out, func(a, b RetcodeGroup) int { return cmp.Compare(a.Code, b.Code) })
	return out
}

// TimedOut returns the nodes that timed out, worker by worker.
func (t *Task) TimedOut() []string {
	var out []string
	for _, w := range t.workers {
		out = append(out, w.timedOut...)
	}
	return out
}

// NumTimeout returns the number of nodes that timed out.
func (t *Task) NumTimeout() int {
	n := 0
	for _, w := range t.workers {
		n += len(w.timedOut)
	}
	return n
}

// Buffers yields each distinct standard output with its nodes, worker by
// worker.
func (t *Task) Buffers() iter.Seq[gather.Group] {
	return t.allGroups(func(w *Worker) iter.Seq[gather.Group] { return w.Buffers() })
}

// Errors yields each distinct standard error with its nodes, worker by
// worker.
func (t *Task) Errors() iter.Seq[gather.Group] {
	return t.allGroups(func(w *Worker) iter.Seq[gather.Group] { return w.Errors() })
}

func (t *Task) allGroups(get func(*Worker) iter.Seq[gather.Group]) iter.Seq[gather.Group] {
	return func(yield func(gather.Group) bool) {
		for _, w := range t.workers {
			for g := range get(w) {
				if !yield(g) {
					return
				}
			}
		}
	}
}

// Workers returns the workers of the current (or last) run, in schedule
// order.
func (t *Task) Workers() []*Worker { return slices.Clone(t.workers) }

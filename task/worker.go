package task

import (
	"cmp"
	"fmt"
	"iter"
	"slices"
	"time"

	"github.com/muster-sh/muster/gather"
	"github.com/muster-sh/muster/nodeset"
	"github.com/muster-sh/muster/worker"
)

// LocalKey is the key of a local command's results when no Key is given.
const LocalKey = "local"

type config struct {
	nodes      []string
	nodesSet   bool
	key        string
	handler    Handler
	timeout    time.Duration
	timeoutSet bool
	stdin      bool
	merge      bool
	via        worker.Transport
	shell      bool
	remote     bool
	preserve   bool
}

// WorkerOption configures a worker made by Shell, Copy, Rcopy or NewWorker.
type WorkerOption func(*config)

// OnNodes runs the work on the given nodes, in this order (use OnNodeSet
// for node-set order); a name given twice runs once. Without it a command
// runs locally, once, under its Key. With no names the worker starts and
// closes at once.
func OnNodes(names ...string) WorkerOption {
	return func(c *config) { c.nodes, c.nodesSet = names, true }
}

// OnNodeSeq is OnNodes for an iterator, such as nodeset.NodeSet.All().
func OnNodeSeq(names iter.Seq[string]) WorkerOption {
	return func(c *config) { c.nodes, c.nodesSet = slices.Collect(names), true }
}

// OnNodeSet runs the work on the nodes of ns, in node-set order.
func OnNodeSet(ns nodeset.NodeSet) WorkerOption {
	return func(c *config) { c.nodes, c.nodesSet = slices.Collect(ns.All()), true }
}

// Key names the results of a local command (default LocalKey).
func Key(k string) WorkerOption { return func(c *config) { c.key = k } }

// WithHandler sets the worker's event handler.
func WithHandler(h Handler) WorkerOption { return func(c *config) { c.handler = h } }

// Timeout sets the per-node command timeout (0: none), overriding the
// task's CommandTimeout.
func Timeout(d time.Duration) WorkerOption {
	return func(c *config) { c.timeout = d; c.timeoutSet = true }
}

// Stdin turns the worker's standard input on: the nodes read what
// Worker.Write sends until Worker.CloseWrite. Off by default: commands
// read end of file at once.
func Stdin(on bool) WorkerOption { return func(c *config) { c.stdin = on } }

// MergeStderr sends standard error into standard output (one stream, one
// set of OnRead events and buffers). Off by default.
func MergeStderr(on bool) WorkerOption { return func(c *config) { c.merge = on } }

// Via chooses the transport of this call, instead of the task's default
// distant transport.
func Via(tr worker.Transport) WorkerOption { return func(c *config) { c.via = tr } }

// Preserve makes Copy and Rcopy keep modification times and modes.
func Preserve(on bool) WorkerOption { return func(c *config) { c.preserve = on } }

// UseShell runs the command through a shell (/bin/sh -c locally). Off by
// default: the command line is split into words and run directly.
func UseShell(on bool) WorkerOption { return func(c *config) { c.shell = on } }

// Remote(false) runs a command given OnNodes locally, once per node, with
// the local transport (%h and %n substituted), like ClusterShell's
// remote=False. Default true: the distant transport is used.
func Remote(on bool) WorkerOption { return func(c *config) { c.remote = on } }

func newConfig(opts []WorkerOption) *config {
	c := &config{remote: true}
	for _, o := range opts {
		o(c)
	}
	return c
}

// Worker is one command (or copy) over a set of nodes, run by a driver.
// Its result getters may be used in handlers and after the run.
type Worker struct {
	task    *Task
	driver  worker.Driver
	desc    string
	nodes   []string
	local   bool
	handler Handler
	timeout time.Duration
	tset    bool
	merge   bool
	input   *worker.Broadcast

	// loop state
	next, active, finished int
	started, closed        bool
	rank                   map[string]int
	rc                     map[string]worker.Status
	timedOut               []string
	nodeErr                map[string]error
	running                map[*unit]struct{}
	aborted                bool
	out, errs              *gather.Tree
}

// NewWorker makes a worker running driver d with opts, for Task.Schedule.
// Without OnNodes it runs once under its Key.
func NewWorker(d worker.Driver, opts ...WorkerOption) *Worker {
	return newWorker(d, fmt.Sprintf("worker %T", d), newConfig(opts))
}

// dedup returns names without repeats, keeping the first occurrence.
func dedup(names []string) []string {
	seen := make(map[string]struct{}, len(names))
	out := make([]string, 0, len(names))
	for _, n := range names {
		if _, dup := seen[n]; !dup {
			seen[n] = struct{}{}
			out = append(out, n)
		}
	}
	return out
}

func newWorker(d worker.Driver, desc string, c *config) *Worker {
	w := &Worker{
		driver:  d,
		desc:    desc,
		nodes:   c.nodes,
		handler: c.handler,
		timeout: c.timeout,
		tset:    c.timeoutSet,
		merge:   c.merge,
	}
	if c.nodesSet {
		w.nodes = dedup(c.nodes)
	} else {
		key := c.key
		if key == "" {
			key = LocalKey
		}
		w.nodes = []string{key}
		w.local = true
	}
	if w.handler == nil {
		w.handler = BaseHandler{}
	}
	if c.stdin {
		w.input = worker.NewBroadcast()
	}
	return w
}

// String describes the worker: its transport and command, or what it
// copies (for NewWorker, the driver's type).
func (w *Worker) String() string { return w.desc }

// Task returns the task the worker is scheduled in (nil before).
func (w *Worker) Task() *Task { return w.task }

// Nodes returns the worker's nodes (the key, for a local command), in
// start order.
func (w *Worker) Nodes() []string { return w.nodes }

// Abort stops this worker only: its running nodes are killed, the ones
// not started yet are dropped, and it closes (OnClose) once the running
// ones are gone; stopped nodes get neither an exit code nor a timeout. The
// task goes on with its other work. Safe from handlers and from other
// goroutines; it takes effect on the task's goroutine.
func (w *Worker) Abort() {
	if w.task == nil {
		return
	}
	w.task.Post(w.abort)
}

func (w *Worker) abort() {
	t := w.task
	if w.closed || w.aborted || w.rc == nil {
		return
	}
	w.aborted = true
	if !w.started {
		w.started = true
		w.handler.OnStart(w)
	}
	if dropped := len(w.nodes) - w.next; dropped > 0 {
		w.finished += dropped
		w.next = len(w.nodes)
		t.loop.queue = slices.DeleteFunc(t.loop.queue, func(q *Worker) bool { return q == w })
	}
	for u := range w.running {
		u.cancel()
	}
	if w.finished == len(w.nodes) && !w.closed {
		w.closed = true
		w.handler.OnClose(w, len(w.timedOut) > 0)
	}
}

// Running returns the number of the worker's nodes running now. Call it
// from handlers (or after the run).
func (w *Worker) Running() int { return w.active }

// Finished returns the number of the worker's nodes that are done
// (exited, failed to run or timed out). Call it from handlers.
func (w *Worker) Finished() int { return w.finished }

// Timeout returns the per-node command timeout (0: none).
func (w *Worker) Timeout() time.Duration { return w.timeout }

// Write sends p to the standard input of every node, including the ones
// not started yet. It fails if the worker was made without Stdin(true) or
// after CloseWrite. Safe from any goroutine.
func (w *Worker) Write(p []byte) error {
	if w.input == nil {
		return fmt.Errorf("task: write to %s: standard input is off (use task.Stdin(true))", w)
	}
	if _, err := w.input.Write(p); err != nil {
		return fmt.Errorf("task: write to %s after CloseWrite: %w", w, err)
	}
	return nil
}

// CloseWrite sends end of file to every node's standard input.
func (w *Worker) CloseWrite() {
	if w.input != nil {
		_ = w.input.Close()
	}
}

// Shell schedules command on the nodes given with OnNodes (through the
// distant transport: Via, else the task's default), or, without nodes,
// locally once. It returns the scheduled worker; when the task is running
// its nodes start as soon as the fanout allows. Safe from handlers and
// other goroutines.
func (t *Task) Shell(command string, opts ...WorkerOption) (*Worker, error) {
	c := newConfig(opts)
	tr, err := t.transport(c)
	if err != nil {
		return nil, fmt.Errorf("task: shell %q: %w", command, err)
	}
	d, err := tr.Command(worker.Command{Line: command, Shell: c.shell})
	if err != nil {
		return nil, fmt.Errorf("task: shell %q: %w", command, err)
	}
	w := newWorker(d, fmt.Sprintf("%s %q", tr.Name(), command), c)
	if err := t.Schedule(w); err != nil {
		return nil, err
	}
	return w, nil
}

func (t *Task) transport(c *config) (worker.Transport, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case c.via != nil:
		return c.via, nil
	case !c.nodesSet || !c.remote:
		return t.local, nil
	case t.distant != nil:
		return t.distant, nil
	}
	return nil, ErrNoTransport
}

// Copy schedules a copy of the local file or directory source to dest on
// every node given with OnNodes, through the distant transport. It fails
// (wrapping worker.ErrUnsupported or ErrNoTransport) when no configured
// transport can copy.
func (t *Task) Copy(source, dest string, opts ...WorkerOption) (*Worker, error) {
	return t.copy(worker.Copy{Source: source, Dest: dest}, opts)
}

// Rcopy schedules a copy of source from every node into the local
// directory dest, each file landing as dest/<base>.<node>.
func (t *Task) Rcopy(source, dest string, opts ...WorkerOption) (*Worker, error) {
	return t.copy(worker.Copy{Source: source, Dest: dest, Reverse: true}, opts)
}

func (t *Task) copy(cp worker.Copy, opts []WorkerOption) (*Worker, error) {
	c := newConfig(opts)
	cp.Preserve = c.preserve
	op := "copy"
	if cp.Reverse {
		op = "rcopy"
	}
	if !c.nodesSet {
		return nil, fmt.Errorf("task: %s %q: no nodes given (use task.OnNodes): %w", op, cp.Source, ErrNoTransport)
	}
	tr, err := t.transport(c)
	if err != nil {
		return nil, fmt.Errorf("task: %s %q: %w", op, cp.Source, err)
	}
	d, err := tr.Copy(cp)
	if err != nil {
		return nil, fmt.Errorf("task: %s %q: %w", op, cp.Source, err)
	}
	w := newWorker(d, fmt.Sprintf("%s %s %q", tr.Name(), op, cp.Source), c)
	if err := t.Schedule(w); err != nil {
		return nil, err
	}
	return w, nil
}

// ---- results (valid in handlers and after the run) ----

// NodeBuffer returns node's standard output exactly as read (nil if none
// or if output is not kept).
func (w *Worker) NodeBuffer(node string) []byte {
	if w.out == nil {
		return nil
	}
	return w.out.Bytes(node)
}

// NodeError returns node's standard error exactly as read.
func (w *Worker) NodeError(node string) []byte {
	if w.errs == nil {
		return nil
	}
	return w.errs.Bytes(node)
}

// NodeRetcode returns node's exit code and whether it has one (timed-out
// and unfinished nodes have none).
func (w *Worker) NodeRetcode(node string) (int, bool) {
	st, ok := w.rc[node]
	return st.Code, ok
}

// NodeErr returns the error the transport gave for node when its command
// could not run (the node then has exit code 255), or nil. Use errors.As
// on it to tell, say, a failed connection from a command that exited 255.
func (w *Worker) NodeErr(node string) error { return w.nodeErr[node] }

// NodeStatus returns how node's command ended, with the signal if any.
func (w *Worker) NodeStatus(node string) (worker.Status, bool) {
	st, ok := w.rc[node]
	return st, ok
}

// MaxRetcode returns the highest exit code, and false when no node
// finished.
func (w *Worker) MaxRetcode() (int, bool) {
	m, ok := 0, false
	for _, st := range w.rc {
		if !ok || st.Code > m {
			m, ok = st.Code, true
		}
	}
	return m, ok
}

// RetcodeGroup is an exit code and the nodes that returned it.
type RetcodeGroup struct {
	Code  int      // the exit code
	Nodes []string // the nodes that returned it (order: see Retcodes)
}

// NodeSet returns the group's nodes as a folded node set.
func (g RetcodeGroup) NodeSet() nodeset.NodeSet { return nodeset.FromNames(g.Nodes...) }

// Retcodes returns the exit codes, lowest first, each with its nodes in
// the worker's node order.
func (w *Worker) Retcodes() []RetcodeGroup {
	by := map[int][]string{}
	for _, n := range w.nodes {
		if st, ok := w.rc[n]; ok {
			by[st.Code] = append(by[st.Code], n)
		}
	}
	out := make([]RetcodeGroup, 0, len(by))
	for code, nodes := range by {
		out = append(out, RetcodeGroup{code, nodes})
	}
	slices.SortFunc(out, func(a, b RetcodeGroup) int { return cmp.Compare(a.Code, b.Code) })
	return out
}

// TimedOut returns the nodes that timed out, in the order they did.
func (w *Worker) TimedOut() []string { return w.timedOut }

// NumTimeout returns the number of nodes that timed out.
func (w *Worker) NumTimeout() int { return len(w.timedOut) }

// Buffers yields each distinct standard output with the nodes that
// produced it, nodes in node order within a group, groups in the order of
// their first node.
func (w *Worker) Buffers() iter.Seq[gather.Group] { return w.groups(w.out, nil) }

// BuffersOf is Buffers restricted to the nodes for which match is true.
func (w *Worker) BuffersOf(match func(node string) bool) iter.Seq[gather.Group] {
	return w.groups(w.out, match)
}

// Errors yields each distinct standard error with its nodes.
func (w *Worker) Errors() iter.Seq[gather.Group] { return w.groups(w.errs, nil) }

// OutputTree returns the worker's stdout message tree (nil when output is
// not kept), for custom walks.
func (w *Worker) OutputTree() *gather.Tree { return w.out }

func (w *Worker) groups(tr *gather.Tree, match func(string) bool) iter.Seq[gather.Group] {
	return func(yield func(gather.Group) bool) {
		if tr == nil {
			return
		}
		byRank := func(a, b string) int { return cmp.Compare(w.rank[a], w.rank[b]) }
		gs := slices.Collect(tr.GroupsOf(match))
		for _, g := range gs {
			slices.SortFunc(g.Keys(), byRank)
		}
		slices.SortFunc(gs, func(a, b gather.Group) int { return byRank(a.Keys()[0], b.Keys()[0]) })
		for _, g := range gs {
			if !yield(g) {
				return
			}
		}
	}
}

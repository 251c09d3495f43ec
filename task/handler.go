package task

// Handler receives a Task's events. The Task calls a handler's methods
// from the goroutine running Task.Run, one at a time, in the order the
// events happened, so a handler needs no locks. For every node the order
// is OnPickup, then any OnRead/OnError/OnWritten, then OnHup or OnTimeout;
// a worker's OnStart comes before its first OnPickup and its OnClose after
// its last node.
//
// Line arguments are only valid during the call: copy them to keep them.
//
// Embed [BaseHandler] to implement only the events of interest.
type Handler interface {
	// OnStart: the worker's first node is starting.
	OnStart(w *Worker)
	// OnPickup: the command is running on node.
	OnPickup(w *Worker, node string)
	// OnRead: node printed line on standard output (without its newline;
	// a final line without newline is delivered at the end). When stderr
	// is merged, stderr lines come here too.
	OnRead(w *Worker, node string, line []byte)
	// OnError: node printed line on standard error.
	OnError(w *Worker, node string, line []byte)
	// OnWritten: n bytes of the worker's input were written to node.
	OnWritten(w *Worker, node string, n int)
	// OnHup: node's command ended with exit code rc (128+N for signal N).
	OnHup(w *Worker, node string, rc int)
	// OnTimeout: node's command ran past the worker's timeout and was
	// killed; it gets no OnHup and is listed in the timed-out nodes.
	OnTimeout(w *Worker, node string)
	// OnClose: every node of the worker is done; timedOut reports whether
	// any timed out. Results of the worker are complete here.
	OnClose(w *Worker, timedOut bool)
	// OnTimer: timer fired.
	OnTimer(t *Timer)
}

// BaseHandler implements every Handler method as a no-op.
type BaseHandler struct{}

// OnStart does nothing.
func (BaseHandler) OnStart(*Worker) {}

// OnPickup does nothing.
func (BaseHandler) OnPickup(*Worker, string) {}

// OnRead does nothing.
func (BaseHandler) OnRead(*Worker, string, []byte) {}

// OnError does nothing.
func (BaseHandler) OnError(*Worker, string, []byte) {}

// OnWritten does nothing.
func (BaseHandler) OnWritten(*Worker, string, int) {}

// OnHup does nothing.
func (BaseHandler) OnHup(*Worker, string, int) {}

// OnTimeout does nothing.
func (BaseHandler) OnTimeout(*Worker, string) {}

// OnClose does nothing.
func (BaseHandler) OnClose(*Worker, bool) {}

// OnTimer does nothing.
func (BaseHandler) OnTimer(*Timer) {}

// TimerFunc adapts a function to a Handler that only handles OnTimer.
type TimerFunc func(t *Timer)

// OnStart does nothing.
func (TimerFunc) OnStart(*Worker) {}

// OnPickup does nothing.
func (TimerFunc) OnPickup(*Worker, string) {}

// OnRead does nothing.
func (TimerFunc) OnRead(*Worker, string, []byte) {}

// OnError does nothing.
func (TimerFunc) OnError(*Worker, string, []byte) {}

// OnWritten does nothing.
func (TimerFunc) OnWritten(*Worker, string, int) {}

// OnHup does nothing.
func (TimerFunc) OnHup(*Worker, string, int) {}

// OnTimeout does nothing.
func (TimerFunc) OnTimeout(*Worker, string) {}

// OnClose does nothing.
func (TimerFunc) OnClose(*Worker, bool) {}

// OnTimer calls f(t).
func (f TimerFunc) OnTimer(t *Timer) { f(t) }

// Package async runs a function in the background on a [sched.Scheduler] and
// gives back a [Handle] to follow it: its lifecycle state, its progress, its
// result, and callbacks run when it succeeds, fails and ends.
//
// [Go] submits a function and returns its Handle at once; [Run] submits and
// waits. [Background] wraps a function so that each call submits it, the Go
// form of a "run this in the background" decorator, and
// [BackgroundWithHandle] does the same for a function that receives its own
// Handle.
//
// # Lifecycle
//
// A Handle moves through these states, in this order:
//
//	Created -> Running -> Returned | Failed -> Finishing -> Closed
//
// Created while queued; Running while the function runs; Returned if it
// returned a nil error, and the OnSuccess callback runs in this state; Failed
// if it returned an error or panicked (the error is then a
// *[sched.PanicError] carrying the panic value and stack), and the OnFail
// callback runs in this state; Finishing while the OnEnd callback runs;
// Closed at the end, when [Handle.Wait] returns. Callbacks run on the worker
// that ran the function, one after the other.
//
// A job that never starts (cancelled while queued, dropped by a scheduler's
// forced shutdown, or refused because the scheduler is closed) skips Running:
// Created -> Failed -> Finishing -> Closed, with the reason as its error.
//
// [Handle.Changes] delivers every state, in order and without loss, from
// Created to Closed, then closes the channel; its buffer holds the whole
// lifecycle, so a slow reader never holds the job up.
//
// # Progress
//
// The function receives a *[Reporter] on which it publishes its progress: a
// number whose scale and direction it chooses (0 to 1, 100 down to 0, items
// left...) and an optional message. Anyone may read it with
// [Handle.Progress] at any time.
//
// # Contexts
//
// The context given to [Go] only bounds the wait for room in the scheduler's
// queue. The function receives its own context, cancelled by
// [Handle.Cancel], by the scheduler's forced shutdown, and, like an
// http.Request's, once the function has returned, so that goroutines it
// started learn that it is over. It carries no deadline of its own.
package async

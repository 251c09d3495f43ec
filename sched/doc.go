// Package sched runs jobs in the background on an elastic pool of goroutines,
// highest priority first.
//
// A [Scheduler] holds one bounded queue of waiting jobs and a pool of workers.
// [Scheduler.Submit] queues a job with a priority; the next free worker always
// takes the job with the highest priority that is waiting, and jobs of equal
// priority run in the order they were submitted (FIFO). Priorities are plain
// ints: [Low], [Normal] and [High] name three of them, and any other value may
// be used (a job at priority 5 runs before one at [High]).
//
// # Not real-time
//
// Priorities order dispatch only; a running job is never interrupted. A [High]
// job submitted while every worker is busy and the pool is at MaxWorkers waits
// until the first running job returns, however long that takes. Below
// MaxWorkers a new worker is started for it at once. For CPU-bound jobs, keep
// MaxWorkers at most GOMAXPROCS-1 so that the goroutine submitting a High job
// is not itself left waiting for the Go runtime to preempt a busy worker.
//
// # Elastic pool
//
// Workers are started while queued jobs outnumber the workers about to pick
// them up, up to [Config.MaxWorkers], and a worker that has found nothing to do
// for [Config.IdleTimeout] exits, down to [Config.MinWorkers]. With the default
// MinWorkers of 0 an idle Scheduler holds no goroutines at all. Idle workers
// are reused last-in first-out, so a light load keeps a few warm workers busy
// and the rest age out.
//
// # Backpressure
//
// The queue holds at most [Config.QueueSize] jobs. Submit blocks while it is
// full, until room is made or its context is done; [Scheduler.TrySubmit] never
// blocks and returns [ErrQueueFull] instead. Blocked submitters are admitted
// highest priority first, FIFO within a priority, in batches once a sixteenth
// of the queue is free (so that a fast producer is not woken for every job).
// A job that submits to its own Scheduler should use TrySubmit: if every
// worker blocks in Submit on a full queue, nothing is left to make room.
//
// # Starvation and aging
//
// Strict priorities can starve: under a constant stream of High jobs a Low job
// waits forever. Setting [Config.Aging] to a positive duration makes every
// waiting job gain one priority step per Aging period waited, so a Low job is
// eventually dispatched: with Aging = 100ms a Low job that has waited 200ms
// competes with a fresh High job, and wins the tie because it is older.
// Aging is off by default, and with it off priorities are strict.
//
// # Panics
//
// A panic in a job is recovered on the worker, counted in [Stats], and passed
// with its stack to [Config.PanicHandler] (by default logged with log/slog).
// The worker and the pool survive it. A job that calls runtime.Goexit ends its
// worker goroutine; it is reported like a panic and the worker is replaced if
// jobs are waiting.
//
// # Shutdown
//
// [Scheduler.Close] stops accepting jobs, runs everything already queued and
// waits for the workers to finish. [Scheduler.Shutdown] (or a Close whose
// context ends first) also cancels the context passed to running jobs and
// drops the jobs still queued, reporting how many were dropped; dropped jobs
// that implement [Dropper] are told so.
//
// # Cost
//
// Submitting a [Job], or a [Task] that is a pointer, allocates nothing: the
// queue is one growable FIFO ring per priority under a single mutex, a
// worker takes the next job under the same lock, and parked workers are
// woken through their own channel. A trivial job costs on the order of
// 100 ns from Submit to completion on two cores (bench/pools.sh compares it
// with other pools). [Scheduler.Stats] is cheap enough to call on every
// metrics scrape.
//
// sched is the one place in muster that starts long-lived goroutines on a
// user's behalf; other packages submit to a *Scheduler instead of starting
// their own pools.
package sched

// Command pools compares muster's sched and async packages with other Go
// worker pools: panjf2000/ants v2, alitto/pond v2, a buffered-channel pool,
// errgroup.SetLimit and one goroutine per job with a WaitGroup.
//
// One process measures one (implementation, workload) pair, so that its
// peak RSS is its own; bench/pools.sh runs every pair in turn, several
// passes, and then calls this command with -mode report to print the table.
//
//	pools -mode calibrate                      # loop count for a ~1 µs job
//	pools -mode throughput -impl sched -work noop [-n 1000000 -w 64 -iters N]
//	pools -mode latency -impl sched -scenario saturated [-samples 1000]
//	pools -mode report results.txt
package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/alitto/pond/v2"
	"github.com/muster-sh/muster/async"
	"github.com/muster-sh/muster/sched"
	"github.com/panjf2000/ants/v2"
	"golang.org/x/sync/errgroup"
)

var (
	mode     = flag.String("mode", "throughput", "calibrate, throughput, latency or report")
	impl     = flag.String("impl", "sched", "implementation (see -mode throughput -impl list)")
	work     = flag.String("work", "noop", "noop, cpu1us or sleep10us")
	n        = flag.Int("n", 1_000_000, "jobs per timed run")
	workers  = flag.Int("w", 64, "workers (pool size / concurrency limit)")
	iters    = flag.Int("iters", 0, "loop iterations of the cpu1us job (0: calibrate now)")
	scenario = flag.String("scenario", "idle", "latency scenario: idle or saturated")
	samples  = flag.Int("samples", 1000, "latency samples")
	backlog  = flag.Int("backlog", 10_000, "Low jobs kept waiting in the saturated scenario")
	lowJob   = flag.Duration("lowjob", time.Millisecond, "duration of each Low job in the saturated scenario")
)

func main() {
	flag.Parse()
	switch *mode {
	case "calibrate":
		it, ns := calibrate()
		fmt.Printf("calib iters=%d ns=%.1f\n", it, ns)
	case "throughput":
		throughput()
	case "latency":
		latency()
	case "report":
		if err := report(flag.Args()); err != nil {
			fmt.Fprintln(os.Stderr, "pools:", err)
			os.Exit(1)
		}
	default:
		fmt.Fprintf(os.Stderr, "pools: unknown -mode %q, want calibrate, throughput, latency or report\n", *mode)
		os.Exit(2)
	}
}

// ---- workloads ----

var sink atomic.Uint64

func spin(k int) {
	x := uint64(k) | 1
	for range k {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
	}
	if x == 0 { // never true; keeps the loop
		sink.Add(1)
	}
}

// calibrate returns the loop count that takes about 1 µs of CPU on one
// goroutine, and the CPU time of one such job (fastest of 20 trials). It
// measures the thread's CPU time, not wall time, so that other processes
// competing for the cores do not shorten the job.
func calibrate() (int, float64) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	measure := func(k int) float64 {
		best := 1e18
		for range 20 {
			const reps = 20000
			t0 := cpuTime(syscall.RUSAGE_THREAD)
			for range reps {
				spin(k)
			}
			if d := float64(cpuTime(syscall.RUSAGE_THREAD)-t0) / reps; d < best && d > 0 {
				best = d
			}
		}
		return best
	}
	k := 100
	d := measure(k)
	for range 3 {
		k = max(1, int(float64(k)*1000/d))
		d = measure(k)
	}
	return k, d
}

func workFunc(name string, k int) func() {
	switch name {
	case "noop":
		return func() {}
	case "cpu1us":
		return func() { spin(k) }
	case "sleep10us":
		return func() { time.Sleep(10 * time.Microsecond) }
	}
	fmt.Fprintf(os.Stderr, "pools: unknown -work %q, want noop, cpu1us or sleep10us\n", name)
	os.Exit(2)
	return nil
}

// ---- implementations ----

// A pool runs jobs; submit queues one job (the same func every time, so no
// implementation pays for a closure per job), close releases the pool.
type pool struct {
	submit func(i int)
	close  func()
}

var prios = [3]int{sched.Low, sched.Normal, sched.High}

var impls = map[string]func(w int, job func()) pool{
	"sched": func(w int, job func()) pool {
		s, _ := sched.New(sched.Config{MaxWorkers: w})
		j := sched.Job(func(context.Context) { job() })
		ctx := context.Background()
		return pool{
			submit: func(i int) { s.Submit(ctx, prios[i%3], j) },
			close:  func() { s.Close(ctx) },
		}
	},
	"async": func(w int, job func()) pool {
		s, _ := sched.New(sched.Config{MaxWorkers: w})
		fn := func(context.Context, *async.Reporter) (struct{}, error) { job(); return struct{}{}, nil }
		ctx := context.Background()
		return pool{
			submit: func(i int) { async.Go(ctx, s, fn) },
			close:  func() { s.Close(ctx) },
		}
	},
	"ants": func(w int, job func()) pool {
		p, _ := ants.NewPool(w)
		return pool{submit: func(int) { p.Submit(job) }, close: p.Release}
	},
	"pond": func(w int, job func()) pool {
		p := pond.NewPool(w)
		return pool{submit: func(int) { p.Go(job) }, close: p.StopAndWait}
	},
	"pondfuture": func(w int, job func()) pool {
		p := pond.NewPool(w)
		return pool{submit: func(int) { p.Submit(job) }, close: p.StopAndWait}
	},
	"chan": func(w int, job func()) pool {
		ch := make(chan func(), 1024)
		for range w {
			go func() {
				for f := range ch {
					f()
				}
			}()
		}
		return pool{submit: func(int) { ch <- job }, close: func() { close(ch) }}
	},
	"errgroup": func(w int, job func()) pool {
		var g errgroup.Group
		g.SetLimit(w)
		f := func() error { job(); return nil }
		return pool{submit: func(int) { g.Go(f) }, close: func() { g.Wait() }}
	},
	"go": func(w int, job func()) pool {
		return pool{submit: func(int) { go job() }, close: func() {}}
	},
}

// cpuTime returns the user+system CPU time of the process or thread, in ns.
func cpuTime(who int) int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(who, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

func peakRSSMiB() float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	return -1
}

func load1() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(data))[0]
}

func throughput() {
	mk, ok := impls[*impl]
	if !ok {
		fmt.Fprintf(os.Stderr, "pools: unknown -impl %q\n", *impl)
		os.Exit(2)
	}
	k := *iters
	if k == 0 && *work == "cpu1us" {
		k, _ = calibrate()
	}
	w := workFunc(*work, k)
	var wg sync.WaitGroup
	job := func() { w(); wg.Done() }
	p := mk(*workers, job)

	const warm = 10_000
	wg.Add(warm)
	for i := range warm {
		p.submit(i)
	}
	wg.Wait()

	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	wg.Add(*n)
	c0 := cpuTime(syscall.RUSAGE_SELF)
	t0 := time.Now()
	for i := range *n {
		p.submit(i)
	}
	wg.Wait()
	el := time.Since(t0)
	cpu := cpuTime(syscall.RUSAGE_SELF) - c0
	runtime.ReadMemStats(&m1)
	p.close()
	fmt.Printf("result mode=throughput impl=%s work=%s n=%d w=%d ns=%.1f cpu=%.1f allocs=%.3f bytes=%.1f rss=%.2f load=%s\n",
		*impl, *work, *n, *workers,
		float64(el.Nanoseconds())/float64(*n),
		float64(cpu)/float64(*n),
		float64(m1.Mallocs-m0.Mallocs)/float64(*n),
		float64(m1.TotalAlloc-m0.TotalAlloc)/float64(*n),
		peakRSSMiB(), load1())
}

// ---- start latency of a High job ----

func latency() {
	var epoch = time.Now()
	now := func() int64 { return int64(time.Since(epoch)) }
	var sent atomic.Int64
	got := make(chan int64, 1)
	probe := func() { got <- now() - sent.Load() }
	low := func() { time.Sleep(*lowJob) }
	saturated := *scenario == "saturated"
	if !saturated && *scenario != "idle" {
		fmt.Fprintf(os.Stderr, "pools: unknown -scenario %q, want idle or saturated\n", *scenario)
		os.Exit(2)
	}

	var submitProbe func()
	var waiting func() int
	var stop func()
	switch *impl {
	case "sched":
		s, _ := sched.New(sched.Config{MaxWorkers: *workers, QueueSize: 4 * *backlog})
		ctx := context.Background()
		lowJ := sched.Job(func(context.Context) { low() })
		probeJ := sched.Job(func(context.Context) { probe() })
		submitProbe = func() { s.Submit(ctx, sched.High, probeJ) }
		waiting = func() int { return s.Stats().QueuedTotal }
		fill := func() {
			for i := s.Stats().QueuedTotal; i < *backlog; i++ {
				s.TrySubmit(sched.Low, lowJ)
			}
		}
		stop = feeder(saturated, fill, func() { s.Shutdown(ctx) })
	case "chan":
		// FIFO baseline: a buffered-channel pool has no priorities, so the
		// probe waits behind the whole backlog.
		ch := make(chan func(), 4**backlog)
		for range *workers {
			go func() {
				for f := range ch {
					f()
				}
			}()
		}
		submitProbe = func() { ch <- probe }
		waiting = func() int { return len(ch) }
		fill := func() {
			for i := len(ch); i < *backlog; i++ {
				ch <- low
			}
		}
		stop = feeder(saturated, fill, func() { close(ch) })
	default:
		fmt.Fprintf(os.Stderr, "pools: latency supports -impl sched or chan, not %q\n", *impl)
		os.Exit(2)
	}

	lat := make([]int64, 0, *samples)
	minWaiting := int(^uint(0) >> 1)
	for range *samples {
		time.Sleep(time.Duration(500+rand.IntN(600)) * time.Microsecond)
		minWaiting = min(minWaiting, waiting())
		sent.Store(now())
		submitProbe()
		lat = append(lat, <-got)
	}
	stop()
	slices.Sort(lat)
	pct := func(p int) int64 { return lat[min(len(lat)-1, (len(lat)*p+99)/100-1)] }
	fmt.Printf("result mode=latency impl=%s scenario=%s samples=%d backlog_at_probe=%d p50=%d p90=%d p99=%d max=%d rss=%.2f load=%s\n",
		*impl, *scenario, len(lat), minWaiting, pct(50), pct(90), pct(99), lat[len(lat)-1], peakRSSMiB(), load1())
}

// feeder keeps the backlog topped up in the saturated scenario.
func feeder(saturated bool, fill, shutdown func()) (stop func()) {
	if !saturated {
		return shutdown
	}
	fill()
	for range 200 { // let the workers pick up their first jobs
		time.Sleep(time.Millisecond)
		fill()
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(200 * time.Microsecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				fill()
			}
		}
	}()
	return func() {
		close(done)
		wg.Wait()
		shutdown()
	}
}

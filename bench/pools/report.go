package main

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/muster-sh/muster/sched"
)

// A result is one "result key=value ..." line printed by a measuring process.
type result map[string]string

func (r result) f(key string) float64 {
	v, _ := strconv.ParseFloat(r[key], 64)
	return v
}

func readResults(paths []string) ([]result, map[string]string, error) {
	var out []result
	meta := map[string]string{}
	for _, path := range paths {
		fh, err := os.Open(path)
		if err != nil {
			return nil, nil, err
		}
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) == 0 {
				continue
			}
			kv := result{}
			for _, f := range fields[1:] {
				if k, v, ok := strings.Cut(f, "="); ok {
					kv[k] = v
				}
			}
			switch fields[0] {
			case "result":
				out = append(out, kv)
			case "calib", "meta":
				for k, v := range kv {
					meta[k] = v
				}
			}
		}
		fh.Close()
		if err := sc.Err(); err != nil {
			return nil, nil, err
		}
	}
	if len(out) == 0 {
		return nil, nil, fmt.Errorf("no result lines in %v", paths)
	}
	return out, meta, nil
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

type agg struct {
	ns, cpu, allocs, bytes, rss []float64
	load                        []string
}

func mark(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

func report(paths []string) error {
	if len(paths) == 0 {
		return fmt.Errorf("report: give the results file(s) written by pools.sh")
	}
	rs, meta, err := readResults(paths)
	if err != nil {
		return err
	}
	th := map[[2]string]*agg{} // (work, impl)
	lat := map[[2]string][]result{}
	for _, r := range rs {
		switch r["mode"] {
		case "throughput":
			key := [2]string{r["work"], r["impl"]}
			a := th[key]
			if a == nil {
				a = &agg{}
				th[key] = a
			}
			a.ns = append(a.ns, r.f("ns"))
			a.cpu = append(a.cpu, r.f("cpu"))
			a.allocs = append(a.allocs, r.f("allocs"))
			a.bytes = append(a.bytes, r.f("bytes"))
			a.rss = append(a.rss, r.f("rss"))
			a.load = append(a.load, r["load"])
		case "latency":
			key := [2]string{r["scenario"], r["impl"]}
			lat[key] = append(lat[key], r)
		}
	}
	get := func(work, impl string) (float64, bool) {
		a := th[[2]string{work, impl}]
		if a == nil {
			return 0, false
		}
		return median(a.ns), true
	}

	cores := runtime.GOMAXPROCS(0)
	fmt.Printf("# muster sched/async vs other Go pools\n\n")
	fmt.Printf("%s, GOMAXPROCS=%d, %s jobs per run, %s workers, %s passes (fresh process per cell, implementations interleaved).\n",
		runtime.Version(), cores, meta["n"], meta["w"], meta["passes"])
	fmt.Printf("ns/job = wall time from first submit to last job done ÷ jobs (median of passes; min in brackets); CPU ns/job = the process's user+system CPU time over the same run ÷ jobs (all cores; it does not grow when other processes take the cores, so it shows a pool's own cost on a loaded machine); allocs and bytes per job from runtime.MemStats over the timed run; peak RSS = VmHWM of the process (max of passes).\n")
	fmt.Printf("`x sched` = this row's ns/job ÷ sched's ns/job in the same table (> 1: sched is faster).\n\n")
	fmt.Printf("Implementations: `sched` = muster sched.Submit (bounded queue of %d, priorities cycling Low/Normal/High); "+
		"`async` = muster async.Go (a Handle per job, nobody waiting on it) on the same scheduler; "+
		"`chan` = workers reading a 1024-slot buffered channel; `pond` = alitto/pond v2 Go (no future, unbounded queue); "+
		"`pondfuture` = pond Submit (returns a future, pond's nearest thing to a handle); `ants` = panjf2000/ants v2 Submit; "+
		"`errgroup` = x/sync errgroup with SetLimit; `go` = one goroutine per job. Every implementation gets the same "+
		"job function (no closure allocated per job) and a WaitGroup marks completion.\n\n", sched.DefaultQueueSize)

	order := []string{"sched", "async", "chan", "pond", "pondfuture", "ants", "errgroup", "go"}
	for _, work := range []string{"noop", "cpu1us", "sleep10us"} {
		base, ok := get(work, "sched")
		if !ok {
			continue
		}
		title := map[string]string{
			"noop":      "trivial jobs (empty function)",
			"cpu1us":    "~1 µs CPU jobs",
			"sleep10us": "jobs sleeping 10 µs",
		}[work]
		fmt.Printf("## %s\n\n", title)
		if work == "cpu1us" && meta["ns"] != "" {
			wns, _ := strconv.ParseFloat(meta["ns"], 64)
			fmt.Printf("One job's work alone: %.0f ns of CPU (measured on one thread before the runs); ideal on %d cores = %.0f ns/job of wall time, and %.0f ns/job of CPU time.\n\n", wns, cores, wns/float64(cores), wns)
		}
		fmt.Println("| impl | ns/job | x sched | CPU ns/job | allocs/job | B/job | peak RSS MiB | load1 |")
		fmt.Println("|---|---:|---:|---:|---:|---:|---:|---|")
		for _, im := range order {
			a := th[[2]string{work, im}]
			if a == nil {
				continue
			}
			m := median(a.ns)
			fmt.Printf("| %s | %.0f (%.0f) | %.2f | %.0f | %.2f | %.1f | %.1f | %s |\n",
				im, m, slices.Min(a.ns), m/base, median(a.cpu), median(a.allocs), median(a.bytes), slices.Max(a.rss), strings.Join(a.load, " "))
		}
		fmt.Println()
	}

	if len(lat) > 0 {
		fmt.Printf("## Start latency of a High job (submit → first instruction)\n\n")
		fmt.Printf("Probes are submitted 0.5–1.1 ms apart. Saturated: all %s workers busy with Low jobs sleeping %s each, and a backlog of %s Low jobs kept waiting behind them; `chan` is a FIFO channel pool (no priorities), probed with fewer samples because each probe waits for the whole backlog.\n\n",
			meta["w"], meta["lowjob"], meta["backlog"])
		fmt.Println("| scenario | impl | samples | min backlog at probe | p50 | p90 | p99 | max |")
		fmt.Println("|---|---|---:|---:|---:|---:|---:|---:|")
		for _, sc := range []string{"idle", "saturated"} {
			for _, im := range []string{"sched", "chan"} {
				for _, r := range lat[[2]string{sc, im}] {
					fmt.Printf("| %s | %s | %s | %s | %s | %s | %s | %s |\n", sc, im, r["samples"], r["backlog_at_probe"],
						dur(r.f("p50")), dur(r.f("p90")), dur(r.f("p99")), dur(r.f("max")))
				}
			}
		}
		fmt.Println()
	}

	fmt.Printf("## Targets\n\n| target | measured | |\n|---|---|---|\n")
	if a := th[[2]string{"noop", "sched"}]; a != nil {
		m := median(a.ns)
		fmt.Printf("| trivial jobs <= 150 ns/job | %.0f ns | %s |\n", m, mark(m <= 150))
		fmt.Printf("| 0 allocations on the scheduler path | %.3f allocs/job | %s |\n", median(a.allocs), mark(median(a.allocs) < 0.01))
		for _, other := range []string{"ants", "go"} {
			if o, ok := get("noop", other); ok {
				fmt.Printf("| >= 2x faster than %s (trivial) | %.2fx | %s |\n", other, o/m, mark(o/m >= 2))
			}
		}
		fmt.Printf("| bounded-queue peak RSS <= 5 MiB for 1M jobs | %.1f MiB | %s |\n", slices.Max(a.rss), mark(slices.Max(a.rss) <= 5))
	}
	if m, ok := get("cpu1us", "sched"); ok && meta["ns"] != "" {
		wns, _ := strconv.ParseFloat(meta["ns"], 64)
		ideal := wns / float64(cores)
		fmt.Printf("| ~1 µs jobs within 1.3x of ideal (work ÷ cores = %.0f ns) | %.2fx | %s |\n", ideal, m/ideal, mark(m/ideal <= 1.3))
		if c, ok := get("cpu1us", "chan"); ok {
			fmt.Printf("| (same, against the channel pool measured in the same run) | %.2fx chan | |\n", m/c)
		}
		if a := th[[2]string{"cpu1us", "sched"}]; a != nil && median(a.cpu) > 0 {
			c := median(a.cpu)
			fmt.Printf("| ~1 µs jobs: CPU per job within 1.3x of the work (%.0f ns; load-independent view of the same target) | %.3fx | %s |\n", wns, c/wns, mark(c/wns <= 1.3))
		}
	}
	if a := th[[2]string{"noop", "async"}]; a != nil {
		m := median(a.ns)
		if pf, ok := get("noop", "pondfuture"); ok {
			fmt.Printf("| (async handle vs pond future, trivial jobs) | %.2fx faster | |\n", pf/m)
		}
		fmt.Printf("| async handle <= 1 µs and <= 3 allocs/job (trivial jobs: whole cost of a handle) | %.0f ns, %.2f allocs | %s |\n", m, median(a.allocs), mark(m <= 1000 && median(a.allocs) <= 3))
	}
	for _, work := range []string{"noop", "cpu1us", "sleep10us"} {
		a, b := th[[2]string{work, "async"}], th[[2]string{work, "sched"}]
		if a != nil && b != nil {
			dc := median(a.cpu) - median(b.cpu)
			dw := median(a.ns) - median(b.ns)
			fmt.Printf("| async handle overhead over sched (%s): CPU ns/job (wall ns/job) | %+.0f (%+.0f) ns, %.2f allocs | %s |\n", work, dc, dw, median(a.allocs), mark(dc <= 1000 && median(a.allocs) <= 3))
		}
	}
	for _, r := range lat[[2]string{"saturated", "sched"}] {
		fmt.Printf("| High start p50 <= 20 µs when saturated | %s | %s |\n", dur(r.f("p50")), mark(r.f("p50") <= 20000))
	}
	return nil
}

func dur(ns float64) string {
	switch {
	case ns >= 1e6:
		return fmt.Sprintf("%.2f ms", ns/1e6)
	case ns >= 1e3:
		return fmt.Sprintf("%.1f µs", ns/1e3)
	}
	return fmt.Sprintf("%.0f ns", ns)
}

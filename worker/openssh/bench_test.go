package openssh_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/muster-sh/muster/internal/testhosts"
	"github.com/muster-sh/muster/internal/workertest"
	"github.com/muster-sh/muster/worker"
	"github.com/muster-sh/muster/worker/openssh"
	"github.com/muster-sh/muster/worker/pdsh"
)

// BenchmarkPeers runs `true` on 8 real sshd test hosts, side by side:
// muster's openssh driver (with and without its connection probe),
// muster's pdsh driver, and the peer tools clush -R ssh, pdsh -R ssh and
// a plain shell loop of parallel ssh. Each of the b.N rounds runs every
// contender once, in a rotating order, so that a shared machine's load
// hits them alike; the metrics are the medians per contender of wall time
// and of client CPU time (this process and its children: the tools, the
// ssh clients; not the sshd side). MUSTER_BENCH_HOSTS sets the number of
// hosts and MUSTER the muster binary for the muster-cli-* rows. For the
// command lines side by side at 8, 32 and 128 hosts (muster run -R native
// and -R ssh, clush, pdsh, both key exchanges, copy) run bench/ssh.sh.
func BenchmarkPeers(b *testing.B) {
	if _, err := exec.LookPath("ssh"); err != nil {
		b.Skip("ssh not found")
	}
	n := 8
	if s := os.Getenv("MUSTER_BENCH_HOSTS"); s != "" {
		fmt.Sscan(s, &n)
	}
	c := testhosts.StartT(b, n, testhosts.Options{FirstAddr: 101, ExtraConfig: "MaxStartups 1000"})
	names := c.Names()
	ctx := context.Background()
	cfg := c.SSHConfig
	list := strings.Join(names, ",")

	type contender struct {
		name string
		run  func() error
	}
	driver := func(d worker.Driver) func() error {
		return func() error {
			var wg sync.WaitGroup
			errs := make([]error, len(names))
			for i, n := range names {
				wg.Go(func() {
					s := workertest.NewSession(n, i)
					st, err := d.Run(ctx, s)
					if err == nil && st.Code != 0 {
						err = fmt.Errorf("%s: %v: %s", n, st, s.Err())
					}
					errs[i] = err
				})
			}
			wg.Wait()
			for _, err := range errs {
				if err != nil {
					return err
				}
			}
			return nil
		}
	}
	command := func(env []string, argv ...string) func() error {
		return func() error {
			cmd := exec.Command(argv[0], argv[1:]...)
			cmd.Env = env
			if out, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("%q: %v: %s", argv, err, out)
			}
			return nil
		}
	}
	var cs []contender
	for _, probe := range []bool{true, false} {
		tr, err := openssh.New(openssh.Config{Options: "-F " + cfg, NoConnectProbe: !probe})
		if err != nil {
			b.Fatal(err)
		}
		d, _ := tr.Command(worker.Command{Line: "true"})
		name := "muster-openssh"
		if !probe {
			name += "-noprobe"
		}
		cs = append(cs, contender{name, driver(d)})
	}
	if _, err := exec.LookPath("pdsh"); err == nil {
		tr, err := pdsh.New(pdsh.Config{Rcmd: "ssh", SSHArgs: "-F " + cfg, Fanout: 64})
		if err != nil {
			b.Fatal(err)
		}
		d, _ := tr.Command(worker.Command{Line: "true"})
		cs = append(cs, contender{"muster-pdsh", func() error {
			ss := make([]worker.Session, len(names))
			for i, n := range names {
				ss[i] = workertest.NewSession(n, i)
			}
			sts, errs := d.(worker.BatchDriver).RunAll(ctx, ss)
			for i := range ss {
				if errs[i] != nil || sts[i].Code != 0 {
					return fmt.Errorf("%s: %v %v", names[i], sts[i], errs[i])
				}
			}
			return nil
		}})
		cs = append(cs, contender{"pdsh", command([]string{"PDSH_SSH_ARGS=-F " + cfg, "PATH=/usr/bin:/bin"},
			"pdsh", "-R", "ssh", "-f", "64", "-w", list, "true")})
	}
	if _, err := exec.LookPath("clush"); err == nil {
		cs = append(cs, contender{"clush", command(nil, "clush", "-R", "ssh", "-n", "-f", "64", "-o", "-F "+cfg, "-w", list, "true")})
	}
	// The muster binary (when MUSTER names it), command line against
	// command line: -R openssh (this package; -R ssh is the same worker),
	// -R pdsh, and muster's built-in Go ssh client, -R native.
	if bin := os.Getenv("MUSTER"); bin != "" {
		for _, w := range []string{"openssh", "pdsh", "native"} {
			env := append(os.Environ(), "PDSH_SSH_ARGS=-F "+cfg, "PDSH_RCMD_TYPE=ssh")
			cs = append(cs, contender{"muster-cli-" + w, command(env, bin, "run", "-R", w, "-n", "-f", "64", "-o", "-F "+cfg, "-w", list, "true")})
		}
	}
	script := `for h in ` + strings.Join(names, " ") + `; do ssh -F "$0" -oBatchMode=yes $h true </dev/null & done; wait`
	cs = append(cs, contender{"sh-ssh-loop", command(nil, "sh", "-c", script, cfg)})

	// Drop contenders that do not work here (a tool's set-up), once.
	for i := 0; i < len(cs); i++ {
		if err := cs[i].run(); err != nil {
			b.Logf("%s left out: %v", cs[i].name, err)
			cs = slices.Delete(cs, i, i+1)
			i--
		}
	}
	wall := make([][]time.Duration, len(cs))
	cpu := make([][]time.Duration, len(cs))
	round := 0
	for b.Loop() {
		for k := range cs {
			i := (k + round) % len(cs)
			c0 := cpuTime()
			t0 := time.Now()
			if err := cs[i].run(); err != nil {
				b.Fatalf("%s: %v", cs[i].name, err)
			}
			wall[i] = append(wall[i], time.Since(t0))
			cpu[i] = append(cpu[i], cpuTime()-c0)
		}
		round++
	}
	for i, c := range cs {
		b.ReportMetric(float64(median(wall[i]))/1e6, "wall-ms/"+c.name)
		b.ReportMetric(float64(median(cpu[i]))/1e6, "cpu-ms/"+c.name)
	}
}

// cpuTime is the user+system CPU time of this process and its waited-for
// children.
func cpuTime() time.Duration {
	var total time.Duration
	for _, who := range []int{syscall.RUSAGE_SELF, syscall.RUSAGE_CHILDREN} {
		var ru syscall.Rusage
		if syscall.Getrusage(who, &ru) == nil {
			total += time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		}
	}
	return total
}

func median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

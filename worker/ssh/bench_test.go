package sshworker

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/muster-sh/muster/internal/testhosts"
)

func benchClient(b *testing.B, cl *testhosts.Cluster) *Client {
	b.Helper()
	opts, err := ParseOptions([]string{"-F", cl.SSHConfig, "-o", "IdentityAgent=none"})
	if err != nil {
		b.Fatal(err)
	}
	c, err := New(opts)
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// clientCPU returns the CPU time used so far by this process and its
// waited-for children (the ssh, clush, pdsh and scp processes a benchmark
// runs; not the sshd daemons, whose children are theirs): the client side
// of a benchmark.
func clientCPU() time.Duration {
	var self, kids syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &self)
	_ = syscall.Getrusage(syscall.RUSAGE_CHILDREN, &kids)
	tv := func(t syscall.Timeval) time.Duration { return time.Duration(t.Nano()) }
	return tv(self.Utime) + tv(self.Stime) + tv(kids.Utime) + tv(kids.Stime)
}

// reportCPU adds the client CPU per iteration since start as "cpu-ms/op".
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(clientCPU()-start)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
}

func runAll(b *testing.B, c *Client, nodes []string) {
	var wg sync.WaitGroup
	for _, n := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, err := c.Run(context.Background(), n, "true", RunOptions{})
			if err != nil || st.Code != 0 {
				b.Errorf("%s: %+v %v", n, st, err)
			}
		}()
	}
	wg.Wait()
}

// BenchmarkRunTrue8Hosts runs `true` on 8 sshd test hosts at once, one
// iteration = all 8 done: over pooled connections, over new connections
// each time, and, side by side, with one ssh(1) process per node, with
// clush and with pdsh (when installed) on the same hosts and config.
func BenchmarkRunTrue8Hosts(b *testing.B) {
	cl := testhosts.StartT(b, 8, testhosts.Options{FirstAddr: 231})
	nodes := cl.Names()
	b.Run("native-reused", func(b *testing.B) {
		c := benchClient(b, cl)
		defer c.Close()
		runAll(b, c, nodes) // connect outside the timing
		b.ResetTimer()
		cpu := clientCPU()
		for b.Loop() {
			runAll(b, c, nodes)
		}
		reportCPU(b, cpu)
	})
	b.Run("native-new", func(b *testing.B) {
		cpu := clientCPU()
		for b.Loop() {
			c := benchClient(b, cl)
			runAll(b, c, nodes)
			_ = c.Close()
		}
		reportCPU(b, cpu)
	})
	b.Run("ssh-process-per-node", func(b *testing.B) {
		cpu := clientCPU()
		defer func() { reportCPU(b, cpu) }()
		for b.Loop() {
			var wg sync.WaitGroup
			for _, n := range nodes {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if out, err := exec.Command("ssh", "-F", cl.SSHConfig, n, "true").CombinedOutput(); err != nil {
						b.Errorf("ssh %s: %v %s", n, err, out)
					}
				}()
			}
			wg.Wait()
		}
	})
	nodeset := fmt.Sprintf("%s[1-%d]", "node", len(nodes))
	if _, err := exec.LookPath("clush"); err == nil {
		b.Run("clush", func(b *testing.B) {
			cpu := clientCPU()
			defer func() { reportCPU(b, cpu) }()
			for b.Loop() {
				cmd := exec.Command("clush", "-S", "-w", nodeset, "-o", "-F "+cl.SSHConfig, "true")
				if out, err := cmd.CombinedOutput(); err != nil {
					b.Fatalf("clush: %v %s", err, out)
				}
			}
		})
	}
	if _, err := exec.LookPath("pdsh"); err == nil {
		b.Run("pdsh", func(b *testing.B) {
			cpu := clientCPU()
			defer func() { reportCPU(b, cpu) }()
			for b.Loop() {
				cmd := exec.Command("pdsh", "-S", "-R", "ssh", "-w", nodeset, "true")
				cmd.Env = append(os.Environ(), "PDSH_SSH_ARGS=-F "+cl.SSHConfig+" %h")
				if out, err := cmd.CombinedOutput(); err != nil {
					b.Fatalf("pdsh: %v %s", err, out)
				}
			}
		})
	}
}

// BenchmarkCopy16MiB copies a 16 MiB file to one test host: SFTP over the
// pooled connection (what Copy uses), against scp(1) in its default SFTP
// mode and in its legacy scp-protocol mode (-O), each a new process and
// connection, and the native client with a new connection per copy.
func BenchmarkCopy16MiB(b *testing.B) {
	cl := testhosts.StartT(b, 1, testhosts.Options{FirstAddr: 241})
	dir := b.TempDir()
	src := filepath.Join(dir, "src.bin")
	data := make([]byte, 16<<20)
	if _, err := rand.Read(data); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(src, data, 0o644); err != nil {
		b.Fatal(err)
	}
	dst := filepath.Join(dir, "dst.bin")
	check := func(b *testing.B) {
		if fi, err := os.Stat(dst); err != nil || fi.Size() != int64(len(data)) {
			b.Fatalf("destination: %v %v", fi, err)
		}
	}
	b.Run("native-sftp-reused", func(b *testing.B) {
		c := benchClient(b, cl)
		defer c.Close()
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if err := c.Copy(context.Background(), "node1", src, dst, CopyOptions{}); err != nil {
				b.Fatal(err)
			}
		}
		check(b)
	})
	b.Run("native-sftp-new", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			c := benchClient(b, cl)
			if err := c.Copy(context.Background(), "node1", src, dst, CopyOptions{}); err != nil {
				b.Fatal(err)
			}
			_ = c.Close()
		}
		check(b)
	})
	for _, mode := range [][]string{{"scp-sftp"}, {"scp-legacy", "-O"}} {
		b.Run(mode[0], func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				args := append([]string{"-q", "-F", cl.SSHConfig}, mode[1:]...)
				args = append(args, src, "node1:"+dst)
				if out, err := exec.Command("scp", args...).CombinedOutput(); err != nil {
					if strings.Contains(string(out), "unknown option") {
						b.Skip("scp has no -O")
					}
					b.Fatalf("scp: %v %s", err, out)
				}
			}
			check(b)
		})
	}
}

// Command meshbench measures muster's mesh for bench/mesh.sh, the way
// bench/mesh/mitogen_bench.py measures Mitogen:
//
//	start      start a child and make one trivial call (then shut it down)
//	rtt        sequential trivial calls: per-call latency p50 and p99
//	pipelined  N CallAsync, then collect every reply: calls per second
//	file       the child fetches a file from the parent's FileService
//	           (package service) to io.Discard: MB/s
//	stream     the same file pushed to the child as raw 256 KiB messages,
//	           the child acknowledging each one, at most 16 unacknowledged
//	           (the mesh alone, without the service layer): MB/s
//
// for a local child and, with -ssh-host, a child over ssh. It prints
// "key value" lines.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/muster-sh/muster/mesh"
	"github.com/muster-sh/muster/service"
)

func init() {
	// bench.fetch fetches a file from the parent's FileService.
	mesh.Register("bench.fetch", func(ctx context.Context, path string) (int64, error) {
		r := mesh.FromContext(ctx)
		_, n, err := service.Fetch(ctx, r.Context(r.ParentIDs()[0]), path, io.Discard)
		return n, err
	})
	mesh.Register("bench.nothing", func(ctx context.Context, _ struct{}) (struct{}, error) { return struct{}{}, nil })
	// bench.sink returns a SenderRef to which the parent streams raw chunks;
	// each chunk is acknowledged on ack, and the total is sent at the end.
	mesh.Register("bench.sink", func(ctx context.Context, ack mesh.SenderRef) (mesh.SenderRef, error) {
		r := mesh.FromContext(ctx)
		rc := r.NewReceiver(32)
		s := r.Sender(ack)
		go func() {
			defer rc.Close()
			total := 0
			for {
				m, err := rc.Recv(context.Background())
				if err != nil {
					_ = s.Send(-total - 1)
					return
				}
				total += len(m.Body)
				_ = s.Send(len(m.Body))
			}
		}()
		return rc.Sender(), nil
	})
}

func main() {
	mesh.MaybeAgent()
	starts := flag.Int("starts", 20, "child starts to time")
	n := flag.Int("n", 10000, "calls for rtt and pipelined")
	file := flag.String("file", "", "file to stream to the child")
	sshConfig := flag.String("ssh-config", "", "ssh_config for -ssh-host")
	sshHost := flag.String("ssh-host", "", "also measure a child on this host over ssh")
	sshStarts := flag.Int("ssh-starts", 5, "ssh child starts to time")
	sshN := flag.Int("ssh-n", 2000, "calls over ssh")
	flag.Parse()
	if err := run(*starts, *n, *file, *sshConfig, *sshHost, *sshStarts, *sshN); err != nil {
		fmt.Fprintln(os.Stderr, "meshbench:", err)
		os.Exit(1)
	}
}

func run(starts, n int, file, sshConfig, sshHost string, sshStarts, sshN int) error {
	ctx := context.Background()
	r, err := mesh.NewRouter(mesh.DefaultConfig())
	if err != nil {
		return err
	}
	defer r.Close(ctx)
	var data []byte
	if file != "" {
		if data, err = os.ReadFile(file); err != nil {
			return err
		}
		pool, err := service.NewPool(r, service.Config{})
		if err != nil {
			return err
		}
		fs := service.NewFileService(pool, service.FileServiceOptions{})
		if err := pool.Add(fs.Service()); err != nil {
			return err
		}
		if err := fs.Register(file); err != nil {
			return err
		}
	}
	local := func() (*mesh.Context, error) { return r.Local(ctx, mesh.LocalOptions{}) }
	if err := measure(ctx, r, "local", local, starts, n, file, data); err != nil {
		return err
	}
	if sshHost == "" {
		return nil
	}
	cache, err := os.MkdirTemp("", "meshbench-cache")
	if err != nil {
		return err
	}
	defer os.RemoveAll(cache)
	o := mesh.SSHOptions{Host: sshHost, SSHArgs: []string{"-F", sshConfig}, CacheDir: cache}
	ssh := func() (*mesh.Context, error) { return r.SSH(ctx, o) }
	t := time.Now()
	c, err := ssh() // uploads the binary into the cache
	if err != nil {
		return err
	}
	if err := c.Call(ctx, "bench.nothing", struct{}{}, nil); err != nil {
		return err
	}
	fmt.Printf("ssh.first_start_upload_ms %.2f\n", ms(time.Since(t)))
	_ = c.Shutdown(ctx)
	return measure(ctx, r, "ssh", ssh, sshStarts, sshN, file, data)
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

func measure(ctx context.Context, r *mesh.Router, label string, start func() (*mesh.Context, error), starts, n int, file string, data []byte) error {
	var st []time.Duration
	for range starts {
		t := time.Now()
		c, err := start()
		if err != nil {
			return err
		}
		if err := c.Call(ctx, "bench.nothing", struct{}{}, nil); err != nil {
			return err
		}
		st = append(st, time.Since(t))
		if err := c.Shutdown(ctx); err != nil {
			return err
		}
	}
	slices.Sort(st)
	fmt.Printf("%s.start_ms %.2f\n", label, ms(st[len(st)/2]))

	c, err := start()
	if err != nil {
		return err
	}
	defer c.Shutdown(ctx)
	for range min(500, n) {
		if err := c.Call(ctx, "bench.nothing", struct{}{}, nil); err != nil {
			return err
		}
	}
	lat := make([]time.Duration, n)
	for i := range lat {
		t := time.Now()
		if err := c.Call(ctx, "bench.nothing", struct{}{}, nil); err != nil {
			return err
		}
		lat[i] = time.Since(t)
	}
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))]) / 1e3 }
	fmt.Printf("%s.rtt_p50_us %.1f\n%s.rtt_p99_us %.1f\n", label, pct(0.5), label, pct(0.99))

	t := time.Now()
	ps := make([]*mesh.Pending, n)
	for i := range ps {
		ps[i] = c.CallAsync(ctx, "bench.nothing", struct{}{})
	}
	for _, p := range ps {
		if err := p.Wait(ctx, nil); err != nil {
			return err
		}
	}
	fmt.Printf("%s.pipelined_per_s %.0f\n", label, float64(n)/time.Since(t).Seconds())

	if file != "" {
		var got int64
		if err := c.Call(ctx, "bench.fetch", file, &got); err != nil { // warm: activation
			return err
		}
		t := time.Now()
		if err := c.Call(ctx, "bench.fetch", file, &got); err != nil {
			return err
		}
		if got != int64(len(data)) {
			return fmt.Errorf("child fetched %d bytes, want %d", got, len(data))
		}
		fmt.Printf("%s.file_mb_s %.1f\n", label, float64(len(data))/time.Since(t).Seconds()/1e6)
	}
	if len(data) > 0 {
		if _, err := stream(ctx, r, c, data[:min(len(data), 8<<20)]); err != nil { // warm
			return err
		}
		t := time.Now()
		got, err := stream(ctx, r, c, data)
		if err != nil {
			return err
		}
		if got != len(data) {
			return fmt.Errorf("child got %d bytes, want %d", got, len(data))
		}
		fmt.Printf("%s.stream_mb_s %.1f\n", label, float64(len(data))/time.Since(t).Seconds()/1e6)
	}
	return nil
}

// stream sends data to c in 256 KiB raw messages, at most 16 of them
// unacknowledged, and returns the total the child reports.
func stream(ctx context.Context, r *mesh.Router, c *mesh.Context, data []byte) (int, error) {
	const chunk, window = 256 << 10, 16
	ack := r.NewReceiver(window)
	defer ack.Close()
	var to mesh.SenderRef
	if err := c.Call(ctx, "bench.sink", ack.Sender(), &to); err != nil {
		return 0, err
	}
	s := r.Sender(to)
	inflight := 0
	waitAck := func() (int, error) {
		m, err := ack.Recv(ctx)
		if err != nil {
			return 0, err
		}
		var v int
		return v, m.Decode(&v)
	}
	for off := 0; off < len(data); off += chunk {
		if inflight == window {
			if _, err := waitAck(); err != nil {
				return 0, err
			}
			inflight--
		}
		if err := s.SendBytes(data[off:min(off+chunk, len(data))]); err != nil {
			return 0, err
		}
		inflight++
	}
	for ; inflight > 0; inflight-- {
		if _, err := waitAck(); err != nil {
			return 0, err
		}
	}
	_ = s.Close()
	v, err := waitAck()
	if err != nil && err != io.EOF {
		return 0, err
	}
	return -v - 1, nil
}

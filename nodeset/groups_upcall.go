package nodeset

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// upcallSource is a group source backed by shell commands (a groups.conf
// section), with ClusterShell's per-source result cache.
type upcallSource struct {
	name      string
	cfgDir    string            // $CFGDIR and working directory of the commands
	upcalls   map[string]string // "map", "all", "list", "reverse" -> command template
	cacheTime float64           // seconds; may be negative, infinite or NaN

	mu      sync.Mutex
	cache   map[string]map[string]cacheEntry // upcall -> key -> entry
	flights map[string]*flight               // upcall "\x00" key -> command running
}

// flight is an upcall command being run; concurrent lookups of the same
// key wait for it instead of running the command again.
type flight struct {
	done chan struct{} // closed once out and err are set
	out  string
	err  error
}

type cacheEntry struct {
	out      string
	expiry   time.Time
	noExpiry bool
}

// upcallStderrMax caps the stderr kept in an UpcallError.
const upcallStderrMax = 4096

func (s *upcallSource) clearCache() {
	s.mu.Lock()
	s.cache = map[string]map[string]cacheEntry{}
	s.mu.Unlock()
}

func (s *upcallSource) hasReverse() bool { return s.upcalls["reverse"] != "" }

func (s *upcallSource) group(ctx context.Context, gs *GroupSources, group string) ([]string, error) {
	out, err := s.call(ctx, gs, "map", group, map[string]string{"GROUP": group})
	if err != nil {
		return nil, err
	}
	return pyFields(out), nil
}

func (s *upcallSource) all(ctx context.Context, gs *GroupSources) ([]string, error) {
	out, err := s.call(ctx, gs, "all", "", nil)
	if err != nil {
		return nil, err
	}
	return pyFields(out), nil
}

func (s *upcallSource) list(ctx context.Context, gs *GroupSources) ([]string, error) {
	out, err := s.call(ctx, gs, "list", "", nil)
	if err != nil {
		return nil, err
	}
	return splitGroupNames([]string{out}, fmt.Sprintf("the list upcall of group source %q", s.name))
}

func (s *upcallSource) reverse(ctx context.Context, gs *GroupSources, node string) ([]string, error) {
	out, err := s.call(ctx, gs, "reverse", node, map[string]string{"NODE": node})
	if err != nil {
		return nil, err
	}
	return splitGroupNames([]string{out}, fmt.Sprintf("the reverse upcall of group source %q for node %q", s.name, node))
}

// call returns the (stripped) output of upcall for key, from the cache when
// an entry has not expired, else by running the command; concurrent calls
// for the same key share one run. Failures are not cached.
func (s *upcallSource) call(ctx context.Context, gs *GroupSources, upcall, key string, vars map[string]string) (string, error) {
	tmpl := s.upcalls[upcall]
	if tmpl == "" {
		return "", fmt.Errorf("%w: group source %q has no %s upcall", ErrNoUpcall, s.name, upcall)
	}
	args := map[string]string{"CFGDIR": s.cfgDir, "SOURCE": s.name}
	for k, v := range vars {
		args[k] = v
	}
	cmdline := safeSubstitute(tmpl, args)
	fkey := upcall + "\x00" + key
	for attempt := 0; ; attempt++ {
		now := gs.now()
		s.mu.Lock()
		if e, ok := s.cache[upcall][key]; ok {
			if e.noExpiry || !e.expiry.Before(now) {
				s.mu.Unlock()
				return e.out, nil
			}
			delete(s.cache[upcall], key)
		}
		if f, ok := s.flights[fkey]; ok {
			s.mu.Unlock()
			select {
			case <-f.done:
			case <-ctx.Done():
				return "", &UpcallError{Source: s.name, Upcall: upcall, Command: cmdline, ExitCode: -1,
					Timeout: errors.Is(ctx.Err(), context.DeadlineExceeded), Err: ctx.Err()}
			}
			// The caller that ran the command gave up: that is not our
			// failure, so run it ourselves.
			if errors.Is(f.err, context.Canceled) && ctx.Err() == nil && attempt < 3 {
				continue
			}
			return f.out, f.err
		}
		f := &flight{done: make(chan struct{})}
		if s.flights == nil {
			s.flights = map[string]*flight{}
		}
		s.flights[fkey] = f
		s.mu.Unlock()

		// The expiry counts from before the command, as in ClusterShell.
		expiry, expires := cacheExpiry(now, s.cacheTime)
		f.out, f.err = runUpcall(ctx, gs.UpcallTimeout(), s.name, upcall, cmdline, s.cfgDir)
		s.mu.Lock()
		if f.err == nil {
			if s.cache[upcall] == nil {
				s.cache[upcall] = map[string]cacheEntry{}
			}
			s.cache[upcall][key] = cacheEntry{out: f.out, expiry: expiry, noExpiry: !expires}
		}
		delete(s.flights, fkey)
		s.mu.Unlock()
		close(f.done)
		return f.out, f.err
	}
}

// runUpcall runs cmdline with /bin/sh -c in dir and returns its stdout with
// surrounding whitespace removed. A non-zero exit, a timeout or a failure
// to start is an *UpcallError carrying the command's stderr.
func runUpcall(ctx context.Context, timeout time.Duration, source, upcall, cmdline, dir string) (string, error) {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", cmdline)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	setProcessGroup(cmd)
	// If a descendant outlives the killed shell while holding the output
	// pipes, stop waiting for them after a while.
	cmd.WaitDelay = 2 * time.Second

	slog.Debug("nodeset: group upcall", "source", source, "upcall", upcall, "command", cmdline, "dir", dir)
	err := cmd.Run()
	errText := strings.TrimSpace(stderr.String())
	if len(errText) > upcallStderrMax {
		errText = errText[:upcallStderrMax] + "..."
	}
	if err == nil {
		if errText != "" {
			slog.Warn("nodeset: group upcall wrote to stderr", "source", source, "upcall", upcall, "command", cmdline, "stderr", errText)
		}
		return pyStrip(stdout.String()), nil
	}
	ue := &UpcallError{Source: source, Upcall: upcall, Command: cmdline, ExitCode: -1, Stderr: errText, TimeLimit: max(timeout, 0), Err: err}
	if ctxErr := ctx.Err(); ctxErr != nil {
		ue.Err = ctxErr
		ue.Timeout = errors.Is(ctxErr, context.DeadlineExceeded)
	} else if ee, ok := errors.AsType[*exec.ExitError](err); ok && ee.Exited() {
		ue.ExitCode = ee.ExitCode()
	}
	return "", ue
}

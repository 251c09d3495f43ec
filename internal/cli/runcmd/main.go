package runcmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/muster-sh/muster/internal/cli"
	"github.com/muster-sh/muster/nodeset"
	"github.com/muster-sh/muster/task"
	"github.com/muster-sh/muster/worker"
	"github.com/muster-sh/muster/worker/exec"
)

// Settings are the clush-level settings a transport may use.
type Settings struct {
	User           string        // -l/--user
	Options        string        // -o/--options (ssh options)
	Fanout         int           // -f (pdsh passes it to pdsh -f)
	ConnectTimeout time.Duration // -t (0: the task's default)
	// Conf holds clush.conf [Main] keys (ssh_path, scp_path, rsh_path,
	// pdsh_path, ...); empty until clush.conf is read.
	Conf map[string]string
}

// Factory makes a transport from the command line's settings.
type Factory func(Settings) (worker.Transport, error)

var (
	regMu      sync.Mutex
	transports = map[string]Factory{
		"exec": func(Settings) (worker.Transport, error) { return exec.Transport{}, nil },
	}
)

// Register makes a transport available to -R under name. Distant workers
// register from init functions in cmd/muster, so that worker packages do
// not depend on the command line.
func Register(name string, make Factory) {
	regMu.Lock()
	defer regMu.Unlock()
	transports[name] = make
}

func lookupTransport(name string) (Factory, bool) {
	regMu.Lock()
	defer regMu.Unlock()
	mk, ok := transports[name]
	return mk, ok
}

// DefaultWorker is the -R value used when none is given, as in clush.
const DefaultWorker = "ssh"

// Main runs "muster run" (or clush, when the program is invoked under that
// name) with args, excluding the program name.
func Main(args []string, stdio cli.Stdio) int {
	prog := "muster run"
	if base := filepath.Base(os.Args[0]); base == "clush" {
		prog = "clush"
	}
	return MainAs(prog, args, stdio)
}

// MainAs is Main with the name used in messages ("clush" prints exactly
// what ClusterShell's clush prints).
func MainAs(prog string, args []string, stdio cli.Stdio) int {
	// SIGTERM and SIGHUP end the context, with a *signalError as cause.
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case sig := <-sigs:
			cancel(&signalError{sig.(syscall.Signal)})
		case <-done:
		}
	}()
	// Ctrl-C stops the running command; outside interactive mode that ends
	// muster too.
	intr := make(chan os.Signal, 1)
	signal.Notify(intr, os.Interrupt)
	defer signal.Stop(intr)
	// A write to a closed stdout must return an error (and stop the task,
	// killing the commands), not kill muster and orphan them.
	pipe := make(chan os.Signal, 1)
	signal.Notify(pipe, syscall.SIGPIPE)
	defer signal.Stop(pipe)
	return runWith(ctx, intr, prog, args, stdio)
}

// signalError is the cause of the end of Main's context: a signal that
// ends muster (SIGTERM, SIGHUP).
type signalError struct{ sig syscall.Signal }

func (e *signalError) Error() string { return "got signal: " + e.sig.String() }

// signalExit is the exit code for the end of ctx: 128 plus the signal's
// number, as a shell reports a process killed by it; 1 without a signal.
func signalExit(ctx context.Context) int {
	var se *signalError
	if errors.As(context.Cause(ctx), &se) {
		return 128 + int(se.sig)
	}
	return 1
}

func usage(prog string, w io.Writer) {
	fmt.Fprintf(w, "Usage: %s [options] command\n", prog)
}

func help(prog string, w io.Writer) {
	usage(prog, w)
	fmt.Fprint(w, `
Targets:
  -w NODES                  run on these nodes (node-set syntax, groups allowed;
                            may be repeated)
  -x NODES                  leave these nodes out
  -a, --all                 run on every node of the group source
  -g GROUP, --group=GROUP   run on the nodes of GROUP
  -X GROUP                  leave the nodes of GROUP out
  --hostfile=FILE, --machinefile=FILE
                            read target nodes from FILE, one per line
  --pick=N                  run on N nodes chosen at random among the targets
  -s SOURCE, --groupsource=SOURCE
                            group source for @group and -g/-X/-a
  --groupsconf=FILE         read group sources from FILE instead of groups.conf

Output:
  -b, --dshbak              gather nodes whose output is identical
  -B                        as -b, with standard error gathered too
  -L                        no header blocks; output sorted by node
  -N                        no "node: " label in front of output lines
  -r, --regroup             name node sets by their groups where possible
  -G, --groupbase           leave the group source out of group names
  --diff                    show how each gathered output differs
  --outdir=DIR              write each node's standard output to DIR/NODE
  --errdir=DIR              write each node's standard error to DIR/NODE
  --color=WHEN              colour output: never, always or auto
  -P, --progress            show a progress meter while running
  -q, --quiet               print only the essential output
  -v, --verbose             print more about what happens

Execution:
  -f N, --fanout=N          run on at most N nodes at once (default 64)
  -t SECONDS, --connect_timeout=SECONDS
                            give up connecting to a node after SECONDS
  -u SECONDS, --command_timeout=SECONDS
                            stop a node's command after SECONDS
  -l USER, --user=USER      log in on the nodes as USER
  -o OPTIONS, --options=OPTIONS
                            extra options for the ssh program or client
  -R WORKER, --worker=WORKER
                            how nodes are reached: exec (local processes),
                            ssh (the ssh program; also "openssh"), native
                            (muster's built-in ssh client), rsh, pdsh;
                            default ssh
  -n, --nostdin             do not forward standard input to the nodes
  -S, --maxrc               exit with the largest exit code of the nodes
  -m MODE, --mode=MODE      use run mode MODE from the configuration
  --conf=FILE               read FILE instead of clush.conf
  -O KEY=VALUE, --option=KEY=VALUE
                            override a clush.conf setting

Copy:
  -c, --copy                copy the given local files to the nodes
  --rcopy                   copy the given files from the nodes to --dest,
                            each named FILE.NODE
  --dest=PATH               where copies go (default: the same path)
  -p                        keep modes and modification times

  -h, --help                show this help and exit

Without a command, on a terminal, commands are read at a prompt: ? shows
the nodes, +NODES, -NODES and @NODES add, remove or set them, !CMD runs CMD
locally, = switches gathering on or off, quit or Ctrl-D leaves; Ctrl-C
stops the running command only.
`)
}

func usageFail(prog string, stdio cli.Stdio, msg string) int {
	usage(prog, stdio.Err)
	fmt.Fprintf(stdio.Err, "\n%s: error: %s\n", prog, msg)
	return 2
}

func parseNodes(list []string, opts []nodeset.Option) (nodeset.NodeSet, error) {
	var all nodeset.NodeSet
	for _, s := range list {
		ns, err := nodeset.Parse(s, opts...)
		if err != nil {
			return all, err
		}
		all = all.Union(ns)
	}
	return all, nil
}

// groupNodes resolves -g/-X lists (group names, foldable like node sets)
// into "@group" node sets.
func groupNodes(lists []string, opts []nodeset.Option) (nodeset.NodeSet, error) {
	var all nodeset.NodeSet
	for _, l := range lists {
		names, err := nodeset.Parse(l, nodeset.WithResolver(nil))
		if err != nil {
			return all, err
		}
		for g := range names.All() {
			ns, err := nodeset.Parse("@"+g, opts...)
			if err != nil {
				return all, err
			}
			all = all.Union(ns)
		}
	}
	return all, nil
}

// hostfileError is an unreadable --hostfile, reported as clush does.
type hostfileError struct{ err error }

func (e *hostfileError) Error() string { return e.err.Error() }
func (e *hostfileError) Unwrap() error { return e.err }

// targetNodes computes the nodes to run on from -w, -a, -g, -x and -X.
func targetNodes(o *options, res nodeset.Resolver) (nodeset.NodeSet, error) {
	opts := []nodeset.Option{nodeset.WithResolver(res)}
	if o.groupSource != "" {
		opts = append(opts, nodeset.WithDefaultSource(o.groupSource))
	}
	nodes, err := parseNodes(o.nodes, opts)
	if err != nil {
		return nodes, err
	}
	for _, path := range o.hostfiles {
		data, err := os.ReadFile(path)
		if err != nil {
			return nodes, &hostfileError{err}
		}
		ns, err := parseNodes(strings.Fields(string(data)), opts)
		if err != nil {
			return nodes, err
		}
		nodes = nodes.Union(ns)
	}
	if o.allNodes {
		all, err := res.All(o.groupSource)
		if err != nil {
			return nodes, err
		}
		ns, err := parseNodes(all, opts)
		if err != nil {
			return nodes, err
		}
		nodes = nodes.Union(ns)
	}
	g, err := groupNodes(o.groups, opts)
	if err != nil {
		return nodes, err
	}
	nodes = nodes.Union(g)
	x, err := parseNodes(o.exclude, opts)
	if err != nil {
		return nodes, err
	}
	xg, err := groupNodes(o.exGroups, opts)
	if err != nil {
		return nodes, err
	}
	return nodes.Difference(x.Union(xg)), nil
}

func run(ctx context.Context, prog string, args []string, stdio cli.Stdio) int {
	return runWith(ctx, nil, prog, args, stdio)
}

// runWith is run where intr, when not nil, delivers Ctrl-C (SIGINT): it
// cancels the running command only, so that interactive mode can go on.
func runWith(ctx context.Context, intr <-chan os.Signal, prog string, args []string, stdio cli.Stdio) int {
	o, err := parseArgs(args)
	if errors.Is(err, errHelp) {
		help(prog, stdio.Out)
		return 0
	}
	var ue *usageError
	if errors.As(err, &ue) {
		return usageFail(prog, stdio, ue.msg)
	}
	if o.diff && o.lineMode {
		return usageFail(prog, stdio, "option mismatch (diff not supported in line_mode)")
	}
	conf, confData, err := loadConfig(o.conf)
	if err == nil {
		err = conf.apply(o)
	}
	if err == nil && o.mode != "" {
		err = conf.setMode(o.mode, confData, o)
	}
	if err != nil {
		fmt.Fprintf(stdio.Err, "ERROR: %s\n", strings.TrimPrefix(err.Error(), errConfig.Error()+": "))
		return 1
	}
	verbosity := o.verbosity
	load := nodeset.LoadDefaultGroups
	if o.groupsConf != "" {
		path := o.groupsConf
		load = func() (*nodeset.GroupSources, error) { return nodeset.LoadGroupsConfig(path) }
	}
	res := nodeset.NewLazyGroups(load)
	targets, err := targetNodes(o, res)
	var hfe *hostfileError
	var pe *fs.PathError
	switch {
	case errors.As(err, &hfe) && errors.As(err, &pe):
		msg := pe.Err.Error()
		if errno, ok := pe.Err.(syscall.Errno); ok {
			msg = fmt.Sprintf("[Errno %d] %s", int(errno), strings.ToUpper(msg[:1])+msg[1:])
		}
		fmt.Fprintf(stdio.Err, "ERROR: %s: '%s'\n", msg, pe.Path)
		return 1
	case err != nil:
		fmt.Fprintf(stdio.Err, "%s: %v\n", prog, err)
		return 1
	}
	for _, opt := range []struct {
		name string
		list []string
	}{{"w", o.nodes}, {"x", o.exclude}} {
		for _, s := range opt.list {
			ns, err := nodeset.Parse(s, nodeset.WithResolver(nil))
			if err != nil || ns.Len() != 1 {
				continue
			}
			if _, err := os.Stat(ns.String()); err == nil && verbosity >= verbStd {
				fmt.Fprintf(stdio.Err, "Warning: using '-%s %s' and local path '%s' exists, was it expanded by the shell?\n", opt.name, ns, ns)
			}
		}
	}
	if targets.IsEmpty() {
		return usageFail(prog, stdio, "No node to run on.")
	}
	if o.pick > 0 && o.pick < targets.Len() {
		names := slices.Collect(targets.All())
		rand.Shuffle(len(names), func(i, j int) { names[i], names[j] = names[j], names[i] })
		targets = nodeset.FromNames(names[:o.pick]...)
		if verbosity >= 2 {
			fmt.Fprintf(stdio.Out, "Picked random nodes: %s\n", targets)
		}
	}
	copying := o.copy || o.rcopy
	interactive := len(o.args) == 0 && !copying && stdio.InIsTerminal
	if interactive && o.nostdin {
		return usageFail(prog, stdio, "illegal option `--nostdin' in that case")
	}
	var password *string
	if pp, err := conf.boolean("password_prompt"); conf["password_prompt"] == "" {
	} else if err != nil {
		fmt.Fprintf(stdio.Err, "ERROR: %s\n", strings.TrimPrefix(err.Error(), errConfig.Error()+": "))
		return 1
	} else if pp {
		pw, err := askPass(ctx, intr, stdio)
		switch {
		case errors.Is(err, errInterrupted):
			// as clush on KeyboardInterrupt
			fmt.Fprintln(stdio.Err, "Keyboard interrupt.")
			return 128 + int(syscall.SIGINT)
		case ctx.Err() != nil:
			return signalExit(ctx)
		case err != nil:
			fmt.Fprintf(stdio.Err, "%s: password prompt: %v\n", prog, err)
			return 1
		}
		password = &pw
	}
	name := o.workerName
	if name == "" {
		name = DefaultWorker
	}
	mk, ok := lookupTransport(name)
	if !ok {
		fmt.Fprintf(stdio.Err, "ERROR: Could not load worker '%s'\n", name)
		return 1
	}
	tr, err := mk(Settings{User: o.user, Options: o.sshOptions, Fanout: o.fanout,
		ConnectTimeout: seconds(o.connTimeout), Conf: conf})
	if err != nil {
		fmt.Fprintf(stdio.Err, "%s: worker %s: %v\n", prog, name, err)
		return 1
	}
	if c, ok := tr.(io.Closer); ok {
		defer c.Close()
	}
	if copying && len(o.args) == 0 {
		return usageFail(prog, stdio, "--[r]copy option requires at least one argument")
	}
	var prefix []string
	if p := conf["command_prefix"]; p != "" && !copying {
		words, err := exec.Split(p)
		if err != nil {
			fmt.Fprintf(stdio.Err, "ERROR: (Config Main.command_prefix): %v\n", err)
			return 1
		}
		prefix = words
	}
	s := &session{prog: prog, o: o, conf: conf, stdio: stdio, tr: tr, res: res,
		password: password, prefix: prefix, intr: intr, interactive: interactive}
	s.out, s.errs = newStreams(stdio.Out, stdio.Err, func(error) {
		s.outputGone = true
		if tk := s.current.Load(); tk != nil {
			tk.Abort()
		}
	})
	s.color = useColor(o, conf, stdio)
	if interactive {
		return s.loop(ctx, targets)
	}
	command := strings.Join(append(slices.Clone(prefix), o.args...), " ")
	if copying {
		command = ""
	}
	return s.execute(ctx, command, targets, false)
}

// session is what one invocation keeps across the commands it runs (one,
// or many in interactive mode).
type session struct {
	prog        string
	o           *options
	conf        config
	stdio       cli.Stdio
	tr          worker.Transport
	res         nodeset.Resolver
	out, errs   *stream
	color       bool
	password    *string  // run mode's password_prompt answer
	prefix      []string // run mode's command_prefix
	intr        <-chan os.Signal
	interactive bool
	outputGone  bool
	current     atomic.Pointer[task.Task]
}

// checkPattern reports an exec command with a bad %-pattern as clush does.
func (s *session) checkPattern(command string) bool {
	err := exec.Check(command)
	if err == nil {
		return true
	}
	var pe *exec.PatternError
	if errors.As(err, &pe) {
		if pe.Name != "" {
			fmt.Fprintf(s.errs, "%s: '%s' is not a valid pattern, use '%%%%' to escape '%%'\n", s.prog, pe.Name)
		} else {
			fmt.Fprintf(s.errs, "%s: Invalid placeholder in string: line %d, col %d is not a valid pattern, use '%%%%' to escape '%%'\n", s.prog, pe.Line, pe.Col)
		}
	} else {
		fmt.Fprintf(s.errs, "%s: %v\n", s.prog, err)
	}
	s.errs.Flush()
	return false
}

// execute runs command on targets (or locally under the key LOCAL) and
// prints its output; it returns the exit code of a one-command run. A
// Ctrl-C (s.intr, or ctx ending) stops it, printing the gathered output
// so far.
func (s *session) execute(ctx context.Context, command string, targets nodeset.NodeSet, local bool) int {
	o := s.o
	copying := (o.copy || o.rcopy) && !s.interactive
	if s.tr.Name() == "exec" && !copying && !local && !s.checkPattern(command) {
		return 1
	}
	gathering := (o.gather || o.gatherAll || o.diff) && !local
	lineMode := o.lineMode && !local
	d := &display{
		prog:        s.prog,
		out:         s.out,
		err:         s.errs,
		label:       !o.noLabel,
		maxrc:       o.maxrc,
		verbosity:   o.verbosity,
		lineMode:    lineMode,
		nodeCount:   o.nodeCount,
		color:       s.color,
		source:      o.groupSource,
		noprefix:    o.groupBase,
		diff:        o.diff && !local,
		interactive: s.interactive,
	}
	if o.regroup {
		d.regroup = s.res
	}
	defer d.flush()
	tk := task.New(
		task.WithFanout(o.fanout),
		task.WithDistant(s.tr),
		task.WithKeepOutput(!copying && (gathering || lineMode)),
	)
	s.current.Store(tk)
	defer s.current.Store(nil)
	if o.connTimeout > 0 {
		tk.SetConnectTimeout(seconds(o.connTimeout))
	}
	var timeout []task.WorkerOption
	if o.cmdTimeout > 0 {
		timeout = append(timeout, task.Timeout(seconds(o.cmdTimeout)))
	}
	var w *task.Worker
	if copying {
		if rc := startCopies(s, tk, d, targets, timeout); rc >= 0 {
			return rc
		}
	} else {
		var h task.Handler
		switch {
		case gathering && lineMode:
			h = newLiveGather(d, targets)
		case lineMode:
			h = &sortedHandler{gatherHandler{d: d}}
		case gathering:
			h = &gatherHandler{d: d}
		case (o.outdir != "" || o.errdir != "") && !local && !(o.progress && o.verbosity > verbQuiet):
			dh, err := newDirHandler(d, targets, o.outdir, o.errdir)
			if err != nil {
				fmt.Fprintf(s.errs, "%s: %v\n", s.prog, err)
				return 1
			}
			defer dh.close()
			h = dh
		default:
			h = &directHandler{d: d}
		}
		// pdsh cannot forward input (it never closes the remote stdin).
		forward := !o.nostdin && !s.stdio.InIsTerminal && s.stdio.In != nil && s.tr.Name() != "pdsh"
		wopts := append([]task.WorkerOption{
			task.WithHandler(h),
			task.UseShell(true),
			task.MergeStderr(o.gatherAll),
			task.Stdin(forward || s.password != nil),
		}, timeout...)
		if local {
			wopts = append(wopts, task.Key("LOCAL"))
		} else {
			wopts = append(wopts, task.OnNodeSet(targets))
		}
		total := targets.Len()
		if local {
			total = 1
		}
		d.meter = s.newMeter(d, tk, total, gathering || lineMode)
		if local {
			// the local command runs as typed: no %h substitution (clush
			// runs it with Popen)
			command = strings.ReplaceAll(command, "%", "%%")
		}
		var err error
		w, err = tk.Shell(command, wopts...)
		if err != nil {
			fmt.Fprintf(s.errs, "%s: %v\n", s.prog, err)
			return 1
		}
		if s.password != nil {
			// the password first, then the command's own input if any
			w.Write([]byte(*s.password + "\n"))
			if !forward {
				w.CloseWrite()
			}
		}
		if forward {
			go forwardStdin(s.stdio.In, w)
		}
	}
	// Flush output regularly while commands run; the timer does not keep
	// the task alive.
	tk.Timer(100*time.Millisecond, task.TimerFunc(func(*task.Timer) { d.flush() }),
		task.Every(100*time.Millisecond), task.Autoclose())

	runCtx := ctx
	if s.intr != nil {
		// drop an interrupt that came before this command
		for drained := false; !drained; {
			select {
			case <-s.intr:
			default:
				drained = true
			}
		}
		c, cancel := context.WithCancel(ctx)
		defer cancel()
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			select {
			case <-s.intr:
				cancel()
			case <-stop:
			}
		}()
		runCtx = c
	}
	err := tk.Run(runCtx)
	switch {
	case s.outputGone:
		return 128 + int(syscall.SIGPIPE)
	case err == nil:
	case errors.Is(err, context.Canceled):
		d.interrupted(w, gathering, targets)
		return 128 + int(syscall.SIGINT)
	default:
		d.flush()
		fmt.Fprintf(s.errs, "%s: %v\n", s.prog, err)
		return 1
	}
	d.flush()
	useMax, err := s.conf.boolean("maxrc")
	if err != nil {
		fmt.Fprintf(s.errs, "ERROR: %s\n", strings.TrimPrefix(err.Error(), errConfig.Error()+": "))
		return 1
	}
	if useMax {
		rc, _ := tk.MaxRetcode()
		if tk.NumTimeout() > 0 {
			rc = 255
		}
		return rc
	}
	return 0
}

// startCopies schedules one copy (or reverse copy) per source; it returns
// an exit code when it cannot, -1 when the task is ready to run.
func startCopies(s *session, tk *task.Task, d *display, targets nodeset.NodeSet, timeout []task.WorkerOption) int {
	o, stdio, prog := s.o, s.stdio, s.prog
	dest := o.dest
	if dest == "" {
		abs, err := filepath.Abs(o.args[0])
		if err != nil {
			abs = o.args[0]
		}
		dest = filepath.Dir(abs)
		if o.copy {
			dest += "/"
		}
	}
	if o.rcopy {
		fi, err := os.Stat(dest)
		switch {
		case err != nil:
			fmt.Fprintf(stdio.Err, "ERROR: directory \"%s\" not found\n", dest)
			return 1
		case !fi.IsDir():
			fmt.Fprintf(stdio.Err, "ERROR: destination \"%s\" is not a directory\n", dest)
			return 1
		}
	}
	h := &copyHandler{directHandler: directHandler{d: d}, reverse: o.rcopy,
		source: map[*task.Worker]string{}, dest: dest, left: len(o.args)}
	if s.meterStyle() == meterRich || d.verbosity == verbStd || d.verbosity == 2 {
		d.meter = s.newMeter(d, tk, targets.Len()*len(o.args), true)
	}
	for _, src := range o.args {
		opts := append([]task.WorkerOption{task.OnNodeSet(targets), task.WithHandler(h)}, timeout...)
		var w *task.Worker
		var err error
		if o.rcopy {
			w, err = tk.Rcopy(src, dest, append(opts, task.Preserve(o.preserve))...)
		} else {
			if _, serr := os.Stat(src); serr != nil {
				fmt.Fprintf(stdio.Err, "ERROR: file \"%s\" not found\n", src)
				return 1
			}
			w, err = tk.Copy(src, dest, append(opts, task.Preserve(o.preserve))...)
		}
		if err != nil {
			fmt.Fprintf(stdio.Err, "%s: %v\n", prog, err)
			return 1
		}
		h.source[w] = src
	}
	return -1
}

// isTerminal reports whether w is a terminal.
func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// useColor decides on ANSI colours as clush does: --color wins; otherwise
// clush.conf's color, where "" and "auto" defer to NO_COLOR, CLICOLOR_FORCE
// and CLICOLOR, and finally to whether stdout is a terminal.
func useColor(o *options, conf config, stdio cli.Stdio) bool {
	outTTY := isTerminal(stdio.Out)
	var color *bool
	set := func(b bool) { color = &b }
	switch conf["color"] {
	case "auto":
		set(outTTY && (o.gatherAll || isTerminal(stdio.Err)))
	default:
		set(conf["color"] == "always")
	}
	if o.color == nil && (conf["color"] == "" || conf["color"] == "auto") {
		if _, no := os.LookupEnv("NO_COLOR"); no {
			set(false)
		} else if force := os.Getenv("CLICOLOR_FORCE"); force != "" && force != "0" {
			set(true)
		} else if cc, ok := os.LookupEnv("CLICOLOR"); !ok {
			color = nil
		} else {
			set(cc != "0" && outTTY)
		}
	}
	if color == nil {
		when := ""
		if o.color != nil {
			when = *o.color
		}
		switch when {
		case "", "auto":
			return outTTY
		case "always":
			return true
		}
		return false
	}
	return *color
}

func seconds(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }

// forwardStdin broadcasts the command's input to every node, in 64 KiB
// chunks, then end of file.
func forwardStdin(in io.Reader, w *task.Worker) {
	buf := make([]byte, 64<<10)
	for {
		n, err := in.Read(buf)
		if n > 0 {
			if w.Write(buf[:n]) != nil {
				return
			}
		}
		if err != nil {
			w.CloseWrite()
			return
		}
	}
}

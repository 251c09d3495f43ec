package nodesetcmd

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"unicode/utf8"

	"github.com/muster-sh/muster/internal/cli"
	"github.com/muster-sh/muster/nodeset"
)

// Version is what --version prints after the program name: the
// ClusterShell release whose nodeset this command reproduces.
const Version = "1.9.1"

// progName is the name messages start with: "cluset" when the binary runs
// under that name (ClusterShell's alias of nodeset), else "nodeset".
var progName = programName(os.Args)

func programName(argv []string) string {
	if len(argv) > 0 && filepath.Base(argv[0]) == "cluset" {
		return "cluset"
	}
	return "nodeset"
}

var usageLine = "Usage: " + progName + " [COMMAND] [OPTIONS] [ns1 [-ixX] ns2|...]"

// exitError is a failure reported on standard error with an exit status.
type exitError struct {
	code int
	msg  string // printed as is, followed by a newline
}

func (e *exitError) Error() string { return e.msg }

func fail(format string, a ...any) error {
	return &exitError{code: 1, msg: fmt.Sprintf(format, a...)}
}

// Main runs the nodeset command (ClusterShell 1.9's nodeset) with args,
// excluding the program name, and returns the exit status: 0 on success,
// 1 on a runtime error (bad node set, unknown group...), 2 on a usage
// error.
func Main(args []string, stdio cli.Stdio) int {
	// Like ClusterShell (Python ignores SIGPIPE), a closed output pipe ends
	// the command with status 1 and no message, instead of killing it.
	signal.Ignore(syscall.SIGPIPE)
	out := bufio.NewWriterSize(stdio.Out, 64<<10)
	c := &command{stdio: stdio, out: out}
	code := c.run(args)
	if err := out.Flush(); err != nil && code == 0 {
		// As ClusterShell, a closed pipe is not worth a message.
		code = 1
	}
	return code
}

type command struct {
	stdio     cli.Stdio
	out       *bufio.Writer
	o         *options
	res       *lazyResolver
	stdinDone bool
}

func (c *command) run(args []string) int {
	o, err := parseArgs(args)
	if err != nil {
		return c.report(err)
	}
	if o.help {
		writeHelp(c.out)
		return 0
	}
	if o.version {
		fmt.Fprintf(c.out, "%s %s\n", progName, Version)
		return 0
	}
	c.o = o
	c.res = newLazyResolver(o.groupsconf)
	if o.debug {
		restore := debugLogging(c.stdio.Err)
		defer restore()
	}
	return c.report(c.execute())
}

// report prints err as ClusterShell would and returns the exit status.
func (c *command) report(err error) int {
	if err == nil {
		return 0
	}
	if errors.Is(err, syscall.EPIPE) {
		return 1 // as ClusterShell: quiet on a broken pipe
	}
	var ue *usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(c.stdio.Err, "%s\n\n%s: error: %s\n", usageLine, progName, ue.msg)
		return 2
	}
	var ee *exitError
	if errors.As(err, &ee) {
		fmt.Fprintln(c.stdio.Err, ee.msg)
		return ee.code
	}
	fmt.Fprintln(c.stdio.Err, describe(err))
	return 1
}

// describe words a library error the way ClusterShell's nodeset does.
func describe(err error) string {
	var pe *pyError
	if errors.As(err, &pe) {
		if pe.kind == pyTypeError {
			return progName + ": " + pe.msg
		}
		return "ERROR: " + pe.msg
	}
	var gce *nodeset.GroupsConfigError
	if errors.As(err, &gce) {
		if m := defaultNotFound.FindStringSubmatch(gce.Msg); m != nil {
			return fmt.Sprintf("%s: Group resolver error: Default group source not found: %s", progName, m[1])
		}
		return progName + ": Group resolver error: " + trimPkg(gce.Error())
	}
	switch {
	case errors.Is(err, nodeset.ErrNoGroupSource):
		return progName + ": Unknown group source: " + sourceInError(err)
	case errors.Is(err, nodeset.ErrNoUpcall):
		msg := err.Error()
		if strings.Contains(msg, "neither an all nor a list upcall") {
			return progName + ": External error: Not enough working methods (all or map + list) to get all nodes"
		}
		if m := noUpcall.FindStringSubmatch(msg); m != nil {
			return fmt.Sprintf("%s: No %s upcall defined for group source %s", progName, m[2], m[1])
		}
		return progName + ": " + trimPkg(msg)
	case errors.Is(err, nodeset.ErrIllegalGroupChar):
		return progName + ": Illegal group character: " + trimPkg(err.Error())
	case errors.Is(err, nodeset.ErrUpcallFailed):
		return progName + ": External error: " + trimPkg(err.Error())
	}
	var parseErr *nodeset.ParseError
	if errors.As(err, &parseErr) {
		return describeParse(parseErr, errors.Is(err, errRangeSetInput))
	}
	return progName + ": " + trimPkg(err.Error())
}

var (
	defaultNotFound = regexp.MustCompile(`^default group source ("[^"]*") is not defined`)
	noUpcall        = regexp.MustCompile(`group source ("[^"]*") has no (\w+) upcall`)
)

// errRangeSetInput marks errors of strings parsed as range sets (-R,
// -I, --axis), which ClusterShell words slightly differently.
var errRangeSetInput = errors.New("range set input")

// rangeSetError wraps a ParseRangeSet error with errRangeSetInput.
func rangeSetError(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w: %w", errRangeSetInput, err)
}

// describeParse words a parse error as ClusterShell does: the message
// without the library's "(expected ...)" hint, then the offending text;
// errors in a bracketed range of a node set read 'bad range: "msg : "text""'.
func describeParse(pe *nodeset.ParseError, rangeSet bool) string {
	msg := pe.Msg
	if i := strings.Index(msg, " (expected"); i >= 0 {
		msg = msg[:i]
	}
	if i := strings.Index(msg, " (at most"); i >= 0 {
		msg = msg[:i]
	}
	if msg == "range too large" {
		return "ERROR: range too large"
	}
	if msg == "empty range" {
		if rangeSet {
			return progName + ": Parse error: empty range"
		}
		return progName + `: Parse error: bad range: "empty range"`
	}
	text := pe.Text
	if text == "" {
		text = pe.Input
	}
	rangeMsg := false
	for _, p := range []string{"cannot convert string to integer", "invalid values in range", "padding length mismatch",
		"invalid step usage", "empty range", "padding not supported"} {
		if strings.HasPrefix(msg, p) {
			rangeMsg = true
		}
	}
	switch {
	case rangeSet:
		return fmt.Sprintf("%s: Parse error: %s : \"%s\"", progName, msg, text)
	case rangeMsg:
		return fmt.Sprintf("%s: Parse error: bad range: \"%s : \"%s\"\"", progName, msg, text)
	}
	if pe.Err != nil && errors.Is(pe.Err, nodeset.ErrNoGroupSource) {
		return progName + ": Unknown group source: " + sourceInError(pe.Err)
	}
	return fmt.Sprintf("%s: Parse error: %s: \"%s\"", progName, msg, text)
}

func trimPkg(s string) string { return strings.TrimPrefix(s, "nodeset: ") }

// sourceInError extracts the quoted source name of an unknown-source
// error, as ClusterShell prints just the name.
func sourceInError(err error) string {
	s := err.Error()
	if i := strings.Index(s, "no such group source: "); i >= 0 {
		s = s[i+len("no such group source: "):]
	}
	if i := strings.Index(s, `"`); i >= 0 {
		if j := strings.Index(s[i+1:], `"`); j >= 0 {
			return s[i : i+j+2]
		}
	}
	return `"<default>"`
}

func (c *command) warn(msg string) { fmt.Fprintln(c.stdio.Err, msg) }

// execute is the body of the command once options are parsed; it follows
// the order of ClusterShell's nodeset so that the same error wins when
// several apply.
func (c *command) execute() error {
	o := c.o
	cmds := 0
	for _, b := range []bool{o.count, o.expand, o.fold, o.list > 0, o.listall > 0, o.regroup, o.groupsources} {
		if b {
			cmds++
		}
	}
	switch {
	case cmds == 0:
		return usageErr("No command specified.")
	case cmds > 1:
		return usageErr("Multiple commands not allowed.")
	}
	if (o.all || o.regroup) && o.rangeset {
		return usageErr("-a/-r only supported in NodeSet mode")
	}
	if o.splitSet && o.contiguous {
		return usageErr("incompatible splitting options (split, contiguous)")
	}
	maxsplit := int64(1)
	if o.splitSet {
		maxsplit = o.split
	}
	if o.axis != "" && (!o.fold || o.rangeset) {
		return usageErr("--axis option is only supported when folding nodeset")
	}
	if o.groupsourceSet && !o.quiet && o.rangeset {
		c.warn(fmt.Sprintf("WARNING: option group source %q ignored", o.groupsource))
	}
	if o.groupsourceSet {
		if err := c.res.selectSource(o.groupsource); err != nil {
			return err
		}
	}
	if o.groupsources {
		return c.listSources()
	}

	autostep := 0
	if o.autostep == autostepCount {
		autostep = clampAutostep(o.autostepN)
	}
	xs := c.empty(autostep)
	var err error
	if o.all {
		all, err := c.allNodes()
		if err != nil {
			return err
		}
		xs = xs.Union(all)
	}
	if len(o.args) == 0 && !o.all && o.list == 0 && o.listall == 0 {
		if xs, err = c.readStdin(xs, autostep, xset.Union); err != nil {
			return err
		}
	}
	if xs.IsEmpty() && len(o.intersection)+len(o.exclude)+len(o.xor) > 0 && !o.quiet {
		c.warn("WARNING: empty left operand for set operation")
	}
	for _, step := range []struct {
		vals []string
		op   func(xset, xset) xset
	}{
		{o.intersection, xset.Intersection},
		{o.exclude, xset.Difference},
		{o.xor, xset.SymmetricDifference},
	} {
		for _, v := range step.vals {
			if v == "-" {
				xs, err = c.readStdin(xs, autostep, step.op)
			} else {
				var operand xset
				operand, err = c.parse(v, autostep)
				if err == nil {
					xs = step.op(xs, operand)
				}
			}
			if err != nil {
				return err
			}
		}
	}
	if xs, err = c.compute(xs, o.args, autostep); err != nil {
		return err
	}

	if o.list > 0 || o.listall > 0 {
		return c.list(xs)
	}

	sep, err := evalSeparator(o.separator)
	if err != nil {
		return fail("ERROR: invalid separator")
	}

	if o.slice != "" {
		if xs, err = c.sliceSet(xs); err != nil {
			return err
		}
	}

	switch o.autostep {
	case autostepAuto:
		xs = xs.WithAutostep(clampAutostep(int64(max(3, xs.Len()))))
	case autostepPercent:
		f := math.Ceil(float64(xs.Len()) * o.autostepF)
		if math.IsNaN(f) {
			return fail("ERROR: cannot convert float NaN to integer")
		}
		if math.IsInf(f, 0) {
			return fail("OverflowError: cannot convert float infinity to integer")
		}
		xs = xs.WithAutostep(clampAutostep(int64(max(min(f, math.MaxInt32), math.MinInt32))))
	}

	var axes []int
	if o.axis != "" {
		if axes, err = parseAxis(o.axis); err != nil {
			return err
		}
	}

	if o.pickSet && o.pick != 0 && o.pick < int64(xs.Len()) {
		if o.pick < 0 {
			return fail("ERROR: Sample larger than population or is negative")
		}
		xs = c.pick(xs, int(o.pick))
	}

	format := func(s xset) (string, error) { return pyFormat(o.format, pyArg{s: s.Fold(axes), obj: o.rangeset}) }
	switch {
	case o.expand:
		format = func(s xset) (string, error) { return c.expandText(s, sep) }
	case o.fold && !o.rangeset && o.format != "%s":
		// The format applies to each node and the result is folded again.
		var names []string
		for n := range xs.All() {
			f, err := pyFormat(o.format, strArg(n))
			if err != nil {
				return err
			}
			names = append(names, strings.TrimFunc(f, pyIsSpace))
		}
		ns, err := c.parseNames(names)
		if err != nil {
			return err
		}
		xs = nsSet{ns.WithAutostep(xs.Autostep())}
		// The new set has no fold axis, as in ClusterShell.
		format = func(s xset) (string, error) { return s.Fold(nil), nil }
	case o.fold:
	case o.regroup:
		format = func(s xset) (string, error) {
			text, err := s.(nsSet).s.Regroup(c.res, o.groupsource, o.gbase)
			if err != nil {
				return "", err
			}
			return pyFormat(o.format, strArg(text))
		}
	default: // count
		format = func(s xset) (string, error) { return pyFormat(o.format, intArg(int64(s.Len()))) }
	}

	var parts []xset
	switch {
	case xs.IsEmpty() || maxsplit <= 1 && !o.contiguous:
		parts = []xset{xs}
	case o.contiguous:
		parts = xs.Contiguous()
	default:
		parts = xs.Split(int(min(maxsplit, math.MaxInt32)))
	}
	for _, p := range parts {
		if o.expand && o.format == "%s" {
			// Nothing can fail: stream the nodes instead of building the
			// line (expanding millions of nodes then needs no memory).
			if err := c.streamExpand(p, sep); err != nil {
				return err
			}
			continue
		}
		text, err := format(p)
		if err != nil {
			return err
		}
		c.out.WriteString(text)
		c.out.WriteByte('\n')
	}
	return nil
}

// clampAutostep converts a user autostep to the library's threshold:
// ClusterShell accepts any integer and treats those below 1 as 1; 0 means
// disabled for the library.
func clampAutostep(n int64) int {
	if n < 1 {
		return 1
	}
	return int(min(n, math.MaxInt32))
}

// empty returns the empty set of the current mode.
func (c *command) empty(autostep int) xset {
	if c.o.rangeset {
		return rsSet{autostep: autostep}
	}
	return nsSet{nodeset.NodeSet{}.WithAutostep(autostep)}
}

// parse parses one node set (or range set with -R) string.
func (c *command) parse(s string, autostep int) (xset, error) {
	if c.o.rangeset {
		r, err := nodeset.ParseRangeSet(s)
		if err != nil {
			return nil, rangeSetError(err)
		}
		return rsSet{r, autostep}, nil
	}
	opts := []nodeset.Option{nodeset.WithResolver(c.res), nodeset.WithAutostep(autostep)}
	if c.o.groupsourceSet {
		opts = append(opts, nodeset.WithDefaultSource(c.o.groupsource))
	}
	ns, err := nodeset.Parse(s, opts...)
	if err != nil {
		return nil, err
	}
	return nsSet{ns}, nil
}

// parseLines parses an argument that may span several lines, each line
// being a node set, as ClusterShell's fromlist(arg.splitlines()).
func (c *command) parseLines(arg string, autostep int) (xset, error) {
	acc := c.empty(autostep)
	for _, line := range pySplitLines(arg) {
		s, err := c.parse(line, autostep)
		if err != nil {
			return nil, err
		}
		acc = acc.Union(s)
	}
	return acc, nil
}

// parseNames builds a node set from literal node names (ClusterShell's
// _fromlist1): no brackets, operators or groups are interpreted.
func (c *command) parseNames(names []string) (nodeset.NodeSet, error) {
	return nodeset.FromNames(names...), nil
}

// compute applies the positional arguments: node sets to add, "-" for
// standard input, and -x/-i/-X operations with their operand.
func (c *command) compute(xs xset, args []string, autostep int) (xset, error) {
	for len(args) > 0 {
		arg := args[0]
		args = args[1:]
		var op func(xset, xset) xset
		switch arg {
		case "-i", "--intersection":
			op = xset.Intersection
		case "-x", "--exclude":
			op = xset.Difference
		case "-X", "--xor":
			op = xset.SymmetricDifference
		case "-":
			var err error
			if xs, err = c.readStdin(xs, autostep, xset.Union); err != nil {
				return nil, err
			}
			continue
		default:
			s, err := c.parseLines(arg, autostep)
			if err != nil {
				return nil, err
			}
			xs = xs.Union(s)
			continue
		}
		if len(args) == 0 {
			return nil, fail("ERROR: pop from empty list")
		}
		val := args[0]
		args = args[1:]
		var err error
		if val == "-" {
			xs, err = c.readStdin(xs, autostep, op)
		} else {
			var s xset
			s, err = c.parseLines(val, autostep)
			if err == nil {
				xs = op(xs, s)
			}
		}
		if err != nil {
			return nil, err
		}
	}
	return xs, nil
}

// readStdin reads node sets from standard input (white space separated,
// "#" starts a comment) and combines their union with xs using op, as
// ClusterShell's process_stdin. The operation is skipped when nothing was
// read.
func (c *command) readStdin(xs xset, autostep int, op func(xset, xset) xset) (xset, error) {
	if c.stdinDone || c.stdio.In == nil {
		return xs, nil
	}
	c.stdinDone = true
	acc, err := c.readSets(autostep)
	if err != nil {
		return nil, err
	}
	if acc.IsEmpty() {
		return xs, nil
	}
	return op(xs, acc), nil
}

// readSets parses standard input. Plain names (the common case: one name
// per line, possibly millions) go through a fast path; anything with
// ranges, operators or groups is parsed in full.
func (c *command) readSets(autostep int) (xset, error) {
	sc := bufio.NewScanner(c.stdio.In)
	sc.Buffer(make([]byte, 256<<10), 1<<30)
	sc.Split(scanUniversalLines)
	acc := c.empty(autostep)
	var names nodeset.Builder // plain names (node sets only)
	for sc.Scan() {
		// Bytes that are not UTF-8 pass through unchanged, as with
		// Python's surrogateescape error handler on standard streams.
		if err := c.stdinLine(sc.Bytes(), autostep, &acc, &names); err != nil {
			return nil, err
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fail("ERROR: %v", err)
	}
	if !c.o.rangeset {
		acc = acc.Union(nsSet{names.NodeSet()})
	}
	return acc, nil
}

// scanUniversalLines splits lines as Python's text files do with universal
// newlines: "\n", "\r\n" and "\r" all end a line. A token keeps one byte of
// its line ending ("\n" or "\r", standing for Python's "\n"), and a last
// line without a line ending has none. Tokens share the scanner's buffer.
func scanUniversalLines(data []byte, atEOF bool) (advance int, token []byte, err error) {
	for i, b := range data {
		switch b {
		case '\n':
			return i + 1, data[:i+1], nil
		case '\r':
			if i+1 < len(data) {
				if data[i+1] == '\n' {
					return i + 2, data[:i+1], nil
				}
				return i + 1, data[:i+1], nil
			}
			if !atEOF {
				return 0, nil, nil // need to know whether "\n" follows
			}
			return i + 1, data[:i+1], nil
		}
	}
	if atEOF && len(data) > 0 {
		return len(data), data, nil
	}
	return 0, nil, nil
}

// stdinLine handles one line of standard input (with its line ending, if
// any). As ClusterShell, without a "#" the last character of the line is
// dropped, which is the newline except on a last line without one.
func (c *command) stdinLine(line []byte, autostep int, acc *xset, names *nodeset.Builder) error {
	if i := bytes.IndexByte(line, '#'); i >= 0 {
		line = line[:i]
	} else if len(line) > 0 {
		_, size := utf8.DecodeLastRune(line)
		line = line[:len(line)-size]
	}
	for len(line) > 0 {
		// skip white space, then take one element
		n := spaceLen(line)
		if n > 0 {
			line = line[n:]
			continue
		}
		end := 0
		for end < len(line) && spaceLen(line[end:]) == 0 {
			_, size := utf8.DecodeRune(line[end:])
			end += size
		}
		elem := string(line[:end])
		line = line[end:]
		if !c.o.rangeset && plainName(elem) {
			names.Add(elem)
			continue
		}
		s, err := c.parse(elem, autostep)
		if err != nil {
			return err
		}
		*acc = (*acc).Union(s)
	}
	return nil
}

// spaceLen returns the length of the white space character (as Python's
// str.split sees it) at the start of b, or 0.
func spaceLen(b []byte) int {
	c := b[0]
	if c < utf8.RuneSelf {
		switch c {
		case ' ', '\t', '\n', '\r', '\v', '\f', 0x1c, 0x1d, 0x1e, 0x1f:
			return 1
		}
		return 0
	}
	r, size := utf8.DecodeRune(b)
	if r != utf8.RuneError && pyIsSpace(r) {
		return size
	}
	return 0
}

// plainName reports whether s is a single node name with no syntax that
// needs the full parser.
func plainName(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '[', ']', ',', '!', '&', '^', '@', '*', '?', '%':
			return false
		}
	}
	return true
}

// pySplitLines splits s as Python's str.splitlines().
func pySplitLines(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch r {
		case '\n', '\v', '\f', 0x1c, 0x1d, 0x1e, 0x85, 0x2028, 0x2029:
			out = append(out, s[start:i])
			i += size
			start = i
		case '\r':
			out = append(out, s[start:i])
			i += size
			if i < len(s) && s[i] == '\n' {
				i++
			}
			start = i
		default:
			i += size
		}
	}
	if start < len(s) {
		out = append(out, s[start:])
	}
	return out
}

// allNodes returns every node of the default (or -s) group source.
func (c *command) allNodes() (xset, error) {
	items, err := c.res.All(c.o.groupsource)
	if err != nil {
		return nil, err
	}
	s, err := c.parse(strings.Join(items, ","), 0)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// sliceSet keeps the nodes at the positions given by -I: each contiguous
// run a-b of the range set selects [a:b+1] with Python's slice semantics
// (negative positions count from the end). As in ClusterShell the result
// loses any integer autostep.
func (c *command) sliceSet(xs xset) (xset, error) {
	rs, err := nodeset.ParseRangeSet(c.o.slice)
	if err != nil {
		return nil, rangeSetError(err)
	}
	out := c.empty(0)
	for _, run := range rs.Contiguous() {
		first, last, ok := bounds(run)
		if !ok {
			continue
		}
		out = out.Union(xs.Slice(clampInt(first), clampInt(last+1), 1))
	}
	return out, nil
}

func bounds(r nodeset.RangeSet) (first, last int64, ok bool) {
	for v := range r.Ints() {
		if !ok {
			first, ok = v, true
		}
		last = v
	}
	return first, last, ok
}

func clampInt(v int64) int {
	return int(max(min(v, math.MaxInt32), math.MinInt32))
}

// parseAxis converts --axis (1-based axes as a range set, or one negative
// axis) to the library's 0-based axes.
func parseAxis(s string) ([]int, error) {
	if strings.HasPrefix(s, "-") {
		n, err := pyIntBase(s, 10)
		if err != nil {
			return nil, fail("ERROR: invalid literal for int() with base 10: %s", pyRepr(s))
		}
		return []int{clampInt(n)}, nil
	}
	rs, err := nodeset.ParseRangeSet(s)
	if err != nil {
		return nil, rangeSetError(err)
	}
	axes := []int{}
	for v := range rs.Ints() {
		if v > 0 {
			axes = append(axes, clampInt(v-1))
		}
	}
	return axes, nil
}

// pick keeps n nodes chosen at random.
func (c *command) pick(xs xset, n int) xset {
	all := slices.Collect(xs.All())
	rand.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	keep := c.empty(0)
	for _, name := range all[:n] {
		if s, err := c.parse(name, 0); err == nil {
			keep = keep.Union(s)
		}
	}
	return xs.Intersection(keep)
}

// streamExpand writes the nodes of s separated by sep, and a newline.
func (c *command) streamExpand(s xset, sep []rune) error {
	sepText, bad := printableSeparator(sep)
	if bad >= 0 && s.Len() > 1 {
		_, err := c.expandText(s, sep) // reports the error as Python does
		return err
	}
	first := true
	s.Each(func(name []byte) bool {
		if !first {
			c.out.WriteString(sepText)
		}
		first = false
		c.out.Write(name)
		return true
	})
	return c.out.WriteByte('\n')
}

// printableSeparator returns the bytes of sep and the position of its
// first rune that cannot be printed (-1 if none): lone surrogates other
// than U+DC80..U+DCFF, which stand for raw bytes in Python's
// surrogateescape scheme.
func printableSeparator(sep []rune) (string, int) {
	var sb []byte
	bad := -1
	for i, r := range sep {
		switch {
		case r >= 0xDC80 && r <= 0xDCFF:
			sb = append(sb, byte(r-0xDC00))
		case r >= 0xD800 && r <= 0xDFFF:
			if bad < 0 {
				bad = i
			}
		default:
			sb = utf8.AppendRune(sb, r)
		}
	}
	return string(sb), bad
}

// expandText joins the nodes of s, each formatted with -O, with the
// separator.
func (c *command) expandText(s xset, sep []rune) (string, error) {
	var b strings.Builder
	first := true
	sepText, surrogate := printableSeparator(sep)
	for n := range s.All() {
		if !first {
			if surrogate >= 0 {
				pos := utf8.RuneCountInString(b.String()) + surrogate
				return "", fail("ERROR: 'utf-8' codec can't encode character '\\u%04x' in position %d: surrogates not allowed", sep[surrogate], pos)
			}
			b.WriteString(sepText)
		}
		first = false
		if c.o.format == "%s" {
			b.WriteString(n)
			continue
		}
		f, err := pyFormat(c.o.format, strArg(n))
		if err != nil {
			return "", err
		}
		b.WriteString(f)
	}
	return b.String(), nil
}

// listSources prints the group sources, the default one first.
func (c *command) listSources() error {
	srcs, err := c.res.sourceNames()
	if err != nil {
		return err
	}
	mark := " (default)"
	if c.o.quiet {
		mark = ""
	}
	for _, s := range srcs {
		fmt.Fprintf(c.out, "%s%s\n", s, mark)
		mark = ""
	}
	return nil
}

// list implements -l/-L: groups of one source or of all sources, with
// their nodes and counts at higher levels; with node sets given, only the
// groups containing some of them.
func (c *command) list(xs xset) error {
	o := c.o
	level := o.list + o.listall
	var sources []string
	explicit := []bool{}
	if o.listall > 0 {
		srcs, err := c.res.sourceNames()
		if err != nil {
			return err
		}
		sources = srcs
		for i := range sources {
			explicit = append(explicit, i > 0 || o.groupsourceSet)
		}
	} else {
		sources = []string{o.groupsource}
		explicit = []bool{o.groupsourceSet}
	}
	filter := o.all || !xs.IsEmpty() || len(o.intersection)+len(o.exclude)+len(o.xor) > 0
	for i, src := range sources {
		err := c.listSource(src, explicit[i], level, xs, filter)
		if err != nil {
			if o.listall > 0 && errors.Is(err, nodeset.ErrNoUpcall) {
				c.warn(fmt.Sprintf("Warning: No list upcall defined for group source %s", src))
				continue
			}
			return err
		}
	}
	return nil
}

func (c *command) listSource(src string, explicit bool, level int, xs xset, filter bool) error {
	prefix := "@"
	if explicit && !c.o.gbase {
		prefix = "@" + src + ":"
	}
	if filter {
		ns, _ := xs.(nsSet)
		infos, err := c.groupsOf(ns.s, src)
		if err != nil {
			return err
		}
		keys := make([]string, 0, len(infos))
		byKey := map[string]groupInfo{}
		for _, gi := range infos {
			k := prefix + gi.name
			keys = append(keys, k)
			byKey[k] = gi
		}
		sort.Strings(keys)
		for _, k := range keys {
			gi := byKey[k]
			inter := ns.s.Intersection(gi.nodes)
			switch level {
			case 1:
				fmt.Fprintln(c.out, k)
			case 2:
				fmt.Fprintf(c.out, "%s %s\n", k, inter)
			default:
				fmt.Fprintf(c.out, "%s %s %d/%d\n", k, inter, inter.Len(), gi.nodes.Len())
			}
		}
		return nil
	}
	names, err := c.groupNames(src)
	if err != nil {
		return err
	}
	for _, g := range names {
		ref := prefix + g
		if level == 1 {
			fmt.Fprintln(c.out, ref)
			continue
		}
		// As ClusterShell, the printed reference is what gets resolved:
		// with -G a group of another source resolves in the default one.
		nodes, err := c.parse(ref, 0)
		if err != nil {
			return err
		}
		if level == 2 {
			fmt.Fprintf(c.out, "%s %s\n", ref, nodes.Fold(nil))
		} else {
			fmt.Fprintf(c.out, "%s %s %d\n", ref, nodes.Fold(nil), nodes.Len())
		}
	}
	return nil
}

// groupNames returns the group names of src in node set order (names
// holding ranges are expanded), as ClusterShell's grouplist.
func (c *command) groupNames(src string) ([]string, error) {
	raw, err := c.res.List(src)
	if err != nil {
		return nil, err
	}
	all := nodeset.NodeSet{}
	for _, g := range raw {
		s, err := nodeset.Parse(g, nodeset.WithResolver(nil))
		if err != nil {
			return nil, err
		}
		all = all.Union(s)
	}
	return slices.Collect(all.All()), nil
}

type groupInfo struct {
	name  string
	count int // nodes of the set in the group
	nodes nodeset.NodeSet
}

// groupsOf finds the groups of src holding nodes of ns, as ClusterShell's
// NodeSet.groups: through the reverse upcall when the source has one and
// lists at least as many groups as ns has nodes, else by intersecting ns
// with every listed group.
func (c *command) groupsOf(ns nodeset.NodeSet, src string) ([]groupInfo, error) {
	names, listErr := c.groupNames(src)
	if listErr != nil {
		var gce *nodeset.GroupsConfigError
		if errors.As(listErr, &gce) || errors.Is(listErr, nodeset.ErrNoGroupSource) {
			return nil, listErr
		}
		names = nil
	}
	var out []groupInfo
	if c.res.HasReverse(src) && (len(names) == 0 || len(names) >= ns.Len()) {
		counts := map[string]int{}
		var order []string
		for node := range ns.All() {
			groups, err := c.res.Reverse(src, node)
			if err != nil {
				return nil, err
			}
			for _, g := range groups {
				if counts[g] == 0 {
					order = append(order, g)
				}
				counts[g]++
			}
		}
		for _, g := range order {
			nodes, err := c.groupNodes(src, g)
			if err != nil {
				return nil, err
			}
			out = append(out, groupInfo{g, counts[g], nodes})
		}
		return out, nil
	}
	if listErr != nil {
		return nil, nil
	}
	for _, g := range names {
		nodes, err := c.groupNodes(src, g)
		if err != nil {
			return nil, err
		}
		n := ns.Intersection(nodes).Len()
		if n > 0 {
			out = append(out, groupInfo{g, n, nodes})
		}
	}
	return out, nil
}

func (c *command) groupNodes(src, g string) (nodeset.NodeSet, error) {
	ref := "@" + g
	if src != "" {
		ref = "@" + src + ":" + g
	}
	s, err := c.parse(ref, 0)
	if err != nil {
		return nodeset.NodeSet{}, err
	}
	return s.(nsSet).s, nil
}

// lazyResolver loads the group sources on first use, as ClusterShell
// does, so that a broken groups.conf only matters to commands that use
// groups.
type lazyResolver struct {
	path     string // --groupsconf, or "" for the default locations
	selected string // -s source, the default one when set
	once     sync.Once
	gs       *nodeset.GroupSources
	err      error
}

var _ nodeset.Resolver = (*lazyResolver)(nil)

func newLazyResolver(path string) *lazyResolver { return &lazyResolver{path: path} }

func (l *lazyResolver) load() (*nodeset.GroupSources, error) {
	l.once.Do(func() {
		if l.path == "" {
			l.gs, l.err = nodeset.LoadDefaultGroups()
			return
		}
		l.gs, l.err = nodeset.LoadGroupsConfig(l.path)
		var pe *fs.PathError
		if errors.As(l.err, &pe) {
			// ClusterShell (configparser) skips a file it cannot read:
			// no group sources at all.
			l.gs, l.err = nodeset.NewStaticGroups("", nil), nil
		}
	})
	return l.gs, l.err
}

// selectSource makes name the default source (-s).
func (l *lazyResolver) selectSource(name string) error {
	gs, err := l.load()
	if err != nil {
		return err
	}
	sel, err := gs.WithDefaultSource(name)
	if err != nil {
		return fail("%s: Unknown group source: %q", progName, name)
	}
	l.gs, l.selected = sel, name
	return nil
}

// sourceNames lists the sources, the -s one (if any) first.
func (l *lazyResolver) sourceNames() ([]string, error) {
	gs, err := l.load()
	if err != nil {
		return nil, err
	}
	// With -s, the selected source comes first and the others keep their
	// definition order, as in ClusterShell.
	return gs.Sources(), nil
}

// name maps "" to the -s source when one was selected.
func (l *lazyResolver) name(source string) string {
	if source == "" {
		return l.selected
	}
	return source
}

func (l *lazyResolver) DefaultSource() string {
	gs, err := l.load()
	if err != nil {
		return ""
	}
	if l.selected != "" {
		return l.selected
	}
	return gs.DefaultSource()
}

func (l *lazyResolver) Sources() []string {
	srcs, _ := l.sourceNames()
	return srcs
}

func (l *lazyResolver) Group(source, group string) ([]string, error) {
	gs, err := l.load()
	if err != nil {
		return nil, err
	}
	return gs.Group(l.name(source), group)
}

func (l *lazyResolver) All(source string) ([]string, error) {
	gs, err := l.load()
	if err != nil {
		return nil, err
	}
	return gs.All(l.name(source))
}

func (l *lazyResolver) List(source string) ([]string, error) {
	gs, err := l.load()
	if err != nil {
		return nil, err
	}
	return gs.List(l.name(source))
}

func (l *lazyResolver) Reverse(source, node string) ([]string, error) {
	gs, err := l.load()
	if err != nil {
		return nil, err
	}
	return gs.Reverse(l.name(source), node)
}

func (l *lazyResolver) HasReverse(source string) bool {
	gs, err := l.load()
	return err == nil && gs.HasReverse(l.name(source))
}

var debugMu sync.Mutex

// debugLogging sends the library's debug log to w, one line per record in
// the layout of Python's logging ("DEBUG:nodeset:message key=value"), as
// ClusterShell's -d does, until the returned function is called.
func debugLogging(w io.Writer) (restore func()) {
	debugMu.Lock()
	prev := slog.Default()
	slog.SetDefault(slog.New(&lineHandler{w: w}))
	return func() {
		slog.SetDefault(prev)
		debugMu.Unlock()
	}
}

// lineHandler is a slog.Handler printing "LEVEL:nodeset:message k=v ...".
type lineHandler struct {
	mu    sync.Mutex
	w     io.Writer
	attrs []slog.Attr
}

func (h *lineHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *lineHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s:%s:%s", r.Level, progName, strings.TrimPrefix(r.Message, "nodeset: "))
	write := func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%q", a.Key, a.Value.String())
		return true
	}
	for _, a := range h.attrs {
		write(a)
	}
	r.Attrs(write)
	b.WriteByte('\n')
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := io.WriteString(h.w, b.String())
	return err
}

func (h *lineHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &lineHandler{w: h.w, attrs: append(slices.Clone(h.attrs), attrs...)}
}

func (h *lineHandler) WithGroup(string) slog.Handler { return h }

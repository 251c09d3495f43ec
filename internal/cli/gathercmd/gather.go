package gathercmd

import (
	"bufio"
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"unicode/utf8"

	"github.com/muster-sh/muster/gather"
	"github.com/muster-sh/muster/internal/cli"
	"github.com/muster-sh/muster/nodeset"
	"golang.org/x/term"
)

const prog = "clubak"

// version is the ClusterShell release whose clubak this command mirrors.
const version = "1.9.1"

const usageLine = "Usage: clubak [options]\n"

// ANSI colours used by clubak.
const (
	colorOut     = "\033[94m"
	colorReset   = "\033[0m"
	colorDiffHdr = "\033[1m"
	colorDiffHnk = "\033[96m"
	colorDiffAdd = "\033[92m"
	colorDiffDel = "\033[91m"
)

// Verbosity levels.
const (
	verbQuiet = 0
	verbStd   = 1
	verbVerb  = 2
	verbDebug = 3
)

// inputError is a bad input line (exit status 1).
type inputError struct {
	msg  string
	line []byte
}

func (e *inputError) Error() string { return fmt.Sprintf("%s: \"%s\"", e.msg, e.line) }

// Main runs clubak with args (program name excluded) and returns its exit
// status: 0 on success, 1 on bad input, 2 on a command-line error.
func Main(args []string, stdio cli.Stdio) int {
	o, _, err := parseArgs(args)
	if err != nil {
		fmt.Fprintf(stdio.Err, "%s\n%s: error: %s\n", usageLine, prog, strings.TrimPrefix(err.Error(), errUsage.Error()+": "))
		return 2
	}
	if o.help {
		io.WriteString(stdio.Out, helpText)
		return 0
	}
	if o.version {
		fmt.Fprintf(stdio.Out, "%s %s\n", prog, version)
		return 0
	}
	// Python ignores SIGPIPE: a closed output pipe ends clubak with status 1
	// and no message, instead of killing it.
	signal.Ignore(syscall.SIGPIPE)
	out := bufio.NewWriterSize(stdio.Out, 64<<10)
	usage := func(msg string) int {
		out.Flush()
		fmt.Fprintf(stdio.Err, "%s\n%s: error: %s\n", usageLine, prog, msg)
		return 2
	}
	if o.fast && (o.trace || o.lineMode) {
		return usage("incompatible tree options")
	}
	g := &run{o: o, out: out, res: resolver(o.groupsConf)}
	if err := g.read(stdio.In); err != nil {
		out.Flush()
		fmt.Fprintf(stdio.Err, "%s: %s\n", prog, err)
		return 1
	}
	if o.diff && o.lineMode {
		return usage("option mismatch (diff not supported in line_mode)")
	}
	g.setDisplay(stdio.Out)
	if o.debug {
		out.Flush()
		fmt.Fprintf(stdio.Err, "%s: line_mode=%s gather=%s tree_depth=%d\n", prog,
			pyBool(o.lineMode), pyBool(g.gather), g.tree.depth)
	}
	if err := g.display(); err != nil {
		if out.Flush() != nil {
			return 1
		}
		fmt.Fprintf(stdio.Err, "%s: %s\n", prog, err)
		return 1
	}
	if out.Flush() != nil {
		// A closed pipe (| head): clubak exits 1 without a message.
		return 1
	}
	return 0
}

func pyBool(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

// resolver returns the group resolver of --groupsconf or of the default
// groups.conf files; a missing --groupsconf file means no groups, as in
// ClusterShell.
func resolver(conf string) nodeset.Resolver {
	load := nodeset.LoadDefaultGroups
	if conf != "" {
		load = func() (*nodeset.GroupSources, error) {
			gs, err := nodeset.LoadGroupsConfig(conf)
			if errors.Is(err, fs.ErrNotExist) {
				return nodeset.NewStaticGroups("", nil), nil
			}
			return gs, err
		}
	}
	return nodeset.NewLazyGroups(load)
}

// run is one clubak invocation.
type run struct {
	o        *options
	out      *bufio.Writer
	res      nodeset.Resolver
	tree     *msgTree
	nodeKeys bool // keys are node names (interpret-keys always, or auto without a parse failure)

	gather    bool
	label     bool
	color     bool
	verbosity int
	diffRef   *diffRef
}

type diffRef struct {
	name  string
	lines []string
}

// read feeds the tree from r's lines.
func (g *run) read(r io.Reader) error {
	o := g.o
	g.tree = newMsgTree(o.trace)
	mode := o.interpretKeys
	g.nodeKeys = mode == "always" || mode == "auto"
	sep := []byte(o.separator)
	var fast map[string][][]byte
	var fastOrder []string
	if o.fast {
		fast = make(map[string][][]byte)
	}
	cache := map[string][]string{}
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		raw, rerr := br.ReadSlice('\n')
		if rerr == bufio.ErrBufferFull {
			var buf []byte
			buf = append(buf, raw...)
			for rerr == bufio.ErrBufferFull {
				raw, rerr = br.ReadSlice('\n')
				buf = append(buf, raw...)
			}
			raw = buf
		}
		if len(raw) == 0 && rerr != nil {
			if rerr == io.EOF {
				break
			}
			return rerr
		}
		line := bytes.TrimRight(raw, "\r\n")
		if o.verbose || o.debug {
			g.out.WriteString("INPUT ")
			g.out.Write(line)
			g.out.WriteByte('\n')
		}
		if len(sep) == 0 {
			return &inputError{"empty separator", line}
		}
		k, content, ok := bytes.Cut(line, sep)
		if !ok {
			return &inputError{"not enough values to unpack (expected 2, got 1)", line}
		}
		k = bytes.Trim(k, " \t\n\r\v\f")
		if len(k) == 0 {
			return &inputError{"no node found", line}
		}
		if !utf8.Valid(k) {
			return fmt.Errorf("'utf-8' codec can't decode key %q", k)
		}
		key := string(k)
		keys, ok := cache[key]
		if !ok {
			keys = []string{key}
			if g.nodeKeys {
				ns, err := nodeset.Parse(key, nodeset.WithResolver(g.res))
				switch {
				case err == nil:
					keys = slices.Collect(ns.All())
				case errors.Is(err, nodeset.ErrParse) && mode == "auto":
					g.nodeKeys = false
					cache = map[string][]string{}
				case errors.Is(err, nodeset.ErrParse):
					return fmt.Errorf("Parse error: %w", err)
				default:
					return err
				}
			}
			cache[key] = keys
		}
		for _, n := range keys {
			if fast != nil {
				if _, seen := fast[n]; !seen {
					fastOrder = append(fastOrder, n)
				}
				fast[n] = append(fast[n], bytes.Clone(content))
			} else {
				g.tree.add(n, content)
			}
		}
		if rerr != nil {
			if rerr == io.EOF {
				break
			}
			return rerr
		}
	}
	for _, n := range fastOrder {
		g.tree.add(n, bytes.Join(fast[n], []byte("\n")))
	}
	return nil
}

func (g *run) setDisplay(stdout io.Writer) {
	o := g.o
	g.gather = o.gatherAll || o.gather || o.diff
	g.label = !o.noLabel
	g.verbosity = verbStd
	if o.quiet {
		g.verbosity = verbQuiet
	}
	if o.verbose {
		g.verbosity = verbVerb
	}
	if o.debug {
		g.verbosity = verbDebug
	}
	isTTY := func() bool {
		f, ok := stdout.(*os.File)
		return ok && term.IsTerminal(int(f.Fd()))
	}
	var color *bool
	if o.color == nil {
		if _, set := os.LookupEnv("NO_COLOR"); !set {
			switch cc, has := os.LookupEnv("CLICOLOR"); {
			case cmp.Or(os.Getenv("CLICOLOR_FORCE"), "0") != "0":
				color = ptr(true)
			case !has:
			case cc != "0":
				color = ptr(isTTY())
			default:
				color = ptr(false)
			}
		} else {
			color = ptr(false)
		}
	}
	if color == nil {
		c := false
		switch {
		case o.color == nil || *o.color == "" || *o.color == "auto":
			c = isTTY()
		case *o.color == "always":
			c = true
		}
		color = &c
	}
	g.color = *color
}

func ptr[T any](v T) *T { return &v }

// keySet is what clubak prints for a set of keys: a node set, or raw keys
// joined with commas.
type keySet struct {
	ns   nodeset.NodeSet
	raw  []string
	node bool
}

func (k keySet) len() int {
	if k.node {
		return k.ns.Len()
	}
	return len(k.raw)
}

func (k keySet) String() string {
	if k.node {
		return k.ns.String()
	}
	return strings.Join(k.raw, ",")
}

// format writes k, with groups under -r.
func (g *run) format(k keySet) (string, error) {
	if !g.o.regroup {
		return k.String(), nil
	}
	if !k.node {
		return "", fmt.Errorf("cannot regroup keys that are not node names (%s)", k)
	}
	s, err := k.ns.Regroup(g.res, g.o.groupSource, g.o.groupBase)
	if err != nil {
		return "", err
	}
	return s, nil
}

func (g *run) paint(color string, b []byte, from int) []byte {
	if !g.color {
		return b
	}
	b = slices.Insert(b, from, []byte(color)...)
	return append(b, colorReset...)
}

// header appends clubak's header for k, indented.
func (g *run) header(dst []byte, k keySet, indent int) ([]byte, error) {
	if !g.label {
		return dst, nil
	}
	s, err := g.format(k)
	if err != nil {
		return dst, err
	}
	count := 0
	if g.verbosity >= verbStd {
		count = k.len()
	}
	start := len(dst)
	if indent == 0 {
		dst = gather.AppendHeader(dst, s, count)
		dst = dst[:len(dst)-1]
	} else {
		ind := strings.Repeat(" ", indent)
		dst = append(dst, ind+gather.Separator+"\n"+ind+s...)
		if count > 1 {
			dst = append(dst, " ("+strconv.Itoa(count)+")"...)
		}
		dst = append(dst, "\n"+ind+gather.Separator...)
	}
	dst = g.paint(colorOut, dst, start)
	return append(dst, '\n'), nil
}

// show prints one message for k: a block, prefixed lines or a diff.
func (g *run) show(k keySet, lines [][]byte) error {
	var buf []byte
	switch {
	case g.o.diff:
		return g.showDiff(k, lines)
	case g.o.lineMode:
		prefix := ""
		if g.label {
			s, err := g.format(k)
			if err != nil {
				return err
			}
			prefix = s + ": "
			if g.color {
				prefix = colorOut + prefix + colorReset
			}
		}
		for _, l := range lines {
			buf = append(buf, prefix...)
			buf = append(append(buf, l...), '\n')
		}
	default:
		var err error
		if buf, err = g.header(buf, k, 0); err != nil {
			return err
		}
		for _, l := range lines {
			buf = append(append(buf, l...), '\n')
		}
	}
	_, err := g.out.Write(buf)
	return err
}

func (g *run) showDiff(k keySet, lines [][]byte) error {
	var strs []string
	for _, l := range lines {
		strs = append(strs, strings.ToValidUTF8(string(l), ""))
	}
	s, err := g.format(k)
	if err != nil {
		return err
	}
	if g.verbosity >= verbStd && k.len() > 1 {
		s += " (" + strconv.Itoa(k.len()) + ")"
	}
	if g.diffRef == nil {
		g.diffRef = &diffRef{s, strs}
		return nil
	}
	var buf []byte
	for _, l := range gather.UnifiedDiff(g.diffRef.lines, strs, g.diffRef.name, s, 3) {
		start := len(buf)
		switch {
		case strings.HasPrefix(l, "---") || strings.HasPrefix(l, "+++"):
			buf = g.paint(colorDiffHdr, append(buf, strings.TrimRight(l, " \t\r\n\v\f")...), start)
		case strings.HasPrefix(l, "@@"):
			buf = g.paint(colorDiffHnk, append(buf, l...), start)
		case strings.HasPrefix(l, "+"):
			buf = g.paint(colorDiffAdd, append(buf, l...), start)
		case strings.HasPrefix(l, "-"):
			buf = g.paint(colorDiffDel, append(buf, l...), start)
		default:
			buf = append(buf, l...)
		}
		buf = append(buf, '\n')
	}
	_, err = g.out.Write(buf)
	return err
}

// fromList folds keys as NodeSet.fromlist does: node names when keys are
// nodes, parsed node sets otherwise.
func (g *run) fromList(keys []string) (nodeset.NodeSet, error) {
	if g.nodeKeys {
		return nodeset.FromNames(keys...), nil
	}
	var b nodeset.Builder
	for _, k := range keys {
		ns, err := nodeset.Parse(k, nodeset.WithResolver(g.res))
		if err != nil {
			if errors.Is(err, nodeset.ErrParse) {
				return ns, fmt.Errorf("Parse error: %w", err)
			}
			return ns, err
		}
		b.AddNodeSet(ns)
	}
	return b.NodeSet(), nil
}

func (g *run) display() error {
	t := g.tree
	if g.o.trace {
		return g.displayTrace()
	}
	if g.gather || g.o.regroup {
		if !g.nodeKeys {
			return t.walk(func(e *elem, keys []string) error {
				return g.show(keySet{raw: keys}, e.lines())
			})
		}
		type item struct {
			ns    nodeset.NodeSet
			first string
			e     *elem
		}
		var items []item
		t.walk(func(e *elem, keys []string) error {
			ns := nodeset.FromNames(keys...)
			first, _ := ns.Index(0)
			items = append(items, item{ns, first, e})
			return nil
		})
		slices.SortStableFunc(items, func(a, b item) int {
			if c := cmp.Compare(b.ns.Len(), a.ns.Len()); c != 0 {
				return c
			}
			return strings.Compare(a.first, b.first)
		})
		for _, it := range items {
			if err := g.show(keySet{ns: it.ns, node: true}, it.e.lines()); err != nil {
				return err
			}
		}
		return nil
	}
	if !g.nodeKeys {
		for _, k := range t.order {
			if err := g.show(keySet{raw: []string{k}}, t.last[k].lines()); err != nil {
				return err
			}
		}
		return nil
	}
	all := nodeset.FromNames(t.order...)
	for n := range all.All() {
		e := t.last[n]
		if e == nil {
			return fmt.Errorf("no output for node %q", n)
		}
		if err := g.show(keySet{ns: nodeset.FromNames(n), node: true}, e.lines()); err != nil {
			return err
		}
	}
	return nil
}

func (g *run) displayTrace() error {
	togh := true
	reldepth := -2
	reldepths := map[int]int{}
	var buf []byte
	return g.tree.walk(func(e *elem, keys []string) error {
		buf = buf[:0]
		if togh {
			if d, ok := reldepths[e.depth]; ok {
				reldepth = d
			} else {
				reldepth += 2
				reldepths[e.depth] = reldepth
			}
			ns, err := g.fromList(keys)
			if err != nil {
				return err
			}
			if g.o.lineMode {
				buf = append(append(buf, ns.String()...), ":\n"...)
			} else if buf, err = g.header(buf, keySet{ns: ns, node: true}, reldepth); err != nil {
				return err
			}
		}
		for range reldepth {
			buf = append(buf, ' ')
		}
		buf = append(append(buf, e.line...), '\n')
		togh = len(e.kids) != 1
		_, err := g.out.Write(buf)
		return err
	})
}

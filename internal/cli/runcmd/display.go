package runcmd

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/muster-sh/muster/gather"
	"github.com/muster-sh/muster/nodeset"
	"github.com/muster-sh/muster/task"
)

// stream is a buffered stdout or stderr that flushes its sibling before
// writing, so that a terminal or a shared file sees the two streams in the
// order things happened, as with clush.
type stream struct {
	*bufio.Writer
	other *stream
}

// failWriter reports the first write error of w (a closed pipe, say).
type failWriter struct {
	w      io.Writer
	failed func(error)
}

func (f *failWriter) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	if err != nil && f.failed != nil {
		f.failed(err)
		f.failed = nil
	}
	return n, err
}

// newStreams buffers out and err; failed is called once when writing to
// either fails.
func newStreams(out, err io.Writer, failed func(error)) (*stream, *stream) {
	o := &stream{Writer: bufio.NewWriterSize(&failWriter{out, failed}, 64<<10)}
	e := &stream{Writer: bufio.NewWriterSize(&failWriter{err, failed}, 16<<10), other: o}
	o.other = e
	return o, e
}

func (s *stream) Write(p []byte) (int, error) {
	if s.other.Buffered() > 0 {
		s.other.Flush()
	}
	return s.Writer.Write(p)
}

func (s *stream) WriteString(str string) (int, error) {
	if s.other.Buffered() > 0 {
		s.other.Flush()
	}
	return s.Writer.WriteString(str)
}

// display holds what every output handler needs.
type display struct {
	prog      string
	out, err  *stream
	label     bool
	maxrc     bool
	verbosity int // 0 quiet, 1 standard, 2 verbose
	lineMode  bool
	nodeCount bool // "(N)" after gathered node sets (clush.conf node_count)
	color     bool // ANSI colours (--color, clush.conf color, NO_COLOR, CLICOLOR)
	diff      bool // --diff: gathered outputs as unified diffs against the first
	diffRef   *diffRef
	buf       []byte
	meter     *meter // nil unless a progress meter is shown
	// interactive: commands typed at the prompt (the meter ends with a
	// newline, as clush's does there).
	interactive bool
	// regroup writes gathered node sets with the groups of source (-r).
	regroup  nodeset.Resolver
	source   string
	noprefix bool
}

// formatNodes writes a gathered node set, with groups when asked.
func (d *display) formatNodes(ns nodeset.NodeSet) string {
	if d.regroup != nil {
		if s, err := ns.Regroup(d.regroup, d.source, d.noprefix); err == nil {
			return s
		}
	}
	return ns.String()
}

const (
	verbQuiet = 0
	verbStd   = 1
)

func (d *display) startMeter(w *task.Worker) {
	if d.meter != nil {
		if len(d.meter.ws) == 0 {
			d.meter.start = time.Now()
		}
		d.meter.ws = append(d.meter.ws, w)
	}
}

// flush writes stderr first: clush's stderr is unbuffered while its
// stdout is flushed later, so that is the order a merged stream shows.
func (d *display) flush() {
	d.err.Flush()
	d.out.Flush()
}

// ANSI colours of clush's output: node prefixes and headers on stdout,
// node prefixes on stderr.
const (
	colorOut   = "\033[94m"
	colorErr   = "\033[91m"
	colorReset = "\033[0m"
)

// appendLine appends "prefix: line\n" (colored when asked), or "line\n"
// without a label.
func (d *display) appendLine(dst []byte, prefix string, line []byte, color string) []byte {
	if !d.label {
		return gather.AppendLine(dst, "", line)
	}
	if !d.color {
		return gather.AppendLine(dst, prefix, line)
	}
	dst = append(dst, color...)
	dst = append(dst, prefix...)
	dst = append(dst, ": "...)
	dst = append(dst, colorReset...)
	dst = append(dst, line...)
	return append(dst, '\n')
}

func (d *display) printLine(node string, line []byte) {
	d.buf = d.appendLine(d.buf[:0], node, line, colorOut)
	d.out.Write(d.buf)
}

func (d *display) printLineError(node string, line []byte) {
	d.meter.erase()
	defer d.meter.dirty()
	d.buf = d.appendLine(d.buf[:0], node, line, colorErr)
	d.err.Write(d.buf)
}

type diffRef struct {
	ns    nodeset.NodeSet
	lines []string
}

const (
	colorDiffHdr = "\033[1m"
	colorDiffHnk = "\033[96m"
	colorDiffAdd = "\033[92m"
	colorDiffDel = "\033[91m"
)

// printDiff prints lines as a unified diff against the first output
// printed (the reference, which prints nothing), as clush --diff does.
func (d *display) printDiff(ns nodeset.NodeSet, lines []string) {
	if d.diffRef == nil {
		d.diffRef = &diffRef{ns, lines}
		return
	}
	name := func(s nodeset.NodeSet) string {
		str := d.formatNodes(s)
		if d.verbosity >= verbStd && d.nodeCount && s.Len() > 1 {
			str += " (" + strconv.Itoa(s.Len()) + ")"
		}
		return str
	}
	paint := func(color, s string) string {
		if d.color {
			return color + s + colorReset
		}
		return s
	}
	d.buf = d.buf[:0]
	for _, l := range gather.UnifiedDiff(d.diffRef.lines, lines, name(d.diffRef.ns), name(ns), 3) {
		switch {
		case strings.HasPrefix(l, "---") || strings.HasPrefix(l, "+++"):
			l = paint(colorDiffHdr, strings.TrimRightFunc(l, unicode.IsSpace))
		case strings.HasPrefix(l, "@@"):
			l = paint(colorDiffHnk, l)
		case strings.HasPrefix(l, "+"):
			l = paint(colorDiffAdd, l)
		case strings.HasPrefix(l, "-"):
			l = paint(colorDiffDel, l)
		}
		d.buf = append(append(d.buf, l...), '\n')
	}
	d.out.Write(d.buf)
}

// diffLines decodes output lines as clush does for --diff (UTF-8, invalid
// bytes dropped).
func diffLines(g gather.Group) []string {
	var out []string
	for l := range g.Lines() {
		out = append(out, strings.ToValidUTF8(string(l), ""))
	}
	return out
}

// printGather prints one gathered output: a dshbak block, or in line mode
// every line prefixed by the node set.
func (d *display) printGather(ns nodeset.NodeSet, g gather.Group) {
	d.buf = d.buf[:0]
	s := d.formatNodes(ns)
	if d.lineMode {
		for l := range g.Lines() {
			d.buf = d.appendLine(d.buf, s, l, colorOut)
		}
	} else {
		count := 0
		if d.verbosity >= verbStd && d.nodeCount {
			count = ns.Len()
		}
		if d.label {
			if d.color {
				d.buf = append(d.buf, colorOut...)
			}
			d.buf = gather.AppendHeader(d.buf, s, count)
			if d.color {
				d.buf = append(d.buf[:len(d.buf)-1], colorReset+"\n"...)
			}
		}
		d.buf = gather.AppendBlock(d.buf, false, s, count, g.Lines())
	}
	d.out.Write(d.buf)
}

func (d *display) errorf(level int, format string, args ...any) {
	if d.verbosity >= level {
		fmt.Fprintf(d.err, format+"\n", args...)
	}
}

type nsGroup struct {
	ns    nodeset.NodeSet
	first string
	g     gather.Group
}

// sortedGroups orders groups as clush does: larger node sets first, then
// by the first node's name.
func sortedGroups(groups []gather.Group) []nsGroup {
	out := make([]nsGroup, len(groups))
	for i, g := range groups {
		ns := g.NodeSet()
		first, _ := ns.Index(0)
		out[i] = nsGroup{ns, first, g}
	}
	slices.SortStableFunc(out, func(a, b nsGroup) int {
		if c := cmp.Compare(b.ns.Len(), a.ns.Len()); c != 0 {
			return c
		}
		return cmp.Compare(a.first, b.first)
	})
	return out
}

// closeCommon reports non-zero exit codes and timeouts of a gathered run.
func (d *display) closeCommon(w *task.Worker) {
	level := verbQuiet
	if d.maxrc {
		level = verbStd
	}
	for _, rg := range w.Retcodes() {
		if rg.Code == 0 {
			continue
		}
		ns := rg.NodeSet()
		disp := ns.String()
		if d.verbosity > verbQuiet && ns.Len() > 1 {
			disp += " (" + strconv.Itoa(ns.Len()) + ")"
		}
		d.errorf(level, "%s: %s: exited with exit code %d", d.prog, disp, rg.Code)
	}
	if w.NumTimeout() > 0 {
		d.errorf(level, "%s: %s: command timeout", d.prog, nodeset.FromNames(w.TimedOut()...))
	}
}

// directHandler prints lines as they come ("node: line").
type directHandler struct {
	task.BaseHandler
	d *display
}

func (h *directHandler) OnStart(w *task.Worker) { h.d.startMeter(w) }
func (h *directHandler) OnRead(_ *task.Worker, node string, line []byte) {
	h.d.meter.erase()
	h.d.printLine(node, line)
}
func (h *directHandler) OnError(_ *task.Worker, node string, line []byte) {
	h.d.printLineError(node, line)
}
func (h *directHandler) OnHup(_ *task.Worker, node string, rc int) {
	if rc > 0 {
		h.d.errorf(verbQuiet, "%s: %s: exited with exit code %d", h.d.prog, node, rc)
	}
}
func (h *directHandler) OnClose(w *task.Worker, timedOut bool) {
	h.d.meter.erase()
	if timedOut {
		h.d.errorf(verbQuiet, "%s: %s: command timeout", h.d.prog, nodeset.FromNames(w.TimedOut()...))
	}
	h.d.flush()
}
func (h *directHandler) OnTimer(*task.Timer) { h.d.flush() }

// gatherHandler prints identical outputs once, at the end (-b).
type gatherHandler struct {
	task.BaseHandler
	d *display
}

func (h *gatherHandler) OnError(_ *task.Worker, node string, line []byte) {
	h.d.printLineError(node, line)
}
func (h *gatherHandler) OnTimer(*task.Timer)    { h.d.flush() }
func (h *gatherHandler) OnStart(w *task.Worker) { h.d.startMeter(w) }
func (h *gatherHandler) OnWritten(_ *task.Worker, _ string, n int) {
	if h.d.meter != nil {
		h.d.meter.written += int64(n)
	}
}

func (h *gatherHandler) OnClose(w *task.Worker, _ bool) {
	h.d.meter.finalize()
	for _, rg := range w.Retcodes() {
		in := make(map[string]bool, len(rg.Nodes))
		for _, n := range rg.Nodes {
			in[n] = true
		}
		groups := slices.Collect(w.BuffersOf(func(n string) bool { return in[n] }))
		remain := rg.NodeSet()
		for _, g := range sortedGroups(groups) {
			if h.d.diff {
				h.d.printDiff(g.ns, diffLines(g.g))
				remain = remain.Difference(g.ns)
			} else {
				h.d.printGather(g.ns, g.g)
			}
		}
		// nodes without output are compared as empty outputs
		if h.d.diff && !remain.IsEmpty() && h.d.diffRef != nil {
			h.d.printDiff(remain, nil)
		}
	}
	h.d.diffRef = nil
	h.d.closeCommon(w)
	h.d.flush()
}

// sortedHandler prints each node's output at the end, by exit code then
// node (-L).
type sortedHandler struct{ gatherHandler }

func (h *sortedHandler) OnClose(w *task.Worker, _ bool) {
	h.d.meter.finalize()
	tr := w.OutputTree()
	for _, rg := range w.Retcodes() {
		for node := range rg.NodeSet().All() {
			for l := range tr.Lines(node) {
				h.d.printLine(node, l)
			}
		}
	}
	h.d.closeCommon(w)
	h.d.flush()
}

// liveGatherHandler prints line n of every node, gathered, as soon as all
// nodes still running have printed it (-bL).
type liveGatherHandler struct {
	gatherHandler
	nodes   map[string]bool
	nodecnt map[string]int
	queue   []*gather.Tree
	offload int
}

func newLiveGather(d *display, ns nodeset.NodeSet) *liveGatherHandler {
	h := &liveGatherHandler{gatherHandler: gatherHandler{d: d}, nodes: map[string]bool{}, nodecnt: map[string]int{}}
	for n := range ns.All() {
		h.nodes[n] = true
	}
	return h
}

func (h *liveGatherHandler) OnRead(w *task.Worker, node string, line []byte) {
	h.nodecnt[node]++
	cnt := h.nodecnt[node]
	if len(h.queue) < cnt {
		h.queue = append(h.queue, gather.New())
	}
	h.queue[cnt-h.offload-1].Add(node, line)
	h.liveLine()
}

func (h *liveGatherHandler) OnHup(w *task.Worker, node string, _ int) {
	if len(h.queue) > 0 && !h.queue[0].Has(node) {
		delete(h.nodes, node)
		h.liveLine()
	}
}

func (h *liveGatherHandler) printTree(tr *gather.Tree) {
	h.d.meter.erase()
	defer h.d.meter.dirty()
	for _, g := range sortedGroups(slices.Collect(tr.Groups())) {
		h.d.printGather(g.ns, g.g)
	}
}

func (h *liveGatherHandler) liveLine() {
	for len(h.queue) > 0 && h.queue[0].Len() == len(h.nodes) {
		tr := h.queue[0]
		h.queue = h.queue[1:]
		h.offload++
		h.printTree(tr)
	}
}

func (h *liveGatherHandler) OnClose(w *task.Worker, _ bool) {
	h.d.meter.finalize()
	for _, tr := range h.queue {
		h.printTree(tr)
	}
	h.d.closeCommon(w)
	h.d.flush()
}

// dirHandler is directHandler that also writes each node's lines to
// OUTDIR/node and ERRDIR/node (pssh style, --outdir/--errdir).
type dirHandler struct {
	directHandler
	outs, errs map[string]*bufio.Writer
	files      []*os.File
}

func newDirHandler(d *display, ns nodeset.NodeSet, outdir, errdir string) (*dirHandler, error) {
	h := &dirHandler{directHandler: directHandler{d: d}, outs: map[string]*bufio.Writer{}, errs: map[string]*bufio.Writer{}}
	for _, spec := range []struct {
		dir string
		m   map[string]*bufio.Writer
	}{{outdir, h.outs}, {errdir, h.errs}} {
		if spec.dir == "" {
			continue
		}
		if err := os.MkdirAll(spec.dir, 0o777); err != nil {
			h.close()
			return nil, err
		}
		for n := range ns.All() {
			f, err := os.Create(filepath.Join(spec.dir, n))
			if err != nil {
				h.close()
				return nil, err
			}
			h.files = append(h.files, f)
			spec.m[n] = bufio.NewWriter(f)
		}
	}
	return h, nil
}

func (h *dirHandler) OnRead(w *task.Worker, node string, line []byte) {
	h.directHandler.OnRead(w, node, line)
	if f := h.outs[node]; f != nil {
		f.Write(line)
		f.WriteByte('\n')
	}
}

func (h *dirHandler) OnError(w *task.Worker, node string, line []byte) {
	h.directHandler.OnError(w, node, line)
	if f := h.errs[node]; f != nil {
		f.Write(line)
		f.WriteByte('\n')
	}
}

func (h *dirHandler) OnClose(w *task.Worker, timedOut bool) {
	h.directHandler.OnClose(w, timedOut)
	h.close()
}

func (h *dirHandler) close() {
	for _, m := range []map[string]*bufio.Writer{h.outs, h.errs} {
		for _, b := range m {
			b.Flush()
		}
	}
	for _, f := range h.files {
		f.Close()
	}
	h.files = nil
}

// copyHandler reports copies (-c, --rcopy): errors as they come, the
// copied files with -v, timeouts once every copy is done.
type copyHandler struct {
	directHandler
	reverse bool
	source  map[*task.Worker]string
	dest    string
	left    int
}

func (h *copyHandler) OnRead(_ *task.Worker, node string, line []byte) {
	h.d.meter.erase()
	h.d.printLine(node, line)
}

func (h *copyHandler) OnWritten(_ *task.Worker, _ string, n int) {
	if h.d.meter != nil {
		h.d.meter.written += int64(n)
	}
}

func (h *copyHandler) OnClose(w *task.Worker, timedOut bool) {
	for _, rg := range w.Retcodes() {
		if rg.Code != 0 {
			continue
		}
		if h.d.verbosity >= 2 {
			if h.reverse {
				fmt.Fprintf(h.d.out, "%s:`%s' -> `%s'\n", rg.NodeSet(), h.source[w], h.dest)
			} else {
				fmt.Fprintf(h.d.out, "`%s' -> %s:`%s'\n", h.source[w], rg.NodeSet(), h.dest)
			}
		}
		break
	}
	h.left--
	if h.left == 0 {
		h.d.meter.finalize()
		h.directHandler.OnClose(w, timedOut)
	}
}

// interrupted reports a run stopped by Ctrl-C, as clush does: with
// gathering, the output gathered so far (larger node sets first), the exit
// codes of the nodes that finished and the nodes that did not.
func (d *display) interrupted(w *task.Worker, gathering bool, targets nodeset.NodeSet) {
	if d.meter != nil {
		d.meter.timer.Invalidate()
		d.meter.erase()
	}
	if !gathering || w == nil {
		d.flush()
		fmt.Fprintln(d.err, "Keyboard interrupt.")
		d.flush()
		return
	}
	warned := false
	for _, g := range sortedGroups(slices.Collect(w.Buffers())) {
		if !warned {
			warned = true
			d.errorf(verbStd, "Warning: Caught keyboard interrupt!")
		}
		d.printGather(g.ns, g.g)
	}
	var done nodeset.NodeSet
	for _, rg := range w.Retcodes() {
		done = done.Union(rg.NodeSet())
	}
	done = done.Union(nodeset.FromNames(w.TimedOut()...))
	d.closeCommon(w)
	d.flush()
	if left := targets.Difference(done); !left.IsEmpty() {
		fmt.Fprintf(d.err, "Keyboard interrupt (%s did not complete).\n", left)
	} else {
		fmt.Fprintln(d.err, "Keyboard interrupt.")
	}
	d.flush()
}

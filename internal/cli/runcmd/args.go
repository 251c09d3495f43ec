package runcmd

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// usageError is a command-line error: printed after the usage line, exit 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

var errHelp = errors.New("help requested")

type options struct {
	nodes, exclude []string
	fanout         int
	fanoutSet      bool
	cmdTimeout     float64
	connTimeout    float64
	workerName     string
	gather         bool
	gatherAll      bool
	lineMode       bool
	noLabel        bool
	maxrc          bool
	nostdin        bool
	quiet, verbose bool
	progress       bool
	user           string
	sshOptions     string
	groupsConf     string
	groupSource    string
	allNodes       bool
	groups         []string
	exGroups       []string
	hostfiles      []string
	outdir, errdir string
	regroup        bool
	groupBase      bool
	copy, rcopy    bool
	dest           string
	preserve       bool
	pick           int
	conf           string
	overrides      []string
	color          *string // --color, nil when not given
	diff           bool
	mode           string
	nodeCount      bool // resolved from clush.conf
	verbosity      int  // resolved from clush.conf and -q/-v
	args           []string
}

type optKind int

const (
	flag optKind = iota
	valued
)

type optSpec struct {
	short string // without dash
	long  []string
	kind  optKind
	set   func(o *options, v string) error
}

func intValue(opt string, p *int, v string) error {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return &usageError{fmt.Sprintf("option %s: invalid integer value: '%s'", opt, v)}
	}
	*p = n
	return nil
}

func floatValue(opt string, p *float64, v string) error {
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil {
		return &usageError{fmt.Sprintf("option %s: invalid floating-point value: '%s'", opt, v)}
	}
	*p = f
	return nil
}

var specs = []optSpec{
	{"w", nil, valued, func(o *options, v string) error { o.nodes = append(o.nodes, v); return nil }},
	{"x", nil, valued, func(o *options, v string) error { o.exclude = append(o.exclude, v); return nil }},
	{"f", []string{"fanout"}, valued, func(o *options, v string) error { o.fanoutSet = true; return intValue("-f", &o.fanout, v) }},
	{"u", []string{"command_timeout"}, valued, func(o *options, v string) error { return floatValue("-u", &o.cmdTimeout, v) }},
	{"t", []string{"connect_timeout"}, valued, func(o *options, v string) error { return floatValue("-t", &o.connTimeout, v) }},
	{"s", []string{"groupsource"}, valued, func(o *options, v string) error { o.groupSource = v; return nil }},
	{"", []string{"groupsconf"}, valued, func(o *options, v string) error { o.groupsConf = v; return nil }},
	{"a", []string{"all"}, flag, func(o *options, _ string) error { o.allNodes = true; return nil }},
	{"g", []string{"group"}, valued, func(o *options, v string) error { o.groups = append(o.groups, v); return nil }},
	{"X", nil, valued, func(o *options, v string) error { o.exGroups = append(o.exGroups, v); return nil }},
	{"", []string{"hostfile", "machinefile"}, valued, func(o *options, v string) error { o.hostfiles = append(o.hostfiles, v); return nil }},
	{"", []string{"outdir"}, valued, func(o *options, v string) error { o.outdir = v; return nil }},
	{"", []string{"errdir"}, valued, func(o *options, v string) error { o.errdir = v; return nil }},
	{"r", []string{"regroup"}, flag, func(o *options, _ string) error { o.regroup = true; return nil }},
	{"G", []string{"groupbase"}, flag, func(o *options, _ string) error { o.groupBase = true; return nil }},
	{"c", []string{"copy"}, flag, func(o *options, _ string) error { o.copy = true; return nil }},
	{"", []string{"rcopy"}, flag, func(o *options, _ string) error { o.rcopy = true; return nil }},
	{"", []string{"dest"}, valued, func(o *options, v string) error { o.dest = v; return nil }},
	{"p", nil, flag, func(o *options, _ string) error { o.preserve = true; return nil }},
	{"", []string{"pick"}, valued, func(o *options, v string) error { return intValue("--pick", &o.pick, v) }},
	{"", []string{"conf"}, valued, func(o *options, v string) error { o.conf = v; return nil }},
	{"O", []string{"option"}, valued, func(o *options, v string) error { o.overrides = append(o.overrides, v); return nil }},
	{"", []string{"color"}, valued, func(o *options, v string) error {
		switch v {
		case "", "never", "always", "auto":
			o.color = &v
			return nil
		}
		return &usageError{fmt.Sprintf("option --color: invalid choice: '%s' (choose from '', 'never', 'always', 'auto')", v)}
	}},
	{"", []string{"diff"}, flag, func(o *options, _ string) error { o.diff = true; return nil }},
	{"m", []string{"mode"}, valued, func(o *options, v string) error { o.mode = v; return nil }},
	{"l", []string{"user"}, valued, func(o *options, v string) error { o.user = v; return nil }},
	{"o", []string{"options"}, valued, func(o *options, v string) error { o.sshOptions = v; return nil }},
	{"R", []string{"worker"}, valued, func(o *options, v string) error { o.workerName = v; return nil }},
	{"b", []string{"dshbak"}, flag, func(o *options, _ string) error { o.gather = true; return nil }},
	{"B", nil, flag, func(o *options, _ string) error { o.gatherAll = true; return nil }},
	{"L", nil, flag, func(o *options, _ string) error { o.lineMode = true; return nil }},
	{"N", nil, flag, func(o *options, _ string) error { o.noLabel = true; return nil }},
	{"S", []string{"maxrc"}, flag, func(o *options, _ string) error { o.maxrc = true; return nil }},
	{"P", []string{"progress"}, flag, func(o *options, _ string) error { o.progress = true; return nil }},
	{"n", []string{"nostdin"}, flag, func(o *options, _ string) error { o.nostdin = true; return nil }},
	{"q", []string{"quiet"}, flag, func(o *options, _ string) error { o.quiet = true; return nil }},
	{"v", []string{"verbose"}, flag, func(o *options, _ string) error { o.verbose = true; return nil }},
	{"h", []string{"help"}, flag, func(o *options, _ string) error { return errHelp }},
}

func findShort(c byte) *optSpec {
	for i := range specs {
		if specs[i].short != "" && specs[i].short == string(c) {
			return &specs[i]
		}
	}
	return nil
}

func findLong(name string) (*optSpec, error) {
	var found *optSpec
	var names []string
	for i := range specs {
		for _, l := range specs[i].long {
			if l == name {
				return &specs[i], nil
			}
			if strings.HasPrefix(l, name) {
				found = &specs[i]
				names = append(names, "--"+l)
			}
		}
	}
	switch len(names) {
	case 0:
		return nil, &usageError{"no such option: --" + name}
	case 1:
		return found, nil
	}
	return nil, &usageError{fmt.Sprintf("ambiguous option: --%s (%s?)", name, strings.Join(names, ", "))}
}

// parseArgs parses clush's options; the first argument that is not an
// option starts the command (options may not follow it), "--" ends options.
func parseArgs(args []string) (*options, error) {
	o := &options{fanout: 64}
	i := 0
	for i < len(args) {
		a := args[i]
		if a == "--" {
			i++
			break
		}
		if len(a) < 2 || a[0] != '-' {
			if o.copy || o.rcopy {
				// copies take several sources, options may follow them
				o.args = append(o.args, a)
				i++
				continue
			}
			break
		}
		i++
		if strings.HasPrefix(a, "--") {
			name, val, hasVal := strings.Cut(a[2:], "=")
			spec, err := findLong(name)
			if err != nil {
				return nil, err
			}
			if spec.kind == flag {
				if hasVal {
					return nil, &usageError{fmt.Sprintf("--%s option does not take a value", name)}
				}
				if err := spec.set(o, ""); err != nil {
					return nil, err
				}
				continue
			}
			if !hasVal {
				if i >= len(args) {
					return nil, &usageError{fmt.Sprintf("--%s option requires 1 argument", name)}
				}
				val = args[i]
				i++
			}
			if err := spec.set(o, val); err != nil {
				return nil, err
			}
			continue
		}
		for j := 1; j < len(a); j++ {
			spec := findShort(a[j])
			if spec == nil {
				return nil, &usageError{"no such option: -" + string(a[j])}
			}
			if spec.kind == flag {
				if err := spec.set(o, ""); err != nil {
					return nil, err
				}
				continue
			}
			val := a[j+1:]
			if val == "" {
				if i >= len(args) {
					return nil, &usageError{fmt.Sprintf("-%s option requires 1 argument", spec.short)}
				}
				val = args[i]
				i++
			}
			if err := spec.set(o, val); err != nil {
				return nil, err
			}
			break
		}
	}
	o.args = append(o.args, args[i:]...)
	return o, nil
}

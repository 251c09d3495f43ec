package gathercmd

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// errUsage marks a command-line error (exit status 2, with the usage line).
var errUsage = errors.New("usage error")

// options are clubak's command-line settings.
type options struct {
	groupSource   string
	groupsConf    string
	quiet         bool
	verbose       bool
	debug         bool
	groupBase     bool
	lineMode      bool
	noLabel       bool
	gather        bool
	gatherAll     bool
	regroup       bool
	separator     string
	fast          bool
	trace         bool
	interpretKeys string
	color         *string
	diff          bool
	help          bool
	version       bool
}

type optSpec struct {
	short  string   // "-b"
	long   []string // "--dshbak"
	valued bool
	// choices, when not nil, restricts the value.
	choices []string
	safe    bool // value must be non-empty and not start with '-'
	set     func(o *options, v string)
}

var threeChoices = []string{"", "never", "always", "auto"}

var specs = []optSpec{
	{short: "-h", long: []string{"--help"}, set: func(o *options, _ string) { o.help = true }},
	{long: []string{"--version"}, set: func(o *options, _ string) { o.version = true }},
	{short: "-s", long: []string{"--groupsource"}, valued: true, safe: true, set: func(o *options, v string) { o.groupSource = v }},
	{long: []string{"--groupsconf"}, valued: true, set: func(o *options, v string) { o.groupsConf = v }},
	{short: "-q", long: []string{"--quiet"}, set: func(o *options, _ string) { o.quiet = true }},
	{short: "-v", long: []string{"--verbose"}, set: func(o *options, _ string) { o.verbose = true }},
	{short: "-d", long: []string{"--debug"}, set: func(o *options, _ string) { o.debug = true }},
	{short: "-G", long: []string{"--groupbase"}, set: func(o *options, _ string) { o.groupBase = true }},
	{short: "-L", set: func(o *options, _ string) { o.lineMode = true }},
	{short: "-N", set: func(o *options, _ string) { o.noLabel = true }},
	{short: "-b", long: []string{"--dshbak"}, set: func(o *options, _ string) { o.gather = true }},
	{short: "-c", set: func(o *options, _ string) { o.gather = true }},
	{short: "-B", set: func(o *options, _ string) { o.gatherAll = true }},
	{short: "-r", long: []string{"--regroup"}, set: func(o *options, _ string) { o.regroup = true }},
	{short: "-S", long: []string{"--separator"}, valued: true, set: func(o *options, v string) { o.separator = v }},
	{short: "-F", long: []string{"--fast"}, set: func(o *options, _ string) { o.fast = true }},
	{short: "-T", long: []string{"--tree"}, set: func(o *options, _ string) { o.trace = true }},
	{long: []string{"--interpret-keys"}, valued: true, choices: threeChoices, set: func(o *options, v string) { o.interpretKeys = v }},
	{long: []string{"--color"}, valued: true, choices: threeChoices, set: func(o *options, v string) { o.color = &v }},
	{long: []string{"--diff"}, set: func(o *options, _ string) { o.diff = true }},
	{long: []string{"--outdir"}, valued: true, set: func(*options, string) {}},
	{long: []string{"--errdir"}, valued: true, set: func(*options, string) {}},
}

func usageErr(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errUsage}, a...)...)
}

// pyRepr quotes s the way Python's repr quotes a simple str.
func pyRepr(s string) string {
	q := "'"
	if strings.Contains(s, "'") && !strings.Contains(s, `"`) {
		q = `"`
	}
	var b strings.Builder
	b.WriteString(q)
	for _, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case string(r) == q:
			b.WriteString(`\` + q)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteString(q)
	return b.String()
}

func (sp *optSpec) apply(o *options, name, v string) error {
	if sp.choices != nil {
		ok := false
		for _, c := range sp.choices {
			ok = ok || c == v
		}
		if !ok {
			var qs []string
			for _, c := range sp.choices {
				qs = append(qs, pyRepr(c))
			}
			return usageErr("option %s: invalid choice: %s (choose from %s)", name, pyRepr(v), strings.Join(qs, ", "))
		}
	}
	if sp.safe && (v == "" || strings.HasPrefix(v, "-")) {
		return usageErr("option %s: invalid value: %s", name, pyRepr(v))
	}
	sp.set(o, v)
	return nil
}

// parseArgs reads args as optparse would; positional arguments are ignored
// by clubak and are returned for completeness.
func parseArgs(args []string) (*options, []string, error) {
	o := &options{separator: ":", interpretKeys: "auto"}
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return o, args[i+1:], nil
		case strings.HasPrefix(a, "--"):
			name, val, hasVal := strings.Cut(a, "=")
			sp, full, err := matchLong(name)
			if err != nil {
				return nil, nil, err
			}
			switch {
			case sp.valued && hasVal:
			case sp.valued:
				if i+1 >= len(args) {
					return nil, nil, usageErr("%s option requires 1 argument", full)
				}
				i++
				val = args[i]
			case hasVal:
				return nil, nil, usageErr("%s option does not take a value", full)
			}
			if err := sp.apply(o, full, val); err != nil {
				return nil, nil, err
			}
		case strings.HasPrefix(a, "-") && a != "-":
			for j := 1; j < len(a); j++ {
				name := "-" + string(a[j])
				sp := matchShort(name)
				if sp == nil {
					return nil, nil, usageErr("no such option: %s", name)
				}
				if !sp.valued {
					sp.set(o, "")
					continue
				}
				var val string
				if j+1 < len(a) {
					val = a[j+1:]
				} else {
					if i+1 >= len(args) {
						return nil, nil, usageErr("%s option requires 1 argument", name)
					}
					i++
					val = args[i]
				}
				if err := sp.apply(o, name, val); err != nil {
					return nil, nil, err
				}
				break
			}
		default:
			return o, args[i:], nil
		}
	}
	return o, nil, nil
}

func matchShort(name string) *optSpec {
	for i := range specs {
		if specs[i].short == name {
			return &specs[i]
		}
	}
	return nil
}

func matchLong(name string) (*optSpec, string, error) {
	var hits []string
	var sp *optSpec
	for i := range specs {
		for _, l := range specs[i].long {
			if l == name {
				return &specs[i], l, nil
			}
			if strings.HasPrefix(l, name) {
				hits = append(hits, l)
				sp = &specs[i]
			}
		}
	}
	switch len(hits) {
	case 0:
		return nil, "", usageErr("no such option: %s", name)
	case 1:
		return sp, hits[0], nil
	}
	sort.Strings(hits)
	return nil, "", usageErr("ambiguous option: %s (%s?)", name, strings.Join(hits, ", "))
}

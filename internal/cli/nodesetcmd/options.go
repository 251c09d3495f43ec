package nodesetcmd

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"sort"
	"strconv"
	"strings"
	"unicode"
)

// The option parser below follows the rules of Python's optparse module as
// ClusterShell's nodeset configures it, because scripts written for that
// tool depend on them:
//
//   - parsing stops at the first argument that is not an option (a lone "-"
//     is not an option) and after "--", which is dropped;
//   - short options combine ("-fS x", "-fSx"); an option that takes a value
//     takes the rest of its cluster, or the next argument, whatever it is;
//   - long options take "--opt=value" or "--opt value", and may be
//     abbreviated to any unambiguous prefix;
//   - errors are reported as "nodeset: error: MESSAGE" after the usage line,
//     with exit status 2.

// optKind says what an option does with its occurrences.
type optKind int

const (
	kindTrue    optKind = iota // store_true
	kindCount                  // count
	kindStore                  // store (takes a value)
	kindAppend                 // append (takes a value)
	kindHelp                   // print help, exit 0
	kindVersion                // print version, exit 0
)

// valType is the type checker applied to an option's value.
type valType int

const (
	typeString valType = iota
	typeSafeString
	typeInt
	typeAutostep
)

type optSpec struct {
	short string // "-f" or ""
	longs []string
	dest  string
	kind  optKind
	typ   valType
}

func (o *optSpec) takesValue() bool { return o.kind == kindStore || o.kind == kindAppend }

// specs lists nodeset's options in ClusterShell 1.9's order.
var specs = []*optSpec{
	{short: "-h", longs: []string{"--help"}, dest: "help", kind: kindHelp},
	{longs: []string{"--version"}, dest: "version", kind: kindVersion},
	{short: "-s", longs: []string{"--groupsource"}, dest: "groupsource", kind: kindStore, typ: typeSafeString},
	{longs: []string{"--groupsconf"}, dest: "groupsconf", kind: kindStore},
	{short: "-c", longs: []string{"--count"}, dest: "count", kind: kindTrue},
	{short: "-e", longs: []string{"--expand"}, dest: "expand", kind: kindTrue},
	{short: "-f", longs: []string{"--fold"}, dest: "fold", kind: kindTrue},
	{short: "-l", longs: []string{"--list"}, dest: "list", kind: kindCount},
	{short: "-L", longs: []string{"--list-all"}, dest: "listall", kind: kindCount},
	{short: "-r", longs: []string{"--regroup"}, dest: "regroup", kind: kindTrue},
	{longs: []string{"--list-sources", "--groupsources"}, dest: "groupsources", kind: kindTrue},
	{short: "-x", longs: []string{"--exclude"}, dest: "exclude", kind: kindAppend},
	{short: "-i", longs: []string{"--intersection"}, dest: "intersection", kind: kindAppend},
	{short: "-X", longs: []string{"--xor"}, dest: "xor", kind: kindAppend},
	{short: "-a", longs: []string{"--all"}, dest: "all", kind: kindTrue},
	{longs: []string{"--autostep"}, dest: "autostep", kind: kindStore, typ: typeAutostep},
	{short: "-d", longs: []string{"--debug"}, dest: "debug", kind: kindTrue},
	{short: "-q", longs: []string{"--quiet"}, dest: "quiet", kind: kindTrue},
	{short: "-R", longs: []string{"--rangeset"}, dest: "rangeset", kind: kindTrue},
	{short: "-G", longs: []string{"--groupbase"}, dest: "groupbase", kind: kindTrue},
	{short: "-S", longs: []string{"--separator"}, dest: "separator", kind: kindStore},
	{short: "-O", longs: []string{"--output-format"}, dest: "format", kind: kindStore},
	{short: "-I", longs: []string{"--slice"}, dest: "slice", kind: kindStore},
	{longs: []string{"--split"}, dest: "split", kind: kindStore, typ: typeInt},
	{longs: []string{"--contiguous"}, dest: "contiguous", kind: kindTrue},
	{longs: []string{"--axis"}, dest: "axis", kind: kindStore},
	{longs: []string{"--pick"}, dest: "pick", kind: kindStore, typ: typeInt},
}

var (
	shortIndex = map[string]*optSpec{}
	longIndex  = map[string]*optSpec{}
	longNames  []string
)

func init() {
	for _, s := range specs {
		if s.short != "" {
			shortIndex[s.short] = s
		}
		for _, l := range s.longs {
			longIndex[l] = s
			longNames = append(longNames, l)
		}
	}
	sort.Strings(longNames)
}

// autostepKind distinguishes the three forms of --autostep.
type autostepKind int

const (
	autostepNone    autostepKind = iota
	autostepCount                // an integer node count
	autostepPercent              // a fraction of the node count ("50%")
	autostepAuto                 // "auto"
)

// options holds the parsed command line.
type options struct {
	help, version                      bool
	groupsource                        string
	groupsourceSet                     bool
	groupsconf                         string
	count, expand, fold, regroup       bool
	list, listall                      int
	groupsources                       bool
	exclude, intersection, xor         []string
	all, debug, quiet, rangeset, gbase bool
	separator, format                  string
	slice, axis                        string
	split, pick                        int64
	splitSet, pickSet                  bool
	contiguous                         bool
	autostep                           autostepKind
	autostepN                          int64   // autostepCount
	autostepF                          float64 // autostepPercent
	args                               []string
}

// usageError is an error that optparse reports with the usage line and
// exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usageErr(format string, a ...any) error {
	return &usageError{msg: fmt.Sprintf(format, a...)}
}

// parseArgs parses args as ClusterShell's nodeset does with optparse.
func parseArgs(args []string) (*options, error) {
	o := &options{separator: " ", format: "%s"}
	rargs := append([]string(nil), args...)
	for len(rargs) > 0 {
		arg := rargs[0]
		switch {
		case arg == "--":
			o.args = rargs[1:]
			return o, nil
		case strings.HasPrefix(arg, "--"):
			rargs = rargs[1:]
			name, value, explicit := strings.Cut(arg, "=")
			spec, full, err := matchLong(name)
			if err != nil {
				return nil, err
			}
			var val string
			if spec.takesValue() {
				if explicit {
					val = value
				} else {
					if len(rargs) == 0 {
						return nil, usageErr("%s option requires 1 argument", full)
					}
					val, rargs = rargs[0], rargs[1:]
				}
			} else if explicit {
				return nil, usageErr("%s option does not take a value", full)
			}
			if err := o.apply(spec, full, val); err != nil {
				return nil, err
			}
			if o.help || o.version {
				return o, nil
			}
		case strings.HasPrefix(arg, "-") && len(arg) > 1:
			rargs = rargs[1:]
			rest := []rune(arg[1:])
			for i, ch := range rest {
				name := "-" + string(ch)
				spec := shortIndex[name]
				if spec == nil {
					return nil, usageErr("no such option: %s", name)
				}
				var val string
				stop := false
				if spec.takesValue() {
					if i+1 < len(rest) {
						val = string(rest[i+1:])
						stop = true
					} else {
						if len(rargs) == 0 {
							return nil, usageErr("%s option requires 1 argument", name)
						}
						val, rargs = rargs[0], rargs[1:]
					}
				}
				if err := o.apply(spec, name, val); err != nil {
					return nil, err
				}
				if o.help || o.version {
					return o, nil
				}
				if stop {
					break
				}
			}
		default:
			o.args = rargs
			return o, nil
		}
	}
	return o, nil
}

// matchLong resolves a possibly abbreviated long option name.
func matchLong(name string) (*optSpec, string, error) {
	if s, ok := longIndex[name]; ok {
		return s, name, nil
	}
	var poss []string
	for _, l := range longNames {
		if strings.HasPrefix(l, name) {
			poss = append(poss, l)
		}
	}
	switch len(poss) {
	case 0:
		return nil, "", usageErr("no such option: %s", name)
	case 1:
		return longIndex[poss[0]], poss[0], nil
	}
	return nil, "", usageErr("ambiguous option: %s (%s?)", name, strings.Join(poss, ", "))
}

// apply records one occurrence of an option; opt is the name as matched.
func (o *options) apply(spec *optSpec, opt, val string) error {
	switch spec.typ {
	case typeSafeString:
		if val == "" || strings.HasPrefix(val, "-") {
			return usageErr("option %s: invalid value: %s", opt, pyRepr(val))
		}
	case typeInt:
		n, err := optparseInt(val)
		if err != nil {
			return usageErr("option %s: invalid integer value: %s", opt, pyRepr(val))
		}
		switch spec.dest {
		case "split":
			o.split, o.splitSet = n, true
		case "pick":
			o.pick, o.pickSet = n, true
		}
		return nil
	case typeAutostep:
		return o.setAutostep(opt, val)
	}
	switch spec.dest {
	case "help":
		o.help = true
	case "version":
		o.version = true
	case "groupsource":
		o.groupsource, o.groupsourceSet = val, true
	case "groupsconf":
		o.groupsconf = val
	case "count":
		o.count = true
	case "expand":
		o.expand = true
	case "fold":
		o.fold = true
	case "list":
		o.list++
	case "listall":
		o.listall++
	case "regroup":
		o.regroup = true
	case "groupsources":
		o.groupsources = true
	case "exclude":
		o.exclude = append(o.exclude, val)
	case "intersection":
		o.intersection = append(o.intersection, val)
	case "xor":
		o.xor = append(o.xor, val)
	case "all":
		o.all = true
	case "debug":
		o.debug = true
	case "quiet":
		o.quiet = true
	case "rangeset":
		o.rangeset = true
	case "groupbase":
		o.gbase = true
	case "separator":
		o.separator = val
	case "format":
		o.format = val
	case "slice":
		o.slice = val
	case "contiguous":
		o.contiguous = true
	case "axis":
		o.axis = val
	}
	return nil
}

// setAutostep checks an --autostep value: a node count, a percentage of
// the nodes, or "auto".
func (o *options) setAutostep(opt, val string) error {
	if strings.Contains(val, "%") {
		// As ClusterShell: the last character is dropped, whatever it is.
		r := []rune(val)
		f, err := pyFloat(string(r[:len(r)-1]))
		if err == nil {
			o.autostep, o.autostepF = autostepPercent, f/100.0
			return nil
		}
	} else if n, err := pyIntBase(val, 10); err == nil {
		o.autostep, o.autostepN = autostepCount, n
		return nil
	}
	if val == "auto" {
		o.autostep = autostepAuto
		return nil
	}
	return usageErr("option %s: invalid value: %s, should be node count, node percentage or 'auto'", opt, pyRepr(val))
}

// optparseInt converts an option value as optparse does for type "int":
// "0x" and "0b" prefixes select hexadecimal and binary, a leading "0"
// octal, anything else decimal.
func optparseInt(val string) (int64, error) {
	low := strings.ToLower(val)
	switch {
	case strings.HasPrefix(low, "0x"):
		return pyIntBase(val, 16)
	case strings.HasPrefix(low, "0b"):
		v := val[2:]
		if v == "" {
			v = "0"
		}
		return pyIntBase(v, 2)
	case strings.HasPrefix(val, "0"):
		return pyIntBase(val, 8)
	}
	return pyIntBase(val, 10)
}

var errPyValue = errors.New("invalid literal")

// pyIntBase parses s as Python's int(s, base) does: surrounding white
// space, a sign, an optional base prefix matching base (16, 8 or 2), and
// single underscores between digits. Values beyond int64 saturate.
func pyIntBase(s string, base int) (int64, error) {
	s = strings.TrimFunc(s, pyIsSpace)
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	prefixed := false
	if len(s) >= 2 && s[0] == '0' {
		p := unicode.ToLower(rune(s[1]))
		if (base == 16 && p == 'x') || (base == 8 && p == 'o') || (base == 2 && p == 'b') {
			s = s[2:]
			prefixed = true
		}
	}
	if s == "" {
		return 0, errPyValue
	}
	digits := make([]byte, 0, len(s))
	prevUnderscore := !prefixed // a leading "_" is allowed only after a prefix
	for i, c := range s {
		if c == '_' {
			if prevUnderscore || i == len(s)-1 {
				return 0, errPyValue
			}
			prevUnderscore = true
			continue
		}
		prevUnderscore = false
		d := digitVal(c)
		if d < 0 || d >= base {
			return 0, errPyValue
		}
		if d < 10 {
			digits = append(digits, byte('0'+d))
		} else {
			digits = append(digits, byte('a'+d-10))
		}
	}
	n, ok := new(big.Int).SetString(string(digits), base)
	if !ok {
		return 0, errPyValue
	}
	if neg {
		n.Neg(n)
	}
	if !n.IsInt64() {
		if n.Sign() < 0 {
			return math.MinInt64, nil
		}
		return math.MaxInt64, nil
	}
	return n.Int64(), nil
}

func digitVal(c rune) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'z':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'Z':
		return int(c-'A') + 10
	case unicode.IsDigit(c):
		// Python accepts any Unicode decimal digit.
		for z := c; z >= c-9; z-- {
			if !unicode.IsDigit(z) {
				return int(c - z - 1)
			}
		}
		return -1
	}
	return -1
}

// pyFloat parses s as Python's float(s): surrounding white space,
// underscores between digits, "inf", "infinity" and "nan" in any case.
func pyFloat(s string) (float64, error) {
	s = strings.TrimFunc(s, pyIsSpace)
	if s == "" {
		return 0, errPyValue
	}
	body := strings.TrimLeft(s, "+-")
	if len(s)-len(body) > 1 {
		return 0, errPyValue
	}
	switch strings.ToLower(body) {
	case "inf", "infinity":
		if s[0] == '-' {
			return math.Inf(-1), nil
		}
		return math.Inf(1), nil
	case "nan":
		return math.NaN(), nil
	}
	// underscores only between digits
	for i := 0; i < len(body); i++ {
		c := body[i]
		if c == '_' {
			if i == 0 || i == len(body)-1 || !isASCIIDigit(body[i-1]) || !isASCIIDigit(body[i+1]) {
				return 0, errPyValue
			}
			continue
		}
		if !(isASCIIDigit(c) || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-') {
			return 0, errPyValue
		}
	}
	clean := strings.ReplaceAll(s, "_", "")
	if strings.ContainsAny(clean, "xXpP") {
		return 0, errPyValue
	}
	f, err := strconv.ParseFloat(clean, 64)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) && ne.Err == strconv.ErrRange {
			return f, nil
		}
		return 0, errPyValue
	}
	return f, nil
}

func isASCIIDigit(c byte) bool { return c >= '0' && c <= '9' }

// pyIsSpace reports the characters Python's str.strip() and str.split()
// treat as white space.
func pyIsSpace(r rune) bool {
	switch r {
	case ' ', '\t', '\n', '\r', '\v', '\f', 0x1c, 0x1d, 0x1e, 0x1f, 0x85:
		return true
	}
	if r < 0x80 {
		return false
	}
	return unicode.IsSpace(r) || unicode.Is(unicode.Zs, r)
}

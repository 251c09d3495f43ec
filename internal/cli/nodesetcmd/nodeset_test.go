package nodesetcmd

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/muster-sh/muster/internal/cli"
)

// Expected values below are what ClusterShell 1.9.1's nodeset prints for
// the same invocation.

// isolate points the group configuration at dir (written by
// writeCompatConfig when groups is true, empty otherwise).
func isolate(t *testing.T, groups bool) {
	t.Helper()
	root := t.TempDir()
	cfg := filepath.Join(root, "cfg")
	if groups {
		writeCompatConfig(t, cfg)
	} else if err := os.MkdirAll(cfg, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CLUSTERSHELL_CFGDIR", cfg)
	t.Setenv("HOME", filepath.Join(root, "home"))
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(root, "home", ".config"))
}

func run(args []string, stdin string) (stdout, stderr string, code int) {
	var out, errb bytes.Buffer
	code = Main(args, cli.Stdio{In: strings.NewReader(stdin), Out: &out, Err: &errb})
	return out.String(), errb.String(), code
}

func TestParseArgs(t *testing.T) {
	tests := []struct {
		args  []string
		check func(o *options) bool
		err   string // usage error message, "" for success
	}{
		{[]string{"-f", "n1"}, func(o *options) bool { return o.fold && reflect.DeepEqual(o.args, []string{"n1"}) }, ""},
		{[]string{"-fS", "x"}, func(o *options) bool { return o.fold && o.separator == "x" && len(o.args) == 0 }, ""},
		{[]string{"-eS:", "n1"}, func(o *options) bool { return o.expand && o.separator == ":" }, ""},
		{[]string{"-fxn2", "n1"}, func(o *options) bool { return reflect.DeepEqual(o.exclude, []string{"n2"}) }, ""},
		{[]string{"--fo", "n1"}, func(o *options) bool { return o.fold }, ""},
		{[]string{"--sep=,", "-e"}, func(o *options) bool { return o.separator == "," && o.expand }, ""},
		{[]string{"--spl", "3"}, func(o *options) bool { return o.splitSet && o.split == 3 }, ""},
		{[]string{"--split=010"}, func(o *options) bool { return o.split == 8 }, ""},
		{[]string{"--split=0x1f"}, func(o *options) bool { return o.split == 31 }, ""},
		{[]string{"--split=0b101"}, func(o *options) bool { return o.split == 5 }, ""},
		{[]string{"--split= -4 "}, func(o *options) bool { return o.split == -4 }, ""},
		{[]string{"--split=1_000"}, func(o *options) bool { return o.split == 1000 }, ""},
		{[]string{"-lll"}, func(o *options) bool { return o.list == 3 }, ""},
		{[]string{"-L", "--list-all"}, func(o *options) bool { return o.listall == 2 }, ""},
		{[]string{"--groupsources"}, func(o *options) bool { return o.groupsources }, ""},
		{[]string{"--list-s"}, func(o *options) bool { return o.groupsources }, ""},
		{[]string{"--autostep=auto"}, func(o *options) bool { return o.autostep == autostepAuto }, ""},
		{[]string{"--autostep=50%"}, func(o *options) bool { return o.autostep == autostepPercent && o.autostepF == 0.5 }, ""},
		{[]string{"--autostep", "+4"}, func(o *options) bool { return o.autostep == autostepCount && o.autostepN == 4 }, ""},
		{[]string{"-f", "--", "-x"}, func(o *options) bool { return reflect.DeepEqual(o.args, []string{"-x"}) }, ""},
		{[]string{"-f", "-", "-x", "n1"}, func(o *options) bool { return reflect.DeepEqual(o.args, []string{"-", "-x", "n1"}) }, ""},
		{[]string{"-f", "n1", "-c"}, func(o *options) bool { return !o.count && reflect.DeepEqual(o.args, []string{"n1", "-c"}) }, ""},
		{[]string{"-s", "yml"}, func(o *options) bool { return o.groupsourceSet && o.groupsource == "yml" }, ""},
		{[]string{"-h", "-z"}, func(o *options) bool { return o.help }, ""},
		{[]string{"--version"}, func(o *options) bool { return o.version }, ""},
		{[]string{"-v"}, nil, "no such option: -v"},
		{[]string{"-fz"}, nil, "no such option: -z"},
		{[]string{"--nope"}, nil, "no such option: --nope"},
		{[]string{"--s=3"}, nil, "ambiguous option: --s (--separator, --slice, --split?)"},
		{[]string{"--list"}, func(o *options) bool { return o.list == 1 }, ""},
		{[]string{"--fold=yes"}, nil, "--fold option does not take a value"},
		{[]string{"--split"}, nil, "--split option requires 1 argument"},
		{[]string{"-S"}, nil, "-S option requires 1 argument"},
		{[]string{"--split=x"}, nil, "option --split: invalid integer value: 'x'"},
		{[]string{"--split=09"}, nil, "option --split: invalid integer value: '09'"},
		{[]string{"--pick=3.0"}, nil, "option --pick: invalid integer value: '3.0'"},
		{[]string{"-s", "-x"}, nil, "option -s: invalid value: '-x'"},
		{[]string{"--groupsource="}, nil, "option --groupsource: invalid value: ''"},
		{[]string{"--autostep=x"}, nil, "option --autostep: invalid value: 'x', should be node count, node percentage or 'auto'"},
		{[]string{"--autostep=%"}, nil, "option --autostep: invalid value: '%', should be node count, node percentage or 'auto'"},
	}
	for _, tt := range tests {
		o, err := parseArgs(tt.args)
		if tt.err != "" {
			var ue *usageError
			if !errors.As(err, &ue) || ue.msg != tt.err {
				t.Errorf("parseArgs(%q) error = %v, want usage error %q", tt.args, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("parseArgs(%q): %v", tt.args, err)
			continue
		}
		if !tt.check(o) {
			t.Errorf("parseArgs(%q) = %+v, not as expected", tt.args, *o)
		}
	}
}

func TestOptparseInt(t *testing.T) {
	good := map[string]int64{"0": 0, "7": 7, "-7": -7, "+7": 7, "010": 8, "0o10": 8, "0x10": 16, "0X1f": 31,
		"0b11": 3, "0b": 0, " 12 ": 12, "1_2": 12, "0_7": 7, "99999999999999999999999": math.MaxInt64}
	for in, want := range good {
		got, err := optparseInt(in)
		if err != nil || got != want {
			t.Errorf("optparseInt(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "x", "08", "1__2", "_1", "1_", "0x", "1.0", "--1", "0b2", " 0x10"} {
		if got, err := optparseInt(in); err == nil {
			t.Errorf("optparseInt(%q) = %d, want an error", in, got)
		}
	}
}

func TestPyFormat(t *testing.T) {
	tests := []struct {
		format string
		arg    pyArg
		want   string
		kind   pyErrKind // when want == ""
	}{
		{"%s", strArg("n1"), "n1", 0},
		{"%s-ipmi", strArg("n1"), "n1-ipmi", 0},
		{"%%%s%%", strArg("n1"), "%n1%", 0},
		{"%-5s|", strArg("n1"), "n1   |", 0},
		{"%5s|", strArg("n1"), "   n1|", 0},
		{"%.1s", strArg("n1"), "n", 0},
		{"%r", strArg("n1"), "'n1'", 0},
		{"%r", strArg("it's"), `"it's"`, 0},
		{"%c", strArg("a"), "a", 0},
		{"%d", intArg(42), "42", 0},
		{"%05d", intArg(42), "00042", 0},
		{"%+d", intArg(42), "+42", 0},
		{"% d", intArg(42), " 42", 0},
		{"%x", intArg(300), "12c", 0},
		{"%05x", intArg(300), "0012c", 0},
		{"%#x", intArg(30), "0x1e", 0},
		{"%#X", intArg(30), "0X1E", 0},
		{"%#o", intArg(8), "0o10", 0},
		{"%e", intArg(300), "3.000000e+02", 0},
		{"%g", intArg(3000000), "3e+06", 0},
		{"%g", intArg(100000), "100000", 0},
		{"%.2f", intArg(3), "3.00", 0},
		{"%c", intArg(65), "A", 0},
		{"%s", intArg(7), "7", 0},
		{"x", pyArg{s: "1-3", obj: true}, "x", 0},
		{"%r", pyArg{s: "1-3", obj: true}, "1-3", 0},
		{"%d", strArg("n1"), "", pyTypeError},
		{"%x", strArg("n1"), "", pyTypeError},
		{"%c", strArg("ab"), "", pyTypeError},
		{"%(a)s", strArg("n1"), "", pyTypeError},
		{"%s%s", strArg("n1"), "", pyTypeError},
		{"%*d", intArg(3), "", pyTypeError},
		{"x", strArg("n1"), "", pyTypeError},
		{"%", strArg("n1"), "", pyValueError},
		{"%z", strArg("n1"), "", pyValueError},
		{"%5%", strArg("n1"), "", pyValueError},
	}
	for _, tt := range tests {
		got, err := pyFormat(tt.format, tt.arg)
		if tt.want == "" {
			var pe *pyError
			if !errors.As(err, &pe) || pe.kind != tt.kind {
				t.Errorf("pyFormat(%q, %+v) = %q, %v; want error kind %d", tt.format, tt.arg, got, err, tt.kind)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("pyFormat(%q, %+v) = %q, %v; want %q", tt.format, tt.arg, got, err, tt.want)
		}
	}
}

func TestEvalSeparator(t *testing.T) {
	good := map[string]string{
		" ": " ", "": "", ",": ",", `\n`: "\n", `\t`: "\t", `\\`: `\`, `\x41`: "A", `\101`: "A", `\0`: "\x00",
		`\u00e9`: "é", `\U0001F600`: "😀", `\d`: `\d`, `''`: "", `a''' '''b`: "ab", `a'''#`: "a",
		`a'''+'''b`: "ab", `"`: `"`, `\'`: "'",
	}
	for in, want := range good {
		got, err := evalSeparator(in)
		if err != nil || string(got) != want {
			t.Errorf("evalSeparator(%q) = %q, %v; want %q", in, string(got), err, want)
		}
	}
	for _, in := range []string{`'`, `\`, `'''`, `\x4`, `\U00110000`, `a''' x '''b`, `\N{DASH}`} {
		if got, err := evalSeparator(in); err == nil {
			t.Errorf("evalSeparator(%q) = %q, want an error", in, string(got))
		}
	}
}

func TestPySplitLines(t *testing.T) {
	got := pySplitLines("a\nb\r\nc\rd\ve\x1cf\u2028g\n")
	want := []string{"a", "b", "c", "d", "e", "f", "g"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("pySplitLines = %q, want %q", got, want)
	}
	if got := pySplitLines(""); len(got) != 0 {
		t.Errorf("pySplitLines(\"\") = %q, want none", got)
	}
}

// TestModes runs each command and option through Main.
func TestModes(t *testing.T) {
	isolate(t, false)
	tests := []struct {
		args   []string
		stdin  string
		stdout string
		code   int
		stderr bool
	}{
		{[]string{"-f", "n[1-3]", "n5"}, "", "n[1-3,5]\n", 0, false},
		{[]string{"-e", "n[1-3]"}, "", "n1 n2 n3\n", 0, false},
		{[]string{"-c", "n[1-3]"}, "", "3\n", 0, false},
		{[]string{"-c", "node[1-10000000]"}, "", "10000000\n", 0, false},
		{[]string{"-e", "-S", ",", "n[1-3]"}, "", "n1,n2,n3\n", 0, false},
		{[]string{"-e", "-S", `\n`, "n[1-3]"}, "", "n1\nn2\nn3\n", 0, false},
		{[]string{"-e", "-O", "%s.ib", "n[1-2]"}, "", "n1.ib n2.ib\n", 0, false},
		{[]string{"-f", "-O", "%s-ipmi", "n[1-3]"}, "", "n[1-3]-ipmi\n", 0, false},
		{[]string{"-c", "-O", "%05x", "n[1-300]"}, "", "0012c\n", 0, false},
		{[]string{"-f", "--autostep=3", "n1", "n3", "n5", "n7"}, "", "n[1-7/2]\n", 0, false},
		{[]string{"-f", "--autostep=auto", "n1", "n3", "n5", "n7"}, "", "n[1-7/2]\n", 0, false},
		{[]string{"-f", "--autostep=50%", "n1", "n3", "n5", "n7", "n8"}, "", "n[1-7/2,8]\n", 0, false},
		{[]string{"-f", "--split=2", "n[1-5]"}, "", "n[1-3]\nn[4-5]\n", 0, false},
		{[]string{"-c", "--split=3", "n[1-2]"}, "", "1\n1\n", 0, false},
		{[]string{"-f", "--contiguous", "n[1-3,5]"}, "", "n[1-3]\nn5\n", 0, false},
		{[]string{"-e", "-I", "0,2", "n[1-5]"}, "", "n1 n3\n", 0, false},
		{[]string{"-e", "-I", "5-20", "n[1-10]"}, "", "n6 n7 n8 n9 n10\n", 0, false},
		{[]string{"-e", "-I", "-1", "n[1-10]"}, "", "\n", 0, false},
		{[]string{"-f", "--axis=2", "a[1-2]b[1-2]"}, "", "a1b[1-2],a2b[1-2]\n", 0, false},
		{[]string{"-f", "--axis=1", "da[1-2]c[1-2]", "da3c1"}, "", "da[1-2]c1,da[1-2]c2,da3c1\n", 0, false},
		{[]string{"-R", "-f", "1,2,3,5"}, "", "1-3,5\n", 0, false},
		{[]string{"-R", "-e", "1-3"}, "", "1 2 3\n", 0, false},
		{[]string{"-fR", "--autostep=auto", "1,3,5,7"}, "", "1-7/2\n", 0, false},
		{[]string{"-f", "n[1-10]", "-x", "n[2-9]"}, "", "n[1,10]\n", 0, false},
		{[]string{"-f", "n[1-5]", "-i", "n[4-9]"}, "", "n[4-5]\n", 0, false},
		{[]string{"-f", "n[1-5]", "-X", "n[4-9]"}, "", "n[1-3,6-9]\n", 0, false},
		{[]string{"-f", "-X", "n[2-5]", "-i", "n[1-4]", "-x", "n2", "n[1-3]"}, "", "n[1-5]\n", 0, true},
		{[]string{"-f", "n1\nn2,n3"}, "", "n[1-3]\n", 0, false},
		{[]string{"-c", "--pick=2", "n[1-9]"}, "", "2\n", 0, false},
		{[]string{"-f"}, "n1 n2\n# comment\nn5 #x\n", "n[1-2,5]\n", 0, false},
		{[]string{"-f"}, "n1,n2", "n,n1\n", 0, false}, // the last character of a last line without newline is lost
		{[]string{"-f"}, "n1\r\nn2\r\n", "n[1-2]\n", 0, false},
		{[]string{"-f", "n[1-5]", "-x", "-"}, "n3\n", "n[1-2,4-5]\n", 0, false},
		{[]string{"-f", "n[1-5]", "-"}, "n7\n", "n[1-5,7]\n", 0, false},
		{[]string{"-c"}, "", "0\n", 0, false},
		{[]string{"--version"}, "", "nodeset 1.9.1\n", 0, false},
		// errors
		{[]string{}, "", "", 2, true},
		{[]string{"-f", "-c", "n1"}, "", "", 2, true},
		{[]string{"-R", "-r", "1"}, "", "", 2, true},
		{[]string{"-f", "--split=2", "--contiguous", "n1"}, "", "", 2, true},
		{[]string{"-e", "--axis=1", "n1"}, "", "", 2, true},
		{[]string{"-f", "n[1-"}, "", "", 1, true},
		{[]string{"-f", "n[3-1]"}, "", "", 1, true},
		{[]string{"-f", "n[1-5]", "-x"}, "", "", 1, true},
		{[]string{"-e", "-S", "'", "n1"}, "", "", 1, true},
		{[]string{"-e", "-O", "%d", "n1"}, "", "", 1, true},
		{[]string{"-e", "-O", "%z", "n1"}, "", "", 1, true},
		{[]string{"-f", "--autostep=nan%", "n1"}, "", "", 1, true},
		{[]string{"-c", "--pick=-2", "n[1-10]"}, "", "", 1, true},
		{[]string{"-f", "--axis=x", "da1c1"}, "", "", 1, true},
	}
	for _, tt := range tests {
		out, errs, code := run(tt.args, tt.stdin)
		if out != tt.stdout || code != tt.code || (errs != "") != tt.stderr {
			t.Errorf("nodeset %q (stdin %q) = %q, exit %d, stderr %q; want %q, exit %d, stderr: %v",
				tt.args, tt.stdin, out, code, errs, tt.stdout, tt.code, tt.stderr)
		}
	}
}

func TestUsageMessage(t *testing.T) {
	isolate(t, false)
	_, errs, code := run([]string{"-z"}, "")
	want := "Usage: nodeset [COMMAND] [OPTIONS] [ns1 [-ixX] ns2|...]\n\nnodeset: error: no such option: -z\n"
	if code != 2 || errs != want {
		t.Errorf("nodeset -z: exit %d, stderr %q; want 2, %q", code, errs, want)
	}
	out, _, code := run([]string{"--help"}, "")
	if code != 0 || !strings.HasPrefix(out, "Usage: nodeset") || !strings.Contains(out, "--autostep") {
		t.Errorf("nodeset --help: exit %d, stdout %q", code, out)
	}
}

// TestGroups exercises group sources (upcalls, YAML) through -l, -L, -r,
// -a, -s, -G and --list-sources.
func TestGroups(t *testing.T) {
	isolate(t, true)
	tests := []struct {
		args   []string
		stdout string
		code   int
	}{
		{[]string{"-f", "@adm"}, "mgmt[1-2]\n", 0},
		{[]string{"-f", "@rack[1-2]"}, "node[1-32]\n", 0},
		{[]string{"-f", "@yml:cpu"}, "node[1-28]\n", 0},
		{[]string{"-s", "yml", "-f", "@gpu"}, "gpu1,node[29-32]\n", 0},
		{[]string{"-c", "@*"}, "44\n", 0},
		{[]string{"-e", "@@roles"}, "db front web\n", 0},
		{[]string{"-r", "node[1-32]"}, "@compute\n", 0},
		{[]string{"-r", "node[1-17]"}, "@rack1,node17\n", 0},
		{[]string{"-r", "-s", "yml", "io[1-4],node[29-32]"}, "@yml:storage,node[29-32]\n", 0},
		{[]string{"-r", "-s", "roles", "-G", "web[01-04],db1"}, "@web,db1\n", 0},
		{[]string{"-r", "-s", "rev", "x[1-6]"}, "@rev:low,x6\n", 0},
		{[]string{"-a", "-f", "-s", "yml"}, "gpu1,io[1-4],node[1-32]\n", 0},
		{[]string{"-l", "-s", "roles"}, "@roles:db\n@roles:front\n@roles:web\n", 0},
		{[]string{"-ll", "-s", "roles", "-G"}, "@db db[1-2]\n@front db1,web[01-02]\n@web web[01-04]\n", 0},
		{[]string{"-lll", "-s", "yml", "node[28-30]"}, "@yml:all node[28-30] 3/37\n@yml:compute node[28-30] 3/32\n@yml:cpu node28 1/28\n@yml:gpu node[29-30] 2/5\n", 0},
		{[]string{"-l", "-s", "rev", "x[1-4]"}, "@rev:all\n@rev:even\n@rev:low\n@rev:odd\n", 0},
		{[]string{"--list-sources", "-q"}, "local\nnolist\nyml\nroles\nrev\n", 0},
		{[]string{"-s", "nosuch", "-f", "n1"}, "", 1},
		{[]string{"-f", "@nosrc:x"}, "", 1},
		{[]string{"-l", "-s", "nolist"}, "", 1},
	}
	for _, tt := range tests {
		out, errs, code := run(tt.args, "")
		if out != tt.stdout || code != tt.code {
			t.Errorf("nodeset %q = %q, exit %d (stderr %q); want %q, exit %d", tt.args, out, code, errs, tt.stdout, tt.code)
		}
	}
}

// FuzzArgs feeds arbitrary command lines (arguments separated by NUL
// bytes) and standard input to Main: it must not panic and must exit with
// 0, 1 or 2.
func FuzzArgs(f *testing.F) {
	for _, seed := range []string{"-f\x00n[1-3]", "-fS\x00x", "--sp=3\x00-e\x00n[1-9]", "-R\x00-c\x001-5,-3--1",
		"-e\x00-S\x00\\x41\x00n[1-2]", "-c\x00-O\x00%05x\x00n1", "-f\x00--autostep=auto\x00n[1-9/2]",
		"-f\x00-I\x00-3--1\x00n[1-9]", "-f\x00--axis=-1\x00a[1-2]b[1-2]", "-l\x00-s\x00yml", "-r\x00@yml:gpu",
		"--\x00-x", "-f\x00n1\x00-x", "-f\x00-\x00-i\x00-"} {
		f.Add(seed, "n1 n2\n")
	}
	root := f.TempDir()
	cfg := filepath.Join(root, "cfg")
	_ = os.MkdirAll(filepath.Join(cfg, "groups.d"), 0o755)
	_ = os.WriteFile(filepath.Join(cfg, "groups.conf"), []byte("[Main]\ndefault: yml\nautodir: $CFGDIR/groups.d\n"), 0o644)
	_ = os.WriteFile(filepath.Join(cfg, "groups.d", "g.yaml"), []byte("yml:\n  gpu: 'n[1-4]'\n  all: 'n[1-9]'\n"), 0o644)
	for k, v := range map[string]string{"CLUSTERSHELL_CFGDIR": cfg, "HOME": root, "XDG_CONFIG_HOME": root} {
		old, had := os.LookupEnv(k)
		os.Setenv(k, v)
		f.Cleanup(func() {
			if had {
				os.Setenv(k, old)
			} else {
				os.Unsetenv(k)
			}
		})
	}
	f.Fuzz(func(t *testing.T, cmdline, stdin string) {
		if tooBig(cmdline) || tooBig(stdin) {
			t.Skip("node sets this large only measure time")
		}
		args := strings.Split(cmdline, "\x00")
		var out, errb bytes.Buffer
		code := Main(args, cli.Stdio{In: strings.NewReader(stdin), Out: &out, Err: &errb})
		if code < 0 || code > 2 {
			t.Fatalf("nodeset %q: exit status %d", args, code)
		}
		if code != 0 && errb.Len() == 0 {
			t.Fatalf("nodeset %q: exit status %d without a message", args, code)
		}
	})
}

// tooBig reports inputs that could expand to millions of nodes.
func tooBig(s string) bool {
	run, brackets := 0, strings.Count(s, "[")
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			run++
			if run > 3 || (run > 2 && brackets > 1) {
				return true
			}
		} else {
			run = 0
		}
	}
	return brackets > 3 || strings.Contains(s, "%") && strings.Contains(s, "*")
}

// TestBrokenPipe: a reader that goes away makes the command exit with
// status 1 and no message, as ClusterShell's nodeset.
func TestBrokenPipe(t *testing.T) {
	isolate(t, false)
	for _, args := range [][]string{{"-e", "n[1-100000]"}, {"-f", "n[1-3]"}} {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		r.Close()
		var errb bytes.Buffer
		code := Main(args, cli.Stdio{In: strings.NewReader(""), Out: w, Err: &errb})
		w.Close()
		if code != 1 || errb.Len() != 0 {
			t.Errorf("nodeset %q into a closed pipe: exit %d, stderr %q; want 1 and no message", args, code, errb.String())
		}
	}
}

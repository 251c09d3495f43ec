package nodeset

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// iniDump is a comparable view of an iniFile: [DEFAULT] and each section's
// raw values, sections in order.
type iniDump struct {
	Defaults map[string]string `json:"defaults"`
	Sections [][2]any          `json:"sections"`
	Error    bool              `json:"error"`
}

func dumpINI(f *iniFile) iniDump {
	d := iniDump{Defaults: map[string]string{}}
	for k, v := range f.defaults.values {
		d.Defaults[k] = v
	}
	for _, s := range f.sections {
		vals := map[string]any{}
		for k, v := range s.values {
			vals[k] = v
		}
		d.Sections = append(d.Sections, [2]any{s.name, vals})
	}
	return d
}

func parseINIString(t testing.TB, text string) (iniDump, error) {
	f := newINIFile()
	if err := f.read("test.conf", []byte(text)); err != nil {
		return iniDump{Error: true}, err
	}
	return dumpINI(f), nil
}

type sectionVals struct {
	name string
	vals map[string]string
}

func TestINIParse(t *testing.T) {
	tests := []struct {
		name, text string
		defaults   map[string]string
		sections   []sectionVals
		errHas     string // non-empty: an error naming this is expected
	}{
		{"colon and equals, keys lower-cased", "[Main]\nkey: v\nKey2 = v2\n", nil,
			[]sectionVals{{"Main", map[string]string{"key": "v", "key2": "v2"}}}, ""},
		{"continuation and blank lines kept", "[a]\nmap: echo a\n  b\n\n  c\n\nlist: x\n", nil,
			[]sectionVals{{"a", map[string]string{"map": "echo a\nb\n\nc", "list": "x"}}}, ""},
		{"no inline comments, comment lines skipped in values", "[a]\nmap: x # not a comment\n; c\n  # c2\n  cont\n", nil,
			[]sectionVals{{"a", map[string]string{"map": "x # not a comment\ncont"}}}, ""},
		{"section names keep spaces", "[ a , b ]\nk=v\n", nil,
			[]sectionVals{{" a , b ", map[string]string{"k": "v"}}}, ""},
		{"header runs to last bracket, first delimiter splits", "[a]b]\nk: v = w : z\n", nil,
			[]sectionVals{{"a]b", map[string]string{"k": "v = w : z"}}}, ""},
		{"indented keys after header", "[a]\n k: v\n j: w\n", nil,
			[]sectionVals{{"a", map[string]string{"k": "v", "j": "w"}}}, ""},
		{"indented header", "  [a]\nk:v\n", nil,
			[]sectionVals{{"a", map[string]string{"k": "v"}}}, ""},
		{"value on next line", "[a]\nk:\n  v\n", nil,
			[]sectionVals{{"a", map[string]string{"k": "\nv"}}}, ""},
		{"DEFAULT section merged", "[DEFAULT]\nx: 1\n[a]\ny: 2\n[DEFAULT]\nz: 3\n", map[string]string{"x": "1", "z": "3"},
			[]sectionVals{{"a", map[string]string{"y": "2"}}}, ""},
		{"CRLF and CR line ends", "[a]\r\nk: v\r\n\t\tcont\r\nj: w\rl: m\n", nil,
			[]sectionVals{{"a", map[string]string{"k": "v\ncont", "j": "w", "l": "m"}}}, ""},
		{"indented header is a continuation", "[a]\nk: v\n  [b]\n", nil,
			[]sectionVals{{"a", map[string]string{"k": "v\n[b]"}}}, ""},
		{"spaces around delimiter", "[a]\nk    :    v   \n", nil,
			[]sectionVals{{"a", map[string]string{"k": "v"}}}, ""},
		{"python whitespace line is blank", "[a]\nk: v\n\x1c\n  more\n", nil,
			[]sectionVals{{"a", map[string]string{"k": "v\n\nmore"}}}, ""},
		{"duplicate section", "[a]\nk: v\n[a]\n", nil, nil, `section "a" already exists`},
		{"duplicate key", "[a]\nk: v\nK: w\n", nil, nil, `key "k" in section "a" already exists`},
		{"key before any section", "k: v\n", nil, nil, "no section header"},
		{"line without delimiter", "[a]\nnovalue\n", nil, nil, `"novalue" is neither`},
		{"empty key", "[a]\n=v\n", nil, nil, "has no key"},
		{"empty header", "[]\n", nil, nil, "no section header"},
		{"BOM is not stripped", "\ufeff[a]\nk: v\n", nil, nil, "no section header"},
		{"invalid UTF-8", "[a]\nk: \xff\n", nil, nil, "UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newINIFile()
			err := f.read("x.conf", []byte(tt.text))
			if tt.errHas != "" {
				var ce *GroupsConfigError
				if !errors.As(err, &ce) || !strings.Contains(err.Error(), tt.errHas) || !strings.Contains(err.Error(), "x.conf") {
					t.Fatalf("error = %v, want a *GroupsConfigError naming x.conf and containing %q", err, tt.errHas)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if tt.defaults == nil {
				tt.defaults = map[string]string{}
			}
			if !reflect.DeepEqual(f.defaults.values, tt.defaults) {
				t.Errorf("defaults = %q, want %q", f.defaults.values, tt.defaults)
			}
			if len(f.sections) != len(tt.sections) {
				t.Fatalf("got %d sections, want %d", len(f.sections), len(tt.sections))
			}
			for i, s := range tt.sections {
				if f.sections[i].name != s.name || !reflect.DeepEqual(f.sections[i].values, s.vals) {
					t.Errorf("section %d = %q %q, want %q %q", i, f.sections[i].name, f.sections[i].values, s.name, s.vals)
				}
			}
		})
	}
}

func TestINIErrorLine(t *testing.T) {
	f := newINIFile()
	err := f.read("g.conf", []byte("[a]\nk: v\n\nbroken line\n"))
	var ce *GroupsConfigError
	if !errors.As(err, &ce) || ce.Line != 4 || !errors.Is(err, ErrGroupsConfig) {
		t.Fatalf("error = %#v, want GroupsConfigError at line 4", err)
	}
	if !strings.Contains(err.Error(), "g.conf:4") {
		t.Fatalf("message %q does not name g.conf:4", err)
	}
}

func TestINIMergeFiles(t *testing.T) {
	f := newINIFile()
	if err := f.read("one", []byte("[a]\nk: 1\nj: 1\n[b]\nx: y\n")); err != nil {
		t.Fatal(err)
	}
	// A section may reappear in a later file; its keys override.
	if err := f.read("two", []byte("[a]\nk: 2\n[c]\nz: z\n")); err != nil {
		t.Fatal(err)
	}
	got := dumpINI(f)
	want := iniDump{Defaults: map[string]string{}, Sections: [][2]any{
		{"a", map[string]any{"k": "2", "j": "1"}},
		{"b", map[string]any{"x": "y"}},
		{"c", map[string]any{"z": "z"}},
	}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("merged = %v, want %v", got, want)
	}
	if file, line := f.where("a", "k"); file != "two" || line != 2 {
		t.Fatalf("where(a, k) = %s:%d, want two:2", file, line)
	}
}

func TestINIInterpolation(t *testing.T) {
	f := newINIFile()
	text := "[DEFAULT]\nbase: /opt\n[Main]\ndir: %(base)s/x\nboth: %(DIR)s and 100%%\nbad: 5%\nmissing: %(nope)s\nloop: %(loop)s\nunclosed: %(base\n"
	if err := f.read("i.conf", []byte(text)); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{"dir": "/opt/x", "both": "/opt/x and 100%", "base": "/opt"} {
		got, ok, err := f.get("Main", key)
		if err != nil || !ok || got != want {
			t.Errorf("get(Main, %s) = %q, %v, %v; want %q", key, got, ok, err, want)
		}
	}
	for key, msg := range map[string]string{"bad": "must be followed", "missing": `%(nope)s refers to a missing key`,
		"loop": "nest deeper", "unclosed": "bad interpolation reference"} {
		_, _, err := f.get("Main", key)
		if !errors.Is(err, ErrGroupsConfig) || !strings.Contains(err.Error(), msg) || !strings.Contains(err.Error(), "i.conf") {
			t.Errorf("get(Main, %s) error = %v, want one naming i.conf and %q", key, err, msg)
		}
	}
	if _, ok, err := f.get("Main", "absent"); ok || err != nil {
		t.Errorf("absent key: ok=%v err=%v", ok, err)
	}
	if _, ok, _ := f.get("NoSection", "base"); ok {
		t.Error("DEFAULT value visible through a missing section")
	}
}

func TestShellSplit(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		err  bool
	}{
		{"/etc/a $CFGDIR/b", []string{"/etc/a", "$CFGDIR/b"}, false},
		{`"/dir with space" 'x y'`, []string{"/dir with space", "x y"}, false},
		{`a"b c"d`, []string{"ab cd"}, false},
		{`a\ b`, []string{"a b"}, false},
		{`"a\"b\\c\d"`, []string{`a"b\c\d`}, false},
		{`'a\b'`, []string{`a\b`}, false},
		{"''", []string{""}, false},
		{"  \t\n ", nil, false},
		{`"open`, nil, true},
		{`trail\`, nil, true},
	}
	for _, tt := range tests {
		got, err := shellSplit(tt.in)
		if (err != nil) != tt.err || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("shellSplit(%q) = %q, %v; want %q (error %v)", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestSafeSubstitute(t *testing.T) {
	vars := map[string]string{"GROUP": "g1", "CFGDIR": "/etc/cs", "NODE": "n1"}
	tests := map[string]string{
		"echo $GROUP":             "echo g1",
		"echo ${GROUP}x":          "echo g1x",
		"echo $GROUPx":            "echo $GROUPx",
		"echo $group":             "echo $group",
		"cost $$GROUP":            "cost $GROUP",
		"awk '{print $1}' $NODE":  "awk '{print $1}' n1",
		"${GROUP":                 "${GROUP",
		"${}$":                    "${}$",
		"$CFGDIR/groups.d":        "/etc/cs/groups.d",
		"a$":                      "a$",
		"sed 's/^$GROUP:\\(.*\\)": "sed 's/^g1:\\(.*\\)",
		"${UNKNOWN} $UNKNOWN":     "${UNKNOWN} $UNKNOWN",
	}
	for in, want := range tests {
		if got := safeSubstitute(in, vars); got != want {
			t.Errorf("safeSubstitute(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPyDirname(t *testing.T) {
	for in, want := range map[string]string{
		"/etc/clustershell/groups.conf": "/etc/clustershell",
		"groups.conf":                   "",
		"/groups.conf":                  "/",
		"a//b":                          "a",
		"//x":                           "//",
		"rel/dir/":                      "rel/dir",
	} {
		if got := pyDirname(in); got != want {
			t.Errorf("pyDirname(%q) = %q, want %q", in, got, want)
		}
	}
}

// needTool returns the path of an external tool; it skips the test when the
// tool is missing outside CI and fails it in CI (CI=true).
func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is required in CI: %v", name, err)
		}
		t.Skipf("%s not installed: %v", name, err)
	}
	return p
}

// pyConfigScript reads a JSON list of requests on stdin and prints one JSON
// result per line, using Python's configparser (reading real files, as
// ClusterShell does), shlex.split and string.Template.
const pyConfigScript = `
import configparser, json, shlex, string, sys
for req in json.load(sys.stdin):
    kind, arg = req
    if kind == "ini":
        c = configparser.ConfigParser()
        try:
            c.read(arg)
        except (configparser.Error, UnicodeDecodeError):
            print(json.dumps({"error": True})); continue
        out = {"defaults": dict(c.defaults()), "sections": [], "error": False}
        for s in c.sections():
            out["sections"].append([s, {k: c.get(s, k, raw=True) for k in c._sections[s]}])
        print(json.dumps(out))
    elif kind == "shlex":
        try:
            print(json.dumps(shlex.split(arg)))
        except ValueError:
            print(json.dumps(None))
    elif kind == "tmpl":
        print(json.dumps(string.Template(arg).safe_substitute(GROUP="g", CFGDIR="/c", SOURCE="s")))
`

// iniDifferentialCases are tricky inputs checked against Python itself.
var iniDifferentialCases = []string{
	"[Main]\ndefault: a\nconfdir: /x $CFGDIR/y\n",
	"[a]\nk: v\n  c1\n\n\n  c2\n\n",
	"[a]\n  k: v\n  j: w\n    cont\n",
	"[a]\nk: v\n# c\n  cont\n;c\n",
	"[a]\nk=\n\n[b]\nj=\n  x\n",
	"[a] trailing\nk: v\n",
	"[a]]]\n[b\n",
	"[a]\nk\n",
	"[a]\n: v\n",
	"[a]\nk: v\n[b]\nk: v\n[a]\n",
	"[DEFAULT]\nk: 1\n[DEFAULT]\nk: 2\n",
	"[DEFAULT]\nk: 1\n[a]\n[DEFAULT]\nj: 2\n",
	"\n\n   \n[a]\n\n\nk: v\n",
	"[a]\nk: v\r\n  c\r\n",
	"[a]\nk: v\r  c\rj: w\n",
	"[a]\n\tk\t=\tv\t\n",
	"[a]\nK:V\nUPPER=Lower:Mixed\n",
	"[a]\nk: v\n\u00a0\n  x\n",
	"[a]\nk: v\n\u3000cont\n",
	"[a]\nk: v\nbad\n  cont\nj: w\n",
	"[a]\nk: v\n\n\tcont after blank\n",
	"[é]\nclé: välue\n",
	"",
	"# only a comment\n",
	"[a]\nk: v",
	"[a]\nk: v\n [b]\n",
}

var shlexDifferentialCases = []string{
	"/etc/a $CFGDIR/b", `"x y" 'z w'`, `a"b c"d`, `a\ b`, `"a\"b\\c\d"`, `'a\b'`, "''", `""x`,
	`"open`, `trail\`, "a\tb\nc", `"\$x"`, `'it''s'`, `\"`,
}

var templateDifferentialCases = []string{
	"$GROUP", "${GROUP}", "$$GROUP", "$GROUPx", "$group", "${GROUP", "$", "$$", "${}", "$1", "$_x",
	"a$GROUP$SOURCE${CFGDIR}b", "$ GROUP", "${ GROUP}", "$CFGDIR/groups.d",
}

// TestINIMatchesPython compares the INI reader, shell splitting and $
// substitution with the Python that runs ClusterShell's nodeset.
func TestINIMatchesPython(t *testing.T) {
	py := clusterShellPython(t)
	dir := t.TempDir()
	var reqs [][2]string
	for i, text := range iniDifferentialCases {
		p := filepath.Join(dir, fmt.Sprintf("case%d.conf", i))
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		reqs = append(reqs, [2]string{"ini", p})
	}
	for _, s := range shlexDifferentialCases {
		reqs = append(reqs, [2]string{"shlex", s})
	}
	for _, s := range templateDifferentialCases {
		reqs = append(reqs, [2]string{"tmpl", s})
	}
	in, _ := json.Marshal(reqs)
	cmd := exec.Command(py, "-c", pyConfigScript)
	cmd.Stdin = strings.NewReader(string(in))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python3: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != len(reqs) {
		t.Fatalf("python printed %d results for %d requests", len(lines), len(reqs))
	}
	for i, req := range reqs {
		switch req[0] {
		case "ini":
			text := iniDifferentialCases[i]
			var want iniDump
			if err := json.Unmarshal([]byte(lines[i]), &want); err != nil {
				t.Fatal(err)
			}
			got, err := parseINIString(t, text)
			if want.Error {
				if err == nil {
					t.Errorf("INI %q: Python rejects it, we accept it as %v", text, got)
				}
				continue
			}
			if err != nil {
				t.Errorf("INI %q: Python accepts it as %s, we fail: %v", text, lines[i], err)
				continue
			}
			gotJSON, _ := json.Marshal(got)
			var gotNorm, wantNorm any
			_ = json.Unmarshal(gotJSON, &gotNorm)
			_ = json.Unmarshal([]byte(lines[i]), &wantNorm)
			if !reflect.DeepEqual(normalizeDump(gotNorm), normalizeDump(wantNorm)) {
				t.Errorf("INI %q:\n got %s\nwant %s", text, gotJSON, lines[i])
			}
		case "shlex":
			var want []string
			_ = json.Unmarshal([]byte(lines[i]), &want)
			got, err := shellSplit(req[1])
			if (want == nil) != (err != nil) || (want != nil && !reflect.DeepEqual(got, want) && !(len(got) == 0 && len(want) == 0)) {
				t.Errorf("shlex %q: got %q, %v; Python %s", req[1], got, err, lines[i])
			}
		case "tmpl":
			var want string
			_ = json.Unmarshal([]byte(lines[i]), &want)
			if got := safeSubstitute(req[1], map[string]string{"GROUP": "g", "CFGDIR": "/c", "SOURCE": "s"}); got != want {
				t.Errorf("template %q: got %q, Python %q", req[1], got, want)
			}
		}
	}
}

// normalizeDump makes nil and empty collections compare equal.
func normalizeDump(v any) any {
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	if m["sections"] == nil {
		m["sections"] = []any{}
	}
	if m["defaults"] == nil {
		m["defaults"] = map[string]any{}
	}
	delete(m, "error")
	return m
}

// TestINIRandomMatchesPython compares the INI reader with configparser on
// pseudo-random files built from the tokens that matter to its grammar.
func TestINIRandomMatchesPython(t *testing.T) {
	py := clusterShellPython(t)
	r := rand.New(rand.NewPCG(1, 2))
	toks := []string{"[a]", "[b]", "[DEFAULT]", "[a,b]", "[ x ]", "k", "K", "j", ":", "=", " ", "  ", "\t",
		"\n", "\n", "\n", "\r\n", "\r", "#", ";", "v", "%", "%(k)s", "[", "]", "\x1c", "\u00a0", "é", "$CFGDIR", "\"", "'", "\\"}
	dir := t.TempDir()
	var texts []string
	var reqs [][2]string
	for i := range 1500 {
		var b strings.Builder
		if r.IntN(2) == 0 {
			b.WriteString("[s]\n")
		}
		for range r.IntN(30) {
			b.WriteString(toks[r.IntN(len(toks))])
		}
		p := filepath.Join(dir, fmt.Sprintf("r%d.conf", i))
		if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		texts = append(texts, b.String())
		reqs = append(reqs, [2]string{"ini", p})
	}
	in, _ := json.Marshal(reqs)
	cmd := exec.Command(py, "-c", pyConfigScript)
	cmd.Stdin = strings.NewReader(string(in))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != len(texts) {
		t.Fatalf("python printed %d results for %d files", len(lines), len(texts))
	}
	accepted := 0
	for i, text := range texts {
		var want iniDump
		if err := json.Unmarshal([]byte(lines[i]), &want); err != nil {
			t.Fatal(err)
		}
		got, err := parseINIString(t, text)
		if want.Error || err != nil {
			if want.Error != (err != nil) {
				t.Errorf("INI %q: Python error %v, ours %v", text, want.Error, err)
			}
			continue
		}
		accepted++
		gotJSON, _ := json.Marshal(got)
		var g, w any
		_ = json.Unmarshal(gotJSON, &g)
		_ = json.Unmarshal([]byte(lines[i]), &w)
		if !reflect.DeepEqual(normalizeDump(g), normalizeDump(w)) {
			t.Errorf("INI %q:\n got %s\nwant %s", text, gotJSON, lines[i])
		}
	}
	if accepted < len(texts)/10 {
		t.Fatalf("only %d of %d random files were valid: the generator no longer exercises values", accepted, len(texts))
	}
}

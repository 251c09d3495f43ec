package nodeset

import (
	"errors"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestLoadGroupsConfigErrors(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  []string // substrings of the error message
	}{
		{"map required", map[string]string{"groups.conf": "[nomap]\nlist: echo a\n"},
			[]string{"groups.conf:1", "[nomap]", "no map upcall"}},
		{"bad cache_time", map[string]string{"groups.conf": "[s]\nmap: echo\ncache_time: soon\n"},
			[]string{"groups.conf:3", `cache_time "soon"`}},
		{"hex cache_time is not a Python float", map[string]string{"groups.conf": "[s]\nmap: echo\ncache_time: 0x10\n"},
			[]string{`cache_time "0x10"`}},
		{"duplicate source in one file", map[string]string{"groups.conf": "[a]\nmap: echo\n[b,a]\nmap: echo\n"},
			[]string{"groups.conf:3", `"a" is defined twice`}},
		{"duplicate source across confdir and groups.conf", map[string]string{
			"groups.conf":    "[Main]\nconfdir: $CFGDIR/d\n[a]\nmap: echo\n",
			"d/part.conf":    "[a]\nmap: echo\n",
			"d/ignored.txt":  "[a]\nmap: echo\n",
			"d/.hidden.conf": "[a]\nmap: echo\n"},
			[]string{`"a" is defined twice`}},
		{"duplicate source across YAML and groups.conf", map[string]string{
			"groups.conf": "[Main]\nautodir: $CFGDIR/y\n[a]\nmap: echo\n",
			"y/a.yaml":    "a: {g: n1}\n"},
			[]string{`"a" is defined twice`}},
		{"default not defined", map[string]string{"groups.conf": "[Main]\ndefault: nope\n[a]\nmap: echo\n"},
			[]string{"groups.conf:2", `default group source "nope" is not defined`, "sources: a"}},
		{"confdir is a file", map[string]string{"groups.conf": "[Main]\nconfdir: $CFGDIR/groups.conf\n"},
			[]string{"confdir", "is not a directory"}},
		{"autodir is a file", map[string]string{"groups.conf": "[Main]\nautodir: $CFGDIR/groups.conf\n"},
			[]string{"autodir", "is not a directory"}},
		{"unbalanced quote in confdir", map[string]string{"groups.conf": "[Main]\nconfdir: \"/x\n"},
			[]string{"[Main] confdir", "no closing"}},
		{"bad interpolation in Main", map[string]string{"groups.conf": "[Main]\nautodir: 100%\n"},
			[]string{"groups.conf:2", "must be followed"}},
		{"syntax error in a confdir part", map[string]string{
			"groups.conf": "[Main]\nconfdir: $CFGDIR/d\n",
			"d/p.conf":    "[p]\nmap echo\n"},
			[]string{"p.conf:2", `"map echo"`}},
		{"bad YAML file", map[string]string{
			"groups.conf": "[Main]\nautodir: $CFGDIR/y\n",
			"y/bad.yaml":  "a: [unclosed\n"},
			[]string{"bad.yaml", "invalid YAML"}},
		{"parse error in groups.conf", map[string]string{"groups.conf": "[Main]\ndefault local\n"},
			[]string{"groups.conf:2", `"default local"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeFiles(t, t.TempDir(), tt.files)
			_, err := LoadGroupsConfig(filepath.Join(dir, "groups.conf"))
			if !errors.Is(err, ErrGroupsConfig) {
				t.Fatalf("error = %v, want a *GroupsConfigError", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("message %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestLoadGroupsConfigMissingFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "nope.conf")
	_, err := LoadGroupsConfig(p)
	if !errors.Is(err, fs.ErrNotExist) || !errors.Is(err, ErrGroupsConfig) || !strings.Contains(err.Error(), p) {
		t.Fatalf("error = %v, want not-exist GroupsConfigError naming %s", err, p)
	}
}

func TestGroupsConfigMainKeys(t *testing.T) {
	gs, _ := mustLoad(t, map[string]string{
		"groups.conf": `[DEFAULT]
cache_time: 5
base: $CFGDIR/more
[Main]
# groupsdir (old name) wins over confdir; %(base)s is configparser interpolation
groupsdir: "%(base)s/with space" $CFGDIR/missing $CFGDIR/more/./with\ space
confdir: $CFGDIR/ignored
autodir: $CFGDIR/y $CFGDIR/y/
default:

[Main,fromgrouped]
map: echo grouped
`,
		"more/with space/b.conf": "[b]\nmap: echo b\n[Main]\nmap: echo main\n",
		"more/with space/a.conf": "[a]\nmap: test \"$CFGDIR\" = \"$(pwd)\" && ls\n",
		"ignored/x.conf":         "[x]\nmap: echo x\n",
		"y/1.yaml":               "ya: {g: n1}\n",
	})
	// Sections from groups.conf.d parts come first (files sorted), then YAML,
	// then groups.conf; [Main] sections are never sources; an empty default
	// means the first source.
	want := []string{"a", "b", "ya", "fromgrouped"}
	if got := gs.Sources(); !slices.Equal(got, want) {
		t.Fatalf("Sources = %q, want %q", got, want)
	}
	if gs.DefaultSource() != "a" {
		t.Fatalf("DefaultSource = %q, want a", gs.DefaultSource())
	}
	got, err := gs.Group("a", "g")
	wantItems(t, "a map runs in its confdir", got, err, "a.conf", "b.conf")
	src := gs.sources["fromgrouped"].(*upcallSource)
	if src.cacheTime != 5 {
		t.Fatalf("cache_time from [DEFAULT] = %v, want 5", src.cacheTime)
	}
}

func TestGroupsConfigNoMain(t *testing.T) {
	gs, _ := mustLoad(t, map[string]string{"groups.conf": "[z]\nmap: echo z\n[y]\nmap: echo y\n"})
	if gs.DefaultSource() != "z" || !slices.Equal(gs.Sources(), []string{"z", "y"}) {
		t.Fatalf("default %q sources %q, want z first as defined", gs.DefaultSource(), gs.Sources())
	}
}

func TestLoadDefaultGroupsSearch(t *testing.T) {
	root := t.TempDir()
	home := filepath.Join(root, "home")
	xdg := filepath.Join(root, "xdg")
	cfg := filepath.Join(root, "cfgdir")
	env := map[string]string{"HOME": home, "XDG_CONFIG_HOME": xdg, "CLUSTERSHELL_CFGDIR": cfg}
	getenv := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	paths := groupsConfigPaths(getenv)
	want := []string{
		"/etc/clustershell/groups.conf",
		home + "/.local/etc/clustershell/groups.conf",
		xdg + "/clustershell/groups.conf",
		cfg + "/groups.conf",
	}
	if !slices.Equal(paths, want) {
		t.Fatalf("paths = %q, want %q", paths, want)
	}
	delete(env, "XDG_CONFIG_HOME")
	delete(env, "CLUSTERSHELL_CFGDIR")
	if got := groupsConfigPaths(getenv); !slices.Equal(got, []string{want[0], want[1], home + "/.config/clustershell/groups.conf"}) {
		t.Fatalf("paths without XDG/CFGDIR = %q", got)
	}
	env["XDG_CONFIG_HOME"] = ""
	if got := groupsConfigPaths(getenv); got[2] != "clustershell/groups.conf" {
		t.Fatalf("empty XDG_CONFIG_HOME gives %q, want a relative path as in ClusterShell", got[2])
	}

	// Files merge: later keys win, $CFGDIR is the last file's directory.
	writeFiles(t, root, map[string]string{
		"home/.local/etc/clustershell/groups.conf": "[Main]\ndefault: one\nautodir: $CFGDIR/groups.d\n[one]\nmap: echo one-local\n[two]\nmap: echo two\n",
		"xdg/clustershell/groups.conf":             "[one]\nmap: echo one-xdg\n",
		"xdg/clustershell/groups.d/y.yaml":         "fromxdg: {g: n1}\n",
		"cfgdir/groups.d/y.yaml":                   "fromcfgdir: {g: n2}\n",
	})
	env = map[string]string{"HOME": home, "XDG_CONFIG_HOME": xdg, "CLUSTERSHELL_CFGDIR": cfg}
	paths = groupsConfigPaths(getenv)
	gs, err := loadGroupsFiles(paths[1:], false) // skip /etc: not ours to control
	if err != nil {
		t.Fatal(err)
	}
	if got := gs.Sources(); !slices.Equal(got, []string{"one", "fromxdg", "two"}) {
		t.Fatalf("Sources = %q", got)
	}
	got, err := gs.Group("", "g")
	wantItems(t, "merged default map", got, err, "one-xdg")
	if files := gs.ConfigFiles(); len(files) != 3 || files[0] != paths[1] || files[1] != paths[2] {
		t.Fatalf("ConfigFiles = %q", files)
	}

	// No file at all: empty sources, no error.
	empty, err := loadGroupsFiles([]string{filepath.Join(root, "none1"), filepath.Join(root, "none2")}, false)
	if err != nil || len(empty.Sources()) != 0 || empty.DefaultSource() != "" {
		t.Fatalf("no config: %v %q", err, empty.Sources())
	}
	if _, err := empty.Group("", "g"); !errors.Is(err, ErrNoGroupSource) {
		t.Fatalf("no config lookup error = %v", err)
	}
}

func TestLoadDefaultGroupsEnv(t *testing.T) {
	root := t.TempDir()
	t.Setenv("HOME", filepath.Join(root, "home"))
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(root, "xdg"))
	t.Setenv("CLUSTERSHELL_CFGDIR", filepath.Join(root, "cfg"))
	writeFiles(t, root, map[string]string{"cfg/groups.conf": "[Main]\ndefault: mine\n[mine]\nmap: echo $CFGDIR\n"})
	gs, err := LoadDefaultGroups()
	if err != nil {
		t.Fatal(err)
	}
	if gs.DefaultSource() != "mine" {
		t.Fatalf("DefaultSource = %q", gs.DefaultSource())
	}
	got, err := gs.Group("", "x")
	wantItems(t, "CLUSTERSHELL_CFGDIR source", got, err, filepath.Join(root, "cfg"))
	if p := GroupsConfigPaths(); p[len(p)-1] != filepath.Join(root, "cfg", "groups.conf") {
		t.Fatalf("GroupsConfigPaths = %q", p)
	}
}

func TestParsePyFloat(t *testing.T) {
	for in, want := range map[string]float64{"60": 60, " 1.5 ": 1.5, "1e3": 1000, "-2": -2, "1_000": 1000} {
		got, err := parsePyFloat(in)
		if err != nil || got != want {
			t.Errorf("parsePyFloat(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "x", "0x10", "1p3", "1 2"} {
		if _, err := parsePyFloat(in); err == nil {
			t.Errorf("parsePyFloat(%q) accepted", in)
		}
	}
}

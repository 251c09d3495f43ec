package nodeset

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// clusterShellPython returns the Python interpreter that runs ClusterShell's
// nodeset (from its #! line), so that its library can be imported.
func clusterShellPython(t *testing.T) string {
	t.Helper()
	nodeset := needTool(t, "nodeset")
	f, err := os.Open(nodeset)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	line, _ := bufio.NewReader(f).ReadString('\n')
	fields := strings.Fields(strings.TrimPrefix(line, "#!"))
	if len(fields) == 0 {
		t.Fatalf("%s has no #! line", nodeset)
	}
	if filepath.Base(fields[0]) == "env" && len(fields) > 1 {
		return fields[1]
	}
	return fields[0]
}

// pyResolverScript loads each groups.conf given on stdin (one JSON list)
// with ClusterShell's GroupResolverConfig (illegal characters as NodeSet
// sets them) and prints, per file, the sources, the default source and for
// each source its group list and the nodes of group "g".
const pyResolverScript = `
import json, sys
from ClusterShell.NodeUtils import GroupResolverConfig
from ClusterShell.NodeSet import ILLEGAL_GROUP_CHARS
for path in json.load(sys.stdin):
    r = GroupResolverConfig([path], ILLEGAL_GROUP_CHARS)
    try:
        srcs = r.sources()
        out = {"sources": srcs, "default": r.default_source_name or "", "groups": {}}
    except Exception as e:
        print(json.dumps({"error": type(e).__name__ + ": " + str(e)}))
        continue
    for s in srcs:
        res = {}
        try:
            res["list"] = r.grouplist(s)
        except Exception as e:
            res["list_error"] = True
        try:
            res["g"] = r.group_nodes("g", s)
        except Exception as e:
            res["g_error"] = True
        out["groups"][s] = res
    print(json.dumps(out))
`

type pyResolverResult struct {
	Error   string                    `json:"error,omitempty"`
	Sources []string                  `json:"sources"`
	Default string                    `json:"default"`
	Groups  map[string]map[string]any `json:"groups"`
}

// loadCompatCases are group configurations whose loading is compared with
// ClusterShell's: source names and order, default, lists and one lookup.
var loadCompatCases = []map[string]string{
	{"groups.conf": "[a, b]\nmap: echo $SOURCE\nlist: echo g h\n"},
	{"groups.conf": "[DEFAULT]\nmap: echo d-$SOURCE-$GROUP\n[x]\nlist: echo g\n[y]\n[Main]\ndefault: y\n"},
	{"groups.conf": "[Main]\ndefault:\n[Main,foo]\nmap: echo foo\n[bar]\nmap: echo bar\n"},
	{"groups.conf": "[z]\nmap: echo z\n[y]\nmap: echo y\nlist: echo 'a@b'\n"},
	{"groups.conf": "[Main]\ngroupsdir: $CFGDIR/p1\nconfdir: $CFGDIR/p2\n", "p1/a.conf": "[p1]\nmap: echo p1\n", "p2/a.conf": "[p2]\nmap: echo p2\n"},
	{"groups.conf": "[Main]\nconfdir: \"$CFGDIR/sp ace\" $CFGDIR/none\n[c]\nmap: echo c\n",
		"sp ace/b.conf": "[DEFAULT]\nmap: echo part-$SOURCE\n[b2]\n[b1]\nlist: echo g\n", "sp ace/a.conf": "[Main]\nmap: x\n[a]\nmap: echo a\n"},
	{"groups.conf": "[s]\nlist: echo g\n"},
	{"groups.conf": "[s]\nmap: echo\n[s,t]\nmap: echo\n"},
	{"groups.conf": "[Main]\nautodir: $CFGDIR/y\n", "y/1.yaml": "a: {g: n1}\n", "y/2.yaml": "a: {g: n2}\n"},
	{"groups.conf": "[Main]\nautodir: $CFGDIR/y\n", "y/1.yaml": "- a\n"},
	{"groups.conf": "[Main]\nautodir: $CFGDIR/y\ndefault: ys\n[up]\nmap: echo up\n", "y/1.yaml": "ys: {g: [n1, n2], h: x}\nzz: {all: n9, g: '@ys:g'}\n"},
	{"groups.conf": "[DEFAULT]\nsub: y\n[Main]\nautodir: $CFGDIR/%(sub)s\n", "y/1.yaml": "yy: {g: n1}\n"},
	{"groups.conf": "[Main]\nautodir: 100%\n"},
	{"groups.conf": "[Main]\n"},
	{"groups.conf": ""},
	{"groups.conf": "[Main]\ndefault: missing\n"},
	{"groups.conf": "[s]\nmap: echo\ncache_time: 1e3\n[t]\nmap: echo\ncache_time: x\n"},
	{"groups.conf": "[Main]\nautodir: $CFGDIR/y $CFGDIR/y/ $CFGDIR/./y\n", "y/1.yaml": "a: {g: n1}\n"},
	{"groups.conf": "[Main]\nautodir: $CFGDIR/f\n", "f": "not a dir"},
	{"groups.conf": "[Main]\nautodir: $CFGDIR/y\n", "y/1.yaml": "a: {'b c': n1, 'd!e': n2}\n"},
	{"groups.conf": "[s]\nmap: echo $GROUP\nlist: printf 'rack[1-3]\\nr0 rack2'\n"},
	yamlCase("a: &x {g: n1}\nb: *x\n"),
	yamlCase("a:\n  g: |\n    n1\n    n2 n3\n  h: >\n    x1\n    x2\n"),
	yamlCase("a: {}\n"),
	yamlCase("'1': {g: n1}\n"),
	yamlCase("a:\n  g: n1\na:\n  h: n2\n"),
	yamlCase("a: {g: n1, g: n2}\n"),
	yamlCase("a:\n  <<: [{g: n1}, {g: n2, h: n3}]\n  i: n4\n"),
	yamlCase("a:\n  <<: {g: n1, z: n9}\n  g: n2\n"),
	yamlCase("a:\n  g: [n1, 'n2 n3', \"n4,n5\"]\n"),
	yamlCase("a:\n  g: \"  n1   n2  \"\n"),
	yamlCase("# comment\na: # c\n  g: n1 # c\n"),
	yamlCase("a: !!map {g: n1}\n"),
	yamlCase("a:\n  ? g\n  : n1\n"),
	yamlCase("{a: {g: n1}, b: {g: n2}}\n"),
	yamlCase("a: [g]\n"),
	yamlCase("a:\n  null: n1\n"),
	yamlCase("a:\n  1.5: n1\n"),
	yamlCase("a:\n  g: n1\n...\n"),
	yamlCase("%YAML 1.1\n---\na: {g: n1}\n"),
}

// yamlCase is a configuration whose only source file is the YAML text y.
func yamlCase(y string) map[string]string {
	return map[string]string{"groups.conf": "[Main]\nautodir: $CFGDIR/y\n", "y/y.yaml": y}
}

func TestGroupsLoadMatchesClusterShell(t *testing.T) {
	py := clusterShellPython(t)
	root := t.TempDir()
	var paths []string
	for i, files := range loadCompatCases {
		dir := writeFiles(t, filepath.Join(root, strconv.Itoa(i)), files)
		paths = append(paths, filepath.Join(dir, "groups.conf"))
	}
	in, _ := json.Marshal(paths)
	cmd := exec.Command(py, "-c", pyResolverScript)
	cmd.Stdin = strings.NewReader(string(in))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v", py, err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != len(paths) {
		t.Fatalf("python printed %d results for %d configurations", len(lines), len(paths))
	}
	for i, p := range paths {
		var want pyResolverResult
		if err := json.Unmarshal([]byte(lines[i]), &want); err != nil {
			t.Fatal(err)
		}
		gs, err := LoadGroupsConfig(p)
		if want.Error != "" {
			if err == nil {
				t.Errorf("case %d %q: ClusterShell fails (%s), muster loads sources %q", i, loadCompatCases[i], want.Error, gs.Sources())
			}
			continue
		}
		if err != nil {
			t.Errorf("case %d %q: ClusterShell loads %s, muster fails: %v", i, loadCompatCases[i], lines[i], err)
			continue
		}
		got := pyResolverResult{Sources: gs.Sources(), Default: gs.DefaultSource(), Groups: map[string]map[string]any{}}
		for _, s := range got.Sources {
			res := map[string]any{}
			if names, err := gs.List(s); err != nil {
				res["list_error"] = true
			} else {
				res["list"] = names
			}
			if items, err := gs.Group(s, "g"); err != nil {
				res["g_error"] = true
			} else {
				res["g"] = items
			}
			got.Groups[s] = res
		}
		// Compare through JSON so that nil and empty lists agree.
		gotJSON, _ := json.Marshal(got)
		var gotNorm, wantNorm any
		_ = json.Unmarshal(gotJSON, &gotNorm)
		_ = json.Unmarshal([]byte(lines[i]), &wantNorm)
		if !reflect.DeepEqual(normalizeEmpty(gotNorm), normalizeEmpty(wantNorm)) {
			t.Errorf("case %d %q:\nClusterShell %s\n      muster %s", i, loadCompatCases[i], lines[i], gotJSON)
		}
	}
}

// normalizeEmpty replaces empty lists and nulls by nil, recursively.
func normalizeEmpty(v any) any {
	switch x := v.(type) {
	case []any:
		if len(x) == 0 {
			return nil
		}
		for i := range x {
			x[i] = normalizeEmpty(x[i])
		}
	case map[string]any:
		for k := range x {
			x[k] = normalizeEmpty(x[k])
		}
	}
	return v
}

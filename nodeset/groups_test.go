package nodeset

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// writeFiles creates files (path relative to dir -> content) and returns dir.
func writeFiles(t *testing.T, dir string, files map[string]string) string {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func mustLoad(t *testing.T, files map[string]string) (*GroupSources, string) {
	t.Helper()
	dir := writeFiles(t, t.TempDir(), files)
	gs, err := LoadGroupsConfig(filepath.Join(dir, "groups.conf"))
	if err != nil {
		t.Fatalf("LoadGroupsConfig: %v", err)
	}
	return gs, dir
}

func wantItems(t *testing.T, what string, got []string, err error, want ...string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: unexpected error: %v", what, err)
	}
	if !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
		t.Fatalf("%s = %q, want %q", what, got, want)
	}
}

func TestStaticGroups(t *testing.T) {
	gs := NewStaticGroups("", map[string]map[string][]string{
		"rack": {"r1": {"n[1-4]"}, "r2": {"n[5-8]", "x1 x2"}},
		"os":   {"all": {"n[1-8]"}, "el9": {"n[1-4]"}},
	})
	if gs.DefaultSource() != "os" {
		t.Fatalf("DefaultSource = %q, want os (first sorted)", gs.DefaultSource())
	}
	if got := gs.Sources(); !slices.Equal(got, []string{"os", "rack"}) {
		t.Fatalf("Sources = %q", got)
	}
	got, err := gs.Group("rack", "r2")
	wantItems(t, "Group(rack, r2)", got, err, "n[5-8],x1", "x2")
	got, err = gs.Group("", "el9")
	wantItems(t, "Group(default, el9)", got, err, "n[1-4]")
	got, err = gs.Group("rack", "nosuch")
	wantItems(t, "Group(rack, nosuch)", got, err)
	got, err = gs.All("os")
	wantItems(t, "All(os)", got, err, "n[1-8]")
	got, err = gs.All("rack")
	wantItems(t, "All(rack) fallback", got, err, "n[1-4]", "n[5-8],x1", "x2")
	got, err = gs.List("rack")
	wantItems(t, "List(rack)", got, err, "r1", "r2")
	if gs.HasReverse("rack") {
		t.Fatal("static source claims a reverse upcall")
	}
	if _, err := gs.Reverse("rack", "n1"); !errors.Is(err, ErrNoReverse) {
		t.Fatalf("Reverse error = %v, want ErrNoReverse", err)
	}
	if _, err := gs.Group("nosuch", "g"); !errors.Is(err, ErrNoGroupSource) || !strings.Contains(err.Error(), `"nosuch"`) {
		t.Fatalf("unknown source error = %v, want ErrNoGroupSource naming it", err)
	}

	explicit := NewStaticGroups("rack", map[string]map[string][]string{"rack": {}, "os": {}})
	if explicit.DefaultSource() != "rack" || !slices.Equal(explicit.Sources(), []string{"rack", "os"}) {
		t.Fatalf("explicit default: %q %q", explicit.DefaultSource(), explicit.Sources())
	}
	// The maps are copied.
	src := map[string]map[string][]string{"s": {"g": {"n1"}}}
	copied := NewStaticGroups("", src)
	src["s"]["g"][0] = "changed"
	src["s"]["h"] = []string{"n2"}
	got, err = copied.Group("s", "g")
	wantItems(t, "copied group", got, err, "n1")
	got, err = copied.List("s")
	wantItems(t, "copied list", got, err, "g")

	empty := NewStaticGroups("", nil)
	if _, err := empty.Group("", "g"); !errors.Is(err, ErrNoGroupSource) || !strings.Contains(err.Error(), "no default group source") {
		t.Fatalf("empty resolver error = %v, want ErrNoGroupSource", err)
	}
	if len(empty.Sources()) != 0 || empty.DefaultSource() != "" {
		t.Fatalf("empty resolver has sources %q default %q", empty.Sources(), empty.DefaultSource())
	}
}

func TestAllFallbackOrder(t *testing.T) {
	// Groups are taken in sorted order with ranges in names expanded, and
	// their items concatenated: an operator in one group's content applies
	// to everything before it, as in ClusterShell.
	gs := NewStaticGroups("s", map[string]map[string][]string{"s": {
		"rack[2-3]": {"unused"}, "rack1": {"n1"}, "rack2": {"n[2-3]"}, "rack3": {"n[4-6]!n2"},
	}})
	got, err := gs.All("s")
	wantItems(t, "All(s)", got, err, "n1", "n[2-3]", "n[4-6]!n2")
	ns, err := Parse(strings.Join(got, ","))
	if err != nil || ns.String() != "n[1,3-6]" {
		t.Fatalf("parsed All = %v, %v; want n[1,3-6]", ns, err)
	}
}

func TestStaticGroupsIllegalName(t *testing.T) {
	gs := NewStaticGroups("s", map[string]map[string][]string{"s": {"a@b": {"n1"}}})
	_, err := gs.List("s")
	if !errors.Is(err, ErrIllegalGroupChar) || !strings.Contains(err.Error(), `"a@b"`) {
		t.Fatalf("List error = %v, want ErrIllegalGroupChar naming a@b", err)
	}
}

func TestLoadGroupsConfigBasic(t *testing.T) {
	gs, dir := mustLoad(t, map[string]string{
		"groups.conf": `[Main]
default: second
autodir: $CFGDIR/groups.d
confdir: $CFGDIR/groups.conf.d

[first]
map: echo first-$GROUP
list: echo a b

[second,third]
map: echo $SOURCE-$GROUP
all: printf 'x1\nx2  x3\n'
reverse: echo g-$NODE
`,
		"groups.conf.d/part.conf": "[part]\nmap: echo $CFGDIR\n",
		"groups.d/y.yaml":         "ysrc:\n  g: n[1-2]\n",
	})
	if got := gs.Sources(); !slices.Equal(got, []string{"second", "part", "ysrc", "first", "third"}) {
		t.Fatalf("Sources = %q", got)
	}
	got, err := gs.Group("", "grp")
	wantItems(t, "default map", got, err, "second-grp")
	got, err = gs.Group("third", "grp")
	wantItems(t, "third map", got, err, "third-grp")
	got, err = gs.All("third")
	wantItems(t, "third all", got, err, "x1", "x2", "x3")
	got, err = gs.Reverse("second", "n5")
	wantItems(t, "second reverse", got, err, "g-n5")
	got, err = gs.Group("part", "x")
	wantItems(t, "part map ($CFGDIR is the confdir)", got, err, filepath.Join(dir, "groups.conf.d"))
	got, err = gs.All("first")
	wantItems(t, "first all via list", got, err, "first-a", "first-b")
	got, err = gs.Group("ysrc", "g")
	wantItems(t, "yaml group", got, err, "n[1-2]")
	if !gs.HasReverse("second") || gs.HasReverse("first") || gs.HasReverse("ysrc") || gs.HasReverse("nosuch") {
		t.Fatal("HasReverse wrong")
	}
	files := gs.ConfigFiles()
	if len(files) != 3 {
		t.Fatalf("ConfigFiles = %q, want groups.conf, the part and the YAML file", files)
	}
}

func TestLazyGroups(t *testing.T) {
	calls := 0
	lazy := NewLazyGroups(func() (*GroupSources, error) {
		calls++
		return NewStaticGroups("s", map[string]map[string][]string{"s": {"g": {"n1"}}}), nil
	})
	if calls != 0 {
		t.Fatal("loaded before first use")
	}
	got, err := lazy.Group("", "g")
	wantItems(t, "lazy Group", got, err, "n1")
	if lazy.DefaultSource() != "s" || !slices.Equal(lazy.Sources(), []string{"s"}) || lazy.HasReverse("s") {
		t.Fatal("lazy metadata wrong")
	}
	got, err = lazy.All("s")
	wantItems(t, "lazy All", got, err, "n1")
	got, err = lazy.List("s")
	wantItems(t, "lazy List", got, err, "g")
	if _, err := lazy.Reverse("s", "n1"); !errors.Is(err, ErrNoReverse) {
		t.Fatalf("lazy Reverse error = %v", err)
	}
	if calls != 1 {
		t.Fatalf("load called %d times, want 1", calls)
	}

	// A configuration error surfaces on every group operation, and only there.
	dir := writeFiles(t, t.TempDir(), map[string]string{"groups.conf": "[Main]\ndefault: nope\n"})
	broken := NewLazyGroups(func() (*GroupSources, error) { return LoadGroupsConfig(filepath.Join(dir, "groups.conf")) })
	ns, err := Parse("n[1-2]", WithResolver(broken))
	if err != nil || ns.String() != "n[1-2]" {
		t.Fatalf("group-less parse with a broken config: %v, %v", ns, err)
	}
	if calls := broken.Sources(); calls != nil {
		t.Fatalf("Sources of a broken config = %q", calls)
	}
	for _, f := range []func() error{
		func() error { _, err := broken.Group("", "g"); return err },
		func() error { _, err := broken.All(""); return err },
		func() error { _, err := broken.List(""); return err },
		func() error { _, err := broken.Reverse("", "n"); return err },
		func() error { _, err := Parse("@g", WithResolver(broken)); return err },
	} {
		if err := f(); !errors.Is(err, ErrGroupsConfig) || !strings.Contains(err.Error(), `"nope"`) {
			t.Errorf("error = %v, want the configuration error", err)
		}
	}
	if broken.DefaultSource() != "" || broken.HasReverse("") {
		t.Fatal("broken config reports a default source or reverse")
	}
}

func TestWithDefaultSource(t *testing.T) {
	gs, _ := mustLoad(t, map[string]string{
		"groups.conf": "[Main]\ndefault: c\nconfdir: $CFGDIR/d\nautodir: $CFGDIR/y\n[b]\nmap: echo b\n[c]\nmap: echo c-$GROUP\n",
		"d/a.conf":    "[a]\nmap: echo a\n",
		"y/y.yaml":    "y: {g: n1}\n",
	})
	if got := gs.DefinedSources(); !slices.Equal(got, []string{"a", "y", "b", "c"}) {
		t.Fatalf("DefinedSources = %q", got)
	}
	if got := gs.Sources(); !slices.Equal(got, []string{"c", "a", "y", "b"}) {
		t.Fatalf("Sources = %q", got)
	}
	sel, err := gs.WithDefaultSource("y")
	if err != nil {
		t.Fatal(err)
	}
	// As ClusterShell after -s y: y first, the rest in definition order.
	if got := sel.Sources(); !slices.Equal(got, []string{"y", "a", "b", "c"}) {
		t.Fatalf("Sources after WithDefaultSource(y) = %q", got)
	}
	got, err := sel.Group("", "g")
	wantItems(t, "default group after selection", got, err, "n1")
	if gs.DefaultSource() != "c" {
		t.Fatal("WithDefaultSource changed the original")
	}
	if _, err := gs.WithDefaultSource("nope"); !errors.Is(err, ErrNoGroupSource) || !strings.Contains(err.Error(), `"nope"`) {
		t.Fatalf("unknown source error = %v", err)
	}
}

package nodeset

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

const yamlGroupsExample = `base: &b
  g1: n1
  g2: [n2, "n3 n4", n5]
merged:
  <<: *b
  g1: override
  all: ~
multi:
  "rack[1-2]": r1
  "a b": x
  all: "n[1-3]
    n9"
  number: 42
  empty: ""
  nullgroup:
  nested: {x: y}
  listoflists: [[n1]]
`

func TestYAMLGroups(t *testing.T) {
	gs, _ := mustLoad(t, map[string]string{
		"groups.conf":     "[Main]\nautodir: $CFGDIR/groups.d\n",
		"groups.d/a.yaml": yamlGroupsExample,
	})
	if got := gs.Sources(); !slices.Equal(got, []string{"base", "merged", "multi"}) {
		t.Fatalf("Sources = %q (want file order)", got)
	}
	// Expectations below were checked against ClusterShell 1.9.1.
	got, err := gs.List("base")
	wantItems(t, "List(base)", got, err, "g1", "g2")
	got, err = gs.Group("base", "g2")
	wantItems(t, "list value", got, err, "n2,n3", "n4,n5")
	got, err = gs.List("merged")
	wantItems(t, "List(merged) with << merge", got, err, "g1", "g2", "all")
	got, err = gs.Group("merged", "g1")
	wantItems(t, "explicit key overrides merged", got, err, "override")
	got, err = gs.Group("merged", "g2")
	wantItems(t, "merged key", got, err, "n2,n3", "n4,n5")
	// No "all" group (or a null one): fall back to every listed group.
	got, err = gs.All("base")
	wantItems(t, "All(base)", got, err, "n1", "n2,n3", "n4,n5")
	// A null "all" group means no "all" group; the fallback then meets it
	// as a group and fails (ClusterShell crashes there).
	if _, err := gs.All("merged"); !errors.Is(err, ErrGroupsConfig) || !strings.Contains(err.Error(), `group "all" of source "merged" is null`) {
		t.Fatalf("All(merged) error = %v", err)
	}
	got, err = gs.All("multi")
	wantItems(t, "All(multi)", got, err, "n[1-3]", "n9")
	got, err = gs.List("multi")
	wantItems(t, "List(multi)", got, err, "rack[1-2]", "a", "b", "all", "number", "empty", "nullgroup", "nested", "listoflists")
	got, err = gs.Group("multi", "number")
	wantItems(t, "number scalar", got, err, "42")
	got, err = gs.Group("multi", "empty")
	wantItems(t, "empty string", got, err)
	got, err = gs.Group("multi", "unknown")
	wantItems(t, "unknown group", got, err)
	for _, g := range []string{"nullgroup", "nested", "listoflists"} {
		_, err := gs.Group("multi", g)
		if !errors.Is(err, ErrGroupsConfig) || !strings.Contains(err.Error(), "a.yaml:") || !strings.Contains(err.Error(), `"`+g+`"`) {
			t.Errorf("Group(multi, %s) error = %v, want one naming the file, line and group", g, err)
		}
	}
	if gs.HasReverse("base") {
		t.Fatal("YAML source claims a reverse upcall")
	}
	if _, err := gs.Reverse("base", "n1"); !errors.Is(err, ErrNoReverse) {
		t.Fatalf("Reverse error = %v", err)
	}
}

func TestYAMLErrors(t *testing.T) {
	tests := map[string]struct{ text, want string }{
		"empty":              {"", "file is empty"},
		"only a comment":     {"# nothing\n", "file is empty"},
		"not a mapping":      {"- a\n- b\n", "top level is not a mapping"},
		"scalar":             {"hello\n", "top level is not a mapping"},
		"numeric source":     {"1:\n  g: n1\n", "group source 1 is not a string (add quotes?)"},
		"source not mapping": {"src: n[1-2]\n", `group source "src" is not a mapping`},
		"null source":        {"src:\n", `group source "src" is not a mapping`},
		"numeric group":      {"src:\n  2: n1\n", `group source "src": group name 2 is not a string`},
		"syntax":             {"src: {a: [\n", "invalid YAML"},
		"two documents":      {"a: {}\n---\nb: {}\n", "more than one YAML document"},
		"bad merge":          {"src:\n  <<: 3\n", "merge key"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			_, _, err := parseYAMLGroups("f.yaml", []byte(tt.text))
			if !errors.Is(err, ErrGroupsConfig) || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "f.yaml") {
				t.Fatalf("error = %v, want a GroupsConfigError naming f.yaml containing %q", err, tt.want)
			}
		})
	}
	_, _, err := parseYAMLGroups("f.yaml", []byte("ok:\n  g: n1\nbad:\n  - x\n"))
	var ce *GroupsConfigError
	if !errors.As(err, &ce) || ce.Line != 4 {
		t.Fatalf("error %v: want line 4", err)
	}
}

func TestYAMLIllegalGroupName(t *testing.T) {
	gs, _ := mustLoad(t, map[string]string{
		"groups.conf": "[Main]\nautodir: $CFGDIR\n",
		"x.yaml":      "s:\n  ok: n1\n  'b!d': n2\n",
	})
	if _, err := gs.List("s"); !errors.Is(err, ErrIllegalGroupChar) || !strings.Contains(err.Error(), `"b!d"`) {
		t.Fatalf("List error = %v", err)
	}
	// The group itself can still be resolved, as in ClusterShell.
	got, err := gs.Group("s", "b!d")
	wantItems(t, "group with illegal name", got, err, "n2")
}

func TestYAMLReload(t *testing.T) {
	dir := writeFiles(t, t.TempDir(), map[string]string{
		"groups.conf": "[Main]\nautodir: $CFGDIR\n",
		"g.yaml":      "s:\n  g: n1\ngone:\n  g: n9\n",
	})
	gs, err := LoadGroupsConfig(filepath.Join(dir, "groups.conf"))
	if err != nil {
		t.Fatal(err)
	}
	clock := withFakeClock(gs)
	writeFiles(t, dir, map[string]string{"g.yaml": "s:\n  g: n2\n  h: n3\nnew:\n  g: x\n"})
	got, err := gs.Group("s", "g")
	wantItems(t, "before cache time", got, err, "n1")

	clock.advance(DefaultGroupsCacheTime + time.Second)
	got, err = gs.Group("s", "g")
	wantItems(t, "after cache time", got, err, "n2")
	got, err = gs.List("s")
	wantItems(t, "groups after reload", got, err, "g", "h")
	// A source added to the file is not picked up, one removed keeps its
	// last groups: ClusterShell's reload does the same.
	if _, err := gs.Group("new", "g"); !errors.Is(err, ErrNoGroupSource) {
		t.Fatalf("new source error = %v", err)
	}
	got, err = gs.Group("gone", "g")
	wantItems(t, "removed source", got, err, "n9")

	// A broken file on reload is reported on lookup, and retried.
	writeFiles(t, dir, map[string]string{"g.yaml": "s: [\n"})
	clock.advance(DefaultGroupsCacheTime + time.Second)
	if _, err := gs.Group("s", "g"); !errors.Is(err, ErrGroupsConfig) || !strings.Contains(err.Error(), "g.yaml") {
		t.Fatalf("reload error = %v", err)
	}
	writeFiles(t, dir, map[string]string{"g.yaml": "s:\n  g: fixed\n"})
	got, err = gs.Group("s", "g")
	wantItems(t, "after fixing file", got, err, "fixed")

	// ClearCache forces a re-read.
	writeFiles(t, dir, map[string]string{"g.yaml": "s:\n  g: cleared\n"})
	gs.ClearCache()
	got, err = gs.Group("s", "g")
	wantItems(t, "after ClearCache", got, err, "cleared")
}

func TestYAMLFilesOrderAndFilter(t *testing.T) {
	gs, _ := mustLoad(t, map[string]string{
		"groups.conf":      "[Main]\nautodir: $CFGDIR/d\n[conf]\nmap: echo\n",
		"d/b.yaml":         "second: {g: n}\n",
		"d/a.yaml":         "first: {g: n}\n",
		"d/.hidden.yaml":   "hidden: {g: n}\n",
		"d/c.yaml.example": "example: {g: n}\n",
		"d/d.yml":          "yml: {g: n}\n",
	})
	if got := gs.Sources(); !slices.Equal(got, []string{"first", "second", "conf"}) {
		t.Fatalf("Sources = %q, want sorted *.yaml (no hidden, no other suffix) then groups.conf", got)
	}
}

package nodeset

import (
	"errors"
	"fmt"
	"sort"
	"testing"
)

// mapResolver is a Resolver over fixed group definitions.
type mapResolver struct {
	def     string
	list    map[string][]string            // source -> List answer when not the group keys
	groups  map[string]map[string][]string // source -> group -> items
	reverse bool                           // answer Reverse
	calls   int                            // Reverse calls
}

var errNoGroup = errors.New("no such group")

func (m *mapResolver) src(s string) (map[string][]string, error) {
	if s == "" {
		s = m.def
	}
	g, ok := m.groups[s]
	if !ok {
		return nil, fmt.Errorf("source %q: %w", s, ErrNoGroupSource)
	}
	return g, nil
}
func (m *mapResolver) DefaultSource() string { return m.def }
func (m *mapResolver) Sources() []string {
	out := []string{m.def}
	for s := range m.groups {
		if s != m.def {
			out = append(out, s)
		}
	}
	sort.Strings(out[1:])
	return out
}
func (m *mapResolver) Group(source, group string) ([]string, error) {
	g, err := m.src(source)
	if err != nil {
		return nil, err
	}
	items, ok := g[group]
	if !ok {
		return nil, fmt.Errorf("%s: %w", group, errNoGroup)
	}
	return items, nil
}
func (m *mapResolver) All(source string) ([]string, error) {
	g, err := m.src(source)
	if err != nil {
		return nil, err
	}
	var out []string
	names := make([]string, 0, len(g))
	for n := range g {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		out = append(out, g[n]...)
	}
	return out, nil
}
func (m *mapResolver) List(source string) ([]string, error) {
	g, err := m.src(source)
	if err != nil {
		return nil, err
	}
	if l, ok := m.list[source]; ok {
		return l, nil
	}
	var out []string
	for n := range g {
		out = append(out, n)
	}
	sort.Strings(out)
	return out, nil
}
func (m *mapResolver) Reverse(source, node string) ([]string, error) {
	if !m.reverse {
		return nil, ErrNoReverse
	}
	m.calls++
	g, err := m.src(source)
	if err != nil {
		return nil, err
	}
	var out []string
	for gn, items := range g {
		set, err := Parse(joinItems(items), WithResolver(m), WithDefaultSource(source))
		if err != nil {
			return nil, err
		}
		if set.Contains(node) {
			out = append(out, gn)
		}
	}
	return out, nil
}
func (m *mapResolver) HasReverse(string) bool { return m.reverse }

func joinItems(items []string) string {
	s := ""
	for i, x := range items {
		if i > 0 {
			s += ","
		}
		s += x
	}
	return s
}

func testResolver() *mapResolver {
	return &mapResolver{def: "local", groups: map[string]map[string][]string{
		"local": {
			"compute": {"node[1-8]"},
			"gpu":     {"node[7-8]", "gpu1"},
			"login":   {"login[1-2]"},
		},
		"rack": {
			"r1":    {"node[1-4]"},
			"r2":    {"node[5-8]"},
			"racks": {"@r1,@r2"}, // resolved in source "rack"
		},
		"idx": {
			"rack1": {"n1"},
			"rack2": {"n2"},
			"rack3": {"n3"},
		},
	}, list: map[string][]string{"idx": {"rack[1-2]", "rack3"}}}
}

func TestGroupsThroughResolver(t *testing.T) {
	r := testResolver()
	tests := []struct{ in, want string }{
		{"@compute", "node[1-8]"},
		{"@rack:r1", "node[1-4]"},
		{"@rack:racks", "node[1-8]"},
		{"@compute!@gpu", "node[1-6]"},
		{"@gpu&@compute,login1", "login1,node[7-8]"},
		{"@*", "gpu1,login[1-2],node[1-8]"},
		{"@rack:*", "node[1-8]"},
		{"node*", "node[1-8]"},
		{"node?,gpu*", "gpu1,node[1-8]"},
		{"*[1-2]", "gpu1,login[1-2],node[1-2]"},
		{"@@rack", "r[1-2],racks"},
		{"@idx:rack[2-3]", "n[2-3]"},
		{"@idx:rack1,@idx:rack3", "n[1,3]"},
	}
	for _, tt := range tests {
		ns, err := Parse(tt.in, WithResolver(r))
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if ns.String() != tt.want {
			t.Errorf("Parse(%q) = %q, want %q", tt.in, ns, tt.want)
		}
	}
	// default source
	ns, err := Parse("@r2", WithResolver(r), WithDefaultSource("rack"))
	if err != nil || ns.String() != "node[5-8]" {
		t.Errorf("@r2 in source rack: %s %v", ns, err)
	}
	// default resolver
	SetDefaultResolver(r)
	defer SetDefaultResolver(nil)
	if DefaultResolver() != r {
		t.Fatal("DefaultResolver")
	}
	if got := MustParse("@login").String(); got != "login[1-2]" {
		t.Errorf("@login with the default resolver = %q", got)
	}
	// errors name the group and wrap the resolver's error
	_, err = Parse("n1,@nope", WithResolver(r))
	var pe *ParseError
	if !errors.As(err, &pe) || !errors.Is(err, errNoGroup) || pe.Pos != 3 || pe.Text != "@nope" {
		t.Errorf("unknown group: %v", err)
	}
	_, err = Parse("@bad:x", WithResolver(r))
	if !errors.Is(err, ErrNoGroupSource) {
		t.Errorf("unknown source: %v", err)
	}
	// a group that contains itself is an error, not a hang
	loop := &mapResolver{def: "s", groups: map[string]map[string][]string{"s": {"a": {"@a"}}}}
	if _, err := Parse("@a", WithResolver(loop)); err == nil {
		t.Error("self-referencing group accepted")
	}
}

func TestRegroup(t *testing.T) {
	r := testResolver()
	tests := []struct {
		in, source string
		noprefix   bool
		want       string
	}{
		{"node[1-8],login1", "", false, "@compute,login1"},
		{"node[1-8],login[1-2],gpu1", "", false, "@compute,@login,gpu1"},
		{"node[1-8],login1", "rack", false, "@rack:racks,login1"},
		{"node[1-8],login1", "rack", true, "@racks,login1"},
		{"node[1-4]", "rack", false, "@rack:r1"},
		{"node[1-5]", "rack", false, "@rack:r1,node5"},
		{"n[1-3]", "idx", false, "@idx:rack[1-3]"},
		{"x1", "", false, "x1"},
	}
	for _, rev := range []bool{false, true} {
		r.reverse = rev
		for _, tt := range tests {
			got, err := MustParse(tt.in).Regroup(r, tt.source, tt.noprefix)
			if err != nil {
				t.Errorf("Regroup(%q, %q): %v", tt.in, tt.source, err)
				continue
			}
			if got != tt.want {
				t.Errorf("reverse=%v Regroup(%q, %q, %v) = %q, want %q", rev, tt.in, tt.source, tt.noprefix, got, tt.want)
			}
		}
	}
	// more nodes than listed groups: ClusterShell maps the groups instead
	// of asking the reverse lookup per node
	r.reverse, r.calls = true, 0
	if got, _ := MustParse("node[1-8]").Regroup(r, "", false); got != "@compute" || r.calls != 0 {
		t.Errorf("Regroup with many nodes = %q after %d reverse calls", got, r.calls)
	}
	if _, err := MustParse("n1").Regroup(nil, "", false); !errors.Is(err, ErrNoResolver) {
		t.Errorf("Regroup(nil) = %v", err)
	}
	if _, err := MustParse("n1").Regroup(r, "bad", false); !errors.Is(err, ErrNoGroupSource) {
		t.Errorf("Regroup(bad source) = %v", err)
	}
}

// TestWildcardAllNodesResolvesGroups checks that the "all nodes" list a
// wildcard is matched against may itself use groups (ClusterShell resolves
// them, without wildcards).
func TestWildcardAllNodesResolvesGroups(t *testing.T) {
	r := &mapResolver{def: "s", groups: map[string]map[string][]string{"s": {
		"a": {"@b", "web[1-2]"},
		"b": {"db[1-3]"},
	}}}
	ns, err := Parse("db*!db2", WithResolver(r))
	if err != nil || ns.String() != "db[1,3]" {
		t.Errorf("db*!db2 = %s, %v", ns, err)
	}
}

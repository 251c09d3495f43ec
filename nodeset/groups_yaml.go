package nodeset

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"
)

// A YAML group file (an autodir's *.yaml) maps source names to mappings of
// group name to node set string or list of node set strings:
//
//	rack:
//	  rack1: node[1-16]
//	  rack2: [node17, node18]
//	  all: node[1-18]
//
// The file is read again when it is older than its cache time (an hour);
// a source absent from the first read is ignored afterwards, as in
// ClusterShell.

// yamlGroups holds the groups of one source of a YAML file.
type yamlGroups struct {
	names  []string // group names in file order
	values map[string]yamlValue
}

// yamlValue is a group's content: items, or the reason it cannot be used
// (reported when the group is looked up, as ClusterShell only fails then).
type yamlValue struct {
	items []string
	null  bool
	err   error
}

// yamlLoader loads and reloads one YAML group file.
type yamlLoader struct {
	file      string
	cacheTime time.Duration
	gs        *GroupSources // clock

	mu     sync.Mutex
	names  []string // sources of the first load, in file order
	groups map[string]*yamlGroups
	expiry time.Time
}

// loadYAMLGroups reads file and returns its loader.
func loadYAMLGroups(file string, cacheTime time.Duration, gs *GroupSources) (*yamlLoader, error) {
	l := &yamlLoader{file: file, cacheTime: cacheTime, gs: gs}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, &GroupsConfigError{File: file, Msg: "cannot read YAML group file", Err: err}
	}
	names, groups, err := parseYAMLGroups(file, data)
	if err != nil {
		return nil, err
	}
	l.names, l.groups = names, groups
	l.expiry = gs.now().Add(cacheTime)
	return l, nil
}

func (l *yamlLoader) clearCache() {
	l.mu.Lock()
	l.expiry = time.Time{}
	l.mu.Unlock()
}

// source returns the groups of source name, reading the file again first
// when the cache time has passed.
func (l *yamlLoader) source(name string) (*yamlGroups, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.gs.now()
	if l.expiry.Before(now) {
		data, err := os.ReadFile(l.file)
		if err != nil {
			return nil, &GroupsConfigError{File: l.file, Msg: "cannot read YAML group file again", Err: err}
		}
		_, groups, err := parseYAMLGroups(l.file, data)
		if err != nil {
			return nil, err
		}
		for src, g := range groups {
			if _, known := l.groups[src]; known {
				l.groups[src] = g
			}
		}
		l.expiry = now.Add(l.cacheTime)
	}
	return l.groups[name], nil
}

// parseYAMLGroups parses the content of a YAML group file. It returns the
// source names in file order and their groups.
func parseYAMLGroups(file string, data []byte) ([]string, map[string]*yamlGroups, error) {
	cfgErr := func(n *yaml.Node, format string, args ...any) error {
		e := &GroupsConfigError{File: file, Msg: fmt.Sprintf(format, args...)}
		if n != nil {
			e.Line = n.Line
		}
		return e
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil, cfgErr(nil, "file is empty (expected a mapping of group source names to groups)")
		}
		return nil, nil, &GroupsConfigError{File: file, Msg: "invalid YAML", Err: err}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, nil, &GroupsConfigError{File: file, Msg: "invalid YAML", Err: err}
		}
		return nil, nil, cfgErr(&extra, "more than one YAML document (expected a single mapping of group sources)")
	}
	root := yamlResolve(&doc)
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return nil, nil, cfgErr(root, "file is empty (expected a mapping of group source names to groups)")
		}
		root = yamlResolve(root.Content[0])
	}
	if root.Kind != yaml.MappingNode {
		return nil, nil, cfgErr(root, "top level is not a mapping (expected group source names as keys)")
	}
	srcPairs, err := yamlPairs(root, 0)
	if err != nil {
		return nil, nil, cfgErr(root, "%v", err)
	}
	var names []string
	groups := map[string]*yamlGroups{}
	for _, sp := range srcPairs {
		if sp.key.ShortTag() != "!!str" {
			return nil, nil, cfgErr(sp.key, "group source %s is not a string (add quotes?)", sp.key.Value)
		}
		src := sp.key.Value
		if sp.value.Kind != yaml.MappingNode {
			return nil, nil, cfgErr(sp.value, "group source %q is not a mapping (expected group names as keys)", src)
		}
		grpPairs, err := yamlPairs(sp.value, 0)
		if err != nil {
			return nil, nil, cfgErr(sp.value, "group source %q: %v", src, err)
		}
		g := &yamlGroups{values: map[string]yamlValue{}}
		for _, gp := range grpPairs {
			if gp.key.ShortTag() != "!!str" {
				return nil, nil, cfgErr(gp.key, "group source %q: group name %s is not a string (add quotes?)", src, gp.key.Value)
			}
			name := gp.key.Value
			g.names = append(g.names, name)
			g.values[name] = yamlGroupValue(file, src, name, gp.value)
		}
		if _, seen := groups[src]; !seen {
			names = append(names, src)
		}
		groups[src] = g
	}
	return names, groups, nil
}

// yamlGroupValue converts a group's YAML node: a scalar is one node set
// string, a sequence of scalars is joined with ",", null is remembered
// (an "all" group set to null means no "all" group), anything else is an
// error reported on lookup.
func yamlGroupValue(file, src, group string, n *yaml.Node) yamlValue {
	n = yamlResolve(n)
	bad := func(what string) yamlValue {
		return yamlValue{err: &GroupsConfigError{File: file, Line: n.Line,
			Msg: fmt.Sprintf("group %q of source %q is %s (expected a node set string or a list of them)", group, src, what)}}
	}
	switch n.Kind {
	case yaml.ScalarNode:
		if n.ShortTag() == "!!null" {
			v := bad("null")
			v.null = true
			return v
		}
		return yamlValue{items: pyFields(n.Value)}
	case yaml.SequenceNode:
		parts := make([]string, 0, len(n.Content))
		for _, c := range n.Content {
			c = yamlResolve(c)
			if c.Kind != yaml.ScalarNode || c.ShortTag() == "!!null" {
				return bad("a list holding a non-string item")
			}
			parts = append(parts, c.Value)
		}
		return yamlValue{items: splitNodeItems(parts)}
	default:
		return bad("a mapping")
	}
}

// yamlResolve follows aliases.
func yamlResolve(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < 100; i++ {
		n = n.Alias
	}
	return n
}

type yamlPair struct{ key, value *yaml.Node }

// yamlPairs returns the entries of mapping m in the order a Python dict
// built by PyYAML would hold them: "<<" merge keys expanded first, a
// repeated key keeping its first position and its last value.
func yamlPairs(m *yaml.Node, depth int) ([]yamlPair, error) {
	if depth > 50 {
		return nil, errors.New("merge keys (<<) nest too deeply")
	}
	var merged, explicit []yamlPair
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := yamlResolve(m.Content[i]), yamlResolve(m.Content[i+1])
		if k.ShortTag() != "!!merge" {
			explicit = append(explicit, yamlPair{k, v})
			continue
		}
		var subs []*yaml.Node
		switch v.Kind {
		case yaml.MappingNode:
			subs = []*yaml.Node{v}
		case yaml.SequenceNode:
			for j := len(v.Content) - 1; j >= 0; j-- { // earlier mappings win
				s := yamlResolve(v.Content[j])
				if s.Kind != yaml.MappingNode {
					return nil, fmt.Errorf("line %d: merge key (<<) list holds a non-mapping", s.Line)
				}
				subs = append(subs, s)
			}
		default:
			return nil, fmt.Errorf("line %d: merge key (<<) needs a mapping or a list of mappings", v.Line)
		}
		for _, s := range subs {
			p, err := yamlPairs(s, depth+1)
			if err != nil {
				return nil, err
			}
			merged = append(merged, p...)
		}
	}
	all := append(merged, explicit...)
	var out []yamlPair
	pos := map[string]int{}
	for _, p := range all {
		id := p.key.ShortTag() + "\x00" + p.key.Value
		if p.key.Kind != yaml.ScalarNode {
			id = fmt.Sprintf("node %p", p.key) // never equal to another key
		}
		if i, ok := pos[id]; ok {
			out[i].value = p.value
			continue
		}
		pos[id] = len(out)
		out = append(out, p)
	}
	return out, nil
}

// yamlSource is one source of a YAML group file.
type yamlSource struct {
	name   string
	loader *yamlLoader
}

func (s *yamlSource) clearCache() { s.loader.clearCache() }

func (s *yamlSource) hasReverse() bool { return false }

func (s *yamlSource) group(_ context.Context, _ *GroupSources, group string) ([]string, error) {
	g, err := s.loader.source(s.name)
	if err != nil {
		return nil, err
	}
	v, ok := g.values[group]
	if !ok {
		return nil, nil
	}
	return v.items, v.err
}

func (s *yamlSource) all(context.Context, *GroupSources) ([]string, error) {
	g, err := s.loader.source(s.name)
	if err != nil {
		return nil, err
	}
	v, ok := g.values["all"]
	if !ok || v.null {
		return nil, fmt.Errorf("%w: group source %q has no \"all\" group", ErrNoUpcall, s.name)
	}
	return v.items, v.err
}

func (s *yamlSource) list(context.Context, *GroupSources) ([]string, error) {
	g, err := s.loader.source(s.name)
	if err != nil {
		return nil, err
	}
	return splitGroupNames(g.names, fmt.Sprintf("group source %q (%s)", s.name, s.loader.file))
}

func (s *yamlSource) reverse(context.Context, *GroupSources, string) ([]string, error) {
	return nil, fmt.Errorf("%w: group source %q is a YAML file", ErrNoReverse, s.name)
}

package nodeset

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Regroup returns s written with the groups of source (as resolved by r)
// that s fully contains, largest groups first, followed by the remaining
// nodes: ClusterShell's regroup(). source "" is r's default source; group
// names are prefixed "@source:" when source is not empty, unless noprefix.
// Like ClusterShell, it asks r for the groups of each node (Reverse) when r
// has a reverse lookup and lists at least as many groups as s has nodes;
// otherwise it maps every listed group. When neither works it returns
// s.String().
func (s NodeSet) Regroup(r Resolver, source string, noprefix bool) (string, error) {
	if r == nil {
		return "", fmt.Errorf("nodeset: regroup %s: %w", s, ErrNoResolver)
	}
	counts, members, err := s.groupCounts(r, source)
	if err != nil {
		return "", err
	}
	if len(counts) == 0 {
		return s.String(), nil
	}
	type full struct {
		n    int
		name string
	}
	var fulls []full
	for g, n := range counts {
		if n == members[g].Len() {
			fulls = append(fulls, full{n, g})
		}
	}
	slices.SortFunc(fulls, func(a, b full) int {
		if a.n != b.n {
			return b.n - a.n
		}
		return strings.Compare(a.name, b.name)
	})
	rest := s
	// group names print without autostep, the rest with s's autostep
	// (ClusterShell's regrouped set is a new one, the rest a copy of s)
	var names Builder
	any := false
	for _, f := range fulls {
		m := members[f.name]
		if !m.IsSubset(rest) {
			continue
		}
		if source != "" && !noprefix {
			names.Add("@" + source + ":" + f.name)
		} else {
			names.Add("@" + f.name)
		}
		any = true
		rest = rest.Difference(m)
		if rest.IsEmpty() {
			return names.NodeSet().String(), nil
		}
	}
	if any {
		return names.NodeSet().String() + "," + rest.String(), nil
	}
	return rest.String(), nil
}

// groupCounts returns, for each group of source that contains nodes of s,
// how many nodes of s it holds, and its members.
func (s NodeSet) groupCounts(r Resolver, source string) (map[string]int, map[string]NodeSet, error) {
	var groups []string
	listed := true
	list, err := r.List(source)
	if err != nil {
		listed = false
	} else {
		// group names may use ranges ("rack[1-4]"): expand them
		for _, g := range list {
			gs, err := Parse(g, WithResolver(nil))
			if err != nil {
				return nil, nil, fmt.Errorf("nodeset: regroup: group name %q of source %q: %w", g, source, err)
			}
			for n := range gs.All() {
				groups = append(groups, n)
			}
		}
		var b Builder
		for _, g := range groups {
			b.Add(g)
		}
		groups = groups[:0]
		for n := range b.NodeSet().All() {
			groups = append(groups, n)
		}
	}
	members := map[string]NodeSet{}
	member := func(g string) (NodeSet, error) {
		if m, ok := members[g]; ok {
			return m, nil
		}
		nodes, err := r.Group(source, g)
		if err != nil {
			return NodeSet{}, fmt.Errorf("nodeset: regroup: group %q of source %q: %w", g, source, err)
		}
		// nested groups resolve in the group's own source (ClusterShell's
		// regroup would use the default source there)
		m, err := Parse(strings.Join(nodes, ","), WithResolver(r), WithDefaultSource(source))
		if err != nil {
			return NodeSet{}, err
		}
		members[g] = m
		return m, nil
	}
	counts := map[string]int{}
	if r.HasReverse(source) && (len(groups) == 0 || len(groups) >= s.Len()) {
		var ferr error
		s.AppendAll(func(b []byte) bool {
			gs, err := r.Reverse(source, string(b))
			if err != nil {
				ferr = fmt.Errorf("nodeset: regroup: reverse lookup of %q in source %q: %w", b, source, err)
				return false
			}
			for _, g := range gs {
				counts[g]++
			}
			return true
		})
		if ferr != nil {
			return nil, nil, ferr
		}
		for g := range counts {
			if _, err := member(g); err != nil {
				return nil, nil, err
			}
		}
		return counts, members, nil
	}
	if !listed || len(groups) == 0 {
		if !listed && errors.Is(err, ErrNoGroupSource) {
			return nil, nil, fmt.Errorf("nodeset: regroup: %w", err)
		}
		return nil, nil, nil
	}
	for _, g := range groups {
		m, err := member(g)
		if err != nil {
			return nil, nil, err
		}
		if n := m.Intersection(s).Len(); n > 0 {
			counts[g] = n
		}
	}
	return counts, members, nil
}

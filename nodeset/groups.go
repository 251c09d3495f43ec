package nodeset

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// GroupSources is a set of named node group sources, configured as
// ClusterShell 1.9 configures its group resolver. It implements Resolver
// and is safe for concurrent use.
//
// # Configuration
//
// LoadDefaultGroups reads every groups.conf found in these places, in this
// order, merging them (a later file's keys override an earlier one's):
//
//	/etc/clustershell/groups.conf
//	~/.local/etc/clustershell/groups.conf
//	$XDG_CONFIG_HOME/clustershell/groups.conf (default ~/.config/clustershell/groups.conf)
//	$CLUSTERSHELL_CFGDIR/groups.conf          (only when CLUSTERSHELL_CFGDIR is set)
//
// $CFGDIR stands for the directory of the last file read. LoadGroupsConfig
// reads one explicit file instead (ClusterShell's --groupsconf).
//
// groups.conf is an INI file (Python configparser syntax: "key: value" or
// "key = value", full-line "#" and ";" comments, indented continuation
// lines, case-insensitive keys, a [DEFAULT] section inherited by all).
// Section [Main] holds:
//
//	default   name of the default source (else the first source defined)
//	confdir   space-separated directories (shell quoting allowed, $CFGDIR
//	          expanded) whose *.conf files define more upcall sources;
//	          groupsdir is an older name for it
//	autodir   space-separated directories whose *.yaml files define
//	          static sources
//
// Every other section defines an upcall source; "[a,b]" defines sources a
// and b with the same keys:
//
//	map         shell command printing the nodes of group $GROUP (required)
//	all         command printing all nodes of the source (@*)
//	list        command printing the group names of the source
//	reverse     command printing the groups that contain node $NODE
//	cache_time  seconds a result is reused (default 3600)
//
// Upcalls run as /bin/sh -c COMMAND in the source's directory ($CFGDIR,
// or the confdir of a groups.conf.d part) after $GROUP, $NODE, $SOURCE and
// $CFGDIR (also written ${NAME}; "$$" is "$") are substituted; their
// output is split on whitespace. An upcall that exits non-zero, or runs
// longer than the upcall timeout (DefaultUpcallTimeout unless changed with
// SetUpcallTimeout; ClusterShell has none), fails the query with an
// *UpcallError; failures are not cached.
//
// A YAML file maps source names to maps of group name to a node set string
// or a list of them; a group named "all" answers @*. The file is read again
// after an hour. Sources are ordered confdir parts first, then YAML files,
// then groups.conf sections; names must be unique. Names in list and
// reverse answers may not contain any of IllegalGroupChars.
//
// ClusterShell also searches {sys.prefix}/etc/clustershell, the Python
// installation prefix; muster, not being Python, does not.
type GroupSources struct {
	defaultName string
	order       []string
	sources     map[string]groupSource
	files       []string // configuration files read

	timeout atomic.Int64 // upcall timeout in nanoseconds; <= 0: none
	clock   func() time.Time
}

// DefaultUpcallTimeout bounds each upcall command unless changed with
// SetUpcallTimeout. (ClusterShell itself waits forever.)
const DefaultUpcallTimeout = 10 * time.Second

// DefaultGroupsCacheTime is how long upcall results and YAML file contents
// are reused when cache_time is not set, as in ClusterShell.
const DefaultGroupsCacheTime = 3600 * time.Second

// IllegalGroupChars are the characters ClusterShell rejects in group names
// returned by list and reverse upcalls.
const IllegalGroupChars = "@,!&^*"

var (
	// ErrNoUpcall reports a query that the source cannot answer because the
	// upcall (list, all or reverse) is not configured.
	ErrNoUpcall = errors.New("nodeset: group source has no such upcall")

	// ErrUpcallFailed is matched (errors.Is) by every *UpcallError.
	ErrUpcallFailed = errors.New("nodeset: group upcall failed")

	// ErrIllegalGroupChar reports a group name, returned by a list or
	// reverse query, containing one of IllegalGroupChars.
	ErrIllegalGroupChar = errors.New("nodeset: illegal group character")

	// ErrGroupsConfig is matched (errors.Is) by every *GroupsConfigError.
	ErrGroupsConfig = errors.New("nodeset: invalid groups configuration")
)

// GroupsConfigError describes a problem in groups.conf, a groups.conf.d
// part or a YAML group file.
type GroupsConfigError struct {
	File string // file at fault ("" when not tied to one)
	Line int    // 1-based line, 0 when unknown
	Msg  string // what is wrong and what was expected
	Err  error  // underlying error, if any
}

func (e *GroupsConfigError) Error() string {
	var b strings.Builder
	b.WriteString("nodeset: groups configuration")
	if e.File != "" {
		b.WriteString(" ")
		b.WriteString(e.File)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d", e.Line)
		}
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the underlying error.
func (e *GroupsConfigError) Unwrap() error { return e.Err }

// Is reports whether target is ErrGroupsConfig.
func (e *GroupsConfigError) Is(target error) bool { return target == ErrGroupsConfig }

// UpcallError reports a failed upcall command: a non-zero exit, a timeout,
// or a command that could not be started.
type UpcallError struct {
	Source   string // group source name
	Upcall   string // "map", "all", "list" or "reverse"
	Command  string // command line after substitution
	ExitCode int    // exit status, -1 if the command did not exit normally
	Stderr   string // what the command wrote on stderr (trimmed, capped)
	Timeout  bool   // the command was killed at the upcall timeout
	// TimeLimit is the upcall timeout in force (0: none).
	TimeLimit time.Duration
	Err       error // underlying error (*exec.ExitError, context.DeadlineExceeded, ...)
}

func (e *UpcallError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "nodeset: group source %q: %s upcall %q ", e.Source, e.Upcall, e.Command)
	switch {
	case e.Timeout && e.TimeLimit > 0:
		fmt.Fprintf(&b, "timed out after %v", e.TimeLimit)
	case e.Timeout:
		b.WriteString("timed out")
	case e.ExitCode >= 0:
		fmt.Fprintf(&b, "exited with status %d", e.ExitCode)
	default:
		fmt.Fprintf(&b, "failed: %v", e.Err)
	}
	if e.Stderr != "" {
		b.WriteString(": ")
		b.WriteString(e.Stderr)
	}
	return b.String()
}

// Unwrap returns the underlying error.
func (e *UpcallError) Unwrap() error { return e.Err }

// Is reports whether target is ErrUpcallFailed.
func (e *UpcallError) Is(target error) bool { return target == ErrUpcallFailed }

// groupSource is one named source. Results are raw items (already split on
// whitespace); missing upcalls return errors wrapping ErrNoUpcall.
type groupSource interface {
	group(ctx context.Context, gs *GroupSources, group string) ([]string, error)
	all(ctx context.Context, gs *GroupSources) ([]string, error)
	list(ctx context.Context, gs *GroupSources) ([]string, error)
	reverse(ctx context.Context, gs *GroupSources, node string) ([]string, error)
	hasReverse() bool
}

func newGroupSources() *GroupSources {
	gs := &GroupSources{sources: map[string]groupSource{}}
	gs.timeout.Store(int64(DefaultUpcallTimeout))
	return gs
}

func (gs *GroupSources) now() time.Time {
	if gs.clock != nil {
		return gs.clock()
	}
	return time.Now()
}

// add registers a source; names must be unique, as in ClusterShell.
func (gs *GroupSources) add(name string, src groupSource) error {
	if _, dup := gs.sources[name]; dup {
		return fmt.Errorf("group source %q is defined twice (source names must be unique)", name)
	}
	gs.sources[name] = src
	gs.order = append(gs.order, name)
	return nil
}

// NewStaticGroups returns in-memory group sources: groups maps a source name
// to its groups, each a list of node set strings (which may use groups and
// operators). A group named "all" answers All; without one, All falls back
// to every group of the source as ClusterShell does. defaultSource names
// the default source; "" picks the first name in sorted order. Static
// sources have no reverse lookup. The maps are copied.
func NewStaticGroups(defaultSource string, groups map[string]map[string][]string) *GroupSources {
	gs := newGroupSources()
	names := make([]string, 0, len(groups))
	for name := range groups {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		st := &staticSource{name: name, groups: map[string][]string{}}
		for g, nodes := range groups[name] {
			st.names = append(st.names, g)
			st.groups[g] = slices.Clone(nodes)
		}
		sort.Strings(st.names)
		_ = gs.add(name, st) // names of a map are unique
	}
	gs.defaultName = defaultSource
	if defaultSource == "" && len(names) > 0 {
		gs.defaultName = names[0]
	}
	return gs
}

// staticSource is an in-memory source.
type staticSource struct {
	name   string
	names  []string
	groups map[string][]string
}

func (s *staticSource) group(_ context.Context, _ *GroupSources, group string) ([]string, error) {
	return splitNodeItems(s.groups[group]), nil
}

func (s *staticSource) all(context.Context, *GroupSources) ([]string, error) {
	nodes, ok := s.groups["all"]
	if !ok {
		return nil, ErrNoUpcall
	}
	return splitNodeItems(nodes), nil
}

func (s *staticSource) list(context.Context, *GroupSources) ([]string, error) {
	return splitGroupNames(s.names, fmt.Sprintf("group source %q", s.name))
}

func (s *staticSource) reverse(context.Context, *GroupSources, string) ([]string, error) {
	return nil, ErrNoReverse
}

func (s *staticSource) hasReverse() bool { return false }

// splitNodeItems turns a list of node set strings into items as ClusterShell
// does for a list result: joined with "," then split on whitespace.
func splitNodeItems(list []string) []string {
	if len(list) == 0 {
		return nil
	}
	return pyFields(strings.Join(list, ","))
}

// splitGroupNames splits group names on whitespace and rejects illegal
// characters, as ClusterShell's resolver does for list and reverse results.
func splitGroupNames(raw []string, what string) ([]string, error) {
	var out []string
	for _, line := range raw {
		for _, name := range pyFields(line) {
			if i := strings.IndexAny(name, IllegalGroupChars); i >= 0 {
				var bad []string
				for _, c := range IllegalGroupChars {
					if strings.ContainsRune(name, c) {
						bad = append(bad, string(c))
					}
				}
				return nil, fmt.Errorf("%w %s in group name %q returned by %s (group names may not contain any of %q)",
					ErrIllegalGroupChar, strings.Join(bad, " "), name, what, IllegalGroupChars)
			}
			out = append(out, name)
		}
	}
	return out, nil
}

// source returns the source named name ("" is the default source).
func (gs *GroupSources) source(name string) (string, groupSource, error) {
	if name == "" {
		name = gs.defaultName
		if name == "" {
			return "", nil, fmt.Errorf("%w: no default group source is configured", ErrNoGroupSource)
		}
	}
	src, ok := gs.sources[name]
	if !ok {
		if len(gs.order) == 0 {
			return "", nil, fmt.Errorf("%w: %q (no group sources are configured)", ErrNoGroupSource, name)
		}
		return "", nil, fmt.Errorf("%w: %q (configured: %s)", ErrNoGroupSource, name, strings.Join(gs.order, ", "))
	}
	return name, src, nil
}

// DefaultSource returns the name of the default source, "" when there are
// no sources.
func (gs *GroupSources) DefaultSource() string { return gs.defaultName }

// Sources returns the source names, the default first, then in the order
// they were defined.
func (gs *GroupSources) Sources() []string {
	out := make([]string, 0, len(gs.order))
	if _, ok := gs.sources[gs.defaultName]; ok {
		out = append(out, gs.defaultName)
	}
	for _, n := range gs.order {
		if n != gs.defaultName {
			out = append(out, n)
		}
	}
	return out
}

// DefinedSources returns the source names in the order they were defined
// (confdir parts, YAML files, groups.conf sections), whatever the default.
func (gs *GroupSources) DefinedSources() []string { return slices.Clone(gs.order) }

// WithDefaultSource returns group sources identical to gs (sharing its
// caches) whose default source is name, as ClusterShell's -s option sets
// it; Sources then lists name first and the others in definition order.
// The error wraps ErrNoGroupSource when name is not a source.
func (gs *GroupSources) WithDefaultSource(name string) (*GroupSources, error) {
	if _, ok := gs.sources[name]; !ok {
		return nil, fmt.Errorf("%w: %q (configured: %s)", ErrNoGroupSource, name, strings.Join(gs.order, ", "))
	}
	c := &GroupSources{defaultName: name, order: gs.order, sources: gs.sources, files: gs.files, clock: gs.clock}
	c.timeout.Store(gs.timeout.Load())
	return c, nil
}

// ConfigFiles returns the configuration files that were read, in order.
func (gs *GroupSources) ConfigFiles() []string { return slices.Clone(gs.files) }

// SetUpcallTimeout sets the time limit of each upcall command; d <= 0
// removes the limit. It is safe to call at any time.
func (gs *GroupSources) SetUpcallTimeout(d time.Duration) { gs.timeout.Store(int64(d)) }

// UpcallTimeout returns the current upcall time limit (<= 0: none).
func (gs *GroupSources) UpcallTimeout() time.Duration { return time.Duration(gs.timeout.Load()) }

// ClearCache forgets every cached upcall result and YAML file content, so
// that the next query runs the commands and reads the files again.
func (gs *GroupSources) ClearCache() {
	for _, src := range gs.sources {
		if c, ok := src.(interface{ clearCache() }); ok {
			c.clearCache()
		}
	}
}

// Group returns the items (node set strings, possibly with groups and
// operators) of group in source; "" is the default source. An unknown group
// yields no items and no error, as in ClusterShell.
func (gs *GroupSources) Group(source, group string) ([]string, error) {
	return gs.GroupContext(context.Background(), source, group)
}

// GroupContext is Group with a context that bounds the upcall.
func (gs *GroupSources) GroupContext(ctx context.Context, source, group string) ([]string, error) {
	_, src, err := gs.source(source)
	if err != nil {
		return nil, err
	}
	return src.group(ctx, gs, group)
}

// All returns the items of every node of source (what @* and @source:*
// mean). Without an "all" upcall (or YAML "all" group) it falls back, as
// ClusterShell does, to the items of every group the source lists, groups
// in sorted order (names with ranges expanded). Like ClusterShell, which
// joins them with "," before parsing, a group whose content holds an
// operator ("a!b") then applies it to everything before it. Without a list
// upcall either, the error wraps ErrNoUpcall.
func (gs *GroupSources) All(source string) ([]string, error) {
	return gs.AllContext(context.Background(), source)
}

// AllContext is All with a context that bounds the upcalls.
func (gs *GroupSources) AllContext(ctx context.Context, source string) ([]string, error) {
	name, src, err := gs.source(source)
	if err != nil {
		return nil, err
	}
	items, err := src.all(ctx, gs)
	if !errors.Is(err, ErrNoUpcall) {
		return items, err
	}
	groups, err := src.list(ctx, gs)
	if errors.Is(err, ErrNoUpcall) {
		return nil, fmt.Errorf("%w: group source %q has neither an all nor a list upcall to find all nodes", ErrNoUpcall, name)
	}
	if err != nil {
		return nil, err
	}
	names, err := expandGroupNames(groups)
	if err != nil {
		return nil, fmt.Errorf("group source %q: listed group names: %w", name, err)
	}
	var all []string
	for _, g := range names {
		items, err := src.group(ctx, gs, g)
		if err != nil {
			return nil, err
		}
		all = append(all, items...)
	}
	return all, nil
}

// expandGroupNames parses group names as node sets (so "rack[1-2]" is
// rack1 and rack2) and returns them sorted, as ClusterShell's grouplist().
func expandGroupNames(names []string) ([]string, error) {
	var set NodeSet
	for _, n := range names {
		ns, err := Parse(n, WithResolver(nil))
		if err != nil {
			return nil, err
		}
		set = set.Union(ns)
	}
	out := make([]string, 0, len(names))
	for n := range set.All() {
		out = append(out, n)
	}
	return out, nil
}

// List returns the group names of source, as its list upcall prints them or
// its YAML file defines them (names may hold ranges, e.g. "rack[1-4]").
// The error wraps ErrNoUpcall when the source has no list upcall and
// ErrIllegalGroupChar when a name holds one of IllegalGroupChars.
func (gs *GroupSources) List(source string) ([]string, error) {
	return gs.ListContext(context.Background(), source)
}

// ListContext is List with a context that bounds the upcall.
func (gs *GroupSources) ListContext(ctx context.Context, source string) ([]string, error) {
	_, src, err := gs.source(source)
	if err != nil {
		return nil, err
	}
	return src.list(ctx, gs)
}

// Reverse returns the groups of source that contain node, from the
// source's reverse upcall. Without one the error wraps ErrNoReverse: as in
// ClusterShell, callers then derive the answer from List and Group (see
// HasReverse).
func (gs *GroupSources) Reverse(source, node string) ([]string, error) {
	return gs.ReverseContext(context.Background(), source, node)
}

// ReverseContext is Reverse with a context that bounds the upcall.
func (gs *GroupSources) ReverseContext(ctx context.Context, source, node string) ([]string, error) {
	name, src, err := gs.source(source)
	if err != nil {
		return nil, err
	}
	if !src.hasReverse() {
		return nil, fmt.Errorf("%w: group source %q has no reverse upcall", ErrNoReverse, name)
	}
	return src.reverse(ctx, gs, node)
}

// HasReverse reports whether source has a reverse upcall; false for an
// unknown source.
func (gs *GroupSources) HasReverse(source string) bool {
	_, src, err := gs.source(source)
	return err == nil && src.hasReverse()
}

var _ Resolver = (*GroupSources)(nil)

// LazyGroups is a Resolver that loads its group sources on first use, as
// ClusterShell's resolver reads groups.conf only when a group is first
// needed: a broken configuration then fails only the operations that use
// groups. It is safe for concurrent use.
type LazyGroups struct {
	load func() (*GroupSources, error)
	once sync.Once
	gs   *GroupSources
	err  error
}

// NewLazyGroups returns a LazyGroups that calls load once, on first use
// (e.g. NewLazyGroups(LoadDefaultGroups)).
func NewLazyGroups(load func() (*GroupSources, error)) *LazyGroups {
	return &LazyGroups{load: load}
}

// Load loads the group sources if not done yet and returns them, or the
// load error (the same on every call).
func (l *LazyGroups) Load() (*GroupSources, error) {
	l.once.Do(func() {
		l.gs, l.err = l.load()
		if l.err == nil && l.gs == nil {
			l.gs = newGroupSources()
		}
	})
	return l.gs, l.err
}

// DefaultSource returns the default source name, "" if loading failed.
func (l *LazyGroups) DefaultSource() string {
	gs, err := l.Load()
	if err != nil {
		return ""
	}
	return gs.DefaultSource()
}

// Sources returns the source names, nil if loading failed.
func (l *LazyGroups) Sources() []string {
	gs, err := l.Load()
	if err != nil {
		return nil
	}
	return gs.Sources()
}

// Group is GroupSources.Group after loading; it returns the load error if
// loading failed.
func (l *LazyGroups) Group(source, group string) ([]string, error) {
	gs, err := l.Load()
	if err != nil {
		return nil, err
	}
	return gs.Group(source, group)
}

// All is GroupSources.All after loading; it returns the load error if
// loading failed.
func (l *LazyGroups) All(source string) ([]string, error) {
	gs, err := l.Load()
	if err != nil {
		return nil, err
	}
	return gs.All(source)
}

// List is GroupSources.List after loading; it returns the load error if
// loading failed.
func (l *LazyGroups) List(source string) ([]string, error) {
	gs, err := l.Load()
	if err != nil {
		return nil, err
	}
	return gs.List(source)
}

// Reverse is GroupSources.Reverse after loading; it returns the load error
// if loading failed.
func (l *LazyGroups) Reverse(source, node string) ([]string, error) {
	gs, err := l.Load()
	if err != nil {
		return nil, err
	}
	return gs.Reverse(source, node)
}

// HasReverse reports whether source has a reverse upcall; false if loading
// failed.
func (l *LazyGroups) HasReverse(source string) bool {
	gs, err := l.Load()
	return err == nil && gs.HasReverse(source)
}

var _ Resolver = (*LazyGroups)(nil)

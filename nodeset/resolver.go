package nodeset

import "errors"

// ErrNoGroupSource reports a group lookup with no configured group source
// (or a source name that is not configured).
var ErrNoGroupSource = errors.New("nodeset: no such group source")

// ErrNoReverse reports a reverse lookup (node to groups) on a source that
// has no reverse upcall; callers such as regroup then derive membership from
// the source's list and map, as ClusterShell does.
var ErrNoReverse = errors.New("nodeset: group source has no reverse lookup")

// Resolver resolves node groups (the "@group" syntax) as ClusterShell's
// GroupResolver does. An empty source name means the default source.
// Implementations must be safe for concurrent use.
type Resolver interface {
	// DefaultSource is the name of the source used when none is given.
	DefaultSource() string
	// Sources lists the configured source names, default first.
	Sources() []string
	// Group returns the node set strings that make up group in source.
	// The strings may themselves contain groups and operators.
	Group(source, group string) ([]string, error)
	// All returns the node set strings of every node in source ("@*").
	All(source string) ([]string, error)
	// List returns the group names in source.
	List(source string) ([]string, error)
	// Reverse returns the groups of source that contain node; it wraps
	// ErrNoReverse when the source cannot answer.
	Reverse(source, node string) ([]string, error)
	// HasReverse reports whether source has a reverse upcall (regroup uses
	// it to pick its algorithm, as ClusterShell does).
	HasReverse(source string) bool
}

package gather

import (
	"bytes"
	"iter"

	"github.com/muster-sh/muster/nodeset"
)

// elem is one line at one position: the path from the root to it is an output.
type elem struct {
	line   []byte
	parent *elem
	first  *elem            // first child
	kids   map[string]*elem // every child, once there is more than one
	depth  int
}

func (e *elem) child(line []byte) *elem {
	if e.kids != nil {
		return e.kids[string(line)]
	}
	if e.first != nil && bytes.Equal(e.first.line, line) {
		return e.first
	}
	return nil
}

// Tree groups the lines of many keys. The zero value is not usable; call
// [New]. A Tree is not safe for concurrent use.
type Tree struct {
	root  elem
	keys  map[string]*Cursor
	order []*Cursor

	slab  []byte // storage for short lines
	elems []elem // storage for elements
	size  int    // bytes of distinct line content stored
}

// New returns an empty tree.
func New() *Tree {
	return &Tree{keys: make(map[string]*Cursor)}
}

const (
	slabSize  = 64 << 10
	slabLine  = 1 << 10 // lines up to this size go into the slab
	elemChunk = 256
)

func (t *Tree) store(line []byte) []byte {
	t.size += len(line)
	if len(line) > slabLine {
		return bytes.Clone(line)
	}
	if len(t.slab)+len(line) > cap(t.slab) {
		t.slab = make([]byte, 0, slabSize)
	}
	n := len(t.slab)
	t.slab = append(t.slab, line...)
	return t.slab[n:len(t.slab):len(t.slab)]
}

func (t *Tree) newElem(parent *elem, line []byte) *elem {
	if len(t.elems) == cap(t.elems) {
		t.elems = make([]elem, 0, elemChunk)
	}
	t.elems = append(t.elems, elem{line: t.store(line), parent: parent, depth: parent.depth + 1})
	e := &t.elems[len(t.elems)-1]
	switch {
	case parent.first == nil:
		parent.first = e
	case parent.kids == nil:
		parent.kids = map[string]*elem{string(parent.first.line): parent.first, string(e.line): e}
	default:
		parent.kids[string(e.line)] = e
	}
	return e
}

// Cursor appends lines for one key without looking the key up each time.
// Get one with [Tree.Cursor].
type Cursor struct {
	tree       *Tree
	key        string
	at         *elem
	noEOL      bool
	registered bool
}

// Cursor returns the cursor of key, creating it (the key only becomes part
// of the tree once a line is added).
func (t *Tree) Cursor(key string) *Cursor {
	if c, ok := t.keys[key]; ok {
		return c
	}
	c := &Cursor{tree: t, key: key, at: &t.root}
	t.keys[key] = c
	return c
}

// Key returns the key the cursor appends to.
func (c *Cursor) Key() string { return c.key }

// Add appends one line (without its newline) to the cursor's key. The line
// is copied when it is new at this position; the caller may reuse it.
func (c *Cursor) Add(line []byte) {
	c.add(line)
	c.noEOL = false
}

// AddUnterminated appends a final line that was not followed by a newline.
// A later Add or AddUnterminated clears the mark.
func (c *Cursor) AddUnterminated(line []byte) {
	c.add(line)
	c.noEOL = true
}

func (c *Cursor) add(line []byte) {
	if !c.registered {
		c.registered = true
		c.tree.order = append(c.tree.order, c)
	}
	next := c.at.child(line)
	if next == nil {
		next = c.tree.newElem(c.at, line)
	}
	c.at = next
}

// Add appends one line (without its newline) to key's output.
func (t *Tree) Add(key string, line []byte) { t.Cursor(key).Add(line) }

// Len returns the number of keys that have output.
func (t *Tree) Len() int { return len(t.order) }

// Size returns the number of bytes of distinct line content held: the
// memory the tree needs for its lines, whatever the number of keys.
func (t *Tree) Size() int { return t.size }

// Keys yields the keys that have output, in the order they first got a line.
func (t *Tree) Keys() iter.Seq[string] {
	return func(yield func(string) bool) {
		for _, c := range t.order {
			if !yield(c.key) {
				return
			}
		}
	}
}

// Has reports whether key has output.
func (t *Tree) Has(key string) bool {
	c, ok := t.keys[key]
	return ok && c.registered
}

// NumLines returns the number of lines of key's output.
func (t *Tree) NumLines(key string) int {
	c, ok := t.keys[key]
	if !ok {
		return 0
	}
	return c.at.depth
}

// Lines yields key's output lines, without newlines, first to last.
func (t *Tree) Lines(key string) iter.Seq[[]byte] {
	c, ok := t.keys[key]
	if !ok {
		return func(func([]byte) bool) {}
	}
	return lines(c.at)
}

// Bytes returns key's output exactly as read (lines joined by newlines, a
// final newline unless the output did not end with one), or nil when key
// has no output.
func (t *Tree) Bytes(key string) []byte {
	c, ok := t.keys[key]
	if !ok || !c.registered {
		return nil
	}
	return message(c.at, !c.noEOL)
}

// Remove forgets key's output.
func (t *Tree) Remove(key string) {
	c, ok := t.keys[key]
	if !ok {
		return
	}
	delete(t.keys, key)
	if c.registered {
		for i, o := range t.order {
			if o == c {
				t.order = append(t.order[:i], t.order[i+1:]...)
				break
			}
		}
	}
}

// Group is one distinct output and the keys that produced it.
type Group struct {
	at   *elem
	keys []string
}

// Keys returns the keys that produced this output, in tree order.
func (g Group) Keys() []string { return g.keys }

// NumLines returns the number of lines of the output.
func (g Group) NumLines() int { return g.at.depth }

// Lines yields the output's lines, without newlines.
func (g Group) Lines() iter.Seq[[]byte] { return lines(g.at) }

// Bytes returns the lines joined by newlines, with a final newline.
func (g Group) Bytes() []byte { return message(g.at, true) }

// Groups yields every distinct output with its keys. Groups come in the
// order their first key first got a line; keys within a group keep that
// order too. Keys that differ only by a missing final newline share a group.
func (t *Tree) Groups() iter.Seq[Group] {
	return t.GroupsOf(nil)
}

// GroupsOf is like Groups but considers only the keys for which match
// returns true (all keys when match is nil).
func (t *Tree) GroupsOf(match func(key string) bool) iter.Seq[Group] {
	return func(yield func(Group) bool) {
		index := make(map[*elem]int)
		var groups []Group
		for _, c := range t.order {
			if match != nil && !match(c.key) {
				continue
			}
			i, ok := index[c.at]
			if !ok {
				i = len(groups)
				index[c.at] = i
				groups = append(groups, Group{at: c.at})
			}
			groups[i].keys = append(groups[i].keys, c.key)
		}
		for _, g := range groups {
			if !yield(g) {
				return
			}
		}
	}
}

func lines(at *elem) iter.Seq[[]byte] {
	return func(yield func([]byte) bool) {
		path := make([]*elem, at.depth)
		for e := at; e.depth > 0; e = e.parent {
			path[e.depth-1] = e
		}
		for _, e := range path {
			if !yield(e.line) {
				return
			}
		}
	}
}

func message(at *elem, eol bool) []byte {
	n := 0
	for e := at; e.depth > 0; e = e.parent {
		n += len(e.line) + 1
	}
	if n == 0 {
		return []byte{}
	}
	buf := make([]byte, n)
	end := n
	if !eol {
		end--
		buf = buf[:end]
	}
	pos := n
	for e := at; e.depth > 0; e = e.parent {
		pos--
		if pos < len(buf) {
			buf[pos] = '\n'
		}
		pos -= len(e.line)
		copy(buf[pos:], e.line)
	}
	return buf
}

// NodeSet returns the group's keys as a folded node set.
func (g Group) NodeSet() nodeset.NodeSet { return nodeset.FromNames(g.keys...) }

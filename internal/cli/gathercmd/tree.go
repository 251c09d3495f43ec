package gathercmd

// msgTree is a trie of message lines with the shape and walk order of
// ClusterShell's MsgTree: children are kept in the order their line first
// appeared and walks pop a stack, so the last child is visited first. clubak's
// raw-key and trace (-T) outputs depend on that order.
type msgTree struct {
	root  elem
	trace bool
	last  map[string]*elem // key -> element of its last line
	order []string         // keys in first-seen order
	depth int
}

type elem struct {
	line     []byte
	parent   *elem
	depth    int
	children map[string]*elem
	kids     []*elem
	keys     []string
}

func newMsgTree(trace bool) *msgTree {
	return &msgTree{trace: trace, last: make(map[string]*elem)}
}

func (t *msgTree) add(key string, line []byte) {
	e, ok := t.last[key]
	if !ok {
		e = &t.root
		t.order = append(t.order, key)
	}
	c := e.children[string(line)]
	if c == nil {
		if e.children == nil {
			e.children = make(map[string]*elem)
		}
		c = &elem{line: append([]byte(nil), line...), parent: e, depth: e.depth + 1}
		e.children[string(line)] = c
		e.kids = append(e.kids, c)
		if c.depth > t.depth {
			t.depth = c.depth
		}
	}
	if t.trace {
		c.keys = append(c.keys, key)
	}
	t.last[key] = c
}

// lines returns the message of e, first line first.
func (e *elem) lines() [][]byte {
	out := make([][]byte, e.depth)
	for p := e; p.depth > 0; p = p.parent {
		out[p.depth-1] = p.line
	}
	return out
}

// walk calls fn for each distinct message with the keys that ended there,
// in MsgTree's walk order.
func (t *msgTree) walk(fn func(e *elem, keys []string) error) error {
	if !t.trace {
		for _, k := range t.order {
			e := t.last[k]
			e.keys = append(e.keys, k)
		}
		defer func() {
			for _, k := range t.order {
				t.last[k].keys = nil
			}
		}()
	}
	stack := []*elem{&t.root}
	for len(stack) > 0 {
		e := stack[len(stack)-1]
		stack = append(stack[:len(stack)-1], e.kids...)
		if len(e.keys) > 0 {
			if err := fn(e, e.keys); err != nil {
				return err
			}
		}
	}
	return nil
}

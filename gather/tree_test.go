package gather

import (
	"bytes"
	"fmt"
	"runtime"
	"slices"
	"testing"
)

func collect(t *Tree) map[string][]string {
	out := map[string][]string{}
	for g := range t.Groups() {
		out[string(g.Bytes())] = g.Keys()
	}
	return out
}

func TestGroupsIdenticalOutputs(t *testing.T) {
	tr := New()
	for _, n := range []string{"n1", "n2", "n3", "n4"} {
		tr.Add(n, []byte("hello"))
		if n == "n3" {
			tr.Add(n, []byte("other"))
		} else {
			tr.Add(n, []byte("world"))
		}
	}
	got := collect(tr)
	want := map[string][]string{"hello\nworld\n": {"n1", "n2", "n4"}, "hello\nother\n": {"n3"}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("groups = %v, want %v", got, want)
	}
	var order [][]string
	for g := range tr.Groups() {
		order = append(order, g.Keys())
	}
	if !slices.Equal(order[0], []string{"n1", "n2", "n4"}) || !slices.Equal(order[1], []string{"n3"}) {
		t.Fatalf("group order = %v", order)
	}
}

func TestPrefixOutputsAreDistinct(t *testing.T) {
	tr := New()
	tr.Add("a", []byte("x"))
	tr.Add("b", []byte("x"))
	tr.Add("b", []byte("y"))
	got := collect(tr)
	if len(got) != 2 || !slices.Equal(got["x\n"], []string{"a"}) || !slices.Equal(got["x\ny\n"], []string{"b"}) {
		t.Fatalf("groups = %v", got)
	}
}

func TestBytesExact(t *testing.T) {
	tr := New()
	c := tr.Cursor("n1")
	c.Add([]byte("one\r"))
	c.Add([]byte{0, 1, 2, 0xff})
	c.AddUnterminated([]byte("tail"))
	if got, want := tr.Bytes("n1"), []byte("one\r\n\x00\x01\x02\xff\ntail"); !bytes.Equal(got, want) {
		t.Fatalf("Bytes = %q, want %q", got, want)
	}
	tr.Add("n2", []byte(""))
	if got := tr.Bytes("n2"); !bytes.Equal(got, []byte("\n")) {
		t.Fatalf("empty line Bytes = %q", got)
	}
	if tr.Bytes("nope") != nil || tr.Has("nope") {
		t.Fatal("unknown key has output")
	}
	if tr.NumLines("n1") != 3 {
		t.Fatalf("NumLines = %d", tr.NumLines("n1"))
	}
	var lines []string
	for l := range tr.Lines("n1") {
		lines = append(lines, string(l))
	}
	if !slices.Equal(lines, []string{"one\r", "\x00\x01\x02\xff", "tail"}) {
		t.Fatalf("Lines = %q", lines)
	}
}

func TestCursorWithoutLinesIsNotAKey(t *testing.T) {
	tr := New()
	tr.Cursor("silent")
	tr.Add("loud", []byte("x"))
	if tr.Len() != 1 || tr.Has("silent") {
		t.Fatalf("Len = %d, Has(silent) = %v", tr.Len(), tr.Has("silent"))
	}
}

func TestGroupsOfAndRemove(t *testing.T) {
	tr := New()
	for i := range 10 {
		tr.Add(fmt.Sprintf("n%d", i), []byte("same"))
	}
	n := 0
	for g := range tr.GroupsOf(func(k string) bool { return k == "n3" || k == "n7" }) {
		n++
		if !slices.Equal(g.Keys(), []string{"n3", "n7"}) {
			t.Fatalf("keys = %v", g.Keys())
		}
	}
	if n != 1 {
		t.Fatalf("%d groups", n)
	}
	tr.Remove("n3")
	if tr.Has("n3") || tr.Len() != 9 {
		t.Fatal("Remove did not forget n3")
	}
}

func TestManyChildren(t *testing.T) {
	tr := New()
	for i := range 1000 {
		k := fmt.Sprintf("n%d", i)
		tr.Add(k, []byte("head"))
		tr.Add(k, []byte(fmt.Sprintf("line %d", i%7)))
	}
	n := 0
	for g := range tr.Groups() {
		n++
		if len(g.Keys()) < 142 {
			t.Fatalf("group %q has %d keys", g.Bytes(), len(g.Keys()))
		}
	}
	if n != 7 {
		t.Fatalf("%d groups, want 7", n)
	}
}

// TestIdenticalOutputsStoredOnce: 10,000 nodes printing the same 1 MiB
// output must cost about one copy, not 10,000.
func TestIdenticalOutputsStoredOnce(t *testing.T) {
	const nodes = 10000
	// 1 MiB as 16 lines of 64 KiB; every node's lines are fresh buffers of
	// identical content, as a reader would hand them over.
	line := bytes.Repeat([]byte("0123456789abcdef"), 4096)
	buf := make([]byte, len(line))
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	tr := New()
	for i := range nodes {
		c := tr.Cursor(fmt.Sprintf("node%d", i))
		for j := range 16 {
			copy(buf, line)
			buf[0] = byte('A' + j)
			c.Add(buf)
		}
	}
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if tr.Size() != 16*len(line) {
		t.Fatalf("Size = %d, want %d", tr.Size(), 16*len(line))
	}
	grown := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	if grown > 16<<20 {
		t.Fatalf("heap grew by %d bytes for 10,000 identical 1 MiB outputs", grown)
	}
	groups := 0
	for g := range tr.Groups() {
		groups++
		if len(g.Keys()) != nodes {
			t.Fatalf("group has %d keys", len(g.Keys()))
		}
	}
	if groups != 1 {
		t.Fatalf("%d groups", groups)
	}
	runtime.KeepAlive(tr)
}

func TestFormat(t *testing.T) {
	tr := New()
	tr.Add("n1", []byte("a"))
	tr.Add("n1", []byte("b"))
	var g Group
	for g = range tr.Groups() {
	}
	got := string(AppendBlock(nil, true, "n[1-2]", 2, g.Lines()))
	want := "---------------\nn[1-2] (2)\n---------------\na\nb\n"
	if got != want {
		t.Fatalf("block = %q, want %q", got, want)
	}
	if got := string(AppendBlock(nil, true, "n1", 1, g.Lines())); got != "---------------\nn1\n---------------\na\nb\n" {
		t.Fatalf("block = %q", got)
	}
	if got := string(AppendLine(nil, "n1", []byte("x"))); got != "n1: x\n" {
		t.Fatalf("line = %q", got)
	}
	if got := string(AppendLine(nil, "", []byte("x"))); got != "x\n" {
		t.Fatalf("line = %q", got)
	}
}

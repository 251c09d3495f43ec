package gather

import (
	"slices"
	"strings"
	"testing"
)

// Expectations computed with Python's difflib.unified_diff(lineterm=”).
func TestUnifiedDiff(t *testing.T) {
	split := func(s string) []string {
		if s == "" {
			return nil
		}
		return strings.Split(s, " ")
	}
	for _, c := range []struct{ a, b, want string }{
		{"a b c d e f g h i j k", "a B c d e f g h i x j k l",
			"--- A|+++ B|@@ -1,5 +1,5 @@| a|-b|+B| c| d| e|@@ -7,5 +7,7 @@| g| h| i|+x| j| k|+l"},
		{"x", "", "--- A|+++ B|@@ -1 +0,0 @@|-x"},
		{"", "", ""},
		{"same", "same", ""},
	} {
		got := strings.Join(UnifiedDiff(split(c.a), split(c.b), "A", "B", 3), "|")
		if got != c.want {
			t.Errorf("diff(%q, %q) =\n%s\nwant\n%s", c.a, c.b, got, c.want)
		}
	}
	// popular lines (more than 1% of 200+ lines) do not anchor matches
	var a, b []string
	for i := range 300 {
		a = append(a, "same")
		b = append(b, "same")
		if i%50 == 0 {
			b = append(b, "extra")
		}
	}
	d := UnifiedDiff(a, b, "A", "B", 3)
	if len(d) == 0 || !slices.Contains(d, "+extra") {
		t.Fatalf("diff with popular lines: %q", d)
	}
}

func TestUnifiedDiffTrailingHunk(t *testing.T) {
	a := []string{"a", "b", "c", "d", "e", "f", "g", "h", "i"}
	b := []string{"a", "B", "c", "d", "e", "f", "g", "h", "i", "j"}
	got := strings.Join(UnifiedDiff(a, b, "x", "y", 3), "\n")
	want := "--- x\n+++ y\n@@ -1,5 +1,5 @@\n a\n-b\n+B\n c\n d\n e\n@@ -7,3 +7,4 @@\n g\n h\n i\n+j"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if d := UnifiedDiff(a, a, "x", "y", 3); d != nil {
		t.Errorf("identical inputs: %q", d)
	}
}

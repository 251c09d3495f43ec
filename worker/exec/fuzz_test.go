package exec

import (
	"errors"
	"strings"
	"testing"
)

func FuzzExpand(f *testing.F) {
	for _, s := range []string{"echo %h", "%{rank}%%", "50%", "%hostname", "a\n%"} {
		f.Add(s, "node1", 3)
	}
	f.Fuzz(func(t *testing.T, pattern, node string, rank int) {
		out, err := Expand(pattern, node, rank)
		if err != nil {
			var pe *PatternError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is not a *PatternError", err)
			}
			return
		}
		if !strings.Contains(pattern, "%") && out != pattern {
			t.Fatalf("Expand(%q) = %q without placeholders", pattern, out)
		}
		if Check(pattern) != nil {
			t.Fatal("Check disagrees with Expand")
		}
	})
}

func FuzzSplit(f *testing.F) {
	for _, s := range []string{`a 'b c' "d\"e"`, `x\ y`, `'`, "a\\\nb"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		words, err := Split(line)
		if err != nil {
			if !errors.Is(err, ErrSyntax) {
				t.Fatalf("error %v does not wrap ErrSyntax", err)
			}
			return
		}
		// words without quoting characters survive a re-join and re-split
		simple := true
		for _, w := range words {
			if w == "" || strings.ContainsAny(w, " \t\n'\"\\") {
				simple = false
			}
		}
		if simple {
			again, err := Split(strings.Join(words, " "))
			if err != nil || strings.Join(again, "\x00") != strings.Join(words, "\x00") {
				t.Fatalf("re-split of %q = %q, %v", words, again, err)
			}
		}
	})
}

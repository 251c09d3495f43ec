package nodeset

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// serializeINI writes f back in a canonical form that must parse to the same
// content.
func serializeINI(f *iniFile) string {
	var b strings.Builder
	writeSect := func(name string, s *iniSection) {
		b.WriteString("[" + name + "]\n")
		for _, k := range s.keys {
			lines := strings.Split(s.values[k], "\n")
			b.WriteString(k + " = " + lines[0] + "\n")
			for _, l := range lines[1:] {
				if l == "" {
					b.WriteString("\n")
				} else {
					b.WriteString(" " + l + "\n")
				}
			}
		}
	}
	if len(f.defaults.keys) > 0 {
		writeSect(iniDefaultSection, f.defaults)
	}
	for _, s := range f.sections {
		writeSect(s.name, s)
	}
	return b.String()
}

func FuzzGroupsINI(f *testing.F) {
	for _, s := range iniDifferentialCases {
		f.Add(s)
	}
	f.Add("[Main]\ndefault: local\nconfdir: /etc/clustershell/groups.conf.d $CFGDIR/groups.conf.d\n" +
		"[local]\nmap: sed -n 's/^$GROUP:\\(.*\\)/\\1/p' $CFGDIR/groups\n")
	f.Add("[DEFAULT]\ncache_time: 60\n[a,b]\nmap: echo %(x)s\n")
	f.Fuzz(func(t *testing.T, text string) {
		ini := newINIFile()
		err := ini.read("fuzz.conf", []byte(text))
		if err != nil {
			if !errors.Is(err, ErrGroupsConfig) || !strings.Contains(err.Error(), "fuzz.conf") {
				t.Fatalf("error %v is not a GroupsConfigError naming the file", err)
			}
			return
		}
		for _, s := range ini.sections {
			for _, k := range s.keys {
				_, _, _ = ini.get(s.name, k) // interpolation must not panic
			}
		}
		again := newINIFile()
		out := serializeINI(ini)
		if err := again.read("again.conf", []byte(out)); err != nil {
			t.Fatalf("re-reading canonical form failed: %v\ninput %q\ncanonical %q", err, text, out)
		}
		if !reflect.DeepEqual(dumpINI(ini), dumpINI(again)) {
			t.Fatalf("round trip changed content:\ninput %q\ncanonical %q\n got %v\nwant %v", text, out, dumpINI(again), dumpINI(ini))
		}
	})
}

func FuzzGroupsYAML(f *testing.F) {
	f.Add("rack:\n  r1: n[1-4]\n  r2: [n5, n6]\n  all: n[1-6]\n")
	f.Add("a: &x\n  g: n1\nb:\n  <<: *x\n  h: [n2, 'n3 n4']\n")
	f.Add("1: {}\n")
	f.Add("s:\n  g:\n  h: {x: y}\n  i: [[n1]]\n")
	f.Add("---\na: {}\n---\nb: {}\n")
	f.Add("a: !!binary aGVsbG8=\n")
	f.Add("")
	f.Fuzz(func(t *testing.T, text string) {
		names, groups, err := parseYAMLGroups("fuzz.yaml", []byte(text))
		if err != nil {
			if !errors.Is(err, ErrGroupsConfig) || !strings.Contains(err.Error(), "fuzz.yaml") {
				t.Fatalf("error %v is not a GroupsConfigError naming the file", err)
			}
			return
		}
		if len(names) != len(groups) {
			t.Fatalf("%d source names for %d sources", len(names), len(groups))
		}
		for _, n := range names {
			g := groups[n]
			if g == nil {
				t.Fatalf("source %q listed but missing", n)
			}
			if len(g.names) != len(g.values) {
				t.Fatalf("source %q: %d names for %d values", n, len(g.names), len(g.values))
			}
			for _, gn := range g.names {
				v, ok := g.values[gn]
				if !ok {
					t.Fatalf("group %q of %q has no value", gn, n)
				}
				if v.err != nil && !errors.Is(v.err, ErrGroupsConfig) {
					t.Fatalf("group %q value error %v is not a GroupsConfigError", gn, v.err)
				}
				for _, item := range v.items {
					if item == "" || strings.IndexFunc(item, pyIsSpace) >= 0 {
						t.Fatalf("group %q item %q is empty or holds whitespace", gn, item)
					}
				}
			}
		}
	})
}

// shellQuote quotes w for shellSplit (single quotes, ' written as '"'"').
func shellQuote(w string) string {
	return "'" + strings.ReplaceAll(w, "'", `'"'"'`) + "'"
}

func FuzzGroupsShellSplit(f *testing.F) {
	for _, s := range shlexDifferentialCases {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		words, err := shellSplit(s)
		if err != nil {
			return
		}
		quoted := make([]string, len(words))
		for i, w := range words {
			quoted[i] = shellQuote(w)
		}
		again, err := shellSplit(strings.Join(quoted, " "))
		if err != nil || !reflect.DeepEqual(again, words) && !(len(again) == 0 && len(words) == 0) {
			t.Fatalf("split(%q) = %q; re-split of quoted form = %q, %v", s, words, again, err)
		}
	})
}

func FuzzGroupsSubstitute(f *testing.F) {
	for _, s := range templateDifferentialCases {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		// Substituting no variables changes only "$$" into "$".
		if got := safeSubstitute(s, nil); got != strings.ReplaceAll(s, "$$", "$") {
			t.Fatalf("safeSubstitute(%q, nil) = %q", s, got)
		}
		// A value holding "$" is inserted literally, never re-expanded.
		got := safeSubstitute("$GROUP", map[string]string{"GROUP": s})
		if got != s {
			t.Fatalf("value %q came out as %q", s, got)
		}
	})
}

package proc

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestSplitWords(t *testing.T) {
	cases := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"  ssh  ", []string{"ssh"}},
		{`-F "/a b/c" -oX='y z'`, []string{"-F", "/a b/c", "-oX=y z"}},
		{`a\ b "c\"d" 'e\f' ""`, []string{"a b", `c"d`, `e\f`, ""}},
		{"sshpass -p 'p w' ssh", []string{"sshpass", "-p", "p w", "ssh"}},
	}
	for _, c := range cases {
		got, err := SplitWords(c.in)
		if err != nil || strings.Join(got, "|") != strings.Join(c.want, "|") || len(got) != len(c.want) {
			t.Errorf("SplitWords(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{`'x`, `"x`, `x\`} {
		if _, err := SplitWords(bad); err == nil {
			t.Errorf("SplitWords(%q) accepted", bad)
		}
	}
}

// FuzzSplitWords checks SplitWords against the shell itself: for input
// without expansions, sh must see the same words.
func FuzzSplitWords(f *testing.F) {
	for _, s := range []string{`a "b c" 'd'`, `x\ y`, `"a\"b"`, `''`, "a\tb\nc", `"\\"`} {
		f.Add(s)
	}
	sh, err := exec.LookPath("sh")
	f.Fuzz(func(t *testing.T, s string) {
		words, werr := SplitWords(s)
		if err != nil || strings.ContainsAny(s, "$`;&|<>()*?[]{}~#!=%\x00\r") || strings.Contains(s, "\\\n") {
			return
		}
		for _, c := range s {
			if c < ' ' && c != '\t' && c != '\n' || c > '~' {
				return
			}
		}
		out, shErr := exec.Command(sh, "-c", `for w in `+s+`; do printf '%s\0' "$w"; done`).Output()
		if (werr == nil) != (shErr == nil) {
			// sh reads a newline as the end of the for list; only compare
			// one-line inputs on errors.
			if !strings.Contains(s, "\n") {
				t.Fatalf("%q: SplitWords err %v, sh err %v", s, werr, shErr)
			}
			return
		}
		if werr != nil || strings.Contains(s, "\n") {
			return
		}
		var got bytes.Buffer
		for _, w := range words {
			got.WriteString(w)
			got.WriteByte(0)
		}
		if got.String() != string(out) {
			t.Fatalf("%q: SplitWords %q, sh %q", s, words, out)
		}
	})
}

func TestClassify(t *testing.T) {
	cases := map[string]Kind{
		"ssh: connect to host 10.0.0.1 port 22: Connection refused":     KindRefused,
		"ssh: Could not resolve hostname x: Name or service not known":  KindDNS,
		"ssh: connect to host 10.0.0.1 port 22: Connection timed out":   KindTimeout,
		"root@10.0.0.1: Permission denied (publickey).":                 KindAuth,
		"Host key verification failed.":                                 KindHostKey,
		"ssh: connect to host 10.0.0.1 port 22: No route to host":       KindUnreachable,
		"kex_exchange_identification: Connection closed by remote host": KindUnreachable,
		"bash: foo: command not found":                                  KindOther,
	}
	for msg, want := range cases {
		if got := Classify(msg); got != want {
			t.Errorf("Classify(%q) = %v, want %v", msg, got, want)
		}
	}
}

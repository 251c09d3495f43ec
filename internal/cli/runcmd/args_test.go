package runcmd

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestParseArgs(t *testing.T) {
	o, err := parseArgs([]string{"-bLw", "n[1-3]", "-x", "n2", "-f8", "--command_timeout=1.5", "--work", "exec", "-NS", "echo", "-b", "x"})
	if err != nil {
		t.Fatal(err)
	}
	if !o.gather || !o.lineMode || !o.noLabel || !o.maxrc || o.fanout != 8 || o.cmdTimeout != 1.5 ||
		o.workerName != "exec" || !slices.Equal(o.nodes, []string{"n[1-3]"}) || !slices.Equal(o.exclude, []string{"n2"}) ||
		!slices.Equal(o.args, []string{"echo", "-b", "x"}) {
		t.Fatalf("parsed %+v", o)
	}
	o, err = parseArgs([]string{"-w", "a", "--", "-b"})
	if err != nil || o.gather || !slices.Equal(o.args, []string{"-b"}) {
		t.Fatalf("-- handling: %+v %v", o, err)
	}
	for _, bad := range [][]string{{"-Z"}, {"-f", "x"}, {"-u", "y"}, {"-w"}, {"--nostdin=1"}, {"--bogus"}, {"--co"}} {
		var ue *usageError
		if _, err := parseArgs(bad); !errors.As(err, &ue) {
			t.Errorf("parseArgs(%q) = %v, want a usage error", bad, err)
		}
	}
	if _, err := parseArgs([]string{"--help"}); !errors.Is(err, errHelp) {
		t.Fatalf("--help: %v", err)
	}
}

func FuzzParseArgs(f *testing.F) {
	f.Add("-bL", "-w", "n[1-3]", "echo")
	f.Add("--fanout=3", "-x", "a", "--")
	f.Add("-f", "--", "-u", "1e3")
	f.Fuzz(func(t *testing.T, a, b, c, d string) {
		args := []string{a, b, c, d}
		o, err := parseArgs(args)
		if err != nil {
			var ue *usageError
			if !errors.As(err, &ue) && !errors.Is(err, errHelp) {
				t.Fatalf("unexpected error type %T: %v", err, err)
			}
			return
		}
		if len(o.args) > len(args) {
			t.Fatalf("more command words than arguments")
		}
		// the command is a suffix of the arguments (copies collect their
		// sources between options)
		if !o.copy && !o.rcopy && !slices.Equal(args[len(args)-len(o.args):], o.args) {
			t.Fatalf("command %q is not a suffix of %q", o.args, args)
		}
	})
}

func FuzzParseINI(f *testing.F) {
	f.Add("[Main]\nfanout: 3\n  more\n# c\nkey = v\n")
	f.Add("[Main\nx")
	f.Add("k=v\n")
	f.Fuzz(func(t *testing.T, text string) {
		data := newINIData()
		if err := parseINI(strings.NewReader(text), data); err != nil {
			if !errors.Is(err, errConfig) {
				t.Fatalf("error %v does not wrap errConfig", err)
			}
			return
		}
		if len(data.order) != len(data.sections) {
			t.Fatalf("%d sections, %d in order", len(data.sections), len(data.order))
		}
		for _, c := range data.sections {
			for k := range c {
				if k != strings.ToLower(k) || strings.TrimSpace(k) != k {
					t.Fatalf("key %q not normalized", k)
				}
			}
		}
	})
}

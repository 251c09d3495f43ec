// Command muster runs work in the background and across many machines.
//
// It is a multi-call binary: invoked as "muster SUBCOMMAND ...", or through a
// link named after a compatible tool ("nodeset", "cluset", "clush",
// "clubak"), in which
// case it behaves as that tool.
package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/term"

	"github.com/muster-sh/muster/internal/cli"
	"github.com/muster-sh/muster/mesh"
)

type command struct {
	name, summary string
	main          cli.Main
}

var commands = map[string]command{}

// register adds a subcommand; each subcommand's file calls it from init.
func register(name, summary string, main cli.Main) {
	if _, dup := commands[name]; dup {
		panic("muster: subcommand registered twice: " + name)
	}
	commands[name] = command{name, summary, main}
}

// aliases maps the names of the tools muster stands in for to its subcommands.
var aliases = map[string]string{
	"nodeset": "nodeset",
	"cluset":  "nodeset",
	"clush":   "run",
	"clubak":  "gather",
}

func main() {
	mesh.MaybeAgent()
	os.Exit(run(os.Args, stdio()))
}

func stdio() cli.Stdio {
	// Ask the tty driver: /dev/null is a character device but no terminal.
	return cli.Stdio{In: os.Stdin, Out: os.Stdout, Err: os.Stderr, InIsTerminal: term.IsTerminal(int(os.Stdin.Fd()))}
}

// run dispatches on the program name (multi-call) or on the first argument.
func run(argv []string, std cli.Stdio) int {
	prog := filepath.Base(argv[0])
	if sub, ok := aliases[prog]; ok {
		if c, ok := commands[sub]; ok {
			return c.main(argv[1:], std)
		}
		fmt.Fprintf(std.Err, "muster: %s is not available in this build\n", prog)
		return 1
	}
	if len(argv) < 2 {
		usage(std.Err)
		return 2
	}
	switch argv[1] {
	case "-h", "--help", "help":
		usage(std.Out)
		return 0
	}
	c, ok := commands[argv[1]]
	if !ok {
		fmt.Fprintf(std.Err, "muster: unknown command %q (expected one of: %s)\n", argv[1], strings.Join(names(), ", "))
		return 2
	}
	return c.main(argv[2:], std)
}

func names() []string {
	var out []string
	for n := range commands {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: muster COMMAND [ARGS...]")
	fmt.Fprintln(w, "\ncommands:")
	for _, n := range names() {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nInvoked through a link named nodeset, cluset, clush or clubak, muster behaves as that tool.")
}

package runcmd_test

import (
	"os"
	"strings"

	"github.com/muster-sh/muster/internal/cli"
	"github.com/muster-sh/muster/internal/cli/runcmd"
)

// Run a command on three "nodes" with the local exec worker and gather
// identical outputs, as clush -b does.
func ExampleMain() {
	rc := runcmd.Main([]string{"-R", "exec", "-b", "-w", "n[1-3]", "echo hello"},
		cli.Stdio{In: strings.NewReader(""), Out: os.Stdout, Err: os.Stdout})
	_ = rc
	// Output:
	// ---------------
	// n[1-3] (3)
	// ---------------
	// hello
}

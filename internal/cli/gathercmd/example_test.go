package gathercmd_test

import (
	"os"
	"strings"

	"github.com/muster-sh/muster/internal/cli"
	"github.com/muster-sh/muster/internal/cli/gathercmd"
)

func ExampleMain() {
	in := "node1: up\nnode2: up\nnode3: down\n"
	gathercmd.Main([]string{"-b", "--color=never"}, cli.Stdio{In: strings.NewReader(in), Out: os.Stdout, Err: os.Stderr})
	// Output:
	// ---------------
	// node[1-2] (2)
	// ---------------
	//  up
	// ---------------
	// node3
	// ---------------
	//  down
}

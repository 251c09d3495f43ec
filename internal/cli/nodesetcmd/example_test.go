package nodesetcmd_test

import (
	"fmt"
	"os"
	"strings"

	"github.com/muster-sh/muster/internal/cli"
	"github.com/muster-sh/muster/internal/cli/nodesetcmd"
)

func stdio(stdin string) cli.Stdio {
	return cli.Stdio{In: strings.NewReader(stdin), Out: os.Stdout, Err: os.Stdout}
}

// Fold, count and expand, as "nodeset -f", "-c" and "-e".
func ExampleMain() {
	nodesetcmd.Main([]string{"-f", "node[1-4]", "node7", "-x", "node2"}, stdio(""))
	nodesetcmd.Main([]string{"-c", "da[1-100]c[1-100]"}, stdio(""))
	nodesetcmd.Main([]string{"-e", "-S", `\n`, "n[08-10]"}, stdio(""))
	// Output:
	// node[1,3-4,7]
	// 10000
	// n08
	// n09
	// n10
}

// Node names read from standard input, folded with autostep.
func ExampleMain_stdin() {
	nodesetcmd.Main([]string{"-f", "--autostep=3"}, stdio("n1\nn3\nn5 n7 # comment\nn8\n"))
	// Output:
	// n[1-7/2,8]
}

// A usage error exits with status 2, as optparse does.
func ExampleMain_usage() {
	code := nodesetcmd.Main([]string{"-f", "-c", "n1"}, stdio(""))
	fmt.Println("exit status", code)
	// Output:
	// Usage: nodeset [COMMAND] [OPTIONS] [ns1 [-ixX] ns2|...]
	//
	// nodeset: error: Multiple commands not allowed.
	// exit status 2
}

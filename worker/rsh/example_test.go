package rsh_test

import (
	"fmt"

	"github.com/muster-sh/muster/worker/rsh"
)

// The rsh command line: the last argument makes the remote shell print the
// exit status, which the driver removes from the output.
func ExampleTransport_RshArgv() {
	tr, err := rsh.New(rsh.Config{RshPath: "mrsh", User: "root"})
	if err != nil {
		panic(err)
	}
	fmt.Printf("%q\n", tr.RshArgv("node3", "uptime"))
	// Output:
	// ["mrsh" "-l" "root" "node3" "uptime" "; echo XXRETCODE: $?"]
}

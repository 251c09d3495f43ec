package pdsh_test

import (
	"fmt"

	"github.com/muster-sh/muster/worker/pdsh"
)

// One pdsh process for the whole node set.
func ExampleTransport_PdshArgv() {
	tr, err := pdsh.New(pdsh.Config{Rcmd: "ssh", Fanout: 64})
	if err != nil {
		panic(err)
	}
	fmt.Printf("%q\n", tr.PdshArgv("node1,node2,node3", "uptime", 0))
	// Output:
	// ["pdsh" "-b" "-R" "ssh" "-f" "64" "-w" "node1,node2,node3" "uptime"]
}

// How pdsh's lines are read.
func ExampleParseLine() {
	for _, s := range []string{
		"node2: 5.10.0-28-amd64",
		"pdsh@head: node3: ssh exited with exit code 2",
	} {
		l := pdsh.ParseLine([]byte(s))
		fmt.Printf("kind %v node %s code %d text %q\n", l.Kind, l.Node, l.Code, l.Text)
	}
	// Output:
	// kind node node node2 code 0 text "5.10.0-28-amd64"
	// kind exit node node3 code 2 text "ssh exited with exit code 2"
}

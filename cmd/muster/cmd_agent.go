package main

import (
	"fmt"

	"github.com/muster-sh/muster/internal/cli"
	"github.com/muster-sh/muster/mesh"
)

func init() {
	register("agent", "serve the mesh protocol on stdin/stdout (a parent muster starts this)", agentMain)
}

// agentMain runs this process as a mesh child. A parent normally starts
// the binary with MUSTER_MESH_AGENT=1, which main hands to mesh.MaybeAgent
// before any subcommand; "muster agent" is the same thing by name.
func agentMain(args []string, stdio cli.Stdio) int {
	if len(args) > 0 {
		fmt.Fprintf(stdio.Err, "muster agent: unexpected argument %q (it takes none; a parent muster speaks to it on stdin/stdout)\n", args[0])
		return 2
	}
	return mesh.RunAgent()
}

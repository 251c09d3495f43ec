package main

import "github.com/muster-sh/muster/internal/cli/gathercmd"

func init() {
	register("gather", "gather `node: line` output by identical content (ClusterShell's clubak)", gathercmd.Main)
}

package main

import "github.com/muster-sh/muster/internal/cli/runcmd"

func init() {
	register("run", "run a command on a node set, like ClusterShell's clush", runcmd.Main)
}

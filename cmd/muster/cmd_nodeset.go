package main

import "github.com/muster-sh/muster/internal/cli/nodesetcmd"

func init() {
	register("nodeset", "fold, expand, count node sets (ClusterShell's nodeset)", nodesetcmd.Main)
}

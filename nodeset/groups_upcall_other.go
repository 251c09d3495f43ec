//go:build !unix

package nodeset

import "os/exec"

// setProcessGroup is a no-op where process groups do not exist; the
// default cancellation kills the shell only.
func setProcessGroup(*exec.Cmd) {}

package service

import (
	"testing"

	"github.com/muster-sh/muster/mesh"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	mesh.MaybeAgent()
	// Idle workers of sched.Default() (used by the examples' routers) wait
	// in Scheduler.work until their idle timeout; a call stuck in this
	// package would show a service frame on top instead.
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("github.com/muster-sh/muster/sched.(*Scheduler).work"))
}

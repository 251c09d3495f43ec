package nodesetcmd

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that no test leaves goroutines behind (group upcalls and
// the reference tool run as subprocesses).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

package service

import (
	"testing"

	"github.com/muster-sh/muster/mesh"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	mesh.MaybeAgent()
	goleak.VerifyTestMain(m)
}

package proc

import (
	"errors"
	"path/filepath"

	"github.com/muster-sh/muster/worker"
)

// ErrEmptyCommand is returned for an empty command line: ssh or rsh would
// open an interactive login instead, pdsh would read commands from its
// input.
var ErrEmptyCommand = errors.New("empty command line")

// ErrNotDir is matched by the error a transport's Copy returns when a
// reverse copy's destination is not a directory.
var ErrNotDir = errors.New("not a directory")

// ReverseDest is where a reverse copy of cp from node lands:
// cp.Dest/<base name of cp.Source>.<node>.
func ReverseDest(cp worker.Copy, node string) string {
	return filepath.Join(cp.Dest, filepath.Base(cp.Source)+"."+node)
}

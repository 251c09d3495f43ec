package proc

import (
	"errors"
	"fmt"
	"os"
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

// CheckCopy checks the local side of cp before any node is contacted, as
// every copying transport must: a reverse copy needs an existing local
// destination directory, a forward copy an existing source. It reports
// whether the source is a directory (forward copies only). name prefixes
// the errors ("openssh", "pdsh", ...).
func CheckCopy(name string, cp worker.Copy) (isDir bool, err error) {
	if cp.Reverse {
		fi, err := os.Stat(cp.Dest)
		if err != nil {
			return false, fmt.Errorf("%s: reverse copy destination %q: %w", name, cp.Dest, err)
		}
		if !fi.IsDir() {
			return false, fmt.Errorf("%s: reverse copy destination %q is not a directory: %w", name, cp.Dest, ErrNotDir)
		}
		return false, nil
	}
	fi, err := os.Stat(cp.Source)
	if err != nil {
		return false, fmt.Errorf("%s: copy source %q: %w", name, cp.Source, err)
	}
	return fi.IsDir(), nil
}

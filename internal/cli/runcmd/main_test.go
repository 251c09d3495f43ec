package runcmd

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"go.uber.org/goleak"
)

// TestMain points HOME, XDG_CONFIG_HOME and CLUSTERSHELL_CFGDIR at empty
// directories for the whole package, for muster and for the clush it is
// compared with, so that a user's clush.conf or groups.conf cannot change
// the results. Files under /etc/clustershell are read by both tools alike.
// origEnv is HOME and the XDG settings before TestMain changed them, for
// the go command that builds the binary (its caches live there).
var origEnv []string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "runcmd-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	for _, k := range []string{"HOME", "XDG_CONFIG_HOME", "CLUSTERSHELL_CFGDIR"} {
		if v, ok := os.LookupEnv(k); ok {
			origEnv = append(origEnv, k+"="+v)
		}
	}
	for k, sub := range map[string]string{"HOME": "home", "XDG_CONFIG_HOME": "xdg", "CLUSTERSHELL_CFGDIR": "cfgdir"} {
		p := filepath.Join(dir, sub)
		if err := os.Mkdir(p, 0o755); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		os.Setenv(k, p)
	}
	goleak.VerifyTestMain(m, goleak.Cleanup(func(code int) {
		os.RemoveAll(dir)
		os.Exit(code)
	}))
}

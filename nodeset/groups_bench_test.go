package nodeset

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// benchGroupsDir writes a configuration with one YAML source of n groups
// and one upcall source, and returns the groups.conf path.
func benchGroupsDir(b *testing.B, n int) string {
	b.Helper()
	var y strings.Builder
	y.WriteString("big:\n")
	for i := range n {
		fmt.Fprintf(&y, "  g%d: node[%d-%d]\n", i, i*10, i*10+9)
	}
	dir := b.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "groups.d"), 0o755); err != nil {
		b.Fatal(err)
	}
	conf := "[Main]\ndefault: big\nautodir: $CFGDIR/groups.d\n[up]\nmap: echo n[1-4]\n"
	if err := os.WriteFile(filepath.Join(dir, "groups.conf"), []byte(conf), 0o644); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "groups.d", "big.yaml"), []byte(y.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	return filepath.Join(dir, "groups.conf")
}

// BenchmarkGroupsLoadYAML1k loads groups.conf with a 1000-group YAML file
// and resolves one group (what one nodeset invocation pays).
func BenchmarkGroupsLoadYAML1k(b *testing.B) {
	p := benchGroupsDir(b, 1000)
	for b.Loop() {
		gs, err := LoadGroupsConfig(p)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := gs.Group("", "g500"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGroupsUpcallCached resolves a group whose upcall result is cached.
func BenchmarkGroupsUpcallCached(b *testing.B) {
	gs, err := LoadGroupsConfig(benchGroupsDir(b, 1))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := gs.Group("up", "g"); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := gs.Group("up", "g"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGroupsUpcallRun runs the map upcall every time (/bin/sh -c).
func BenchmarkGroupsUpcallRun(b *testing.B) {
	gs, err := LoadGroupsConfig(benchGroupsDir(b, 1))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		gs.ClearCache()
		if _, err := gs.Group("up", "g"); err != nil {
			b.Fatal(err)
		}
	}
}

package nodeset_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/muster-sh/muster/nodeset"
)

func ExampleNewStaticGroups() {
	groups := nodeset.NewStaticGroups("rack", map[string]map[string][]string{
		"rack": {
			"r1":  {"node[1-4]"},
			"r2":  {"node[5-8]"},
			"all": {"node[1-8]"},
		},
		"role": {
			"io":  {"node[1,5]"},
			"gpu": {"@rack:r2!node5"},
		},
	})
	ns, _ := nodeset.Parse("@r1,@role:gpu", nodeset.WithResolver(groups))
	fmt.Println(ns)
	names, _ := groups.List("role")
	fmt.Println(names)
	// Output:
	// node[1-4,6-8]
	// [gpu io]
}

func ExampleLoadGroupsConfig() {
	dir, _ := os.MkdirTemp("", "groups")
	defer os.RemoveAll(dir)
	conf := `[Main]
default: site
autodir: $CFGDIR/groups.d

[site]
map: echo site-$GROUP[1-2]
list: echo web db
`
	yaml := "os:\n  el9: node[1-3]\n  all: node[1-4]\n"
	_ = os.MkdirAll(filepath.Join(dir, "groups.d"), 0o755)
	_ = os.WriteFile(filepath.Join(dir, "groups.conf"), []byte(conf), 0o644)
	_ = os.WriteFile(filepath.Join(dir, "groups.d", "os.yaml"), []byte(yaml), 0o644)

	groups, err := nodeset.LoadGroupsConfig(filepath.Join(dir, "groups.conf"))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(groups.Sources())
	web, _ := groups.Group("", "web")
	fmt.Println(web)
	all, _ := nodeset.Parse("@os:*", nodeset.WithResolver(groups))
	fmt.Println(all)
	// Output:
	// [site os]
	// [site-web[1-2]]
	// node[1-4]
}

func ExampleUpcallError() {
	groups, cleanup := mustTempConfig("[flaky]\nmap: echo \"no such group: $GROUP\" >&2; exit 1\n")
	defer cleanup()
	_, err := groups.Group("flaky", "web")
	var ue *nodeset.UpcallError
	if errors.As(err, &ue) {
		fmt.Println(ue.Source, ue.Upcall, ue.ExitCode, ue.Stderr)
	}
	// Output:
	// flaky map 1 no such group: web
}

// mustTempConfig loads conf from a temporary directory, which the upcalls
// use as their working directory until cleanup.
func mustTempConfig(conf string) (*nodeset.GroupSources, func()) {
	dir, err := os.MkdirTemp("", "groups")
	if err != nil {
		panic(err)
	}
	p := filepath.Join(dir, "groups.conf")
	if err := os.WriteFile(p, []byte(conf), 0o644); err != nil {
		panic(err)
	}
	g, err := nodeset.LoadGroupsConfig(p)
	if err != nil {
		panic(err)
	}
	return g, func() { os.RemoveAll(dir) }
}

// Group sources are usually set up once: this gives Parse ClusterShell's
// behaviour, reading groups.conf from the standard places when a group is
// first used.
func ExampleNewLazyGroups() {
	nodeset.SetDefaultResolver(nodeset.NewLazyGroups(nodeset.LoadDefaultGroups))
	defer nodeset.SetDefaultResolver(nil)

	// No group here: the configuration is not even read.
	ns, err := nodeset.Parse("node[1-4],node7")
	fmt.Println(ns, err)
	// Output:
	// node[1-4,7] <nil>
}

package gather_test

import (
	"fmt"
	"strings"

	"github.com/muster-sh/muster/gather"
)

func Example() {
	tr := gather.New()
	tr.Add("n1", []byte("Linux 6.1"))
	tr.Add("n2", []byte("Linux 6.1"))
	tr.Add("n3", []byte("Linux 5.10"))
	for g := range tr.Groups() {
		fmt.Print(string(gather.AppendBlock(nil, true, strings.Join(g.Keys(), ","), len(g.Keys()), g.Lines())))
	}
	// Output:
	// ---------------
	// n1,n2 (2)
	// ---------------
	// Linux 6.1
	// ---------------
	// n3
	// ---------------
	// Linux 5.10
}

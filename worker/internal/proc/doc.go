// Package proc is the code shared by the workers that run a local program
// per node or per node set (worker/exec, worker/openssh, worker/rsh,
// worker/pdsh): running the program in its own process group with the
// session's input and output (RunClient), splitting program and option
// strings like a shell (SplitWords), and reporting a node that could not
// be reached (ConnError, Classify).
//
// It sits below those packages so that none of them imports a sibling. worker/openssh re-exports the names users need (ConnError,
// Kind, ErrConnect, ...) as aliases, so errors.Is and errors.As work with
// either name.
package proc

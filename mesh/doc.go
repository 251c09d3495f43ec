// Package mesh connects a tree of contexts, processes that run the same
// binary, with framed messages: a parent starts children on this machine
// (Router.Local) or over ssh (Router.SSH), children start their own
// (Context.Local, Context.SSH), and any context calls functions registered
// in the binary in another (Context.Call) or streams messages to it
// (Receiver, Sender).
//
// # Routers and contexts
//
// Every process in a tree has one Router. The root has context id 0 and
// hands out ids; a child's boot configuration names its id and its parents.
// A message goes down a link when a route to its destination is known
// (children announce new descendants with ADD_ROUTE) and up to the parent
// otherwise. The authenticated source of every message is checked by the
// receiving router against the link it came on, so a child cannot pass a
// message off as its parent's.
//
// # Failure
//
// A waiter never hangs on a context that is gone: when a link drops, every
// context behind it is declared gone (DEL_ROUTE travels up and down the
// tree) and every pending call to them fails with a *ChannelError. An
// unroutable, refused, oversized or unhandled message is answered with a
// dead message carrying the reason. A child whose parent link closes shuts
// down its own children and exits; Router.Close asks children to shut
// down, waits Config.ShutdownGrace, then kills them.
//
// # Where code runs
//
// Each link has one reader goroutine, which routes what arrives and calls
// handlers (AddHandler) inline, and one writer goroutine, which writes the
// link's queue through a buffer flushed whenever the queue runs empty, so
// that a burst of messages costs one write. Registered functions run on the
// Config.Scheduler; when its queue is full the reader waits for room, which
// slows that link down rather than dropping calls. Receivers queue without
// bound; Sender.Send and SendBytes wait while more than 8 MiB is queued on
// the outgoing link. A stream that needs a tighter bound acknowledges
// messages (see package service's file transfers).
//
// # Agents
//
// A child is this very binary started with MUSTER_MESH_AGENT=1; MaybeAgent,
// called first in main (and in TestMain of tests that start children),
// turns such a process into an agent serving its stdin and stdout. The wire
// format is described in PROTOCOL.md beside this file.
package mesh

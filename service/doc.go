// Package service serves typed services between the contexts of a mesh: a
// parent process and the children it started locally or over ssh, which run
// the same binary.
//
// # Services and exposed methods
//
// A [Service] has a canonical name ("muster.FileService") and methods that
// are callable only if exposed explicitly with [Expose]. An exposed method is
// a plain typed function,
//
//	func(ctx context.Context, c *service.CallInfo, req Req) (Resp, error)
//
// where Req is a struct. Each method has one or more policies ([AllowParents],
// [AllowAny], or any [Policy]) and every one must authorize a caller, judged by
// the call's authenticated source (stamped by the receiving router from the
// link the message arrived on, so a child cannot pose as its parent). A method
// exposed with no policy is refused to everyone. The built-in policies decide
// on the goroutine that received the call; the calls of a service with any
// custom policy are checked on a sched job, one at a time in arrival order,
// so that a slow policy holds a worker, not the link.
//
// # Arguments
//
// The call's arguments, a CBOR map, are decoded strictly into Req: each key
// must be a field's `cbor` tag name (or Go name) exactly; every field is
// required unless its `cbor` tag has omitempty or omitzero, or it is tagged
// `service:"optional"`; each value must decode into its field's type
// (a byte string is not text; CBOR null only into a pointer, slice, map or
// interface field, never as a scalar's or struct's zero value). A violation is an [*ArgError] naming the field
// and what was expected.
//
// All checks — the service exists or may be activated, the method exists and
// is exposed, every policy passes, the arguments match — run before the
// method, and a call that fails any of them runs nothing.
//
// # Errors
//
// The caller receives an [*Error] whose [Code] says what happened; it matches
// the sentinels ([ErrNoSuchService], [ErrNoSuchMethod], [ErrNotExposed],
// [ErrRefused], [ErrNotActivated], [ErrBadArgs], [ErrFailed], [ErrClosed])
// with errors.Is, and wraps a *mesh.CallError carrying the remote error's
// type and message, and its stack when the serving [Pool] has Debug set.
// A lost context or link is a *mesh.ChannelError instead.
//
// # Invokers
//
// A service's [Invoker] decides how its calls run on the Pool's
// sched.Scheduler: [Concurrent] (the default) runs each call as its own job;
// [Serialized] runs them one at a time in arrival order, borrowing one worker
// only while calls are pending; [Deduplicating] lets identical calls in flight
// (same caller, same method, same canonical arguments) share one execution
// and one result, the waiters holding no worker, and optionally caches
// results for a while (errors only if asked). Calls from different callers
// never share a result: the method runs with each caller's [CallInfo].
//
// # Pools and activation
//
// A [Pool] serves one context's services: [NewPool] listens for service calls
// on a mesh.Router. In a parent it is created by hand and services are added
// with [Pool.Add]. Every child (an agent started by mesh) gets a Pool on
// start-up, and a service registered with [Register] is activated there on
// the first call from one of the child's parents; anyone else is refused,
// with an error naming the service, until a parent has started activating
// it (a call that arrives during the activation waits for it, then the
// method's own policies decide).
//
// # Calling
//
// [Call] and [CallAsync] call a method of a service in a mesh.Context (the
// root may call itself through router.Myself()); [Ref] gives a typed handle
// on one method. [Pool.Invoke] calls in-process, through the same checks.
//
// # File services
//
// [FileService] lets children fetch the files, and the files under the
// directories, that the parent registered (a file under a directory is
// opened through an os.Root of it, a registered file must still be the one
// registered, and only regular files are opened, without blocking, so that
// neither a racing rename nor a FIFO gets past the checks): metadata first,
// then chunks under a window of acknowledgements ([Fetch]); [FetchFile]
// writes a temporary file renamed into place only when complete. A Fetch that stops early cancels
// its transfer, and a transfer left unacknowledged for the IdleTimeout is
// dropped, so that no fetcher holds the link to its parent for ever.
// [PushFileService] pushes files down a subtree of contexts so that each file
// crosses each link once, caching them in every context within a bound. A
// context gives a cached file back ("get") only to its parents and to the
// contexts below a link the file was pushed on, never to a sibling subtree.
package service

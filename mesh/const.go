package mesh

import (
	"errors"
	"fmt"
	"time"
)

// Wire constants. PROTOCOL.md describes the frame these fields make up.
const (
	// Magic opens every frame header: "MU".
	Magic uint16 = 0x4d55
	// Version is the protocol version carried in every frame header and in
	// the agent greeting. Peers with a different version refuse each other.
	Version uint8 = 1
	// HeaderSize is the size in bytes of a frame header.
	HeaderSize = 30
)

// Header layout: byte offsets of each big-endian field.
const (
	offMagic   = 0  // uint16
	offVersion = 2  // uint8
	offResv    = 3  // uint8, must be 0
	offFlags   = 4  // uint16
	offDst     = 6  // uint32
	offSrc     = 10 // uint32
	offAuth    = 14 // uint32
	offHandle  = 18 // uint32
	offReplyTo = 22 // uint32
	offLength  = 26 // uint32
)

// Message flags.
const (
	// FlagDead marks a dead message: the channel it answers is closed,
	// refused or unroutable. Its body is the reason, as UTF-8 text.
	FlagDead uint16 = 1 << 0
	// FlagError marks a reply whose body is an encoded CallError.
	FlagError uint16 = 1 << 1
	// FlagRaw marks a body of raw bytes rather than CBOR.
	FlagRaw uint16 = 1 << 2

	knownFlags = FlagDead | FlagError | FlagRaw
)

// Well-known handles. Handles below FirstDynamicHandle are reserved;
// NewHandle allocates from FirstDynamicHandle up.
const (
	// HandleCallFunction receives Call, CallAsync and CallNoReply requests
	// for functions registered with Register.
	HandleCallFunction Handle = 101
	// HandleAddRoute announces a new context below the sender.
	HandleAddRoute Handle = 103
	// HandleDelRoute announces that a context is gone.
	HandleDelRoute Handle = 104
	// HandleAllocateID asks the root for a block of context ids.
	HandleAllocateID Handle = 105
	// HandleShutdown asks a context to shut down (with its children).
	HandleShutdown Handle = 106
	// HandleStart asks a context to start a child of its own (Via).
	HandleStart Handle = 107
	// HandleBoot carries the boot configuration from a parent to a new
	// child and the child's ready answer.
	HandleBoot Handle = 108
	// HandleCallService is reserved for package service.
	HandleCallService Handle = 110

	// FirstDynamicHandle is the first handle NewHandle returns.
	FirstDynamicHandle Handle = 1000
)

// Defaults for Config fields.
const (
	DefaultMaxMessageSize = 64 << 20
	DefaultShutdownGrace  = 3 * time.Second
	DefaultConnectTimeout = 10 * time.Second
	// idBlock is the number of context ids a non-root router gets at once.
	idBlock = 1000
	// maxBacklog bounds the calls (and starts, id requests) that wait in
	// a Router for room in its Scheduler's queue; past it a call is
	// answered at once with a dead message ReasonBusy.
	maxBacklog = 16384
	// minMessageSize is the smallest MaxMessageSize a Config may set.
	minMessageSize = 4096
)

// maxBlocksPerLink bounds the id blocks one child link may receive over
// its life: with idBlock ids a block, 65,536,000 ids, 1.5% of the id space,
// so that no one subtree uses it up. Blocks are not given back (an id is
// never reused), so a child that restarts its own children more than
// 65,536 times must itself be restarted. A variable for tests.
var maxBlocksPerLink = 65536

// Dead-message reasons. A *ChannelError's Reason starts with one of these.
const (
	ReasonNoRoute       = "no route"
	ReasonDisconnected  = "disconnected"
	ReasonTooLarge      = "too large"
	ReasonRefused       = "refused"
	ReasonInvalidHandle = "invalid handle"
	ReasonSenderClosed  = "sender closed"
	ReasonShutdown      = "shutdown"
	ReasonBusy          = "busy"
	ReasonOverflow      = "overflow"
)

var (
	// ErrClosed is returned by operations on a closed Router, Receiver or
	// link.
	ErrClosed = errors.New("mesh: closed")
	// ErrInvalidConfig is wrapped by the error of Config.Validate.
	ErrInvalidConfig = errors.New("mesh: invalid config")
	// ErrFrame is wrapped by errors about malformed or oversized frames.
	ErrFrame = errors.New("mesh: bad frame")
	// ErrHandleTaken is returned by AddHandler for a handle in use.
	ErrHandleTaken = errors.New("mesh: handle already has a handler")
	// ErrNoReply is returned by Message.Reply for a message with no
	// reply_to.
	ErrNoReply = errors.New("mesh: message expects no reply")
	// ErrUnknownFunction is the CallError type for a call to a function
	// that is not registered.
	ErrUnknownFunction = errors.New("mesh: unknown function")
	// ErrPlatform reports that an ssh node runs another OS or architecture
	// than this binary.
	ErrPlatform = errors.New("mesh: remote platform differs")
	// ErrStart wraps every failure to start a child context.
	ErrStart = errors.New("mesh: cannot start child")
)

// CallError is an error raised in a remote context by a called function:
// Type is its Go type (or a sentinel name), Msg its message, and Stack the
// remote stack when the remote Router runs with Config.Debug.
type CallError struct {
	_     struct{} `cbor:",toarray"`
	Type  string
	Msg   string
	Stack string
}

// Error returns the remote type and message.
func (e *CallError) Error() string {
	if e.Type == "" {
		return "mesh: remote error: " + e.Msg
	}
	return fmt.Sprintf("mesh: remote error (%s): %s", e.Type, e.Msg)
}

// ChannelError reports a dead message: the reply or stream it stands for
// will never come. Reason starts with one of the Reason constants.
type ChannelError struct {
	Reason string
}

// Error returns the reason.
func (e *ChannelError) Error() string { return "mesh: channel error: " + e.Reason }

// Is lets errors.Is(err, ErrClosed) match a channel closed by shutdown.
func (e *ChannelError) Is(target error) bool {
	return target == ErrClosed && (hasPrefix(e.Reason, ReasonShutdown) || hasPrefix(e.Reason, ReasonDisconnected))
}

func hasPrefix(s, p string) bool { return len(s) >= len(p) && s[:len(p)] == p }

// FrameError describes a frame that closed a link.
type FrameError struct {
	Reason string
}

// Error returns the reason.
func (e *FrameError) Error() string { return "mesh: bad frame: " + e.Reason }

// Unwrap returns ErrFrame.
func (e *FrameError) Unwrap() error { return ErrFrame }

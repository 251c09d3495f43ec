package mesh

import "fmt"

// ID identifies a context in a tree. The root, the process that created the
// first Router, is 0; every other context gets its id from the root.
type ID uint32

// Handle names a receiving endpoint within a context. Handles below
// FirstDynamicHandle are well known; Router.NewHandle allocates the rest.
type Handle uint32

// Message is one framed message.
type Message struct {
	Dst, Src ID
	// Auth is the authenticated source: the receiving router checks it
	// against the link the message arrived on, so a context cannot claim
	// to be another one (its parent, say).
	Auth    ID
	Handle  Handle
	ReplyTo Handle
	// Flags holds FlagDead, FlagError and FlagRaw.
	Flags uint16
	// Body is the CBOR-encoded payload, or raw bytes with FlagRaw.
	Body []byte

	router *Router
	link   *link // the link it arrived on; nil when sent locally
}

// Dead reports whether m is a dead message: the channel it answers is
// closed, refused or unroutable.
func (m *Message) Dead() bool { return m.Flags&FlagDead != 0 }

// Raw reports whether m's body is raw bytes (sent with SendBytes).
func (m *Message) Raw() bool { return m.Flags&FlagRaw != 0 }

// Err returns the error m stands for: a *ChannelError for a dead message,
// a *CallError for an error reply, nil otherwise.
func (m *Message) Err() error {
	switch {
	case m.Dead():
		return &ChannelError{Reason: string(m.Body)}
	case m.Flags&FlagError != 0:
		ce := new(CallError)
		if err := Decode(m.Body, ce); err != nil {
			return &CallError{Type: "mesh.BadError", Msg: err.Error()}
		}
		return ce
	}
	return nil
}

// Decode decodes m's body into v. A dead message or an error reply
// returns its error (see Err) instead; a raw body is copied into a *[]byte.
func (m *Message) Decode(v any) error {
	if err := m.Err(); err != nil {
		return err
	}
	if m.Raw() {
		if p, ok := v.(*[]byte); ok {
			*p = m.Body
			return nil
		}
	}
	if v == nil {
		return nil
	}
	return Decode(m.Body, v)
}

// Reply sends v to m's sender, on m's ReplyTo handle. It returns ErrNoReply
// when m expects no reply.
func (m *Message) Reply(v any) error {
	if m.ReplyTo == 0 {
		return ErrNoReply
	}
	if m.router == nil {
		return ErrClosed
	}
	b, err := Encode(v)
	if err != nil {
		_ = m.ReplyError(err)
		return err
	}
	if max := m.router.cfg.MaxMessageSize; len(b) > max {
		err := &ChannelError{Reason: fmt.Sprintf("%s: reply of %d bytes exceeds the maximum %d", ReasonTooLarge, len(b), max)}
		_ = m.ReplyError(err)
		return err
	}
	return m.router.post(&Message{Dst: m.Src, Handle: m.ReplyTo, Body: b})
}

// ReplyError answers m with err: the caller's Wait or Call returns a
// *CallError built from it (err itself when it is a *CallError).
func (m *Message) ReplyError(err error) error {
	if m.ReplyTo == 0 {
		return ErrNoReply
	}
	if m.router == nil {
		return ErrClosed
	}
	b, eerr := Encode(m.router.callError(err))
	if eerr != nil {
		return eerr
	}
	return m.router.post(&Message{Dst: m.Src, Handle: m.ReplyTo, Flags: FlagError, Body: b})
}

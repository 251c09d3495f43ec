package mesh

// SenderRef names a Receiver anywhere in the tree; it is CBOR-encodable.
type SenderRef struct {
	Context ID
	Handle  Handle
}

// Sender sends to a Receiver, possibly in another context.
type Sender struct {
	r   *Router
	ref SenderRef
}

// Sender returns a Sender for ref.
func (r *Router) Sender(ref SenderRef) *Sender { return &Sender{r: r, ref: ref} }

// Send sends v, CBOR-encoded.
func (s *Sender) Send(v any) error {
	b, err := Encode(v)
	if err != nil {
		return err
	}
	return s.r.postWait(&Message{Dst: s.ref.Context, Handle: s.ref.Handle, Body: b})
}

// SendBytes sends b as a raw body (no encoding; for bulk data). b is
// copied. When the link toward the receiver has much data queued, it
// waits for the link to drain.
func (s *Sender) SendBytes(b []byte) error {
	return s.r.postWait(&Message{Dst: s.ref.Context, Handle: s.ref.Handle, Flags: FlagRaw, Body: append([]byte(nil), b...)})
}

// Close tells the Receiver the stream has ended: its Recv returns a
// *ChannelError with ReasonSenderClosed.
func (s *Sender) Close() error {
	return s.r.post(&Message{Dst: s.ref.Context, Handle: s.ref.Handle, Flags: FlagDead | FlagRaw, Body: []byte(ReasonSenderClosed)})
}

// postWait posts m, waiting for room on the outgoing link.
func (r *Router) postWait(m *Message) error {
	m.Src, m.Auth = r.id, r.id
	if len(m.Body) <= r.cfg.MaxMessageSize && m.Dst != r.id {
		if l, ok := r.nextLink(m.Dst); ok && l != nil {
			if err := l.sendWait(r.runCtx, m); err == nil {
				return nil
			}
		}
	}
	return r.route(m, nil)
}

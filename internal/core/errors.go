package core

import (
	"xmppd/internal/jid"
	"xmppd/internal/stanza"
)

// Stanza error types (RFC 6120 §8.3.2).
const (
	ErrAuth     = "auth"
	ErrCancel   = "cancel"
	ErrContinue = "continue"
	ErrModify   = "modify"
	ErrWait     = "wait"
)

// Bounce answers st with a stanza error (RFC 6120 §8.3) from 'from' to
// 'to', unless st is itself an error or an iq result, which are never
// answered. It goes to origin's peer when the stanza came from a local
// session, else it is routed to 'to'.
func (srv *Server) Bounce(origin *Session, st *stanza.Stanza, from, to jid.JID, typ, condition, text string) {
	t := string(st.Type())
	if t == "error" || (st.Kind == stanza.IQ && t == "result") {
		return
	}
	var b stanza.Builder
	var buf []byte
	if origin != nil {
		buf = origin.work().scratch[:0]
	}
	b.Reset(buf).Start(st.Kind.String())
	if !from.IsZero() {
		b.Attr("from", from.String())
	}
	if !to.IsZero() {
		b.Attr("to", to.String())
	}
	b.Attr("type", "error")
	if id := st.ID(); id != nil {
		b.AttrBytes("id", id)
	}
	AppendError(&b, typ, condition, text)
	out := b.Bytes()
	if origin != nil {
		origin.SendWithin(origin, out)
		origin.w.scratch = out[:0]
		return
	}
	if h := srv.Host(to.Domain()); h != nil {
		if s := h.Session(to); s != nil {
			s.Send(out)
		}
	}
}

// AppendError writes an <error/> element (RFC 6120 §8.3.2).
func AppendError(b *stanza.Builder, typ, condition, text string) {
	b.Start("error").Attr("type", typ)
	b.Start(condition).Attr("xmlns", stanza.NSStanzas).End()
	if text != "" {
		b.Start("text").Attr("xmlns", stanza.NSStanzas).Text(text).End()
	}
	b.End()
}

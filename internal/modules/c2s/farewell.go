package c2s

import (
	"errors"
	"strconv"

	"xmppd/internal/netio"
	"xmppd/internal/stanza"
	"xmppd/internal/stream"
)

// Farewell implements netio.Farewell: a client that netio cuts off for
// going over a limit learns why from a policy-violation stream error
// instead of a bare disconnect. It returns nil when the stream is closing
// already, since its last words are then queued.
func (c *conn) Farewell(err error) []byte {
	if !c.closing.CompareAndSwap(false, true) {
		return nil
	}
	e := &stream.Error{Condition: stream.PolicyViolation}
	switch {
	case errors.Is(err, netio.ErrSlowConsumer):
		e.Text = "you read slower than the server sends; output bound of " + strconv.Itoa(c.queueBound()) + " bytes reached"
	case errors.Is(err, netio.ErrWindowFull):
		e.Text = "too much input without a complete stanza"
	}
	var out []byte
	// RFC 6120 §4.9.1.1: a header first when none was sent yet.
	if c.opened.CompareAndSwap(false, true) {
		out = stream.AppendOpen(out, stream.Header{Space: stanza.NSClient, ID: stream.NewID()})
	}
	c.m.api.Log().Debug("stream error", "ip", c.ip, "condition", e.Condition, "text", e.Text)
	return stream.AppendError(out, e)
}

// queueBound is the output bound of the connection, which a reload does
// not change once it is attached.
func (c *conn) queueBound() int {
	if nc := c.nc(); nc != nil {
		return nc.Config().MaxQueue
	}
	return int(c.m.conf().QueueBytes)
}

var _ netio.Farewell = (*conn)(nil)

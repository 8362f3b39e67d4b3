package main

import (
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"xmppd/internal/sasl"
)

// client is a minimal XMPP client: enough to log in and exchange stanzas as
// fast as the server allows, without a library's overhead skewing figures.
type client struct {
	c    net.Conn
	buf  []byte
	have int
}

const header = `<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='%s' version='1.0'>`

// readUntil reads until marker has arrived and returns everything up to and
// including it, keeping the rest.
func (c *client) readUntil(marker string, timeout time.Duration) (string, error) {
	c.c.SetReadDeadline(time.Now().Add(timeout))
	for {
		if i := bytes.Index(c.buf[:c.have], []byte(marker)); i >= 0 {
			end := i + len(marker)
			out := string(c.buf[:end])
			c.have = copy(c.buf, c.buf[end:c.have])
			return out, nil
		}
		if c.have == len(c.buf) {
			c.buf = append(c.buf, make([]byte, len(c.buf))...)
		}
		n, err := c.c.Read(c.buf[c.have:])
		c.have += n
		if err != nil {
			return string(c.buf[:c.have]), err
		}
	}
}

// login connects and authenticates: TLS by STARTTLS when useTLS, SASL
// mechanism mech (PLAIN or SCRAM-SHA-256), then binds resource and sends
// initial presence.
func login(addr, domain, user, pass, resource, mech string, useTLS bool) (*client, error) {
	nc, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	c := &client{c: nc, buf: make([]byte, 2048)}
	fail := func(err error) (*client, error) { nc.Close(); return nil, err }
	const t = 30 * time.Second
	fmt.Fprintf(c.c, header, domain)
	if _, err := c.readUntil("</stream:features>", t); err != nil {
		return fail(err)
	}
	var cb sasl.ChannelBinding
	if useTLS {
		c.c.Write([]byte("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"))
		if _, err := c.readUntil("<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>", t); err != nil {
			return fail(err)
		}
		tc := tls.Client(nc, &tls.Config{ServerName: domain, InsecureSkipVerify: true})
		if err := tc.Handshake(); err != nil {
			return fail(err)
		}
		c.c, c.have = tc, 0
		fmt.Fprintf(c.c, header, domain)
		if _, err := c.readUntil("</stream:features>", t); err != nil {
			return fail(err)
		}
	}
	sc, err := sasl.NewClient(mech, user, pass, "", cb)
	if err != nil {
		return fail(err)
	}
	resp, err := sc.Step(nil)
	if err != nil {
		return fail(err)
	}
	fmt.Fprintf(c.c, "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='%s'>%s</auth>", mech, b64(resp))
	for {
		got, err := c.readUntil("</", t)
		if err != nil {
			return fail(err)
		}
		rest, err := c.readUntil(">", t)
		if err != nil {
			return fail(err)
		}
		got += rest
		switch {
		case strings.Contains(got, "<success"):
			goto bound
		case strings.Contains(got, "<failure"):
			return fail(errors.New("authentication failed: " + got))
		case strings.Contains(got, "<challenge"):
			data := got[strings.Index(got, ">")+1 : strings.LastIndex(got, "</")]
			ch, err := base64.StdEncoding.DecodeString(data)
			if err != nil {
				return fail(err)
			}
			resp, err := sc.Step(ch)
			if err != nil {
				return fail(err)
			}
			fmt.Fprintf(c.c, "<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>%s</response>", b64(resp))
		}
	}
bound:
	fmt.Fprintf(c.c, header, domain)
	if _, err := c.readUntil("</stream:features>", t); err != nil {
		return fail(err)
	}
	fmt.Fprintf(c.c, "<iq type='set' id='bind'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>%s</resource></bind></iq>", resource)
	if got, err := c.readUntil("</iq>", t); err != nil || !strings.Contains(got, "type='result'") {
		return fail(fmt.Errorf("bind: %v %s", err, got))
	}
	c.c.Write([]byte("<presence/>"))
	return c, nil
}

func b64(b []byte) string {
	if len(b) == 0 {
		return "="
	}
	return base64.StdEncoding.EncodeToString(b)
}

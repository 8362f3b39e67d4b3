package main

import (
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"xmppd/internal/sasl"
)

// client is a minimal XMPP client: enough to log in and exchange stanzas as
// fast as the server allows, without a library's overhead skewing figures.
type client struct {
	conn net.Conn
	in   *splitter
	jid  string // full JID, as bound
	// early holds stanzas that came during the login after the bind,
	// such as a server's disco#info query prompted by the initial
	// presence: stanza returns them first.
	early [][]byte

	wmu  sync.Mutex
	wbuf []byte

	// sm is set once stream management is on; h then counts the stanzas
	// read since, for the acks a server asks for (XEP-0198 §4).
	sm   bool
	h    uint32
	smID string // the resumption id the server gave
	user string
}

// opts says how clients log in; the same for every client of a run.
type opts struct {
	addr, domain, pass, mech string
	tls                      bool
	// presence is the initial presence, "<presence/>" when empty.
	presence string
	// sm enables stream management with resumption (XEP-0198) after
	// binding, before the initial presence, as mobile clients do.
	sm bool
	// carbons enables message carbons (XEP-0280) before the initial
	// presence.
	carbons bool
}

// stepTimeout bounds a whole login: a server that takes longer is
// overloaded, and the login counts as failed.
const stepTimeout = 30 * time.Second

const header = `<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='%s' version='1.0'>`

// keys is shared by every login of the process, so a run logging in to the
// same accounts again and again derives each SCRAM key once, as a real
// client keeps its salted password.
var keys = sasl.NewKeyCache()

// login connects and logs in as user with resource: STARTTLS when o.tls,
// SASL, resource binding, initial presence; it returns once the server has
// sent that presence back to the new resource (RFC 6121 §4.2.2), so a
// login counts only when the session is fully available.
func login(o opts, user, resource string) (*client, error) {
	nc, err := net.DialTimeout("tcp", o.addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	c := &client{conn: nc, in: newSplitter(nc), user: user}
	if err := c.login(o, user, resource); err != nil {
		nc.Close()
		return nil, fmt.Errorf("%s: %w", user, err)
	}
	c.conn.SetDeadline(time.Time{})
	return c, nil
}

func (c *client) login(o opts, user, resource string) error {
	features, err := c.authenticate(o, user)
	if err != nil {
		return err
	}
	if err := c.bind(features, resource); err != nil {
		return err
	}
	return c.finish(o, features)
}

// authenticate opens the stream, negotiates STARTTLS when o.tls and
// authenticates, returning the features of the restarted stream.
func (c *client) authenticate(o opts, user string) ([]byte, error) {
	c.conn.SetDeadline(time.Now().Add(stepTimeout))
	features, err := c.open(o.domain)
	if err != nil {
		return nil, err
	}
	starttls := child(features, "starttls")
	switch {
	case o.tls && starttls == nil:
		return nil, errors.New("server offers no STARTTLS")
	case !o.tls && starttls != nil && child(starttls, "required") != nil:
		return nil, errors.New("server requires STARTTLS: use -tls")
	case o.tls:
		c.write([]byte("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"))
		el, err := c.stanza()
		if err != nil {
			return nil, err
		}
		if !nameIs(el, "proceed") {
			return nil, fmt.Errorf("STARTTLS refused: %.200s", el)
		}
		tc := tls.Client(c.conn, &tls.Config{ServerName: o.domain, InsecureSkipVerify: true, MinVersion: tls.VersionTLS12})
		if err := tc.Handshake(); err != nil {
			return nil, fmt.Errorf("TLS handshake: %w", err)
		}
		c.conn = tc
		c.in.reset(tc)
		if features, err = c.open(o.domain); err != nil {
			return nil, err
		}
	}
	if err := c.auth(features, o, user); err != nil {
		return nil, err
	}
	return c.open(o.domain)
}

// resume connects again and resumes old's session (XEP-0198 §5), which
// must have stream management with resumption on; it returns the new
// client once the server answered <resumed/>.
func resume(o opts, old *client) (*client, error) {
	nc, err := net.DialTimeout("tcp", o.addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	c := &client{conn: nc, in: newSplitter(nc), user: old.user}
	fail := func(err error) (*client, error) {
		nc.Close()
		return nil, fmt.Errorf("%s: resume: %w", old.user, err)
	}
	if _, err := c.authenticate(o, old.user); err != nil {
		return fail(err)
	}
	c.write([]byte("<resume xmlns='urn:xmpp:sm:3' previd=" + quoted([]byte(old.smID)) + " h='" + strconv.FormatUint(uint64(old.h), 10) + "'/>"))
	for {
		el, err := c.stanza()
		if err != nil {
			return fail(err)
		}
		switch {
		case nameIs(el, "resumed"):
			c.conn.SetDeadline(time.Time{})
			c.sm, c.smID, c.h = true, old.smID, old.h
			return c, nil
		case nameIs(el, "failed"):
			return fail(fmt.Errorf("refused: %s", conditions(el)))
		}
	}
}

// finish enables what o asks for on a bound stream and sends the initial
// presence.
func (c *client) finish(o opts, features []byte) error {
	if o.sm {
		if err := c.enableSM(features); err != nil {
			return err
		}
	}
	if o.carbons {
		c.write([]byte("<iq type='set' id='carbons'><enable xmlns='urn:xmpp:carbons:2'/></iq>"))
		if _, err := c.result("carbons"); err != nil {
			return fmt.Errorf("carbons: %w", err)
		}
	}
	p := o.presence
	if p == "" {
		p = "<presence/>"
	}
	c.write([]byte(p))
	for {
		el, err := c.read()
		if err != nil {
			return fmt.Errorf("waiting for own presence: %w", err)
		}
		if nameIs(el, "presence") && attrString(el, "from") == c.jid && attrString(el, "type") == "" {
			return nil
		}
		if len(c.early) == maxEarly {
			return errors.New("too many stanzas before own presence came back")
		}
		c.early = append(c.early, bytes.Clone(el))
	}
}

// open sends a stream header and returns the stream features.
func (c *client) open(domain string) ([]byte, error) {
	fmt.Fprintf(c.conn, header, domain)
	for {
		kind, el, err := c.in.next()
		if err != nil {
			return nil, err
		}
		switch {
		case kind == kindClose:
			return nil, errors.New("server closed the stream")
		case kind == kindStanza && nameIs(el, "features"):
			return el, nil
		case kind == kindStanza && nameIs(el, "error"):
			return nil, fmt.Errorf("stream error: %s", conditions(el))
		}
	}
}

// maxEarly bounds what login keeps for later.
const maxEarly = 1000

// stanza returns the next top-level element, failing on the stream's end
// or a stream error.
func (c *client) stanza() ([]byte, error) {
	if len(c.early) > 0 {
		el := c.early[0]
		c.early = c.early[1:]
		return el, nil
	}
	return c.read()
}

// read is stanza without the stanzas kept during login.
func (c *client) read() ([]byte, error) {
	for {
		kind, el, err := c.in.next()
		switch {
		case err != nil:
			return nil, err
		case kind == kindClose:
			return nil, errors.New("server closed the stream")
		case kind == kindOpen:
			continue
		case nameIs(el, "error") && bytes.HasPrefix(tagName(el), []byte("stream:")):
			return nil, fmt.Errorf("stream error: %s", conditions(el))
		}
		if c.sm && (nameIs(el, "message") || nameIs(el, "presence") || nameIs(el, "iq")) {
			c.h++
		}
		return el, nil
	}
}

// mechanisms lists what the features offer for SASL.
func mechanisms(features []byte) []string {
	var out []string
	for _, m := range children(child(features, "mechanisms")) {
		out = append(out, string(text(m)))
	}
	return out
}

func (c *client) auth(features []byte, o opts, user string) error {
	if offered := mechanisms(features); !slices.Contains(offered, o.mech) {
		return fmt.Errorf("server does not offer %s (offers %s)", o.mech, strings.Join(offered, " "))
	}
	sc, err := sasl.NewClient(o.mech, user, o.pass, "", sasl.ChannelBinding{})
	if err != nil {
		return err
	}
	sc.UseKeyCache(keys)
	resp, err := sc.Step(nil)
	if err != nil {
		return err
	}
	c.write(fmt.Appendf(nil, "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='%s'>%s</auth>", o.mech, b64(resp)))
	for {
		el, err := c.stanza()
		if err != nil {
			return err
		}
		switch {
		case nameIs(el, "success"):
			// SCRAM's server-final message comes with the success, unless
			// the server sent it in a last challenge, answered already.
			if o.mech != sasl.PLAIN && len(text(el)) > 0 {
				data, err := base64.StdEncoding.DecodeString(string(text(el)))
				if err != nil {
					return fmt.Errorf("SASL success data: %w", err)
				}
				if _, err := sc.Step(data); err != nil {
					return err
				}
			}
			return nil
		case nameIs(el, "failure"):
			return fmt.Errorf("authentication failed: %s", conditions(el))
		case nameIs(el, "challenge"):
			ch, err := base64.StdEncoding.DecodeString(string(text(el)))
			if err != nil {
				return fmt.Errorf("SASL challenge: %w", err)
			}
			resp, err := sc.Step(ch)
			if err != nil {
				return err
			}
			c.write(fmt.Appendf(nil, "<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>%s</response>", b64(resp)))
		default:
			return fmt.Errorf("unexpected during SASL: %.200s", el)
		}
	}
}

// bind binds resource and, where a server still asks for it, opens the
// legacy session (RFC 3921 §3; optional everywhere that says so).
func (c *client) bind(features []byte, resource string) error {
	if child(features, "bind") == nil {
		return errors.New("server offers no resource binding")
	}
	c.write(fmt.Appendf(nil, "<iq type='set' id='bind'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>%s</resource></bind></iq>", resource))
	el, err := c.result("bind")
	if err != nil {
		return fmt.Errorf("bind: %w", err)
	}
	j := child(el, "jid")
	if j == nil {
		return fmt.Errorf("bind result without a JID: %.200s", el)
	}
	c.jid = string(text(j))
	if s := child(features, "session"); s != nil && child(s, "optional") == nil {
		c.write([]byte("<iq type='set' id='sess'><session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></iq>"))
		if _, err := c.result("sess"); err != nil {
			return fmt.Errorf("session: %w", err)
		}
	}
	return nil
}

// enableSM asks for stream management with resumption and waits for the
// answer; from then on read counts stanzas.
func (c *client) enableSM(features []byte) error {
	if child(features, "sm") == nil {
		return errors.New("server offers no stream management (XEP-0198)")
	}
	c.write([]byte("<enable xmlns='urn:xmpp:sm:3' resume='true'/>"))
	for {
		el, err := c.stanza()
		if err != nil {
			return err
		}
		switch {
		case nameIs(el, "enabled"):
			if attrString(el, "resume") != "true" && attrString(el, "resume") != "1" {
				return errors.New("stream management enabled without resumption")
			}
			c.sm = true
			c.smID = attrString(el, "id")
			return nil
		case nameIs(el, "failed"):
			return fmt.Errorf("stream management refused: %s", conditions(el))
		}
	}
}

// ack answers a server's <r/> with the count of stanzas read.
func (c *client) ack() {
	b := strconv.AppendUint([]byte("<a xmlns='urn:xmpp:sm:3' h='"), uint64(c.h), 10)
	c.write(append(b, "'/>"...))
}

// result waits for the answer to iq id, skipping anything else.
func (c *client) result(id string) ([]byte, error) {
	for {
		el, err := c.stanza()
		if err != nil {
			return nil, err
		}
		if !nameIs(el, "iq") || attrString(el, "id") != id {
			continue
		}
		if t := attrString(el, "type"); t != "result" {
			return nil, fmt.Errorf("%s: %s", t, errorCondition(el))
		}
		return el, nil
	}
}

// write sends b whole; callers on several goroutines may share a client.
// A failed write shows up as a failed read soon after, which is where
// clients count failures.
func (c *client) write(b []byte) {
	c.wmu.Lock()
	c.conn.Write(b)
	c.wmu.Unlock()
}

// close ends the stream politely and drops the connection without waiting.
func (c *client) close() {
	c.wmu.Lock()
	c.conn.SetWriteDeadline(time.Now().Add(time.Second))
	c.conn.Write([]byte("</stream:stream>"))
	c.wmu.Unlock()
	c.conn.Close()
}

// conditions names what a failure or stream error says, without its
// text.
func conditions(el []byte) string {
	var names []string
	for _, n := range childNames(el) {
		if n != "text" {
			names = append(names, n)
		}
	}
	return strings.Join(names, " ")
}

func b64(b []byte) string {
	if len(b) == 0 {
		return "="
	}
	return base64.StdEncoding.EncodeToString(b)
}

package main

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// A stream as Prosody and ejabberd write it, in both quotings, with a
// prefix on the features, '>' and '/' inside attribute values, a comment,
// CDATA and whitespace between stanzas.
const sampleStream = `<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream="http://etherx.jabber.org/streams" id='x' from="localhost" version='1.0'>` +
	`<stream:features><mechanisms xmlns="urn:ietf:params:xml:ns:xmpp-sasl"><mechanism>PLAIN</mechanism><mechanism>SCRAM-SHA-1</mechanism></mechanisms><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls></stream:features>` +
	"\n  " +
	`<message from="a@localhost/r>1" to='b@localhost/x/y' type="chat" id='m123.4'><body>a &gt; b</body></message>` +
	`<!-- a comment with <tags> -->` +
	`<iq type='result' id="bind"/>` +
	`<message id='m5.6'><body><![CDATA[<not a tag>]]></body></message>` +
	`</stream:stream>`

type piece struct {
	kind int
	el   string
}

func splitAll(t *testing.T, r io.Reader) []piece {
	t.Helper()
	s := newSplitter(r)
	s.buf = make([]byte, 16) // grow and compact on the way
	var out []piece
	for {
		kind, el, err := s.next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, piece{kind, string(el)})
	}
}

func TestSplitter(t *testing.T) {
	whole := splitAll(t, strings.NewReader(sampleStream))
	want := []struct {
		kind int
		name string
	}{{kindOpen, "stream"}, {kindStanza, "features"}, {kindStanza, "message"}, {kindStanza, "iq"}, {kindStanza, "message"}, {kindClose, "stream"}}
	if len(whole) != len(want) {
		t.Fatalf("got %d elements %+v, want %d", len(whole), whole, len(want))
	}
	for i, w := range want {
		if whole[i].kind != w.kind || !nameIs([]byte(whole[i].el), w.name) {
			t.Errorf("element %d = %d %q, want %d %s", i, whole[i].kind, whole[i].el, w.kind, w.name)
		}
	}
	// Byte by byte, the same elements.
	bytewise := splitAll(t, iotest.OneByteReader(strings.NewReader(sampleStream)))
	if len(bytewise) != len(whole) {
		t.Fatalf("byte by byte: %d elements, want %d", len(bytewise), len(whole))
	}
	for i := range whole {
		if bytewise[i] != whole[i] {
			t.Errorf("byte by byte, element %d = %q, want %q", i, bytewise[i].el, whole[i].el)
		}
	}

	msg := []byte(whole[2].el)
	if got := attrString(msg, "from"); got != "a@localhost/r>1" {
		t.Errorf("from = %q", got)
	}
	if got := attrString(msg, "to"); got != "b@localhost/x/y" {
		t.Errorf("to = %q", got)
	}
	if _, ok := attr(msg, "body"); ok {
		t.Error("attr found a child element's name")
	}
	if got := string(text(child(msg, "body"))); got != "a &gt; b" {
		t.Errorf("body = %q", got)
	}
	if st, ok := parseStamp(stampPart([]byte(attrString(msg, "id")))); !ok || st != 123 {
		t.Errorf("stamp = %d, %v", st, ok)
	}
	features := []byte(whole[1].el)
	if got := strings.Join(mechanisms(features), " "); got != "PLAIN SCRAM-SHA-1" {
		t.Errorf("mechanisms = %q", got)
	}
	if child(child(features, "starttls"), "required") == nil {
		t.Error("required STARTTLS not seen")
	}
	if got := attrString([]byte(whole[3].el), "id"); got != "bind" {
		t.Errorf("iq id = %q", got)
	}
}

func TestErrorCondition(t *testing.T) {
	for el, want := range map[string]string{
		`<iq type="error" id="pub1"><pubsub xmlns='http://jabber.org/protocol/pubsub'/><error type="cancel"><text xmlns="urn:ietf:params:xml:ns:xmpp-stanzas">no</text><service-unavailable xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/></error></iq>`: "service-unavailable",
		`<iq type='error'><error type='cancel'><feature-not-implemented xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><unsupported xmlns='http://jabber.org/protocol/pubsub#errors' feature='publish'/></error></iq>`:                                    "feature-not-implemented",
		`<iq type='error'/>`: "error without <error/>",
	} {
		if got := errorCondition([]byte(el)); got != want {
			t.Errorf("errorCondition(%s) = %q, want %q", el, got, want)
		}
	}
}

// TestCapsVer checks the verification string against the simple example
// of XEP-0115 §5.2.
func TestCapsVer(t *testing.T) {
	got := capsVer([]discoIdentity{{"client", "pc", "", "Exodus 0.9.1"}}, []string{
		"http://jabber.org/protocol/disco#info",
		"http://jabber.org/protocol/disco#items",
		"http://jabber.org/protocol/muc",
		"http://jabber.org/protocol/caps",
	})
	if want := "QgayPKawpkPSDYmwT/WM94uAlu0="; got != want {
		t.Errorf("capsVer = %q, want %q", got, want)
	}
	reply := discoInfoReply(replyAttrs([]byte("localhost"), []byte("q1")), capsNode+"#v", pepNode)
	if n := len(children(child(reply, "query"))); n != 4 {
		t.Errorf("disco#info reply has %d children, want an identity and 3 features: %s", n, reply)
	}
}

func TestFinish(t *testing.T) {
	ok := &loginResult{common: common{Scenario: "login"}}
	failed := &loginResult{common: common{Scenario: "login", Failed: 2}}
	refused := &pepResult{common: common{Scenario: "pep", Error: "publish refused: service-unavailable (server has no PEP)"}}
	for _, tt := range []struct {
		r    report
		err  error
		want int
	}{
		{ok, nil, 0},
		{failed, nil, 0},
		{refused, errNoPEP, exitNotBuilt},
		{nil, errors.New("no pair could log in"), 1},
	} {
		if got := finish(tt.r, tt.err); got != tt.want {
			t.Errorf("finish(%v, %v) = %d, want %d", tt.r, tt.err, got, tt.want)
		}
	}
}

// TestHist checks the histogram against exact percentiles of a spread of
// latencies from microseconds to seconds.
func TestHist(t *testing.T) {
	var h hist
	var ds []time.Duration
	for i := range 100000 {
		d := time.Duration(i*i%977+1) * time.Duration(1+i%5000) * time.Microsecond / 7
		h.add(d)
		ds = append(ds, d)
	}
	p50, p99 := percentiles(ds)
	for _, c := range []struct{ got, want float64 }{{h.percentile(0.5), p50}, {h.percentile(0.99), p99}} {
		if c.got < c.want*0.98 || c.got > c.want*1.02 {
			t.Errorf("histogram percentile %v ms, exact %v ms", c.got, c.want)
		}
	}
	for us := range uint64(1 << 20) {
		i := histIndex(us)
		if v := histValue(i); v < float64(us)*0.98-1 || v > float64(us)*1.02+1 {
			t.Fatalf("%d µs lands in bucket %d of value %v", us, i, v)
		}
	}
	var empty hist
	if empty.percentile(0.5) != 0 {
		t.Error("percentile of nothing")
	}
}

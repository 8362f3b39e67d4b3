package main

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// The mqtt scenario is the pep scenario's pattern on an MQTT 3.1.1 broker
// (mosquitto), for the comparison with the broker an IoT gateway would run:
// one publisher, subscribers on one topic, small QoS 0 payloads carrying
// the send time. The client speaks just what that takes (CONNECT,
// SUBSCRIBE, PUBLISH at QoS 0, PINGREQ, DISCONNECT), so it costs less
// CPU than the broker it measures.

// mqttConfig configures the mqtt scenario.
type mqttConfig struct {
	addr        string
	subscribers int
	messages    int
	// window > 0 makes the publisher wait for a PINGRESP after every
	// window publishes, a round trip like the pep scenario's publish
	// results; 0 sends them all at once, as a QoS 0 publisher may.
	window   int
	inflight int
	pid      int
	timeout  time.Duration
}

// mqttResult is the mqtt scenario's line. The measured phase runs from the
// first publish until every subscriber has every message, or the timeout.
type mqttResult struct {
	common
	Subscribers         int     `json:"subscribers"`
	Messages            int     `json:"messages"`
	Window              int     `json:"window"`
	Deliveries          int     `json:"deliveries"`
	Missing             int     `json:"missing"`
	DeliveriesPerSec    float64 `json:"deliveries_per_sec"`
	LatP50ms            float64 `json:"lat_p50_ms"`
	LatP99ms            float64 `json:"lat_p99_ms"`
	ServerCPUPer100kSec float64 `json:"server_cpu_per_100k_sec"`
	BytesPerDelivery    float64 `json:"bytes_per_delivery"`
}

// MQTT control packet types (MQTT 3.1.1 §2.2.1), shifted into the first
// byte of the fixed header.
const (
	mqttConnect    = 1 << 4
	mqttConnack    = 2 << 4
	mqttPublish    = 3 << 4
	mqttSubscribe  = 8<<4 | 2 // reserved flags 0010 (§3.8.1)
	mqttSuback     = 9 << 4
	mqttPingreq    = 12 << 4
	mqttPingresp   = 13 << 4
	mqttDisconnect = 14 << 4
)

// mqttTopic is the topic of the run.
const mqttTopic = "xmppd/bench/0"

// mqttMaxPacket bounds a packet the client accepts.
const mqttMaxPacket = 1 << 20

// mqttClient is one connection to the broker.
type mqttClient struct {
	conn  net.Conn
	r     *bufio.Reader
	bytes atomic.Int64 // read so far
	wmu   sync.Mutex
}

// countingReader counts what the buffered reader takes from the socket.
type countingReader struct{ c *mqttClient }

func (cr countingReader) Read(b []byte) (int, error) {
	n, err := cr.c.conn.Read(b)
	cr.c.bytes.Add(int64(n))
	return n, err
}

// appendLength appends MQTT's variable-length remaining length (§2.2.3).
func appendLength(b []byte, n int) []byte {
	for {
		d := byte(n % 128)
		n /= 128
		if n > 0 {
			d |= 0x80
		}
		b = append(b, d)
		if n == 0 {
			return b
		}
	}
}

// appendString appends a UTF-8 string with its two-byte length (§1.5.3).
func appendString(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
	return append(b, s...)
}

// packet frames a control packet.
func packet(first byte, body []byte) []byte {
	b := make([]byte, 0, len(body)+5)
	b = append(b, first)
	b = appendLength(b, len(body))
	return append(b, body...)
}

// mqttDial connects and sends CONNECT with a clean session, waiting for
// the broker's CONNACK.
func mqttDial(addr, clientID string) (*mqttClient, error) {
	nc, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	c := &mqttClient{conn: nc}
	c.r = bufio.NewReaderSize(countingReader{c}, 4096)
	nc.SetDeadline(time.Now().Add(stepTimeout))
	body := appendString(nil, "MQTT")
	body = append(body, 4, 0x02) // protocol level 3.1.1, clean session
	body = binary.BigEndian.AppendUint16(body, 300)
	body = appendString(body, clientID)
	c.write(packet(mqttConnect, body))
	typ, resp, err := c.next()
	switch {
	case err != nil:
		nc.Close()
		return nil, fmt.Errorf("%s: %w", clientID, err)
	case typ != mqttConnack || len(resp) != 2 || resp[1] != 0:
		nc.Close()
		return nil, fmt.Errorf("%s: connect refused (packet %#x, %x)", clientID, typ, resp)
	}
	return c, nil
}

// subscribe subscribes to the topic at QoS 0 and waits for the SUBACK.
func (c *mqttClient) subscribe(topic string) error {
	body := binary.BigEndian.AppendUint16(nil, 1) // packet identifier
	body = appendString(body, topic)
	body = append(body, 0)
	c.write(packet(mqttSubscribe, body))
	typ, resp, err := c.next()
	switch {
	case err != nil:
		return err
	case typ != mqttSuback || len(resp) != 3 || resp[2] != 0:
		return fmt.Errorf("subscribe refused (packet %#x, %x)", typ, resp)
	}
	c.conn.SetDeadline(time.Time{})
	return nil
}

func (c *mqttClient) write(b []byte) {
	c.wmu.Lock()
	c.conn.Write(b)
	c.wmu.Unlock()
}

// next reads one control packet: its type (the first byte, flags cleared
// for all but PUBLISH's QoS bits) and its body, valid until the next call.
func (c *mqttClient) next() (byte, []byte, error) {
	first, err := c.r.ReadByte()
	if err != nil {
		return 0, nil, err
	}
	n, shift := 0, 0
	for {
		d, err := c.r.ReadByte()
		if err != nil {
			return 0, nil, err
		}
		n |= int(d&0x7f) << shift
		if d&0x80 == 0 {
			break
		}
		if shift += 7; shift > 21 {
			return 0, nil, errors.New("malformed remaining length")
		}
	}
	if n > mqttMaxPacket {
		return 0, nil, fmt.Errorf("packet of %d bytes", n)
	}
	body, err := c.r.Peek(n)
	if err != nil {
		if !errors.Is(err, bufio.ErrBufferFull) {
			return 0, nil, err
		}
		body = make([]byte, n)
		if _, err := io.ReadFull(c.r, body); err != nil {
			return 0, nil, err
		}
	} else {
		c.r.Discard(n)
	}
	typ := first & 0xf0
	if typ == mqttPublish {
		typ = first & 0xf6
	}
	return typ, body, nil
}

// close ends the connection with DISCONNECT.
func (c *mqttClient) close() {
	c.wmu.Lock()
	c.conn.SetWriteDeadline(time.Now().Add(time.Second))
	c.conn.Write([]byte{mqttDisconnect, 0})
	c.wmu.Unlock()
	c.conn.Close()
}

// mqttSub is one subscriber.
type mqttSub struct {
	c    *mqttClient
	seen []bool
	got  int
	lat  hist
}

// read counts the run's publishes until the connection ends; the payload
// is "<seq> <stamp>".
func (s *mqttSub) read(start *atomic.Int64, total *atomic.Int64, expected int64, done chan struct{}, once *sync.Once) {
	for {
		typ, body, err := s.c.next()
		if err != nil {
			return
		}
		if typ != mqttPublish || len(body) < 2 {
			continue
		}
		tl := int(binary.BigEndian.Uint16(body))
		if 2+tl > len(body) {
			continue
		}
		payload := body[2+tl:]
		sp := -1
		for i, b := range payload {
			if b == ' ' {
				sp = i
				break
			}
		}
		if sp < 0 {
			continue
		}
		seq, err := strconv.Atoi(string(payload[:sp]))
		sent, ok := parseStamp(payload[sp+1:])
		if err != nil || !ok || seq < 0 || seq >= len(s.seen) || s.seen[seq] || sent < stamp(start.Load()) {
			continue
		}
		s.seen[seq] = true
		s.got++
		s.lat.add(time.Duration(now() - sent))
		if total.Add(1) == expected {
			once.Do(func() { close(done) })
		}
	}
}

// runMQTT connects the subscribers, then the publisher, publishes, and
// counts deliveries.
func runMQTT(cfg mqttConfig) (*mqttResult, error) {
	res := &mqttResult{common: common{Scenario: "mqtt", Mech: "none"}, Subscribers: cfg.subscribers, Messages: cfg.messages, Window: cfg.window}
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	subs := make([]*mqttSub, cfg.subscribers)
	_, failed := loginPool(0, cfg.subscribers, cfg.inflight, func(i int) error {
		c, err := mqttDial(cfg.addr, "sub"+strconv.Itoa(i)+"-"+run)
		if err != nil {
			return err
		}
		if err := c.subscribe(mqttTopic); err != nil {
			c.conn.Close()
			return err
		}
		subs[i] = &mqttSub{c: c, seen: make([]bool, cfg.messages)}
		return nil
	})
	res.Failed = failed
	var live []*mqttSub
	for _, s := range subs {
		if s != nil {
			live = append(live, s)
		}
	}
	if len(live) == 0 {
		return nil, errors.New("no subscriber could connect")
	}
	pub, err := mqttDial(cfg.addr, "pub-"+run)
	if err != nil {
		for _, s := range live {
			s.c.close()
		}
		return nil, fmt.Errorf("publisher: %w", err)
	}
	pub.conn.SetDeadline(time.Time{})
	pongs := make(chan struct{}, cfg.messages+1)
	go func() {
		for {
			typ, _, err := pub.next()
			if err != nil {
				close(pongs)
				return
			}
			if typ == mqttPingresp {
				pongs <- struct{}{}
			}
		}
	}()

	var start, total atomic.Int64
	expected := int64(len(live) * cfg.messages)
	done := make(chan struct{})
	var once sync.Once
	var wg sync.WaitGroup
	for _, s := range live {
		wg.Go(func() { s.read(&start, &total, expected, done, &once) })
	}
	var bytes0 int64
	for _, s := range live {
		bytes0 += s.c.bytes.Load()
	}
	var m meter
	m.start(cfg.pid)
	start.Store(int64(now()))
	ping := func() error {
		pub.write([]byte{mqttPingreq, 0})
		select {
		case _, ok := <-pongs:
			if !ok {
				return errors.New("publisher: connection closed")
			}
			return nil
		case <-time.After(setupTimeout):
			return fmt.Errorf("publisher: no PINGRESP after %v", setupTimeout)
		}
	}
	topic := appendString(nil, mqttTopic)
	var perr error
	for i := range cfg.messages {
		body := append([]byte(nil), topic...)
		body = strconv.AppendInt(body, int64(i), 10)
		body = append(body, ' ')
		body = now().append(body)
		pub.write(packet(mqttPublish, body))
		if cfg.window > 0 && (i+1)%cfg.window == 0 {
			if perr = ping(); perr != nil {
				break
			}
		}
	}
	// A last round trip: the broker has read every publish.
	if perr == nil {
		perr = ping()
	}
	timer := time.NewTimer(cfg.timeout)
	if perr == nil {
		select {
		case <-done:
		case <-timer.C:
		}
	}
	timer.Stop()
	m.stop()
	var bytesRead int64
	for _, s := range live {
		bytesRead += s.c.bytes.Load()
	}
	bytesRead -= bytes0
	pub.close()
	for _, s := range live {
		s.c.close()
	}
	wg.Wait()
	if perr != nil {
		return nil, perr
	}
	var lat hist
	for _, s := range live {
		res.Deliveries += s.got
		if s.got < cfg.messages {
			res.Failed++
			res.Missing += cfg.messages - s.got
		}
		lat.merge(&s.lat)
	}
	if res.Missing > 0 {
		fmt.Fprintf(os.Stderr, "loadgen: mqtt: %d deliveries missing after %v\n", res.Missing, cfg.timeout)
	}
	m.fill(&res.common)
	res.DeliveriesPerSec = perSec(res.Deliveries, m.elapsed)
	res.LatP50ms, res.LatP99ms = lat.percentile(0.5), lat.percentile(0.99)
	if res.Deliveries > 0 {
		res.ServerCPUPer100kSec = round3(m.serverCPU / float64(res.Deliveries) * 100000)
		res.BytesPerDelivery = round3(float64(bytesRead) / float64(res.Deliveries))
	}
	return res, nil
}

package main

import (
	"bufio"
	"bytes"
	"net"
	"sync"
	"testing"
	"time"
)

// TestMQTTFraming checks remaining lengths across their byte boundaries
// (MQTT 3.1.1 §2.2.3) through the client's own reader.
func TestMQTTFraming(t *testing.T) {
	for _, n := range []int{0, 1, 127, 128, 16383, 16384, 70000} {
		body := bytes.Repeat([]byte{'x'}, n)
		a, b := net.Pipe()
		go func() { a.Write(packet(mqttPublish, body)); a.Close() }()
		c := &mqttClient{conn: b}
		c.r = bufio.NewReader(countingReader{c})
		typ, got, err := c.next()
		if err != nil || typ != mqttPublish || !bytes.Equal(got, body) {
			t.Errorf("length %d: type %#x, %d bytes, %v", n, typ, len(got), err)
		}
		b.Close()
	}
}

// fakeBroker is the least of a broker the scenario needs: CONNACK, SUBACK,
// PUBLISH forwarded to every subscriber, PINGRESP.
func fakeBroker(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var mu sync.Mutex
	var subs []*mqttClient
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { nc.Close() })
			go func() {
				c := &mqttClient{conn: nc}
				c.r = bufio.NewReader(countingReader{c})
				for {
					first, _ := c.r.Peek(1)
					typ, body, err := c.next()
					if err != nil {
						return
					}
					switch {
					case typ == mqttConnect:
						c.write([]byte{mqttConnack, 2, 0, 0})
					case len(first) == 1 && first[0] == mqttSubscribe:
						// Subscribed before the SUBACK, as a broker does: the
						// scenario publishes once every subscriber has its ack.
						mu.Lock()
						subs = append(subs, c)
						mu.Unlock()
						c.write([]byte{mqttSuback, 3, body[0], body[1], 0})
					case typ == mqttPublish:
						p := packet(mqttPublish, body)
						mu.Lock()
						for _, s := range subs {
							s.write(p)
						}
						mu.Unlock()
					case typ == mqttPingreq:
						c.write([]byte{mqttPingresp, 0})
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

func TestMQTTScenario(t *testing.T) {
	addr := fakeBroker(t)
	for _, window := range []int{0, 4} {
		r, err := runMQTT(mqttConfig{addr: addr, subscribers: 3, messages: 20, window: window, inflight: 2, timeout: 10 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		if r.Deliveries != 60 || r.Missing != 0 || r.Failed != 0 || r.DeliveriesPerSec <= 0 || r.BytesPerDelivery <= 0 {
			t.Errorf("window %d: %+v", window, r)
		}
	}
}

package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// The nodes scenario measures what pubsub nodes and stored items cost a
// server: one account creates nodes on the pubsub service
// (pubsub.<domain>), then publishes items to each, and the server's memory
// and data directory are sampled before, after the nodes and after the
// items.

// nodesConfig configures the nodes scenario.
type nodesConfig struct {
	opts
	user   string
	nodes  int
	items  int // per node
	window int // requests in flight
	pid    int
	admin  string // xmppd's admin socket, for the heap; optional
	data   string // the server's data directory, for the store's size; optional
	settle time.Duration
}

// nodesSample is the server's footprint at one point.
type nodesSample struct {
	RSSKiB     int   `json:"rss_kib"`
	AnonKiB    int   `json:"anon_kib"`
	HeapBytes  int64 `json:"heap_bytes,omitempty"`
	StoreBytes int64 `json:"store_bytes,omitempty"`
}

// nodesResult is the nodes scenario's line; the per-node and per-item
// figures are the differences between the samples.
type nodesResult struct {
	common
	Nodes        int         `json:"nodes"`
	ItemsPerNode int         `json:"items_per_node"`
	PayloadBytes int         `json:"payload_bytes"`
	Before       nodesSample `json:"before"`
	AfterNodes   nodesSample `json:"after_nodes"`
	AfterItems   nodesSample `json:"after_items"`
	NodesPerSec  float64     `json:"nodes_per_sec"`
	ItemsPerSec  float64     `json:"items_per_sec"`
	RSSPerNode   float64     `json:"rss_bytes_per_node"`
	HeapPerNode  float64     `json:"heap_bytes_per_node"`
	StorePerNode float64     `json:"store_bytes_per_node"`
	RSSPerItem   float64     `json:"rss_bytes_per_item"`
	HeapPerItem  float64     `json:"heap_bytes_per_item"`
	StorePerItem float64     `json:"store_bytes_per_item"`
	FirstErrorIQ string      `json:"first_error,omitempty"`
}

// nodePayload is an item like the device monitor's: a few named values.
func nodePayload(i int) []byte {
	b := []byte("<iface xmlns='urn:xmppd:bench'><name>wan</name><rx_bytes>")
	b = strconv.AppendInt(b, 1_000_000_000+int64(i)*1500, 10)
	b = append(b, "</rx_bytes><tx_bytes>"...)
	b = strconv.AppendInt(b, 200_000_000+int64(i)*400, 10)
	b = append(b, "</tx_bytes><rx_rate>"...)
	b = strconv.AppendInt(b, 100_000+int64(i%977), 10)
	return append(b, "</rx_rate></iface>"...)
}

// sample reads the server's footprint.
func (cfg nodesConfig) sample() nodesSample {
	var s nodesSample
	s.RSSKiB, s.AnonKiB = procMem(cfg.pid)
	if cfg.admin != "" {
		s.HeapBytes = adminHeap(cfg.admin)
	}
	if cfg.data != "" {
		s.StoreBytes = dirSize(cfg.data)
	}
	return s
}

// adminHeap asks xmppd's admin socket for the heap in use; 0 on failure.
func adminHeap(path string) int64 {
	c, err := net.DialTimeout("unix", path, 5*time.Second)
	if err != nil {
		return 0
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if err := json.NewEncoder(c).Encode(map[string]string{"cmd": "status"}); err != nil {
		return 0
	}
	var resp struct {
		Status struct {
			HeapBytes int64 `json:"heap_bytes"`
		}
	}
	if json.NewDecoder(c).Decode(&resp) != nil {
		return 0
	}
	return resp.Status.HeapBytes
}

// dirSize is the bytes of the regular files under dir.
func dirSize(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}

// pipeline sends n requests, window at a time, and waits for each answer;
// it returns how many failed and the first failure.
func pipeline(c *client, n, window int, req func(i int) []byte) (failed int, first string, err error) {
	next := 0
	for next < n && next < window {
		c.write(req(next))
		next++
	}
	for answered := 0; answered < n; {
		c.conn.SetReadDeadline(time.Now().Add(setupTimeout))
		el, err := c.stanza()
		if err != nil {
			return failed, first, fmt.Errorf("after %d of %d answers: %w", answered, n, err)
		}
		if !nameIs(el, "iq") {
			continue
		}
		id := attrString(el, "id")
		if len(id) < 2 || id[0] != 'q' {
			continue
		}
		switch attrString(el, "type") {
		case "result":
		case "error":
			failed++
			if first == "" {
				first = errorCondition(el)
			}
		default:
			continue
		}
		answered++
		if next < n {
			c.write(req(next))
			next++
		}
	}
	c.conn.SetReadDeadline(time.Time{})
	return failed, first, nil
}

// runNodes creates the nodes, publishes the items and samples.
func runNodes(cfg nodesConfig) (*nodesResult, error) {
	r := &nodesResult{common: common{Scenario: "nodes", TLS: cfg.tls, Mech: cfg.mech}, Nodes: cfg.nodes, ItemsPerNode: cfg.items, PayloadBytes: len(nodePayload(0))}
	c, err := login(cfg.opts, cfg.user+"0", "nodes")
	if err != nil {
		return nil, err
	}
	defer c.close()
	service := "pubsub." + cfg.domain
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	node := func(i int) string { return "bench/" + run + "/" + strconv.Itoa(i) }
	var m meter
	m.start(cfg.pid)
	r.Before = cfg.sample()

	t0 := time.Now()
	failed, first, err := pipeline(c, cfg.nodes, cfg.window, func(i int) []byte {
		return []byte("<iq type='set' id='q" + strconv.Itoa(i) + "' to='" + service +
			"'><pubsub xmlns='http://jabber.org/protocol/pubsub'><create node='" + node(i) + "'/></pubsub></iq>")
	})
	if err != nil {
		return nil, fmt.Errorf("create: %w", err)
	}
	r.NodesPerSec = perSec(cfg.nodes, time.Since(t0))
	if failed == cfg.nodes {
		return nil, fmt.Errorf("every create failed: %s", first)
	}
	r.Failed += failed
	r.FirstErrorIQ = first
	time.Sleep(cfg.settle)
	r.AfterNodes = cfg.sample()

	total := cfg.nodes * cfg.items
	if total > 0 {
		t0 = time.Now()
		failed, first, err = pipeline(c, total, cfg.window, func(k int) []byte {
			i, j := k%cfg.nodes, k/cfg.nodes
			b := []byte("<iq type='set' id='q" + strconv.Itoa(k) + "' to='" + service +
				"'><pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='" + node(i) + "'><item id='i" + strconv.Itoa(j) + "'>")
			b = append(b, nodePayload(k)...)
			return append(b, "</item></publish></pubsub></iq>"...)
		})
		if err != nil {
			return nil, fmt.Errorf("publish: %w", err)
		}
		r.ItemsPerSec = perSec(total, time.Since(t0))
		r.Failed += failed
		if r.FirstErrorIQ == "" {
			r.FirstErrorIQ = first
		}
		time.Sleep(cfg.settle)
	}
	r.AfterItems = cfg.sample()
	m.stop()
	m.fill(&r.common)
	if r.Failed > 0 {
		fmt.Fprintf(os.Stderr, "loadgen: nodes: %d requests failed, first: %s\n", r.Failed, r.FirstErrorIQ)
	}
	per := func(a, b int64, n int) float64 {
		if n == 0 {
			return 0
		}
		return round3(float64(b-a) / float64(n))
	}
	r.RSSPerNode = per(int64(r.Before.RSSKiB)*1024, int64(r.AfterNodes.RSSKiB)*1024, cfg.nodes)
	r.HeapPerNode = per(r.Before.HeapBytes, r.AfterNodes.HeapBytes, cfg.nodes)
	r.StorePerNode = per(r.Before.StoreBytes, r.AfterNodes.StoreBytes, cfg.nodes)
	r.RSSPerItem = per(int64(r.AfterNodes.RSSKiB)*1024, int64(r.AfterItems.RSSKiB)*1024, total)
	r.HeapPerItem = per(r.AfterNodes.HeapBytes, r.AfterItems.HeapBytes, total)
	r.StorePerItem = per(r.AfterNodes.StoreBytes, r.AfterItems.StoreBytes, total)
	if r.Failed == cfg.nodes+total {
		return nil, errors.New("nothing was created")
	}
	return r, nil
}

// Package prometheus stands in for github.com/prometheus/client_golang's
// package of the same name in xmppd's build. It has the part pebble uses: a
// histogram it records WAL fsync latencies into, and the two bucket layout
// helpers. There is no registry, no exposition and no protobuf: xmppd does
// not serve Prometheus metrics. The histogram still counts, so a snapshot of
// it can be shown if xmppd ever wants one.
//
// README.md says why xmppd carries it and how to check it on a pebble upgrade.
package prometheus

import (
	"fmt"
	"math"
	"sort"
	"sync/atomic"
)

// Observer takes observations.
type Observer interface {
	Observe(float64)
}

// Histogram counts observations into buckets.
type Histogram interface {
	Observer
}

// HistogramOpts configures NewHistogram. Buckets are upper bounds in
// strictly increasing order; an implicit +Inf bucket follows the last.
type HistogramOpts struct {
	Buckets []float64
}

// NewHistogram returns a histogram with opts.Buckets. It panics if they are
// not strictly increasing, as client_golang does.
func NewHistogram(opts HistogramOpts) Histogram {
	upper := make([]float64, 0, len(opts.Buckets))
	for i, b := range opts.Buckets {
		if i > 0 && !(b > opts.Buckets[i-1]) {
			panic(fmt.Sprintf("prometheus: histogram buckets must be in increasing order: %v >= %v", opts.Buckets[i-1], b))
		}
		// A +Inf bound is implicit.
		if !math.IsInf(b, +1) {
			upper = append(upper, b)
		}
	}
	return &histogram{upper: upper, counts: make([]atomic.Uint64, len(upper)+1)}
}

// histogram is NewHistogram's: a count per bucket, and the sum.
type histogram struct {
	upper   []float64
	counts  []atomic.Uint64 // one per upper bound, then +Inf
	sumBits atomic.Uint64   // math.Float64bits of the sum
}

// Observe counts v in the first bucket whose upper bound is at least v.
func (h *histogram) Observe(v float64) {
	h.counts[sort.SearchFloat64s(h.upper, v)].Add(1)
	for {
		old := h.sumBits.Load()
		if h.sumBits.CompareAndSwap(old, math.Float64bits(math.Float64frombits(old)+v)) {
			return
		}
	}
}

// Snapshot is a histogram's state at one moment.
type Snapshot struct {
	// Upper holds the buckets' upper bounds, without the implicit +Inf.
	Upper []float64
	// Counts holds the observations per bucket (not cumulative), one more
	// than Upper: the last is the +Inf bucket.
	Counts []uint64
	// Count is the number of observations, Sum their total.
	Count uint64
	Sum   float64
}

// Snapshot returns the histogram's counts. Observations made while it runs
// may be missing from Sum or from Counts.
func (h *histogram) Snapshot() Snapshot {
	s := Snapshot{Upper: h.upper, Counts: make([]uint64, len(h.counts))}
	for i := range h.counts {
		s.Counts[i] = h.counts[i].Load()
		s.Count += s.Counts[i]
	}
	s.Sum = math.Float64frombits(h.sumBits.Load())
	return s
}

// ReadHistogram returns h's counts, if h came from NewHistogram.
func ReadHistogram(h Histogram) (Snapshot, bool) {
	if hh, ok := h.(*histogram); ok && hh != nil {
		return hh.Snapshot(), true
	}
	return Snapshot{}, false
}

// LinearBuckets returns count upper bounds: start, start+width, and so on.
// It panics if count is below 1.
func LinearBuckets(start, width float64, count int) []float64 {
	if count < 1 {
		panic("prometheus: LinearBuckets needs a positive count")
	}
	b := make([]float64, count)
	for i := range b {
		b[i] = start + float64(i)*width
	}
	return b
}

// ExponentialBucketsRange returns count upper bounds from lowest to highest,
// each the previous one times the same factor. It panics if count is below
// 1 or lowest is not positive.
func ExponentialBucketsRange(lowest, highest float64, count int) []float64 {
	if count < 1 {
		panic("prometheus: ExponentialBucketsRange needs a positive count")
	}
	if lowest <= 0 {
		panic("prometheus: ExponentialBucketsRange needs a positive lowest bound")
	}
	b := make([]float64, count)
	b[0] = lowest
	if count == 1 {
		return b
	}
	// Powers of the ratio, rather than repeated products, so the last bound
	// is highest up to rounding and errors do not add up along the way.
	ratio := highest / lowest
	for i := 1; i < count; i++ {
		b[i] = lowest * math.Pow(ratio, float64(i)/float64(count-1))
	}
	return b
}

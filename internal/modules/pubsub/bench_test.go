package pubsub_test

import (
	"strconv"
	"sync/atomic"
	"testing"

	"xmppd/internal/core"
	"xmppd/internal/jid"
	"xmppd/internal/modules/pubsub"
	"xmppd/internal/xmpptest"
)

// counter is a link that counts what it is given.
type counter struct{ n *atomic.Int64 }

func (c counter) Queue([]byte) error { c.n.Add(1); return nil }
func (counter) Flush()               {}
func (counter) Close(_, _ string)    {}
func (counter) Info() core.LinkInfo  { return core.LinkInfo{} }

// BenchmarkFanout publishes to a node with N subscribed sessions and
// reports allocations per notification: the payload is serialized once
// per publish, so what grows with N is only the copy to each recipient.
func BenchmarkFanout(b *testing.B) {
	for _, subs := range []int{50, 1000} {
		b.Run("subscribers_"+strconv.Itoa(subs), func(b *testing.B) {
			s := xmpptest.Start(b, "")
			h := s.Host("localhost")
			var sent atomic.Int64
			var fulls []string
			for i := range subs {
				user := "u" + strconv.Itoa(i)
				s.AddUser(b, user, "pw")
				sess := s.NewSession(h, jid.MustParse(user+"@localhost"), counter{&sent})
				full, err := h.Bind(sess, "r", core.ConflictKickOld)
				if err != nil {
					b.Fatal(err)
				}
				sess.SetPresence([]byte("<presence/>"), 0)
				fulls = append(fulls, full.String())
			}
			publish, err := pubsub.FanoutFunc(h, fulls)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				publish()
			}
			b.StopTimer()
			if got := sent.Load(); got < int64(b.N*subs) {
				b.Fatalf("%d notifications for %d publishes", got, b.N)
			}
			b.ReportMetric(float64(b.N*subs)/b.Elapsed().Seconds(), "notifications/s")
			b.ReportMetric(testing.AllocsPerRun(10, publish)/float64(subs), "allocs/notification")
		})
	}
}

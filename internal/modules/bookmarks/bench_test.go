package bookmarks_test

import (
	"strconv"
	"strings"
	"testing"
)

// roomsNamed is n rooms all named name.
func roomsNamed(n int, name string) string {
	var b strings.Builder
	for i := range n {
		b.WriteString("<conference jid='r" + strconv.Itoa(i) + "@conf.localhost' name='" + name + "'><nick>n</nick></conference>")
	}
	return b.String()
}

// BenchmarkPrivateSet256Changed: a private-storage set renaming all of 256
// rooms, each a durable PEP publish: the worst a XEP-0048 client costs.
func BenchmarkPrivateSet256Changed(b *testing.B) {
	s := start(b, "", "juliet")
	c := login(b, s, "juliet")
	c.privateGet(b)
	lists := [2]string{roomsNamed(256, "one"), roomsNamed(256, "two")}
	b.SetBytes(int64(len(lists[0])))
	b.ResetTimer()
	for i := range b.N {
		c.privateSet(b, lists[i%2], "result")
	}
}

// BenchmarkPrivateSet256Same: the same 256 rooms stored again, which
// publishes nothing: the common case of a client saving its list.
func BenchmarkPrivateSet256Same(b *testing.B) {
	s := start(b, "", "juliet")
	c := login(b, s, "juliet")
	list := roomsNamed(256, "same")
	c.privateSet(b, list, "result")
	b.SetBytes(int64(len(list)))
	b.ResetTimer()
	for range b.N {
		c.privateSet(b, list, "result")
	}
}

// BenchmarkPrivateGet256: a private-storage get of 256 rooms, made from
// the items.
func BenchmarkPrivateGet256(b *testing.B) {
	s := start(b, "", "juliet")
	c := login(b, s, "juliet")
	c.privateSet(b, roomsNamed(256, "x"), "result")
	b.ResetTimer()
	for range b.N {
		c.privateGet(b)
	}
}

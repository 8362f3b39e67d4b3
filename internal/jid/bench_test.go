package jid

import "testing"

var (
	benchJID JID
	benchStr string
)

func benchmarkParse(b *testing.B, s string) {
	b.ReportAllocs()
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		j, err := Parse(s)
		if err != nil {
			b.Fatal(err)
		}
		benchJID = j
	}
}

func BenchmarkParsePrepared(b *testing.B) {
	benchmarkParse(b, "juliet@capulet.example/balcony-7f3a")
}

func BenchmarkParseUnprepared(b *testing.B) {
	benchmarkParse(b, "Juliet@Capulet.EXAMPLE/balcony-7f3a")
}

func BenchmarkParsePreparedUnicode(b *testing.B) {
	benchmarkParse(b, "джульетта@капулетти.example/балкон")
}

func BenchmarkParseALabel(b *testing.B) {
	benchmarkParse(b, "juliet@xn--bcher-kva.example/balcony")
}

func BenchmarkBare(b *testing.B) {
	j := MustParse("juliet@capulet.example/balcony-7f3a")
	b.ReportAllocs()
	for b.Loop() {
		benchJID = j.Bare()
		benchStr = benchJID.Domain()
	}
}

func BenchmarkWithResource(b *testing.B) {
	j := MustParse("juliet@capulet.example")
	b.ReportAllocs()
	for b.Loop() {
		w, err := j.WithResource("balcony-7f3a")
		if err != nil {
			b.Fatal(err)
		}
		benchJID = w
	}
}

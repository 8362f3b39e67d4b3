package jid

import "testing"

func TestView(t *testing.T) {
	b := []byte("juliet@example.com/balcony")
	j, err := View(b)
	if err != nil || j.String() != "juliet@example.com/balcony" || j.Bare().String() != "juliet@example.com" {
		t.Fatalf("%v %v", j, err)
	}
	kept := j.Clone()
	copy(b, "romeo!")
	if kept.String() != "juliet@example.com/balcony" {
		t.Fatalf("clone shares memory: %s", kept)
	}
	if a := testing.AllocsPerRun(100, func() { View(b) }); a != 0 {
		t.Fatalf("%v allocs", a)
	}
	// Input that needs preparation is copied, so it never aliases.
	u := []byte("Juliet@Example.com")
	j, _ = View(u)
	u[0] = 'x'
	if j.String() != "juliet@example.com" {
		t.Fatalf("prepared view aliases input: %s", j)
	}
	if _, err := View(nil); err == nil {
		t.Fatal("empty input accepted")
	}
}

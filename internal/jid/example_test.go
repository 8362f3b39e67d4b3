package jid_test

import (
	"fmt"

	"xmppd/internal/jid"
)

func ExampleParse() {
	j, err := jid.Parse("Juliet@Capulet.EXAMPLE/Balcony")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(j)
	fmt.Println(j.Local(), j.Domain(), j.Resource())
	fmt.Println(j.Bare(), j.DomainJID())
	// Output:
	// juliet@capulet.example/Balcony
	// juliet capulet.example Balcony
	// juliet@capulet.example capulet.example
}

func ExampleParse_invalid() {
	_, err := jid.Parse("juliet@example.com/ foo")
	fmt.Println(err)
	// Output:
	// jid: resourcepart begins with a space
}

func ExampleJID_WithResource() {
	bare := jid.MustParse("juliet@capulet.example")
	full, err := bare.WithResource("orchard")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(full, full.IsFull(), full.Bare() == bare)
	// Output:
	// juliet@capulet.example/orchard true true
}

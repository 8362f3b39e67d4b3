package core

//go:generate msgp -tests=false -file element.go -o element_gen.go

// StoredElement is an XML element a module keeps for an account, such as
// a vCard or a private-storage element, as serialized when it was set
// (its own namespace declared), and when. One record type serves every
// such module, so their stored data reads the same way.
type StoredElement struct {
	XML     []byte `msg:"x"`
	Updated int64  `msg:"t"` // unix seconds
}

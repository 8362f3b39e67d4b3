package jid

import (
	"strings"
	"unsafe"
)

// View parses b like ParseBytes but, when b is already canonical, returns a
// JID that borrows b's memory instead of copying it. It exists for the
// router, which looks an address up in maps and then forgets it: the result
// is valid only while b is unchanged, so keep it with Clone, never as is.
func View(b []byte) (JID, error) {
	if len(b) == 0 {
		return JID{}, errEmptyDomain
	}
	return parse(unsafe.String(&b[0], len(b)), true)
}

// Clone returns a JID that owns its memory.
func (j JID) Clone() JID {
	j.s = strings.Clone(j.s)
	return j
}

// Package jid parses, prepares and compares XMPP addresses as defined in
// RFC 7622.
//
// Every JID held by this package is in canonical form: two JIDs denote the
// same entity exactly when their strings are equal, so JID values can be
// compared with == and used as map keys.
//
// Beyond the PRECIS and IDNA rules that RFC 7622 names, preparation rejects
// a resourcepart that begins with a space (the RFC's own examples call one
// invalid), requires a domainpart made of digits and dots only to be an IPv4
// address, and writes bracketed IPv6 addresses in RFC 5952 form.
package jid

import (
	"errors"
	"strings"
)

// JID is a prepared (canonical) XMPP address. The zero value is the empty JID.
type JID struct {
	// s holds all three parts in one string so that Bare, DomainJID and
	// the part accessors are substrings and never allocate; a session keeps
	// several JIDs alive, so the two offsets are uint16 (a canonical JID is
	// at most 3071 bytes, RFC 7622 §3.1).
	s string
	// l is the length of the localpart, 0 when there is none.
	l uint16
	// d is the offset in s just past the domainpart.
	d uint16
}

// Parse splits s into its parts, prepares each of them and returns the
// canonical JID.
//
// Input that is already canonical and ASCII-only is returned without
// allocating: the result shares its memory with s.
func Parse(s string) (JID, error) {
	return parse(s, true)
}

// ParseBytes is like Parse for a byte slice; it copies b once.
func ParseBytes(b []byte) (JID, error) {
	return parse(string(b), true)
}

// MustParse is like Parse but panics on error; it is meant for tests and
// package-level values built from constants.
func MustParse(s string) JID {
	j, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return j
}

// New prepares the three parts separately and joins them; an empty local or
// resource means the JID has none.
func New(local, domain, resource string) (JID, error) {
	return build(local, domain, resource, true)
}

// String returns the canonical string form of j.
func (j JID) String() string { return j.s }

// Local returns the localpart, or "" when j has none.
func (j JID) Local() string { return j.s[:j.l] }

// Domain returns the domainpart.
func (j JID) Domain() string { return j.s[j.domainStart():j.d] }

// Resource returns the resourcepart, or "" when j has none.
func (j JID) Resource() string {
	if int(j.d) < len(j.s) {
		return j.s[j.d+1:]
	}
	return ""
}

// Bare returns j without its resourcepart.
func (j JID) Bare() JID { return JID{s: j.s[:j.d], l: j.l, d: j.d} }

// DomainJID returns the JID made of j's domainpart alone.
func (j JID) DomainJID() JID {
	start := j.domainStart()
	return JID{s: j.s[start:j.d], d: j.d - start}
}

// WithResource returns j's bare JID with resource r prepared and attached;
// an empty r yields the bare JID.
func (j JID) WithResource(r string) (JID, error) {
	if j.IsZero() {
		return JID{}, errEmptyDomain
	}
	if r == "" {
		return j.Bare(), nil
	}
	pr, err := prepResource(r, true)
	if err != nil {
		return JID{}, err
	}
	return JID{s: j.s[:j.d] + "/" + pr, l: j.l, d: j.d}, nil
}

// IsZero reports whether j is the empty JID.
func (j JID) IsZero() bool { return j.s == "" }

// IsBare reports whether j is non-empty and has no resourcepart.
func (j JID) IsBare() bool { return j.s != "" && int(j.d) == len(j.s) }

// IsFull reports whether j has a resourcepart.
func (j JID) IsFull() bool { return int(j.d) < len(j.s) }

// IsDomain reports whether j is non-empty and has neither localpart nor
// resourcepart.
func (j JID) IsDomain() bool { return j.s != "" && j.l == 0 && int(j.d) == len(j.s) }

// Equal reports whether j and o denote the same address.
func (j JID) Equal(o JID) bool {
	// Both are canonical and the split of a canonical string is unique,
	// so the strings alone decide (RFC 7622 §3.2.3, §3.3.3, §3.4.3).
	return j.s == o.s
}

// AppendTo appends the canonical string form of j to dst.
func (j JID) AppendTo(dst []byte) []byte { return append(dst, j.s...) }

func (j JID) domainStart() uint16 {
	if j.l == 0 {
		return 0
	}
	return j.l + 1
}

var (
	errEmptyLocal    = errors.New("jid: empty localpart before '@'")
	errEmptyDomain   = errors.New("jid: empty domainpart")
	errEmptyResource = errors.New("jid: empty resourcepart after '/'")
)

// parse is Parse with the ASCII shortcut switchable, so that tests can check
// the shortcut against full preparation.
func parse(s string, fast bool) (JID, error) {
	// RFC 7622 §3.2: the first '/' starts the resourcepart, and only then
	// does the first '@' of what precedes it end the localpart. Splitting
	// comes before any mapping, which could produce '@' or '/' (§3.1).
	bare, resource, hasSlash := strings.Cut(s, "/")
	local, domain, hasAt := strings.Cut(bare, "@")
	if !hasAt {
		local, domain = "", bare
	}
	if hasAt && local == "" {
		return JID{}, errEmptyLocal
	}
	if domain == "" {
		return JID{}, errEmptyDomain
	}
	if hasSlash && resource == "" {
		return JID{}, errEmptyResource
	}

	pl, pd, pr, err := prepParts(local, domain, resource, fast)
	if err != nil {
		return JID{}, err
	}
	if pl == local && pd == domain && pr == resource {
		// Nothing changed, so s is already the canonical string; keeping it
		// is what makes the common case allocation-free.
		return JID{s: s, l: uint16(len(pl)), d: uint16(len(bare))}, nil
	}
	return join(pl, pd, pr), nil
}

// build is New with the ASCII shortcut switchable.
func build(local, domain, resource string, fast bool) (JID, error) {
	if domain == "" {
		return JID{}, errEmptyDomain
	}
	pl, pd, pr, err := prepParts(local, domain, resource, fast)
	if err != nil {
		return JID{}, err
	}
	return join(pl, pd, pr), nil
}

// prepParts prepares the parts that are present; local and resource may be
// empty, domain may not.
func prepParts(local, domain, resource string, fast bool) (pl, pd, pr string, err error) {
	if local != "" {
		if pl, err = prepLocal(local, fast); err != nil {
			return "", "", "", err
		}
	}
	if pd, err = prepDomain(domain, fast); err != nil {
		return "", "", "", err
	}
	if resource != "" {
		if pr, err = prepResource(resource, fast); err != nil {
			return "", "", "", err
		}
	}
	return pl, pd, pr, nil
}

// join assembles prepared parts with a single allocation at most.
func join(local, domain, resource string) JID {
	var s string
	switch {
	case local == "" && resource == "":
		s = domain
	case local == "":
		s = domain + "/" + resource
	case resource == "":
		s = local + "@" + domain
	default:
		s = local + "@" + domain + "/" + resource
	}
	j := JID{s: s, l: uint16(len(local)), d: uint16(len(domain))}
	if local != "" {
		j.d += j.l + 1
	}
	return j
}

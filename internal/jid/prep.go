package jid

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/text/secure/precis"
)

// maxPart is the longest a prepared part may be, in bytes (RFC 7622 §3.2,
// §3.3, §3.4).
const maxPart = 1023

// maxRawPart bounds a part before preparation. Width and case mapping and
// NFC shrink a string at most about threefold, so no input longer than this
// can prepare to maxPart bytes or less; refusing it early keeps a hostile
// peer from making the server map megabytes it will reject anyway. Only the
// domainpart could in theory shrink further, through code points that
// UTS #46 maps to nothing, and no real domain name is padded that way.
const maxRawPart = 4 * maxPart

// maxLabel is the DNS limit on a label, in bytes (RFC 1035 §2.3.4,
// RFC 5890 §2.3.2.1).
const maxLabel = 63

var (
	errLongLocal        = errors.New("jid: localpart longer than 1023 bytes")
	errLongDomain       = errors.New("jid: domainpart longer than 1023 bytes")
	errLongResource     = errors.New("jid: resourcepart longer than 1023 bytes")
	errLocalUTF8        = errors.New("jid: localpart is not valid utf-8")
	errDomainUTF8       = errors.New("jid: domainpart is not valid utf-8")
	errResourceUTF8     = errors.New("jid: resourcepart is not valid utf-8")
	errResourceSpace    = errors.New("jid: resourcepart begins with a space")
	errEmptyLabel       = errors.New("jid: empty label in domainpart")
	errLongLabel        = errors.New("jid: domainpart label longer than 63 bytes")
	errLabelChar        = errors.New("jid: domainpart label contains a character other than a letter, digit or hyphen")
	errLabelHyphen      = errors.New("jid: domainpart label begins or ends with a hyphen")
	errLabelReserved    = errors.New("jid: domainpart label has hyphens in its third and fourth positions")
	errNumericDomain    = errors.New("jid: numeric domainpart is not an ipv4 address")
	errIPLiteral        = errors.New("jid: malformed ip literal in domainpart")
	errIPLiteralNotIPv6 = errors.New("jid: ip literal in domainpart is not a plain ipv6 address")
	// errNotASCII only tells the shortcut to step aside; callers never
	// see it.
	errNotASCII = errors.New("jid: domainpart is not ascii")
)

// domainProfile pins the IDNA options instead of using idna.Lookup, whose
// settings the library may change between versions.
var domainProfile = idna.New(
	// UTS #46 mapping lowercases, folds width and applies NFC, which is
	// what RFC 7622 §3.2.2 asks of enforcement; it also limits ASCII to
	// letters, digits and hyphen (STD3, RFC 1123 §2.1).
	idna.MapForLookup(),
	// IDNA2008 proper: ß and ς stay distinct letters.
	idna.Transitional(false),
	idna.BidiRule(),
	idna.CheckHyphens(true),
	idna.CheckJoiners(true),
)

// byte classes for the ASCII shortcut.
const (
	// cLocal: may stand in a prepared localpart (RFC 7622 §3.3.1).
	cLocal = 1 << iota
	// cResource: may stand in a prepared resourcepart (RFC 7622 §3.4.1,
	// RFC 8264 §4.3).
	cResource
	// cLDH: may stand in a prepared domain label (RFC 5890 §2.3.1).
	cLDH
	// cDigit marks decimal digits, to spot IPv4 addresses.
	cDigit
	// cASCII marks bytes below 0x80.
	cASCII
)

var class = func() (t [256]uint8) {
	for c := 0x20; c <= 0x7e; c++ {
		t[c] |= cResource
	}
	// U+0021..U+007E are the ASCII code points that the IdentifierClass
	// allows (RFC 8264 §4.2.1); upper case is left out because case
	// mapping would change it.
	for c := 0x21; c <= 0x7e; c++ {
		if c < 'A' || c > 'Z' {
			t[c] |= cLocal
		}
	}
	// RFC 7622 §3.3.1 forbids these in the localpart on top of PRECIS.
	for _, c := range localForbidden {
		t[c] &^= cLocal
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] |= cLDH
	}
	for c := '0'; c <= '9'; c++ {
		t[c] |= cLDH | cDigit
	}
	t['-'] |= cLDH
	for c := range 0x80 {
		t[c] |= cASCII
	}
	// Bytes of U-labels pass the character check; IDNA has vetted the
	// code points they encode.
	for c := 0x80; c <= 0xff; c++ {
		t[c] |= cLDH
	}
	return t
}()

// localForbidden lists what RFC 7622 §3.3.1 disallows in a localpart even
// though UsernameCaseMapped allows it.
const localForbidden = `"&'/:<>@`

// prepLocal prepares a non-empty localpart (RFC 7622 §3.3).
func prepLocal(s string, fast bool) (string, error) {
	if len(s) > maxRawPart {
		return "", errLongLocal
	}
	if fast && isPreparedLocal(s) {
		return s, nil
	}
	if !utf8.ValidString(s) {
		return "", errLocalUTF8
	}
	p, err := precis.UsernameCaseMapped.String(s)
	if err != nil {
		return "", fmt.Errorf("jid: invalid localpart: %w", err)
	}
	if i := strings.IndexAny(p, localForbidden); i >= 0 {
		return "", fmt.Errorf("jid: localpart contains forbidden character %q", p[i])
	}
	if len(p) > maxPart {
		return "", errLongLocal
	}
	return p, nil
}

// prepResource prepares a non-empty resourcepart (RFC 7622 §3.4).
func prepResource(s string, fast bool) (string, error) {
	if len(s) > maxRawPart {
		return "", errLongResource
	}
	if fast && isPreparedResource(s) {
		return s, nil
	}
	if !utf8.ValidString(s) {
		return "", errResourceUTF8
	}
	p, err := precis.OpaqueString.String(s)
	if err != nil {
		return "", fmt.Errorf("jid: invalid resourcepart: %w", err)
	}
	// OpaqueString itself allows a leading space, but RFC 7622 §3.5.2
	// lists "juliet@example.com/ foo" as invalid for exactly that reason;
	// checking after preparation also catches other spaces mapped to it.
	if p[0] == ' ' {
		return "", errResourceSpace
	}
	if len(p) > maxPart {
		return "", errLongResource
	}
	return p, nil
}

// prepDomain prepares a non-empty domainpart (RFC 7622 §3.2).
func prepDomain(s string, fast bool) (string, error) {
	// RFC 7622 §3.2: one trailing dot goes before anything else is done.
	s = strings.TrimSuffix(s, ".")
	if s == "" {
		return "", errEmptyDomain
	}
	if len(s) > maxRawPart {
		return "", errLongDomain
	}
	if s[0] == '[' {
		return prepIPLiteral(s)
	}
	if fast && isPreparedDomain(s) {
		return s, nil
	}
	if !utf8.ValidString(s) {
		return "", errDomainUTF8
	}
	// RFC 7622 §3.2.1: A-labels become U-labels, so that one domain has
	// one canonical form whichever way the peer spelled it.
	u, err := domainProfile.ToUnicode(s)
	if err != nil {
		return "", fmt.Errorf("jid: invalid domainpart: %w", err)
	}
	if err := checkDomain(u, false); err != nil {
		return "", err
	}
	return u, nil
}

// checkDomain applies to a mapped domainpart the rules that the IDNA
// library leaves to the caller: label and name lengths, and a guarantee that
// no separator or upper-case letter survives, which keeps re-parsing the
// canonical string stable. With asciiOnly it gives up at the first non-ASCII
// byte, so that the shortcut costs little on names it cannot take.
func checkDomain(s string, asciiOnly bool) error {
	if len(s) > maxPart {
		return errLongDomain
	}
	const allBits = cLDH | cDigit | cASCII
	numeric := true
	start, bits := 0, uint8(allBits)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '.' {
			if err := checkLabel(s[start:i], bits); err != nil {
				return err
			}
			numeric = numeric && bits&cDigit != 0
			start, bits = i+1, allBits
			continue
		}
		if asciiOnly && c >= utf8.RuneSelf {
			return errNotASCII
		}
		bits &= class[c]
	}
	if err := checkLabel(s[start:], bits); err != nil {
		return err
	}
	// A name of digits and dots would be read as an address by anyone
	// routing to it, so it must be one (RFC 1123 §2.1, RFC 3696 §2).
	if numeric && bits&cDigit != 0 {
		if a, err := netip.ParseAddr(s); err != nil || !a.Is4() {
			return errNumericDomain
		}
	}
	return nil
}

// checkLabel checks one label of a mapped domainpart (RFC 5890 §2.3.1,
// RFC 5891 §4.2.3.1); bits is the AND of the classes of its bytes.
func checkLabel(l string, bits uint8) error {
	if l == "" {
		return errEmptyLabel
	}
	if len(l) > maxLabel {
		return errLongLabel
	}
	if bits&cLDH == 0 {
		return errLabelChar
	}
	if l[0] == '-' || l[len(l)-1] == '-' {
		return errLabelHyphen
	}
	// Such labels are reserved; "xn--" ones are A-labels, which
	// preparation has already turned into U-labels.
	if len(l) >= 4 && l[2] == '-' && l[3] == '-' {
		return errLabelReserved
	}
	if bits&cASCII == 0 {
		// The DNS limit applies to the A-label, which can be longer
		// than the U-label it encodes.
		a, err := idna.Punycode.ToASCII(l)
		if err != nil {
			return fmt.Errorf("jid: invalid domainpart label: %w", err)
		}
		if len(a) > maxLabel {
			return errLongLabel
		}
	}
	return nil
}

// prepIPLiteral prepares a bracketed IPv6 address, the form RFC 7622 §3.2
// borrows from RFC 3986 §3.2.2.
func prepIPLiteral(s string) (string, error) {
	inner, ok := strings.CutSuffix(s[1:], "]")
	if !ok {
		return "", errIPLiteral
	}
	a, err := netip.ParseAddr(inner)
	if err != nil {
		return "", fmt.Errorf("jid: malformed ip literal in domainpart: %w", err)
	}
	// Zones are local to one host and IPv4 has no bracketed form.
	if !a.Is6() || a.Zone() != "" {
		return "", errIPLiteralNotIPv6
	}
	// The RFC 5952 text form, so that one address has one JID.
	var buf [64]byte
	canon := a.AppendTo(buf[:0])
	if string(canon) == inner {
		return s, nil
	}
	return "[" + string(canon) + "]", nil
}

// isPreparedLocal reports whether a non-empty s is a localpart that
// preparation would return unchanged; it accepts only ASCII, because
// printable ASCII without upper case is the one case where
// UsernameCaseMapped is known to be the identity without running it.
func isPreparedLocal(s string) bool {
	return len(s) <= maxPart && allClass(s, cLocal)
}

// isPreparedResource is isPreparedLocal for the resourcepart: OpaqueString
// maps only non-ASCII spaces and applies NFC, neither of which touches
// printable ASCII.
func isPreparedResource(s string) bool {
	return len(s) <= maxPart && s[0] != ' ' && allClass(s, cResource)
}

// isPreparedDomain is isPreparedLocal for the domainpart, trailing dot
// already stripped: a valid all-ASCII domainpart is made of lower-case LDH
// labels, which UTS #46 mapping and ToUnicode leave exactly as they are.
func isPreparedDomain(s string) bool {
	return checkDomain(s, true) == nil
}

func allClass(s string, c uint8) bool {
	for i := 0; i < len(s); i++ {
		if class[s[i]]&c == 0 {
			return false
		}
	}
	return true
}

package main

import (
	"crypto/sha1"
	"encoding/base64"
	"slices"
	"strings"
)

// capsNode names the generator as client software (XEP-0115 §4 'node').
const capsNode = "urn:xmppd:loadgen"

// discoIdentity is what the subscribers say they are.
type discoIdentity struct{ category, typ, lang, name string }

var subscriberIdentity = discoIdentity{"client", "pc", "", "loadgen"}

// subscriberFeatures are the disco#info features of a subscriber: enough
// for a server to deliver PEP notifications of node to it (XEP-0163 §4).
func subscriberFeatures(node string) []string {
	return []string{
		"http://jabber.org/protocol/caps",
		"http://jabber.org/protocol/disco#info",
		node + "+notify",
	}
}

// capsVer computes the verification string of XEP-0115 §5.1 with sha-1:
// identities then features, each sorted and followed by '<', hashed and
// base64-encoded. A server compares it with the disco#info answer and may
// ignore a client whose string does not match.
func capsVer(ids []discoIdentity, features []string) string {
	idStrings := make([]string, len(ids))
	for i, id := range ids {
		idStrings[i] = id.category + "/" + id.typ + "/" + id.lang + "/" + id.name
	}
	slices.Sort(idStrings)
	features = slices.Sorted(slices.Values(features))
	var s strings.Builder
	for _, x := range idStrings {
		s.WriteString(x + "<")
	}
	for _, x := range features {
		s.WriteString(x + "<")
	}
	sum := sha1.Sum([]byte(s.String()))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// capsElement is the <c/> a subscriber's presence carries.
func capsElement(node string) string {
	ver := capsVer([]discoIdentity{subscriberIdentity}, subscriberFeatures(node))
	return "<c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='" + capsNode + "' ver='" + ver + "'/>"
}

// discoInfoReply answers a disco#info query for the subscriber's own
// features, echoing the node the server asked about (node#ver); addr
// holds the answer's to and id attributes.
func discoInfoReply(addr, queryNode, node string) []byte {
	var b strings.Builder
	b.WriteString("<iq type='result'" + addr + "><query xmlns='http://jabber.org/protocol/disco#info'")
	if queryNode != "" {
		b.WriteString(" node=" + quoted([]byte(queryNode)))
	}
	b.WriteString(">")
	id0 := subscriberIdentity
	b.WriteString("<identity category='" + id0.category + "' type='" + id0.typ + "' name='" + id0.name + "'/>")
	for _, f := range subscriberFeatures(node) {
		b.WriteString("<feature var='" + f + "'/>")
	}
	b.WriteString("</query></iq>")
	return []byte(b.String())
}

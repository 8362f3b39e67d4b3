package pubsub_test

import (
	"strings"
	"testing"
	"time"

	"xmppd/internal/xmpptest"
)

const (
	ns      = "http://jabber.org/protocol/pubsub"
	nsOwner = ns + "#owner"
	svc     = "pubsub.localhost"
)

func pub(node, id, payload string) string {
	return "<pubsub xmlns='" + ns + "'><publish node='" + node + "'><item id='" + id + "'>" + payload + "</item></publish></pubsub>"
}

// TestServiceLifecycle: create, configure, subscribe, publish, items,
// retract, purge and delete on pubsub.<host>, with the permissions of a
// non-owner and an outcast.
func TestServiceLifecycle(t *testing.T) {
	s := xmpptest.Start(t, "")
	users(t, s, "owner", "sub", "bad")
	o, b, x := login(t, s, "owner"), login(t, s, "sub"), login(t, s, "bad")
	for _, c := range []*client{o, b, x} {
		c.online(t)
	}
	o.iq(t, "set", svc, "<pubsub xmlns='"+ns+"'><create node='n1'/><configure>"+form(ns+"#node_config", "pubsub#max_items", "2")+"</configure></pubsub>", "result")
	o.iq(t, "set", svc, "<pubsub xmlns='"+ns+"'><create node='n1'/></pubsub>", "error")
	inst := o.iq(t, "set", svc, "<pubsub xmlns='"+ns+"'><create/></pubsub>", "result")
	if !strings.Contains(inst, "<create") {
		t.Fatalf("instant node not named: %s", inst)
	}
	cfg := o.iq(t, "get", svc, "<pubsub xmlns='"+nsOwner+"'><configure node='n1'/></pubsub>", "result")
	if !strings.Contains(cfg, `<field var="pubsub#max_items"><value>2</value>`) {
		t.Fatalf("configuration: %s", cfg)
	}
	b.iq(t, "set", svc, "<pubsub xmlns='"+ns+"'><subscribe node='n1' jid='"+b.jid+"'/></pubsub>", "result")
	b.iq(t, "set", svc, "<pubsub xmlns='"+ns+"'><subscribe node='n1' jid='owner@localhost'/></pubsub>", "error")

	// Outcast: cannot subscribe; non-owner: cannot delete or publish.
	o.iq(t, "set", svc, "<pubsub xmlns='"+nsOwner+"'><affiliations node='n1'><affiliation jid='bad@localhost' affiliation='outcast'/></affiliations></pubsub>", "result")
	e := x.iq(t, "set", svc, "<pubsub xmlns='"+ns+"'><subscribe node='n1' jid='"+x.jid+"'/></pubsub>", "error")
	if !strings.Contains(e, "forbidden") {
		t.Fatalf("outcast subscribe: %s", e)
	}
	if e := b.iq(t, "set", svc, "<pubsub xmlns='"+nsOwner+"'><delete node='n1'/></pubsub>", "error"); !strings.Contains(e, "forbidden") {
		t.Fatalf("non-owner delete: %s", e)
	}
	b.iq(t, "set", svc, pub("n1", "i0", "<v xmlns='urn:t'>x</v>"), "error")

	for i, v := range []string{"one", "two", "three"} {
		o.iq(t, "set", svc, pub("n1", "i"+string(rune('1'+i)), "<v xmlns='urn:t'>"+v+"</v>"), "result")
		b.expect(t, "<event", `<item id="i`+string(rune('1'+i))+`"`, ">"+v+"<")
	}
	items := b.iq(t, "get", svc, "<pubsub xmlns='"+ns+"'><items node='n1'/></pubsub>", "result")
	if strings.Contains(items, ">one<") || !strings.Contains(items, ">two<") || !strings.Contains(items, ">three<") {
		t.Fatalf("max_items 2 not kept: %s", items)
	}
	last := b.iq(t, "get", svc, "<pubsub xmlns='"+ns+"'><items node='n1' max_items='1'/></pubsub>", "result")
	if strings.Contains(last, ">two<") || !strings.Contains(last, ">three<") {
		t.Fatalf("max_items=1: %s", last)
	}
	page := b.iq(t, "get", svc, "<pubsub xmlns='"+ns+"'><items node='n1'/><set xmlns='http://jabber.org/protocol/rsm'><max>1</max></set></pubsub>", "result")
	if !strings.Contains(page, "<count>2</count>") || !strings.Contains(page, ">two<") || strings.Contains(page, ">three<") {
		t.Fatalf("rsm page: %s", page)
	}
	byID := b.iq(t, "get", svc, "<pubsub xmlns='"+ns+"'><items node='n1'><item id='i2'/></items></pubsub>", "result")
	if !strings.Contains(byID, ">two<") || strings.Contains(byID, ">three<") {
		t.Fatalf("by id: %s", byID)
	}

	o.iq(t, "set", svc, "<pubsub xmlns='"+ns+"'><retract node='n1' notify='true'><item id='i3'/></retract></pubsub>", "result")
	b.expect(t, "<retract", `id="i3"`)
	o.iq(t, "set", svc, "<pubsub xmlns='"+ns+"'><retract node='n1'><item id='nope'/></retract></pubsub>", "error")
	o.iq(t, "set", svc, "<pubsub xmlns='"+nsOwner+"'><purge node='n1'/></pubsub>", "result")
	b.expect(t, "<purge", `node="n1"`)
	if items := b.iq(t, "get", svc, "<pubsub xmlns='"+ns+"'><items node='n1'/></pubsub>", "result"); strings.Contains(items, "<item ") {
		t.Fatalf("purged node has items: %s", items)
	}
	o.iq(t, "set", svc, "<pubsub xmlns='"+nsOwner+"'><delete node='n1'><redirect uri='xmpp:pubsub.localhost?;node=n2'/></delete></pubsub>", "result")
	b.expect(t, "<delete", "redirect", "node=n2")
	o.iq(t, "get", svc, "<pubsub xmlns='"+ns+"'><items node='n1'/></pubsub>", "error")
}

// TestWhitelist: a whitelist node refuses strangers and lets members in.
func TestWhitelist(t *testing.T) {
	s := xmpptest.Start(t, "")
	users(t, s, "owner", "m", "stranger")
	o, m, x := login(t, s, "owner"), login(t, s, "m"), login(t, s, "stranger")
	o.iq(t, "set", svc, "<pubsub xmlns='"+ns+"'><create node='w'/><configure>"+form(ns+"#node_config", "pubsub#access_model", "whitelist")+"</configure></pubsub>", "result")
	o.iq(t, "set", svc, "<pubsub xmlns='"+nsOwner+"'><affiliations node='w'><affiliation jid='m@localhost' affiliation='member'/></affiliations></pubsub>", "result")
	if e := x.iq(t, "set", svc, "<pubsub xmlns='"+ns+"'><subscribe node='w' jid='"+x.jid+"'/></pubsub>", "error"); !strings.Contains(e, "closed-node") {
		t.Fatalf("stranger: %s", e)
	}
	m.iq(t, "set", svc, "<pubsub xmlns='"+ns+"'><subscribe node='w' jid='"+m.jid+"'/></pubsub>", "result")
}

// TestCreateAdmins: with `option create admins` only the listed accounts
// create nodes.
func TestCreateAdmins(t *testing.T) {
	s := xmpptest.Start(t, "config module 'pubsub'\n\toption create 'admins'\n\tlist admins 'boss@localhost'\n")
	users(t, s, "boss", "user")
	b, u := login(t, s, "boss"), login(t, s, "user")
	if e := u.iq(t, "set", svc, "<pubsub xmlns='"+ns+"'><create node='x'/></pubsub>", "error"); !strings.Contains(e, "forbidden") {
		t.Fatal(e)
	}
	b.iq(t, "set", svc, "<pubsub xmlns='"+ns+"'><create node='x'/></pubsub>", "result")
}

// TestFilter: a subscriber with `severity >= warning` gets only those.
func TestFilter(t *testing.T) {
	s := xmpptest.Start(t, "")
	users(t, s, "dev", "phone")
	d, p := login(t, s, "dev"), login(t, s, "phone")
	p.online(t)
	d.iq(t, "set", svc, "<pubsub xmlns='"+ns+"'><create node='alerts'/></pubsub>", "result")
	bad := p.iq(t, "set", svc, "<pubsub xmlns='"+ns+"'><subscribe node='alerts' jid='"+p.jid+"'/><options>"+
		form(ns+"#subscribe_options", "xmppd#filter", "severity >=")+"</options></pubsub>", "error")
	if !strings.Contains(bad, "bad-request") || !strings.Contains(bad, "value is needed") {
		t.Fatalf("bad filter: %s", bad)
	}
	p.iq(t, "set", svc, "<pubsub xmlns='"+ns+"'><subscribe node='alerts' jid='"+p.jid+"'/><options>"+
		form(ns+"#subscribe_options", "xmppd#filter", "severity &gt;= warning")+"</options></pubsub>", "result")
	for i, sev := range []string{"info", "warning", "debug", "critical", "notice"} {
		d.iq(t, "set", svc, pub("alerts", "a"+string(rune('0'+i)), "<alert xmlns='urn:t'><severity>"+sev+"</severity></alert>"), "result")
	}
	p.expect(t, ">warning<")
	p.expect(t, ">critical<")
	p.quiet(t, "<severity>", 300*time.Millisecond)
}

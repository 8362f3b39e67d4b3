#!/usr/bin/python3
"""Interoperability tests of publish-subscribe with slixmpp's xep_0060,
xep_0115 and xep_0163 plugins: PEP notifications to a contact whose entity
capabilities ask for the node (+notify), and none to a contact whose do
not; the pubsub service on pubsub.localhost (create, subscribe, publish,
items); and a bookmarks 2 (XEP-0402) round trip with its publish-options.

Run by scripts/interop/run.sh with the others; accounts user33..user40.
"""

import asyncio
import unittest
import xml.etree.ElementTree as ET

from slixmpp.exceptions import IqError

# Only helpers: importing a TestCase would run its tests again from here.
from test_interop import DOMAIN, WAIT, Client, bounded, jid

TUNE = "http://jabber.org/protocol/tune"
BOOKMARKS = "urn:xmpp:bookmarks:1"
SERVICE = f"pubsub.{DOMAIN}"
PUBLISH_OPTIONS = "http://jabber.org/protocol/pubsub#publish-options"


def pubsub_client(user, resource):
    c = Client(jid(user, resource))
    for p in ("xep_0004", "xep_0060", "xep_0115", "xep_0163"):
        c.register_plugin(p)
    # slixmpp fires "message" only for messages with a body; notifications
    # come as pubsub_publish.
    c.add_event_handler("pubsub_publish", lambda m: c._record("message", m))
    return c


def tune(title):
    t = ET.Element(f"{{{TUNE}}}tune")
    ET.SubElement(t, f"{{{TUNE}}}title").text = title
    return t


def event_of(node):
    """Matches a pubsub notification message of node."""
    def match(m):
        return m.xml.find("{http://jabber.org/protocol/pubsub#event}event") is not None and \
            m["pubsub_event"]["items"]["node"] == node
    return match


def payload_text(msg_or_item, ns, name):
    el = msg_or_item.xml.find(f".//{{{ns}}}{name}")
    return None if el is None else el.text


class TestPEP(unittest.IsolatedAsyncioTestCase):
    def setUp(self):
        self.clients = []

    async def asyncTearDown(self):
        await asyncio.gather(*(c.close(wait=0.5) for c in self.clients), return_exceptions=True)

    async def connect(self, user, resource, interests=()):
        c = pubsub_client(user, resource)
        self.clients.append(c)
        await c.login()
        for ns in interests:
            c["xep_0030"].add_feature(ns + "+notify", jid=c.boundjid.full)
        # The verification string first, so the first presence carries it
        # (XEP-0115) and the server asks the client for its features.
        await c["xep_0115"].update_caps(jid=c.boundjid.full, broadcast=False)
        c.send_presence()
        return c

    async def befriend(self, a, b):
        """b subscribes to a's presence and a approves."""
        b.send_presence(pto=a.boundjid.bare, ptype="subscribe")
        await a.expect_presence(b.boundjid.bare, "subscribe")
        a.send_presence(pto=b.boundjid.bare, ptype="subscribed")
        await b.expect_presence(a.boundjid.bare, "subscribed")

    @bounded
    async def test_pep_notify_with_caps(self):
        owner = await self.connect("user33", "pep")
        fan = await self.connect("user34", "pep", interests=[TUNE])
        deaf = await self.connect("user35", "pep")
        await self.befriend(owner, fan)
        await self.befriend(owner, deaf)
        # The server resolves fan's caps with a disco#info query that
        # slixmpp answers; then a publish reaches it.
        await asyncio.sleep(0.5)
        fan_mark, deaf_mark = fan.mark(), deaf.mark()
        await owner["xep_0060"].publish(owner.boundjid.bare, TUNE, id="current", payload=tune("Interop"), timeout=WAIT)
        msg = await fan.expect("message", f"{TUNE} event", event_of(TUNE), fan_mark)
        self.assertEqual(str(msg["from"]), owner.boundjid.bare)
        self.assertEqual(payload_text(msg, TUNE, "title"), "Interop")
        # A contact whose caps do not ask for the node gets nothing.
        await asyncio.sleep(0.5)
        self.assertFalse([st for k, st in deaf.received[deaf_mark:] if k == "message" and event_of(TUNE)(st)],
                         "a contact without +notify got the notification")
        # The contact reads the item back (presence access model).
        iq = await fan["xep_0060"].get_items(owner.boundjid.bare, TUNE, timeout=WAIT)
        self.assertEqual([i["id"] for i in iq["pubsub"]["items"]], ["current"])

    @bounded
    async def test_service(self):
        creator = await self.connect("user36", "svc")
        reader = await self.connect("user37", "svc")
        node = "interop-readings"
        await creator["xep_0060"].create_node(SERVICE, node, timeout=WAIT)
        await reader["xep_0060"].subscribe(SERVICE, node, timeout=WAIT)
        mark = reader.mark()
        payload = ET.Element("{urn:example:interop}reading")
        payload.text = "42"
        await creator["xep_0060"].publish(SERVICE, node, id="r1", payload=payload, timeout=WAIT)
        msg = await reader.expect("message", f"{node} event", event_of(node), mark)
        self.assertEqual(str(msg["from"]), SERVICE)
        self.assertEqual(payload_text(msg, "urn:example:interop", "reading"), "42")
        iq = await reader["xep_0060"].get_items(SERVICE, node, timeout=WAIT)
        items = list(iq["pubsub"]["items"])
        self.assertEqual([i["id"] for i in items], ["r1"])
        # Only the owner deletes.
        with self.assertRaises(IqError):
            await reader["xep_0060"].delete_node(SERVICE, node, timeout=WAIT)
        await creator["xep_0060"].delete_node(SERVICE, node, timeout=WAIT)

    @bounded
    async def test_bookmarks2(self):
        c = await self.connect("user38", "bm")
        other = await self.connect("user39", "bm")
        form = c["xep_0004"].make_form(ftype="submit")
        form.add_field("FORM_TYPE", ftype="hidden", value=PUBLISH_OPTIONS)
        form.add_field("pubsub#persist_items", value="true")
        form.add_field("pubsub#access_model", value="whitelist")
        form.add_field("pubsub#max_items", value="max")
        form.add_field("pubsub#send_last_published_item", value="never")
        room = f"room@conference.{DOMAIN}"
        conf = ET.Element(f"{{{BOOKMARKS}}}conference", {"name": "Interop room", "autojoin": "true"})
        ET.SubElement(conf, f"{{{BOOKMARKS}}}nick").text = "user38"
        await c["xep_0060"].publish(c.boundjid.bare, BOOKMARKS, id=room, payload=conf, options=form, timeout=WAIT)
        iq = await c["xep_0060"].get_items(c.boundjid.bare, BOOKMARKS, timeout=WAIT)
        items = list(iq["pubsub"]["items"])
        self.assertEqual([i["id"] for i in items], [room])
        got = items[0].xml.find(f"{{{BOOKMARKS}}}conference")
        self.assertIsNotNone(got)
        self.assertEqual(got.get("name"), "Interop room")
        self.assertEqual(got.find(f"{{{BOOKMARKS}}}nick").text, "user38")
        # Whitelist: nobody else reads them.
        with self.assertRaises(IqError):
            await other["xep_0060"].get_items(c.boundjid.bare, BOOKMARKS, timeout=WAIT)
        await c["xep_0060"].retract(c.boundjid.bare, BOOKMARKS, room, notify=True, timeout=WAIT)
        iq = await c["xep_0060"].get_items(c.boundjid.bare, BOOKMARKS, timeout=WAIT)
        self.assertEqual(list(iq["pubsub"]["items"]), [])


if __name__ == "__main__":
    unittest.main()

#!/usr/bin/python3
"""Interoperability tests of message delivery beyond the basics: offline
storage with its delay stamp (XEP-0160, XEP-0203), carbons across two
resources (XEP-0280) and the blocking command (XEP-0191) with slixmpp's own
plugins, and a chat between aioxmpp and slixmpp, two client stacks written
independently of each other.

Run by scripts/interop/run.sh with the others; accounts user01..user08.
"""

import asyncio
import unittest

import aioxmpp
import aioxmpp.connector
import aioxmpp.dispatcher

# Only helpers: importing a TestCase would run its tests again from here.
from test_interop import DOMAIN, PASSWORD, PORT_STARTTLS, WAIT, Client, bounded, jid

NS_CARBONS = "urn:xmpp:carbons:2"
NS_ERRORS = "urn:xmpp:blocking:errors"


def client(user, resource, *plugins):
    c = Client(jid(user, resource))
    for p in plugins:
        c.register_plugin(p)
    c.add_event_handler("message_error", lambda st: c._record("message_error", st))
    return c


class TestImDelivery(unittest.IsolatedAsyncioTestCase):
    def setUp(self):
        self.clients = []

    async def asyncTearDown(self):
        await asyncio.gather(*(c.close(wait=0.5) for c in self.clients), return_exceptions=True)

    async def connect(self, user, resource, *plugins, presence=True):
        c = client(user, resource, *plugins)
        self.clients.append(c)
        await c.login()
        if presence:
            c.send_presence()
        return c

    @bounded
    async def test_offline_delivery_with_delay(self):
        sender = await self.connect("user01", "s", "xep_0199")
        sent = [f"offline {i}" for i in range(3)]
        for body in sent:
            sender.send_message(mto=jid("user02"), mbody=body, mtype="chat")
        # The server handles one stream's stanzas in order and stores with
        # an fsync before going on: once the ping is answered, all three
        # are on disk.
        await sender["xep_0199"].ping(jid=DOMAIN, timeout=WAIT)

        recipient = await self.connect("user02", "r", "xep_0203", presence=False)
        mark = recipient.mark()
        recipient.send_presence()
        got = []
        for body in sent:
            msg = await recipient.expect("message", body, lambda m, b=body: m["body"] == b, mark)
            got.append(msg)
        order = [m["body"] for k, m in recipient.received[mark:] if k == "message"]
        self.assertEqual(order[:3], sent)
        for msg in got:
            self.assertEqual(msg["from"].bare, jid("user01"))
            self.assertEqual(str(msg["delay"]["from"]), DOMAIN)
            self.assertIsNotNone(msg["delay"]["stamp"], "no delay stamp")

        # Once: another resource's initial presence gets nothing more.
        again = await self.connect("user02", "r2", presence=False)
        mark2 = again.mark()
        again.send_presence()
        await again["xep_0199"].ping(jid=DOMAIN, timeout=WAIT)
        self.assertEqual([m for k, m in again.received[mark2:] if k == "message"], [])

    @bounded
    async def test_carbons_two_resources(self):
        phone = await self.connect("user03", "phone", "xep_0280")
        desk = await self.connect("user03", "desk", "xep_0280")
        contact = await self.connect("user04", "c")
        await phone["xep_0280"].enable(timeout=WAIT)
        await desk["xep_0280"].enable(timeout=WAIT)
        received, sent = asyncio.Queue(), asyncio.Queue()
        desk.add_event_handler("carbon_received", received.put_nowait)
        desk.add_event_handler("carbon_sent", sent.put_nowait)

        mark = phone.mark()
        contact.send_message(mto=jid("user03", "phone"), mbody="to the phone", mtype="chat")
        await phone.expect("message", "to the phone", lambda m: m["body"] == "to the phone", mark)
        carbon = await asyncio.wait_for(received.get(), WAIT)
        fwd = carbon["carbon_received"]
        self.assertEqual(fwd["body"], "to the phone")
        self.assertEqual(fwd["from"].bare, jid("user04"))
        self.assertEqual(str(fwd["to"]), jid("user03", "phone"))

        mark = contact.mark()
        phone.send_message(mto=jid("user04"), mbody="from the phone", mtype="chat")
        await contact.expect("message", "from the phone", lambda m: m["body"] == "from the phone", mark)
        carbon = await asyncio.wait_for(sent.get(), WAIT)
        fwd = carbon["carbon_sent"]
        self.assertEqual(fwd["body"], "from the phone")
        self.assertEqual(str(fwd["from"]), jid("user03", "phone"))
        self.assertEqual(fwd["to"].bare, jid("user04"))
        # The phone never gets a copy of its own message.
        self.assertFalse(any(k == "message" and m.xml.find(f"{{{NS_CARBONS}}}sent") is not None
                             for k, m in phone.received))

    @bounded
    async def test_blocking(self):
        user = await self.connect("user05", "u", "xep_0191")
        other = await self.connect("user06", "o")
        blocked = await user["xep_0191"].get_blocked(timeout=WAIT)
        self.assertEqual(set(blocked["blocklist"]["items"]), set())
        await user["xep_0191"].block(jid("user06"), timeout=WAIT)
        blocked = await user["xep_0191"].get_blocked(timeout=WAIT)
        self.assertEqual({str(j) for j in blocked["blocklist"]["items"]}, {jid("user06")})

        # The blocked contact's message bounces as from an absent account,
        # and never reaches the user.
        mark_o, mark_u = other.mark(), user.mark()
        other.send_message(mto=jid("user05"), mbody="let me in", mtype="chat")
        err = await other.expect("message_error", "service-unavailable", lambda m: True, mark_o)
        self.assertEqual(err["error"]["condition"], "service-unavailable")
        # The user's own message to the contact comes back with <blocked/>.
        user.send_message(mto=jid("user06"), mbody="go away", mtype="chat")
        err = await user.expect("message_error", "not-acceptable", lambda m: True, mark_u)
        self.assertEqual(err["error"]["condition"], "not-acceptable")
        self.assertIsNotNone(err.xml.find(f".//{{{NS_ERRORS}}}blocked"))
        self.assertFalse(any(k == "message" and m["body"] == "let me in" for k, m in user.received[mark_u:]))

        await user["xep_0191"].unblock(jid("user06"), timeout=WAIT)
        mark_u = user.mark()
        other.send_message(mto=jid("user05"), mbody="again", mtype="chat")
        await user.expect("message", "after unblock", lambda m: m["body"] == "again", mark_u)

    @bounded
    async def test_aioxmpp_slixmpp_chat(self):
        slix = await self.connect("user08", "slix")
        inbox = asyncio.Queue()
        # A message to a full JID needs no presence: a bare aioxmpp.Client.
        aio = aioxmpp.Client(
            aioxmpp.JID.fromstr(jid("user07", "aio")),
            aioxmpp.make_security_layer(PASSWORD, no_verify=True),
            override_peer=[("127.0.0.1", PORT_STARTTLS, aioxmpp.connector.STARTTLSConnector())],
        )
        dispatcher = aio.summon(aioxmpp.dispatcher.SimpleMessageDispatcher)
        dispatcher.register_callback(aioxmpp.MessageType.CHAT, None, inbox.put_nowait)
        async with aio.connected():
            mark = slix.mark()
            msg = aioxmpp.Message(to=aioxmpp.JID.fromstr(jid("user08")), type_=aioxmpp.MessageType.CHAT)
            msg.body[None] = "hello from aioxmpp"
            await aio.send(msg)
            got = await slix.expect("message", "from aioxmpp", lambda m: m["body"] == "hello from aioxmpp", mark)
            self.assertEqual(str(got["from"]), jid("user07", "aio"))

            slix.send_message(mto=jid("user07", "aio"), mbody="hello from slixmpp", mtype="chat")
            answer = await asyncio.wait_for(inbox.get(), WAIT)
            self.assertEqual(answer.body.any(), "hello from slixmpp")
            self.assertEqual(str(answer.from_), jid("user08", "slix"))


if __name__ == "__main__":
    unittest.main()

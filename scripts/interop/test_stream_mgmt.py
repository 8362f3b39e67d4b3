#!/usr/bin/python3
"""Interoperability tests of stream management (XEP-0198) and client state
indication (XEP-0352) with slixmpp's own plugins, xep_0198 and xep_0352.

Run by scripts/interop/run.sh with the others; accounts user09..user16.
"""

import asyncio
import unittest

from test_interop import DOMAIN, PORT_STARTTLS, WAIT, Client, bounded, jid, logged_after, server_log


def client(user, resource, *plugins):
    c = Client(jid(user, resource))
    for p in plugins:
        c.register_plugin(p)
    return c


def bodies(c, since=0):
    return [m["body"] for k, m in c.received[since:] if k == "message" and m["body"]]


async def event(c, name):
    """Waits for the next event name on c."""
    fut = asyncio.get_running_loop().create_future()
    c.add_event_handler(name, lambda e: fut.done() or fut.set_result(e), disposable=True)
    return fut


class TestStreamManagement(unittest.IsolatedAsyncioTestCase):
    def setUp(self):
        self.clients = []

    async def asyncTearDown(self):
        await asyncio.gather(*(c.close(wait=0.5) for c in self.clients), return_exceptions=True)

    async def connect(self, user, resource, *plugins, presence=True):
        c = client(user, resource, *plugins)
        self.clients.append(c)
        if "xep_0198" in plugins:
            enabled = await event(c, "sm_enabled")
        await c.login()
        if "xep_0198" in plugins:
            await asyncio.wait_for(enabled, WAIT)
        if presence:
            c.send_presence()
        return c

    @bounded
    async def test_resume_after_connection_killed(self):
        phone = await self.connect("user09", "phone", "xep_0198", "xep_0199")
        self.assertTrue(phone["xep_0198"].sm_id, "no resumption id")
        friend = await self.connect("user10", "desk", "xep_0199")
        friend.send_message(mto=jid("user09", "phone"), mbody="before", mtype="chat")
        await phone.expect("message", "before", lambda m: m["body"] == "before")
        # The client acknowledges what it got, as it would before its
        # network goes; h is then exact on both sides.
        phone["xep_0198"].send_ack()
        await phone["xep_0199"].ping(jid=DOMAIN, timeout=WAIT)

        hibernating = len(server_log("session hibernating", jid=jid("user09", "phone")))
        gone = await event(phone, "disconnected")
        phone.transport.abort()  # the TCP connection dies; no </stream:stream>
        await asyncio.wait_for(gone, WAIT)
        await logged_after(hibernating, "session hibernating", jid=jid("user09", "phone"))

        away = [f"while away {i}" for i in range(3)]
        for body in away:
            friend.send_message(mto=jid("user09", "phone"), mbody=body, mtype="chat")
        friend.send_message(mto=jid("user09"), mbody="to the bare JID", mtype="chat")
        await friend["xep_0199"].ping(jid=DOMAIN, timeout=WAIT)

        mark = phone.mark()
        resumed = await event(phone, "session_resumed")
        bound = []
        phone.add_event_handler("session_bind", bound.append)
        sent = phone["xep_0198"].seq
        phone.connect(("localhost", PORT_STARTTLS))
        st = await asyncio.wait_for(resumed, WAIT)
        # The server handled every stanza the phone sent since <enable/>.
        # (slixmpp 1.8.3 empties its own queue when it sends <resume/>, and
        # logs "Inconsistent sequence numbers" at this <resumed/>: its bug.)
        self.assertEqual(st["h"], sent)
        self.assertEqual(bound, [], "a new session was bound instead of the old one resumed")
        for body in away + ["to the bare JID"]:
            await phone.expect("message", body, lambda m, b=body: m["body"] == b, mark)
        # Nothing more: a round trip, then a look at what came.
        await phone["xep_0199"].ping(jid=DOMAIN, timeout=WAIT)
        await asyncio.sleep(0.2)
        self.assertEqual(bodies(phone, mark), away + ["to the bare JID"], "lost, duplicated or reordered")

        # The resumed session works both ways and acks agree.
        phone.send_message(mto=jid("user10", "desk"), mbody="back", mtype="chat")
        await friend.expect("message", "back", lambda m: m["body"] == "back")
        acked = await event(phone, "stanza_acked")
        phone["xep_0198"].request_ack()
        await asyncio.wait_for(acked, WAIT)
        self.assertEqual(len(phone["xep_0198"].unacked_queue), 0)
        self.assertEqual(phone.stream_errors, [])

    @bounded
    async def test_ack_counts(self):
        c = await self.connect("user11", "r", "xep_0198", "xep_0199", presence=False)
        for _ in range(4):
            await c["xep_0199"].ping(jid=DOMAIN, timeout=WAIT)
        acked = await event(c, "stanza_acked")
        c["xep_0198"].request_ack()
        await asyncio.wait_for(acked, WAIT)
        # The server counted the four pings: slixmpp keeps none unacknowledged.
        self.assertEqual(len(c["xep_0198"].unacked_queue), 0)
        self.assertEqual(c["xep_0198"].last_ack, 4)
        self.assertEqual(c.stream_errors, [])

    @bounded
    async def test_csi_inactive_active(self):
        phone = await self.connect("user13", "phone", "xep_0352", "xep_0199")
        self.assertTrue(phone["xep_0352"].enabled, "the server offered no <csi/>")
        friend = await self.connect("user14", "desk", "xep_0199")
        phone["xep_0352"].send_inactive()
        await phone["xep_0199"].ping(jid=DOMAIN, timeout=WAIT)

        mark = phone.mark()
        for status in ("one", "two"):
            friend.send_presence(pto=jid("user13", "phone"), pstatus=status)
        await friend["xep_0199"].ping(jid=DOMAIN, timeout=WAIT)
        await phone["xep_0199"].ping(jid=DOMAIN, timeout=WAIT)
        held = [p for k, p in phone.received[mark:] if k == "presence" and str(p["from"]) == jid("user14", "desk")]
        self.assertEqual(held, [], "an inactive client got presence updates")

        phone["xep_0352"].send_active()
        p = await phone.expect("presence", "the latest status", lambda p: p["status"] == "two", mark)
        self.assertEqual(str(p["from"]), jid("user14", "desk"))
        await phone["xep_0199"].ping(jid=DOMAIN, timeout=WAIT)
        statuses = [p["status"] for k, p in phone.received[mark:] if k == "presence" and str(p["from"]) == jid("user14", "desk")]
        self.assertEqual(statuses, ["two"], "only the latest presence per contact is sent")

        # Inactive again: a message with a body brings what waited first.
        phone["xep_0352"].send_inactive()
        await phone["xep_0199"].ping(jid=DOMAIN, timeout=WAIT)
        mark = phone.mark()
        friend.send_presence(pto=jid("user13", "phone"), pstatus="three")
        friend.send_message(mto=jid("user13", "phone"), mbody="wake up", mtype="chat")
        await phone.expect("message", "wake up", lambda m: m["body"] == "wake up", mark)
        order = [(k, p["status"] if k == "presence" else p["body"]) for k, p in phone.received[mark:]
                 if k in ("presence", "message") and str(p["from"]) == jid("user14", "desk")]
        self.assertEqual(order, [("presence", "three"), ("message", "wake up")])


if __name__ == "__main__":
    unittest.main()

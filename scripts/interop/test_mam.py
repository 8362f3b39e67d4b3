#!/usr/bin/python3
"""Interoperability tests of the message archive (XEP-0313) with slixmpp's
xep_0313 plugin: messages between two accounts are archived for both, carry
the archive id as a stanza-id when delivered, and come back from queries in
order, paged forwards with <after/> and backwards from the end with
<before/>, with the counts and completeness RSM reports.

Run by scripts/interop/run.sh with the others; accounts user17..user24.
"""

import asyncio
import unittest

# Only helpers: importing a TestCase would run its tests again from here.
from test_interop import WAIT, Client, bounded, jid

SENDER, RECIPIENT, THIRD = "user17", "user18", "user19"
NS_SID = "urn:xmpp:sid:0"
N = 15
PAGE = 6


def mam_client(user, resource):
    c = Client(jid(user, resource))
    c.register_plugin("xep_0059")
    c.register_plugin("xep_0313")
    return c


def bodies(results):
    return [r["mam_result"]["forwarded"]["stanza"]["body"] for r in results]


class TestMam(unittest.IsolatedAsyncioTestCase):
    def setUp(self):
        self.clients = []

    async def asyncTearDown(self):
        await asyncio.gather(*(c.close(wait=0.5) for c in self.clients), return_exceptions=True)

    async def connect(self, user, resource):
        c = mam_client(user, resource)
        self.clients.append(c)
        await c.login()
        c.send_presence()
        return c

    async def query(self, c, **kw):
        """One page: the results and the <fin/>."""
        iq = await c["xep_0313"].retrieve(timeout=WAIT, **kw)
        return iq["mam"]["results"], iq["mam_fin"]

    @bounded
    async def test_archive_and_paging(self):
        sender = await self.connect(SENDER, "s")
        recipient = await self.connect(RECIPIENT, "r")
        mark = recipient.mark()
        sent = [f"mam {i}" for i in range(N)]
        for body in sent:
            sender.send_message(mto=jid(RECIPIENT), mbody=body, mtype="chat")
        stanza_ids = []
        for body in sent:
            msg = await recipient.expect("message", body, lambda m, b=body: m["body"] == b, mark)
            sid = msg.xml.find(f"{{{NS_SID}}}stanza-id")
            self.assertIsNotNone(sid, f"{body} delivered without a stanza-id")
            self.assertEqual(sid.get("by"), jid(RECIPIENT))
            stanza_ids.append(sid.get("id"))

        # Forwards, oldest first, PAGE at a time.
        got, after, pages = [], None, 0
        while True:
            rsm = {"max": PAGE}
            if after:
                rsm["after"] = after
            results, fin = await self.query(recipient, rsm=rsm)
            pages += 1
            self.assertEqual(int(fin["rsm"]["count"]), N)
            self.assertLessEqual(len(results), PAGE)
            got += results
            after = fin["rsm"]["last"]
            if fin.xml.get("complete") == "true":
                break
            self.assertLess(pages, 10, "the archive never said complete")
        self.assertEqual(bodies(got), sent)
        self.assertEqual(pages, (N + PAGE - 1) // PAGE)
        self.assertEqual([r["mam_result"]["id"] for r in got], stanza_ids)
        for r in got:
            fwd = r["mam_result"]["forwarded"]
            self.assertEqual(fwd["stanza"]["from"].bare, jid(SENDER))
            self.assertTrue(fwd["delay"]["stamp"], "no delay stamp")

        # Backwards from the end with <before/>: slixmpp's RSM iterator
        # asks for the last page, then the one before its <first/>.
        back = [m async for m in recipient["xep_0313"].iterate(reverse=True, rsm={"max": PAGE})]
        self.assertEqual(bodies(back), list(reversed(sent)))

        # The sender's own archive has them too, found with 'with'.
        results, fin = await self.query(sender, with_jid=jid(RECIPIENT), rsm={"max": N})
        self.assertEqual(bodies(results), sent)
        self.assertEqual(fin.xml.get("complete"), "true")
        self.assertEqual(int(fin["rsm"]["count"]), N)
        # And a contact nobody talked to selects nothing.
        results, fin = await self.query(sender, with_jid=jid(THIRD))
        self.assertEqual(len(results), 0)

    @bounded
    async def test_form(self):
        c = await self.connect(THIRD, "f")
        form = await c["xep_0313"].get_fields(timeout=WAIT)
        fields = {f.get("var") for f in form.xml.iter("{jabber:x:data}field")}
        for name in ("FORM_TYPE", "with", "start", "end", "before-id", "after-id", "ids"):
            self.assertIn(name, fields)


if __name__ == "__main__":
    unittest.main()

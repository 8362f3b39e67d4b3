#!/usr/bin/python3
"""Interoperability tests of account features: in-band registration then
login (slixmpp xep_0077), vcard-temp set and get (slixmpp xep_0054, and
aioxmpp as a second client stack), private XML storage (slixmpp xep_0049)
and a service administration command (slixmpp xep_0050/xep_0133).

run.sh's daemon does not load the register module, nor name admins; this
file starts a second daemon of its own (the same binary, a configuration
that enables both, data in a temporary directory) for registration and the
admin command, and stops it at the end. Accounts user25..user32.
"""

import asyncio
import os
import shutil
import socket
import subprocess
import tempfile
import time
import unittest

from slixmpp.exceptions import IqError
from slixmpp.plugins.xep_0004 import Form
from slixmpp.xmlstream import ET

# Only helpers: importing a TestCase would run its tests again from here.
from test_interop import DOMAIN, PASSWORD, PORT_STARTTLS, WAIT, Client, LoginFailed, bounded, jid

XMPPD = os.environ.get("INTEROP_XMPPD", "bin/xmppd")
REGISTERED, VCARD_OWNER, VCARD_READER, AIO, PRIVATE = "user25", "user26", "user27", "user28", "user29"
TAKEN, ADMIN, ADDED = "user30", "user31", "user32"

# The second daemon: its port and process, set by setUpModule.
second = {"port": 0, "proc": None, "dir": None}


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def port_open(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return True
    except OSError:
        return False


def setUpModule():
    # The admin socket path must fit in a sockaddr_un: keep the directory short.
    work = tempfile.mkdtemp(prefix="xmppd-acct.", dir="/tmp")
    second["dir"] = work
    config = os.path.join(work, "xmppd.uci")
    for _ in range(3):
        port = free_port()
        with open(config, "w", encoding="utf-8") as f:
            f.write(f"""config xmppd 'main'
	option data_dir '{work}/data'
	option admin_socket '{work}/xmppd.sock'
	option log_level 'debug'
	option allow_root '1'
	list modules_enabled 'register'

config host 'localhost'
	option domain '{DOMAIN}'

config listener 'c2s'
	option address '127.0.0.1'
	option port '{port}'
	option tls 'starttls'

config module 'register'
	option throttle '20/1h'

config module 'adhoc'
	list admins '{ADMIN}@{DOMAIN}'
""")
        with open(os.path.join(work, "xmppd.log"), "ab") as log:
            proc = subprocess.Popen([XMPPD, "serve", "-c", config], stdout=log, stderr=log)
        deadline = time.monotonic() + 10
        while proc.poll() is None and time.monotonic() < deadline and not port_open(port):
            time.sleep(0.1)
        if proc.poll() is None and port_open(port):
            second["port"], second["proc"] = port, proc
            break
        proc.kill()
        proc.wait()
    else:
        raise RuntimeError("the registration daemon did not start; see " + work + "/xmppd.log")
    for user in (ADMIN, TAKEN):
        subprocess.run([XMPPD, "user", "add", f"{user}@{DOMAIN}", "--password-stdin", "-c", config],
                       input=(PASSWORD + "\n").encode(), check=True, stdout=subprocess.DEVNULL)


def tearDownModule():
    # A clean stop: SIGTERM ends the daemon with status 0, as run.sh checks
    # of its own.
    proc = second["proc"]
    if proc is not None:
        proc.terminate()
        try:
            status = proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            status = "killed"
        if status != 0 or os.environ.get("INTEROP_VERBOSE") == "1":
            with open(os.path.join(second["dir"], "xmppd.log"), encoding="utf-8", errors="replace") as f:
                print(f.read())
    if second["dir"]:
        shutil.rmtree(second["dir"], ignore_errors=True)
    if proc is not None and status != 0:
        raise AssertionError(f"the registration daemon ended with status {status} after SIGTERM")


class SecondClient(Client):
    """A Client of the second daemon: Client.login with its port."""

    async def login(self, direct_tls=False):
        loop = asyncio.get_running_loop()
        outcome = loop.create_future()

        def settle(result):
            if not outcome.done():
                outcome.set_result(result)

        def started(_):
            self.session_started = True
            settle(None)

        self.add_event_handler("session_start", started, disposable=True)
        self.add_event_handler("failed_all_auth", lambda _: settle("authentication failed"))
        self.add_event_handler("connection_failed", lambda e: settle(f"connection failed: {e}"))
        self.add_event_handler("disconnected", lambda e: settle(f"disconnected: {e}"))
        # slixmpp 1.8.3 uses default_port whatever connect() is given.
        self.default_port = second["port"]
        self.connect(("localhost", second["port"]))
        try:
            failure = await asyncio.wait_for(outcome, WAIT)
        except asyncio.TimeoutError:
            failure = f"no session within {WAIT}s"
        if failure is not None:
            raise LoginFailed(failure)


class Registrant(SecondClient):
    """Registers its account in-band (XEP-0077) before logging in."""

    def __init__(self, full_jid, password=PASSWORD):
        super().__init__(full_jid, password)
        self.register_plugin("xep_0004")
        self.register_plugin("xep_0066")
        self.register_plugin("xep_0077")
        self["xep_0077"].force_registration = True
        # slixmpp 1.8.3 holds back every iq until the session has started,
        # xep_0077's own registration iqs included, so registration before
        # login never leaves the client; its tests lift the hold the same way.
        self._always_send_everything = True
        self.registration_error = None
        self.registered = False
        self.add_event_handler("register", self.on_register)

    async def on_register(self, _form):
        iq = self.Iq()
        iq["type"] = "set"
        iq["register"]["username"] = self.boundjid.user
        iq["register"]["password"] = self.password
        try:
            await iq.send(timeout=WAIT)
            self.registered = True
        except IqError as e:
            self.registration_error = e.iq["error"]["condition"]
            self.disconnect()


class TestAccount(unittest.IsolatedAsyncioTestCase):
    def setUp(self):
        self.clients = []

    async def asyncTearDown(self):
        await asyncio.gather(*(c.close(wait=0.5) for c in self.clients), return_exceptions=True)

    async def connect(self, client):
        self.clients.append(client)
        await client.login()
        return client

    @bounded
    async def test_register_then_login(self):
        # Registration, then SASL on the same stream.
        r = await self.connect(Registrant(jid(REGISTERED, "reg")))
        self.assertTrue(r.registered, "no registration before the session started")
        # A fresh login with the new password.
        await self.connect(SecondClient(jid(REGISTERED, "again")))
        # A name that is taken: conflict, and no session.
        t = Registrant(jid(TAKEN, "reg"), password="something else")
        self.clients.append(t)
        with self.assertRaises(LoginFailed):
            await t.login()
        self.assertEqual(t.registration_error, "conflict")

    @bounded
    async def test_vcard_slixmpp(self):
        owner = Client(jid(VCARD_OWNER, "v"))
        owner.register_plugin("xep_0054")
        reader = Client(jid(VCARD_READER, "v"))
        reader.register_plugin("xep_0054")
        await self.connect(owner)
        await self.connect(reader)
        vcard = owner["xep_0054"].make_vcard()
        vcard["FN"] = "Juliet Capulet"
        vcard["NICKNAME"] = "jul"
        await owner["xep_0054"].publish_vcard(vcard, timeout=WAIT)
        got = await reader["xep_0054"].get_vcard(jid(VCARD_OWNER), local=False, timeout=WAIT)
        self.assertEqual(got["vcard_temp"]["FN"], "Juliet Capulet")
        self.assertIn("jul", got["vcard_temp"]["NICKNAME"])
        own = await owner["xep_0054"].get_vcard(jid(VCARD_OWNER), local=False, timeout=WAIT)
        self.assertEqual(own["vcard_temp"]["FN"], "Juliet Capulet")
        # Only the owner writes it.
        other = reader["xep_0054"].make_vcard()
        other["FN"] = "Romeo"
        with self.assertRaises(IqError) as e:
            await reader["xep_0054"].publish_vcard(other, jid=jid(VCARD_OWNER), timeout=WAIT)
        self.assertEqual(e.exception.iq["error"]["condition"], "forbidden")

    @bounded
    async def test_vcard_aioxmpp(self):
        try:
            import aioxmpp
            import aioxmpp.vcard
            from lxml import etree
        except ImportError:
            self.skipTest("python3-aioxmpp is not installed")
        client = aioxmpp.Client(
            aioxmpp.JID.fromstr(jid(AIO)),
            aioxmpp.make_security_layer(PASSWORD, no_verify=True),
            override_peer=[("127.0.0.1", PORT_STARTTLS, aioxmpp.connector.STARTTLSConnector())],
        )
        async with client.connected():
            service = client.summon(aioxmpp.vcard.VCardService)
            card = aioxmpp.vcard.xso.VCard()
            fn = etree.Element("{vcard-temp}FN")
            fn.text = "Set by aioxmpp"
            card.elements.append(fn)
            await service.set_vcard(card)
            got = await service.get_vcard(aioxmpp.JID.fromstr(jid(AIO)))
            self.assertEqual([e.text for e in got.elements if e.tag == "{vcard-temp}FN"], ["Set by aioxmpp"])
        # And slixmpp reads what aioxmpp wrote.
        reader = Client(jid(VCARD_READER, "aio"))
        reader.register_plugin("xep_0054")
        await self.connect(reader)
        got = await reader["xep_0054"].get_vcard(jid(AIO), local=False, timeout=WAIT)
        self.assertEqual(got["vcard_temp"]["FN"], "Set by aioxmpp")

    @bounded
    async def test_private_storage(self):
        c = Client(jid(PRIVATE, "p"))
        c.register_plugin("xep_0049")
        await self.connect(c)
        prefs = ET.fromstring("<prefs xmlns='urn:example:xmppd-interop:prefs'><colour>green</colour></prefs>")
        await c["xep_0049"].store(prefs, timeout=WAIT)
        iq = c.make_iq_get()
        query = ET.SubElement(iq.xml, "{jabber:iq:private}query")
        ET.SubElement(query, "{urn:example:xmppd-interop:prefs}prefs")
        got = await iq.send(timeout=WAIT)
        colour = got.xml.find(".//{urn:example:xmppd-interop:prefs}colour")
        self.assertIsNotNone(colour, str(got))
        self.assertEqual(colour.text, "green")
        # A reserved namespace is not-acceptable (XEP-0049 §2.3).
        bad = c.make_iq_set()
        q = ET.SubElement(bad.xml, "{jabber:iq:private}query")
        ET.SubElement(q, "{jabber:iq:roster}query")
        with self.assertRaises(IqError) as e:
            await bad.send(timeout=WAIT)
        self.assertEqual(e.exception.iq["error"]["condition"], "not-acceptable")

    @bounded
    async def test_admin_add_user(self):
        admin = SecondClient(jid(ADMIN, "adm"))
        admin.register_plugin("xep_0004")
        admin.register_plugin("xep_0050")
        admin.register_plugin("xep_0133")
        await self.connect(admin)
        items = await admin["xep_0133"].get_commands(timeout=WAIT)
        nodes = {i[1] for i in items["disco_items"]["items"]}
        self.assertIn("http://jabber.org/protocol/admin#add-user", nodes)

        done = asyncio.get_running_loop().create_future()

        def on_form(iq, session):
            form = iq["command"]["form"]
            answer = Form()
            answer["type"] = "submit"
            answer.add_field(var="FORM_TYPE", ftype="hidden", value="http://jabber.org/protocol/admin")
            answer.add_field(var="accountjid", value=jid(ADDED))
            answer.add_field(var="password", value=PASSWORD)
            answer.add_field(var="password-verify", value=PASSWORD)
            self.assertIn("accountjid", [f["var"] for f in form["fields"]])
            session["payload"] = answer
            session["next"] = on_done
            admin["xep_0050"].complete_command(session)

        def on_done(iq, session):
            done.set_result(iq["command"]["status"])

        def on_error(iq, session):
            done.set_result("error: " + iq["error"]["condition"])

        admin["xep_0133"].add_user(session={"next": on_form, "error": on_error})
        self.assertEqual(await asyncio.wait_for(done, WAIT), "completed")
        # The new account logs in.
        await self.connect(SecondClient(jid(ADDED, "new")))


if __name__ == "__main__":
    unittest.main()

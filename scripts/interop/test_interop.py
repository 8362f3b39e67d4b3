#!/usr/bin/python3
"""Interoperability tests: slixmpp clients against a running xmppd.

scripts/interop/run.sh starts the daemon, creates the accounts and runs this
file with /usr/bin/python3 (Debian's python3-slixmpp). It passes, in the
environment:

    INTEROP_DOMAIN          the served domain (localhost)
    INTEROP_PASSWORD        the password of every account
    INTEROP_PORT_STARTTLS   port of the STARTTLS listener on 127.0.0.1
    INTEROP_PORT_DIRECT     port of the direct TLS (XEP-0368) listener
    INTEROP_LOG             the daemon's log file, for what the server saw

Each test logs in with accounts of its own (ACCOUNTS below), so the order in
which unittest runs them does not matter, and each is bounded by
TEST_TIMEOUT so a server that stays silent fails the test instead of hanging
the suite.
"""

import asyncio
import functools
import logging
import os
import shlex
import ssl
import time
import sys
import unittest
import uuid

import slixmpp
from slixmpp.exceptions import IqError

DOMAIN = os.environ.get("INTEROP_DOMAIN", "localhost")
PASSWORD = os.environ.get("INTEROP_PASSWORD", "")
PORT_STARTTLS = int(os.environ.get("INTEROP_PORT_STARTTLS", "0"))
PORT_DIRECT = int(os.environ.get("INTEROP_PORT_DIRECT", "0"))
LOG = os.environ.get("INTEROP_LOG", "")

# The accounts run.sh creates, by the test that uses them.
ACCOUNTS = {
    "login": "alice",
    "presence": ("alice", "bob"),
    "message": ("alice", "bob"),
    "iq": "alice",
    "roster": "carol",
    "conflict": "dave",
    "wrong_password": "frank",
}

# Seconds one test may take in all; each wait inside it is shorter (WAIT), so
# a missing stanza is reported by name rather than as a bare test timeout.
# A passing test takes well under a second.
TEST_TIMEOUT = 10
WAIT = 4

# What the clients may use unless a test says otherwise. slixmpp 1.8.3 binds
# only to tls-unique, which TLS 1.3 does not have, so on the TLS 1.3
# connections Python makes by default its -PLUS attempts are refused; leaving
# them out spares each login those two refusals. The plain SCRAM mechanisms
# then go with the gs2 flag y ("I could bind, you cannot"), which xmppd
# accepts where it could not offer tls-unique (see test_login_stock_slixmpp).
SCRAM_WITHOUT_BINDING = ("SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN")
# A namespace no server implements, for the service-unavailable default.
UNKNOWN_NS = "urn:example:xmppd-interop:unknown"


def jid(user, resource=None):
    bare = f"{user}@{DOMAIN}"
    return f"{bare}/{resource}" if resource else bare


class LoginFailed(Exception):
    """The client ended before its session started; args[0] says how."""


class Client(slixmpp.ClientXMPP):
    """A ClientXMPP that records what it receives, for the tests to wait on.

    Every message, presence, roster push and stream error is kept in order in
    self.received as (kind, stanza); expect() waits for one that matches,
    looking at those that already arrived too, so a stanza that comes before
    the test starts waiting for it is not missed.
    """

    def __init__(self, full_jid, password=PASSWORD, mechanisms=SCRAM_WITHOUT_BINDING, tls_max=None):
        # use_mechs is feature_mechanisms' documented option for the
        # mechanisms a client may choose from; None leaves slixmpp as it
        # comes.
        plugin_config = {}
        if mechanisms is not None:
            plugin_config["feature_mechanisms"] = {"use_mechs": list(mechanisms)}
        super().__init__(full_jid, password, plugin_config=plugin_config)
        if tls_max is not None:
            self.ssl_context.maximum_version = tls_max
        # The daemon made itself a self-signed certificate; trust is not what
        # these tests are about, so verification is off for them only.
        self.ssl_context.check_hostname = False
        self.ssl_context.verify_mode = ssl.CERT_NONE
        # The listeners are on 127.0.0.1 and "localhost" may resolve to ::1
        # first; the system resolver is enough for a name in /etc/hosts.
        self.use_ipv6 = False
        self.use_aiodns = False
        # Whitespace pings would only add noise to the daemon's log.
        self.whitespace_keepalive = False
        # Subscription requests are answered by the tests themselves, so that
        # each step of the handshake is visible and checked.
        self.auto_authorize = None
        self.auto_subscribe = False

        self.register_plugin("xep_0030")  # disco
        self.register_plugin("xep_0092")  # software version
        self.register_plugin("xep_0199")  # ping

        self.received = []
        self.stream_errors = []
        self._arrived = asyncio.Event()
        self.sasl_failures = []
        self.session_started = False
        self.add_event_handler("message", lambda st: self._record("message", st))
        self.add_event_handler("presence", lambda st: self._record("presence", st))
        self.add_event_handler("roster_update", lambda st: self._record("roster_push", st))
        self.add_event_handler("stream_error", self._stream_error)
        self.add_event_handler("failed_auth", self._failed_auth)

    def _record(self, kind, stanza):
        self.received.append((kind, stanza))
        self._arrived.set()

    def _stream_error(self, error):
        self.stream_errors.append(error["condition"])
        self._record("stream_error", error)

    def _failed_auth(self, failure):
        self.sasl_failures.append(failure["condition"])

    def mark(self):
        """A position in self.received, for expect(since=...)."""
        return len(self.received)

    async def expect(self, kind, what, match, since=0, timeout=WAIT):
        """Waits for a received stanza of kind for which match() is true."""
        async def scan():
            seen = since
            while True:
                for k, stanza in self.received[seen:]:
                    if k == kind and match(stanza):
                        return stanza
                seen = len(self.received)
                self._arrived.clear()
                await self._arrived.wait()

        try:
            return await asyncio.wait_for(scan(), timeout)
        except asyncio.TimeoutError:
            got = "\n  ".join(str(st) for k, st in self.received[since:] if k == kind)
            raise AssertionError(
                f"{self.boundjid}: no {kind} {what} within {timeout}s; {kind} received:\n  {got or '(none)'}"
            ) from None

    async def expect_presence(self, from_jid, ptype, since=0):
        return await self.expect(
            "presence",
            f"type={ptype} from {from_jid}",
            lambda p: str(p["from"]) == from_jid and p["type"] == ptype,
            since,
        )

    async def login(self, direct_tls=False):
        """Connects and waits for the session to start; raises LoginFailed."""
        loop = asyncio.get_running_loop()
        outcome = loop.create_future()

        def settle(result):
            if not outcome.done():
                outcome.set_result(result)

        def started(_):
            self.session_started = True
            settle(None)

        # session_start means resource bound; the other events mean it never will.
        self.add_event_handler("session_start", started, disposable=True)
        self.add_event_handler("failed_all_auth", lambda _: settle("authentication failed"))
        self.add_event_handler("connection_failed", lambda e: settle(f"connection failed: {e}"))
        self.add_event_handler("disconnected", lambda e: settle(f"disconnected: {e}"))
        port = PORT_DIRECT if direct_tls else PORT_STARTTLS
        # slixmpp 1.8.3 resolves the host again and then uses default_port,
        # not the port given to connect(), so both must name it.
        self.default_port = port
        self.connect(("localhost", port), use_ssl=direct_tls)
        try:
            failure = await asyncio.wait_for(outcome, WAIT)
        except asyncio.TimeoutError:
            failure = f"no session within {WAIT}s"
        if failure is not None:
            raise LoginFailed(failure)

    def tls_version(self):
        """The TLS version of the connection, or None in plaintext."""
        if isinstance(self.socket, (ssl.SSLObject, ssl.SSLSocket)):
            return self.socket.version()
        return None

    def mechanism(self):
        mech = self["feature_mechanisms"].mech
        return mech.name if mech is not None else None

    async def close(self, wait=2.0):
        """Ends the stream and waits until the connection is gone."""
        if self.transport is not None:
            await self.disconnect(wait=wait)
        # disconnect() gives up waiting for the server's answer after wait;
        # abort() makes sure the socket is closed either way.
        self.abort()


def server_log(msg, **fields):
    """The daemon's log lines with msg and the given fields, as dicts.

    slog's text format: key=value pairs, values quoted (Go syntax) when they
    hold spaces, quotes or '='; shlex reads that well enough here.
    """
    if not LOG:
        raise unittest.SkipTest("INTEROP_LOG is not set")
    found = []
    with open(LOG, encoding="utf-8", errors="replace") as f:
        for line in f:
            try:
                pairs = dict(p.split("=", 1) for p in shlex.split(line) if "=" in p)
            except ValueError:
                continue
            if pairs.get("msg") == msg and all(pairs.get(k) == v for k, v in fields.items()):
                pairs["_line"] = line.rstrip("\n")
                found.append(pairs)
    return found


async def logged_after(count, msg, **fields):
    """Waits for the daemon to log line number count+1 with msg and fields."""
    deadline = time.monotonic() + WAIT
    while True:
        lines = server_log(msg, **fields)
        if len(lines) > count:
            return lines[count]
        if time.monotonic() > deadline:
            raise AssertionError(f"xmppd logged no new {msg!r} line with {fields} within {WAIT}s")
        await asyncio.sleep(0.05)


def bounded(test):
    """Fails an async test that runs longer than TEST_TIMEOUT."""
    @functools.wraps(test)
    async def wrapper(self):
        try:
            await asyncio.wait_for(test(self), TEST_TIMEOUT)
        except asyncio.TimeoutError:
            self.fail(f"did not finish within {TEST_TIMEOUT}s")
    return wrapper


class InteropTest(unittest.IsolatedAsyncioTestCase):
    def setUp(self):
        self.clients = []

    async def asyncTearDown(self):
        # A failed test may leave clients connected; close them so the next
        # test starts with no sessions of its own behind it.
        await asyncio.gather(*(c.close(wait=0.5) for c in self.clients), return_exceptions=True)

    def client(self, full_jid, password=PASSWORD, mechanisms=SCRAM_WITHOUT_BINDING, tls_max=None):
        c = Client(full_jid, password, mechanisms, tls_max)
        self.clients.append(c)
        return c

    async def session(self, full_jid, direct_tls=False, mechanisms=SCRAM_WITHOUT_BINDING, tls_max=None):
        c = self.client(full_jid, mechanisms=mechanisms, tls_max=tls_max)
        await c.login(direct_tls=direct_tls)
        return c

    async def logged_in(self, c, user, count):
        """Checks the server's login line for c, the one after count."""
        line = await logged_after(count, "login", jid=jid(user))
        self.assertEqual(line["ip"], "127.0.0.1")
        self.assertEqual(line["tls"], "true")
        self.assertEqual(line["mechanism"], c.mechanism(), "the server and the client disagree on the mechanism")
        return line

    async def roster_get(self, c):
        iq = c.Iq()
        iq["type"] = "get"
        iq.enable("roster")
        result = await iq.send(timeout=WAIT)
        return {str(j): item for j, item in result["roster"]["items"].items()}

    # 1. Logging in.

    def check_secure_session(self, c, user, resource):
        self.assertTrue(c.authenticated)
        self.assertEqual(str(c.boundjid), jid(user, resource))
        self.assertIsNotNone(c.tls_version(), "the session is not encrypted")

    @bounded
    async def test_login_starttls_scram(self):
        user = ACCOUNTS["login"]
        # slixmpp takes the strongest mechanism both sides have: SCRAM-SHA-256
        # of those it may use here. SCRAM-SHA-1 on its own is tried too, as
        # older clients have nothing better. Python negotiates TLS 1.3, where
        # slixmpp has no binding type in common with the server and says so
        # with the gs2 flag y, which must be accepted.
        for allowed, expected in ((SCRAM_WITHOUT_BINDING, "SCRAM-SHA-256"), (("SCRAM-SHA-1",), "SCRAM-SHA-1"), (("SCRAM-SHA-256",), "SCRAM-SHA-256")):
            with self.subTest(mechanisms=allowed):
                logins = len(server_log("login", jid=jid(user)))
                c = await self.session(jid(user, "starttls"), mechanisms=allowed)
                # slixmpp 1.8.3 does not enforce force_starttls, so check that
                # the stream was really upgraded rather than left in plaintext.
                self.assertIn("starttls", c.features)
                self.check_secure_session(c, user, "starttls")
                self.assertEqual(c.tls_version(), "TLSv1.3")
                self.assertEqual(c.mechanism(), expected)
                # A success means slixmpp also checked the server's
                # signature (SCRAM's mutual authentication), or it would
                # have disconnected.
                self.assertEqual(c.sasl_failures, [], "a mechanism failed before one succeeded")
                line = await self.logged_in(c, user, logins)
                self.assertEqual(line["mechanism"], expected)
                self.assertNotIn("channel_binding", line)
                await c["xep_0199"].ping(jid=DOMAIN, timeout=WAIT)
                await c.close()

    @bounded
    async def test_login_direct_tls_scram(self):
        user = ACCOUNTS["login"]
        logins = len(server_log("login", jid=jid(user)))
        c = await self.session(jid(user, "direct"), direct_tls=True)
        # TLS from the first byte: the server must not offer STARTTLS again.
        self.assertNotIn("starttls", c.features)
        self.check_secure_session(c, user, "direct")
        self.assertEqual(c.mechanism(), "SCRAM-SHA-256")
        self.assertEqual(c.sasl_failures, [], "a mechanism failed before one succeeded")
        await self.logged_in(c, user, logins)
        await c["xep_0199"].ping(jid=DOMAIN, timeout=WAIT)

    @bounded
    async def test_login_stock_slixmpp(self):
        # slixmpp as it comes, as users run it: it takes the strongest
        # mechanism offered, SCRAM-SHA-256-PLUS, and binds to tls-unique,
        # the only type Python's ssl module has.
        user = ACCOUNTS["login"]
        for direct_tls in (False, True):
            # On TLS 1.3 (Python's default) there is no tls-unique: both
            # -PLUS mechanisms are refused as asking for a type the
            # connection lacks, and slixmpp goes on to SCRAM-SHA-256 with
            # the flag y, which is accepted there, rather than to PLAIN.
            with self.subTest(direct_tls=direct_tls, tls="1.3"):
                logins = len(server_log("login", jid=jid(user)))
                c = await self.session(jid(user, "stock"), direct_tls=direct_tls, mechanisms=None)
                self.check_secure_session(c, user, "stock")
                self.assertEqual(c.tls_version(), "TLSv1.3")
                self.assertEqual(c.mechanism(), "SCRAM-SHA-256")
                self.assertEqual(c.sasl_failures, ["malformed-request"] * 2)
                line = await self.logged_in(c, user, logins)
                self.assertNotIn("channel_binding", line)
                await c["xep_0199"].ping(jid=DOMAIN, timeout=WAIT)
                await c.close()
            # On TLS 1.2 the server offers tls-unique, and the first
            # mechanism works.
            with self.subTest(direct_tls=direct_tls, tls="1.2"):
                logins = len(server_log("login", jid=jid(user)))
                c = await self.session(
                    jid(user, "stock12"), direct_tls=direct_tls, mechanisms=None, tls_max=ssl.TLSVersion.TLSv1_2
                )
                self.check_secure_session(c, user, "stock12")
                self.assertEqual(c.tls_version(), "TLSv1.2")
                self.assertEqual(c.mechanism(), "SCRAM-SHA-256-PLUS")
                self.assertEqual(c.sasl_failures, [])
                line = await self.logged_in(c, user, logins)
                self.assertEqual(line.get("channel_binding"), "tls-unique")
                await c["xep_0199"].ping(jid=DOMAIN, timeout=WAIT)
                await c.close()

    # 2. A wrong password.

    @bounded
    async def test_wrong_password(self):
        # One SCRAM mechanism and PLAIN: both ways of checking a password.
        # Not more, because xmppd slows logins from an address after five
        # failures.
        user = ACCOUNTS["wrong_password"]
        mechanisms = ("SCRAM-SHA-256", "PLAIN")
        failed = len(server_log("login failed", user=user))
        c = self.client(jid(user, "wrong"), password=PASSWORD + "x", mechanisms=mechanisms)
        # slixmpp logs its giving up as an error; expected here, so it is
        # captured (and required) rather than printed among the results.
        with self.assertRaises(LoginFailed) as cm, self.assertLogs("slixmpp.features.feature_mechanisms", "ERROR"):
            await c.login()
        # slixmpp tries each mechanism it may use in turn and gives up when
        # none is left (failed_all_auth); the server must refuse each one,
        # saying no more than not-authorized, and never bind a resource.
        self.assertEqual(cm.exception.args[0], "authentication failed")
        self.assertEqual(c.sasl_failures, ["not-authorized"] * len(mechanisms))
        self.assertFalse(c.authenticated)
        self.assertFalse(c.session_started)
        # The server logged each failure at info, in the form the c2s
        # README's fail2ban pattern matches, and never the password.
        for i, mech in enumerate(mechanisms):
            line = await logged_after(failed + i, "login failed", user=user)
            self.assertEqual(line["mechanism"], mech)
            self.assertEqual(line["reason"], "not-authorized")
            self.assertEqual(line["level"], "INFO")
            self.assertIn('msg="login failed" mod=c2s ip=127.0.0.1 user=' + user + " ", line["_line"])
        with open(LOG, encoding="utf-8", errors="replace") as f:
            self.assertNotIn(PASSWORD, f.read())

    # 3. The roster.

    @bounded
    async def test_roster(self):
        user = ACCOUNTS["roster"]
        contact = jid("erin")
        one = await self.session(jid(user, "one"))
        two = await self.session(jid(user, "two"))
        # A roster get makes a session an interested resource (RFC 6121
        # §2.1.6); only those receive pushes.
        self.assertEqual(await self.roster_get(one), {})
        self.assertEqual(await self.roster_get(two), {})

        # A name and groups with markup and non-ASCII characters, which the
        # server stores and sends back escaped.
        name = "Erin <&> Ünïcode"
        groups = {"Friends", "Wörk & Play"}
        since = two.mark()
        iq = one.Iq()
        iq["type"] = "set"
        iq["roster"]["items"] = {contact: {"name": name, "groups": sorted(groups)}}
        await iq.send(timeout=WAIT)

        push = await two.expect(
            "roster_push", f"for {contact}", lambda st: contact in map(str, st["roster"]["items"]), since
        )
        item = {str(j): v for j, v in push["roster"]["items"].items()}[contact]
        self.assertEqual(item["name"], name)
        self.assertEqual(set(item["groups"]), groups)
        self.assertEqual(item["subscription"], "none")
        # Pushes come from the account itself: no from, or the bare JID
        # (RFC 6121 §2.1.6); slixmpp refuses others, so check it here.
        self.assertIn(str(push["from"]), ("", jid(user)))

        roster = await self.roster_get(one)
        self.assertEqual(set(roster), {contact})
        self.assertEqual(roster[contact]["name"], name)
        self.assertEqual(set(roster[contact]["groups"]), groups)
        self.assertEqual(roster[contact]["subscription"], "none")

        since = two.mark()
        iq = one.Iq()
        iq["type"] = "set"
        iq["roster"]["items"] = {contact: {"subscription": "remove"}}
        await iq.send(timeout=WAIT)
        await two.expect(
            "roster_push",
            f"removing {contact}",
            lambda st: any(str(j) == contact and v["subscription"] == "remove" for j, v in st["roster"]["items"].items()),
            since,
        )
        self.assertEqual(await self.roster_get(one), {})
        self.assertEqual(await self.roster_get(two), {})

    # 4. Presence subscriptions and presence.

    @bounded
    async def test_presence_subscription(self):
        a_user, b_user = ACCOUNTS["presence"]
        a_full, b_full = jid(a_user, "home"), jid(b_user, "work")
        a_bare, b_bare = jid(a_user), jid(b_user)
        alice = await self.session(a_full)
        bob = await self.session(b_full)
        for c in (alice, bob):
            await self.roster_get(c)
            c.send_presence()

        # alice asks, bob approves: alice now sees bob.
        since_a, since_b = alice.mark(), bob.mark()
        alice.send_presence(pto=b_bare, ptype="subscribe")
        request = await bob.expect_presence(a_bare, "subscribe", since_b)
        self.assertEqual(str(request["to"].bare), b_bare)
        bob.send_presence(pto=a_bare, ptype="subscribed")
        await alice.expect_presence(b_bare, "subscribed", since_a)
        # Approving sends the approver's presence to the new subscriber
        # (RFC 6121 §3.1.5).
        await alice.expect_presence(b_full, "available", since_a)

        # And the other way round.
        since_a, since_b = alice.mark(), bob.mark()
        bob.send_presence(pto=a_bare, ptype="subscribe")
        await alice.expect_presence(b_bare, "subscribe", since_a)
        alice.send_presence(pto=b_bare, ptype="subscribed")
        await bob.expect_presence(a_bare, "subscribed", since_b)
        await bob.expect_presence(a_full, "available", since_b)

        for c, contact in ((alice, b_bare), (bob, a_bare)):
            roster = await self.roster_get(c)
            self.assertIn(contact, roster, f"{c.boundjid}'s roster")
            self.assertEqual(roster[contact]["subscription"], "both", f"{c.boundjid}'s roster")
            self.assertIn(roster[contact]["ask"], ("", None), f"{c.boundjid}'s roster: request still pending")

        # bob ends his stream: alice learns he is gone.
        since_a = alice.mark()
        await bob.close()
        await alice.expect_presence(b_full, "unavailable", since_a)

        # bob comes back: his initial presence reaches alice, and the
        # server's probe on his behalf brings him alice's (RFC 6121 §4.3).
        since_a = alice.mark()
        bob = await self.session(b_full)
        await self.roster_get(bob)
        bob.send_presence()
        await alice.expect_presence(b_full, "available", since_a)
        await bob.expect_presence(a_full, "available")

        # alice's connection drops without a closing stream: the server
        # must send her unavailable presence on her behalf (RFC 6121 §4.5).
        since_b = bob.mark()
        alice.abort()
        await bob.expect_presence(a_full, "unavailable", since_b)

    # 5. Messages.

    @bounded
    async def test_messages(self):
        a_user, b_user = ACCOUNTS["message"]
        alice = await self.session(jid(a_user, "msg"))
        bob = await self.session(jid(b_user, "msg"))
        # A message to a bare JID goes to available resources only (RFC 6121
        # §8.5.2.1.1); a ping afterwards makes sure the server has handled
        # the presence before alice sends.
        bob.send_presence()
        await bob["xep_0199"].ping(jid=DOMAIN, timeout=WAIT)

        # XML's five special characters, a CDATA end marker, text that looks
        # like an entity, non-ASCII from several planes and white space that
        # XML keeps (no \r: parsers turn it into \n).
        body = "Grüße, 日本語, ✓ 🎉 <&>'\" ]]> &amp; <b>not markup</b>\n\tindented"
        for to in (str(bob.boundjid), jid(b_user)):
            with self.subTest(to=to):
                msg_id = uuid.uuid4().hex
                msg = alice.make_message(mto=to, mbody=body, mtype="chat")
                msg["id"] = msg_id
                msg.send()
                got = await bob.expect("message", f"id={msg_id}", lambda m: m["id"] == msg_id)
                self.assertEqual(got["body"], body)
                self.assertEqual(got["type"], "chat")
                # The server stamps the sender's full JID (RFC 6120 §8.1.2.1).
                self.assertEqual(str(got["from"]), str(alice.boundjid))
                self.assertEqual(str(got["to"]), to)

    # 6. Requests to the server.

    @bounded
    async def test_server_iq(self):
        c = await self.session(jid(ACCOUNTS["iq"], "iq"))

        with self.subTest("XEP-0199 ping"):
            await c["xep_0199"].ping(jid=DOMAIN, timeout=WAIT)

        with self.subTest("XEP-0092 version"):
            result = await c["xep_0092"].get_version(DOMAIN, timeout=WAIT)
            self.assertEqual(result["software_version"]["name"], "xmppd")
            self.assertTrue(result["software_version"]["version"])

        with self.subTest("XEP-0030 disco#info"):
            result = await c["xep_0030"].get_info(jid=DOMAIN, cached=False, timeout=WAIT)
            features = set(result["disco_info"]["features"])
            for feature in ("urn:xmpp:ping", "jabber:iq:version", "http://jabber.org/protocol/disco#info"):
                self.assertIn(feature, features)
            identities = {(cat, typ) for cat, typ, _lang, _name in result["disco_info"]["identities"]}
            self.assertIn(("server", "im"), identities)

        with self.subTest("unknown namespace"):
            iq = c.make_iq_get(queryxmlns=UNKNOWN_NS, ito=DOMAIN)
            with self.assertRaises(IqError) as cm:
                await iq.send(timeout=WAIT)
            error = cm.exception.iq["error"]
            self.assertEqual(error["condition"], "service-unavailable")
            self.assertEqual(error["type"], "cancel")
            self.assertEqual(str(cm.exception.iq["from"]), DOMAIN)

    # 7. The same full JID twice.

    @bounded
    async def test_resource_conflict(self):
        # run.sh sets c2s_resource_conflict to kick_old, the default: the new
        # session gets the resource and the old stream ends with a conflict
        # stream error (RFC 6120 §4.9.3.3, §7.7.2.2).
        full = jid(ACCOUNTS["conflict"], "desk")
        first = await self.session(full)
        gone = asyncio.get_running_loop().create_future()
        first.add_event_handler("disconnected", lambda e: gone.done() or gone.set_result(e), disposable=True)

        second = await self.session(full)
        self.assertEqual(str(second.boundjid), full)
        await asyncio.wait_for(gone, WAIT)
        self.assertEqual(first.stream_errors, ["conflict"])
        self.assertEqual(second.stream_errors, [])
        # The new session works.
        await second["xep_0199"].ping(jid=DOMAIN, timeout=WAIT)


if __name__ == "__main__":
    # slixmpp logs at warning and above; INTEROP_DEBUG=1 shows the stanzas.
    logging.basicConfig(
        level=logging.DEBUG if os.environ.get("INTEROP_DEBUG") == "1" else logging.ERROR,
        format="%(levelname)-8s %(name)s: %(message)s",
    )
    if not (PASSWORD and PORT_STARTTLS and PORT_DIRECT):
        sys.exit("run these tests with scripts/interop/run.sh, which starts xmppd and sets INTEROP_*")
    unittest.main()

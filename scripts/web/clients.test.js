// XMPP client pages in Chromium talking to each other through the server:
// strophe.js over BOSH (/http-bind) and xmpp.js over WebSocket
// (/xmpp-websocket), both from npm. The pages come from an origin of their
// own, so the endpoints are used across origins (CORS, origin checks).
import assert from 'node:assert/strict';
import {after, before, test} from 'node:test';
import {hasModule, launch, login, newPage, serveStatic, shot, startServer} from './lib.js';

const alice = {jid: 'alice@localhost', password: 'alice pass'};
const bob = {jid: 'bob@localhost', password: 'bob pass'};
const NODE = 'urn:xmppd:test:status';

let srv, browser, pages, hasWebSocket;

before(async () => {
	pages = await serveStatic();
	hasWebSocket = await hasModule('websocket');
	let extra = `config module 'bosh'\n\tlist cors_origins '${pages.url}'\n`;
	if (hasWebSocket) extra += `\nconfig module 'websocket'\n\tlist origins '${pages.url}'\n`;
	// BOSH and WebSocket here are plain HTTP on loopback: a login needs this option.
	srv = await startServer('clients', {
		users: [alice, bob],
		mainExtra: "\toption c2s_plain_on_loopback '1'",
		extra,
	});
	browser = await launch();
}, {timeout: 60000});

after(async () => {
	if (browser) await browser.close();
	if (srv) await srv.stop();
	if (pages) await pages.close();
}, {timeout: 30000});

// clientPage opens a client page and waits for its library to load.
async function clientPage(t, name) {
	const p = await newPage(browser, 800, 500);
	t.after(async () => {
		await p.context().close();
		assert.deepEqual(p.errors.map(String), [], `errors in ${name}`);
	});
	const ws = srv.url.replace(/^http/, 'ws') + '/xmpp-websocket';
	await p.goto(`${pages.url}/pages/${name}.html?bosh=${encodeURIComponent(srv.url + '/http-bind')}&ws=${encodeURIComponent(ws)}`);
	await p.waitForFunction(() => window.client);
	return p;
}

// until waits for f(got) to hold in the page's received stanzas.
function until(p, f, arg) {
	return p.waitForFunction(f, arg, {timeout: 10000});
}

// exchange logs alice in on page a and bob on page b, then has them
// exchange chat messages and PEP items both ways; transports are what the
// admin UI must list for their two sessions.
async function exchange(t, a, b, transports, picture) {
	const ajid = await a.evaluate((u) => client.connect(u.jid, u.password), alice);
	const bjid = await b.evaluate((u) => client.connect(u.jid, u.password), bob);
	assert.match(ajid, /^alice@localhost\//);
	assert.match(bjid, /^bob@localhost\//);

	// The server sees them on the transports they use.
	const adm = await newPage(browser);
	t.after(() => adm.context().close());
	await login(adm, srv);
	await adm.click('#menu a[data-page="sessions"]');
	await adm.waitForSelector(`#sessions_table button[data-kick="${ajid}"]`);
	await adm.waitForSelector(`#sessions_table button[data-kick="${bjid}"]`);
	const rows = await adm.$$eval('#sessions_table .tr:not(.cbi-section-table-titles)', (rs) => rs.map((r) => r.textContent));
	assert.equal(rows.length, 2);
	assert.match(rows.find((r) => r.includes(ajid)), new RegExp(transports[0]));
	assert.match(rows.find((r) => r.includes(bjid)), new RegExp(transports[1]));
	await shot(adm, 'sessions-' + transports.join('-'));

	// Messages both ways.
	await a.evaluate((to) => client.send(to, 'hello bob'), bob.jid);
	await until(b, () => client.got.messages.some((m) => m.body === 'hello bob'));
	await b.evaluate((to) => client.send(to, 'hello alice'), alice.jid);
	await until(a, () => client.got.messages.some((m) => m.body === 'hello alice'));
	const m = await a.evaluate(() => client.got.messages.find((m) => m.body === 'hello alice'));
	assert.equal(m.from, bjid);

	// PEP both ways: each publishes to its own node (open access), the
	// other subscribes, and the next item reaches the subscriber.
	await a.evaluate((n) => client.publish(n, 'a1', 'alice is here'), NODE);
	await b.evaluate((n) => client.publish(n, 'b1', 'bob is here'), NODE);
	await b.evaluate(([owner, n]) => client.subscribe(owner, n), [alice.jid, NODE]);
	await a.evaluate(([owner, n]) => client.subscribe(owner, n), [bob.jid, NODE]);
	await a.evaluate((n) => client.publish(n, 'a2', 'alice is busy'), NODE);
	await b.evaluate((n) => client.publish(n, 'b2', 'bob is away'), NODE);
	await until(b, () => client.got.items.some((i) => i.id === 'a2'));
	await until(a, () => client.got.items.some((i) => i.id === 'b2'));
	const ai = await b.evaluate(() => client.got.items.find((i) => i.id === 'a2'));
	assert.deepEqual(ai, {from: alice.jid, node: NODE, id: 'a2', text: 'alice is busy'});
	const bi = await a.evaluate(() => client.got.items.find((i) => i.id === 'b2'));
	assert.deepEqual(bi, {from: bob.jid, node: NODE, id: 'b2', text: 'bob is away'});
	await shot(a, picture);

	await a.evaluate(() => client.disconnect());
	await b.evaluate(() => client.disconnect());
	await adm.waitForSelector('#sessions_table >> text=No client is connected.', {timeout: 15000});
}

test('strophe.js over BOSH: two clients exchange messages and PEP items', {timeout: 90000}, async (t) => {
	const a = await clientPage(t, 'strophe');
	const b = await clientPage(t, 'strophe');
	await exchange(t, a, b, ['bosh', 'bosh'], 'client-strophe-bosh');
});

test('xmpp.js over WebSocket and strophe.js over BOSH exchange messages and PEP items', {timeout: 90000}, async (t) => {
	if (!hasWebSocket) {
		t.skip('this build has no WebSocket endpoint (module websocket)');
		return;
	}
	const a = await clientPage(t, 'xmppjs');
	const b = await clientPage(t, 'strophe');
	await exchange(t, a, b, ['websocket', 'bosh'], 'client-xmppjs-websocket');
});

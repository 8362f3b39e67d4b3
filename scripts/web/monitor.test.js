// The Monitor page in Chromium: an XMPP client over the WebSocket endpoint
// that charts what the monitor account publishes, the device monitor's
// own nodes and a script's `xmppd publish`.
import assert from 'node:assert/strict';
import {after, before, test} from 'node:test';
import {hasModule, launch, login, newPage, shot, startServer, xmppd} from './lib.js';

const NODE = 'urn:example:temperature';
let srv, browser, hasWebSocket;

before(async () => {
	srv = await startServer('monitor', {
		// The page is plain HTTP on loopback: a login needs this option.
		mainExtra: "\toption c2s_plain_on_loopback '1'\n\tlist modules_enabled 'monitor'",
		extra: "config module 'monitor'\n\tlist viewers 'admin@localhost'\n\toption min_interval '500ms'\n\toption interval '1s'\n\toption threshold '0'\n",
	});
	hasWebSocket = await hasModule('websocket');
	browser = await launch();
}, {timeout: 60000});

after(async () => {
	if (browser) await browser.close();
	if (srv) await srv.stop();
}, {timeout: 30000});

test('monitor: charts over WebSocket, updated by xmppd publish', {timeout: 90000}, async (t) => {
	if (!hasWebSocket) {
		t.skip('this build has no WebSocket endpoint (module websocket)');
		return;
	}
	await xmppd(srv, ['publish', '--node', NODE, '--id', 'current', 'temp=21.5']);
	const p = await newPage(browser);
	t.after(async () => {
		await p.context().close();
		assert.deepEqual(p.errors.map(String), [], 'errors in the page');
	});
	await login(p, srv);
	await p.click('#menu a[data-page="monitor"]');
	await p.waitForSelector('#monitor_state >> text=/Connected as admin@localhost\\//');
	// The device monitor's own values, pushed as they are sampled.
	await p.waitForSelector('[data-node="urn:xmppd:monitor:0#xmppd"] [data-series="sessions"]');
	await p.waitForSelector('[data-node="urn:xmppd:monitor:0#load"] [data-series="avg1"]');
	// The script's node, added by name, shows its last value.
	await p.fill('#monitor_node', NODE);
	await p.click('#monitor_watch');
	const temp = p.locator(`[data-node="${NODE}"] [data-series="temp"]`);
	await temp.waitFor();
	assert.equal(await temp.textContent(), '21.5');
	await xmppd(srv, ['publish', '--node', NODE, '--id', 'current', 'temp=30']);
	await p.waitForFunction((n) => document.querySelector(`[data-node="${n}"] [data-series="temp"]`).textContent === '30', NODE);
	const points = await p.$eval(`[data-node="${NODE}"] polyline`, (l) => l.getAttribute('points').split(' ').length);
	assert.equal(points, 2);
	// The sessions chart counts the monitor's own WebSocket session.
	await p.waitForFunction(() => +document.querySelector('[data-node="urn:xmppd:monitor:0#xmppd"] [data-series="sessions"]').textContent >= 1);
	await shot(p, 'monitor');
	// At phone width the charts stack inside the screen.
	await p.setViewportSize({width: 375, height: 812});
	const width = await p.evaluate(() => document.documentElement.scrollWidth);
	assert.ok(width <= 375, `the Monitor is ${width} px wide at phone width`);
	await shot(p, 'phone-monitor');
	// Leaving the page closes the session.
	await p.click('#menu a[data-page="sessions"]');
	await p.waitForSelector('#sessions_table >> text=No client is connected.', {timeout: 15000});
});

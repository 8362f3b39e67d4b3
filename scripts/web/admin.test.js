// Browser tests of the admin UI in Debian's Chromium: one server of our own
// for the file, a fresh browser context per test, screenshots of every page.
import assert from 'node:assert/strict';
import {after, before, test} from 'node:test';
import {mkdtemp, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {admin, launch, login, newPage, shot, startClient, startServer, xmppd} from './lib.js';

const alice = {jid: 'alice@localhost', password: 'alice pass'};
const carol = {jid: 'carol@localhost', password: 'carol pass 42'};

let srv, browser;
const cleanup = [];

before(async () => {
	srv = await startServer('admin', {users: [alice]});
	browser = await launch();
}, {timeout: 60000});

after(async () => {
	for (const f of cleanup.reverse()) await f();
	if (browser) await browser.close();
	if (srv) await srv.stop();
}, {timeout: 30000});

// page opens a page and closes its context after the test; the page's
// own errors fail the test.
async function page(t, width, height) {
	const p = await newPage(browser, width, height);
	t.after(async () => {
		await p.context().close();
		assert.deepEqual(p.errors.map(String), [], 'errors in the page');
	});
	return p;
}

test('login: a wrong password is refused, the right one lets the admin in', {timeout: 60000}, async (t) => {
	const p = await page(t);
	await p.goto(srv.url + '/admin/');
	await p.waitForSelector('#login_jid');
	await shot(p, 'login');
	await p.fill('#login_jid', admin.jid);
	await p.fill('#login_password', 'not the password');
	await p.click('#login_submit');
	const err = await p.waitForSelector('form.login .alert-message.error');
	assert.match(await err.textContent(), /wrong JID or password/);
	assert.equal(await p.locator('#menu a').count(), 0, 'no menu before a login');

	await p.fill('#login_password', admin.password);
	await p.click('#login_submit');
	await p.waitForSelector('#menu a[data-page="status"].active');
	await p.waitForSelector('#session_count');
	assert.equal(await p.title(), `Status - ${await p.textContent('#brand')} - xmppd`);
	// The cookie is the login: HttpOnly, so the page's scripts cannot read it.
	const cookies = await p.context().cookies();
	const c = cookies.find((c) => c.name === 'xmppd_admin');
	assert.ok(c, 'session cookie set');
	assert.equal(c.httpOnly, true);
	assert.equal(c.sameSite, 'Strict');
	assert.equal(await p.evaluate(() => document.cookie), '');

	// A reload keeps the login; Logout ends it.
	await p.reload();
	await p.waitForSelector('#menu a[data-page="status"]');
	await p.click('#logout');
	await p.waitForSelector('#login_jid');
	assert.match(await p.textContent('#maincontent'), /You have logged out/);
});

test('users: add an account, which a real client then logs in with, and kick its session', {timeout: 60000}, async (t) => {
	const p = await page(t);
	await login(p, srv);
	await p.click('#menu a[data-page="users"]');
	await p.waitForSelector('#users_table');
	await p.fill('#new_jid', carol.jid);
	await p.fill('#new_password', carol.password);
	await p.click('#add_user');
	await p.waitForSelector('.notice.success');
	assert.match(await p.textContent('.notice.success'), /Account carol@localhost added/);
	await p.waitForSelector('#users_table >> text=carol@localhost');

	// Bad input is refused with the server's message.
	await p.fill('#new_jid', 'carol@localhost');
	await p.fill('#new_password', 'again');
	await p.click('#add_user');
	await p.waitForSelector('.notice.error');

	// Search narrows the list.
	await p.fill('#user_search', 'car');
	await p.waitForFunction(() => document.querySelectorAll('#users_table .tr:not(.cbi-section-table-titles)').length === 1);
	assert.match(await p.textContent('#users_table'), /carol@localhost/);
	await p.fill('#user_search', '');
	await p.waitForSelector('#users_table >> text=alice@localhost');

	// The new account works: a real XMPP client logs in with it.
	const client = await startClient(srv, carol);
	cleanup.push(client.stop);
	assert.match(client.jid, /^carol@localhost\//);
	await p.click('#menu a[data-page="sessions"]');
	const kick = p.locator(`#sessions_table button[data-kick="${client.jid}"]`);
	await kick.waitFor();
	assert.match(await p.textContent('#sessions_table'), /direct|c2s|tcp/i);
	await kick.click();
	await p.waitForSelector('.notice.success');
	assert.match(await p.textContent('.notice.success'), new RegExp('Disconnected ' + client.jid.replace(/[.\\/]/g, '\\$&')));
	await Promise.race([client.closed, new Promise((_, rej) => setTimeout(() => rej(new Error('the client was not disconnected')), 10000))]);
	await p.waitForSelector('#sessions_table >> text=No client is connected.');

	// Users: kick all of an account's sessions from its row.
	const again = await startClient(srv, carol);
	cleanup.push(again.stop);
	await p.click('#menu a[data-page="users"]');
	const rowKick = p.locator('#users_table button[data-kick="carol@localhost"]');
	await rowKick.waitFor();
	await p.waitForFunction(() => !document.querySelector('#users_table button[data-kick="carol@localhost"]').disabled);
	await rowKick.click();
	await p.waitForSelector('.notice.success >> text=Disconnected 1 session(s) of carol@localhost.');
	await Promise.race([again.closed, new Promise((_, rej) => setTimeout(() => rej(new Error('the client was not disconnected')), 10000))]);

	// A new password in the modal: the client logs in with it, not the old.
	const row = p.locator('#users_table .tr', {hasText: 'carol@localhost'});
	await row.locator('button', {hasText: 'Password'}).click();
	await p.fill('#change_password', 'carol new pass');
	await p.click('#change_password_save');
	await p.waitForSelector('.notice.success >> text=Password of carol@localhost changed.');
	assert.ok(await p.locator('#modal_overlay').isHidden());
	await assert.rejects(startClient(srv, carol), /not-authorized|auth|SASL/i);
	const renewed = await startClient(srv, {jid: carol.jid, password: 'carol new pass'});
	renewed.stop();

	// Delete asks first; declining keeps the account, accepting removes it.
	p.once('dialog', (d) => d.dismiss());
	await Promise.all([p.waitForEvent('dialog'), row.locator('button', {hasText: 'Delete'}).click()]);
	assert.equal((await p.evaluate(() => api('GET', 'users?q=carol'))).total, 1, 'declined: still there');
	p.once('dialog', (d) => d.accept());
	await row.locator('button', {hasText: 'Delete'}).click();
	await p.waitForSelector('.notice.success >> text=Deleted carol@localhost.');
	await p.waitForSelector('#users_table >> text=carol@localhost', {state: 'detached'});
	await assert.rejects(startClient(srv, {jid: carol.jid, password: 'carol new pass'}), /not-authorized|auth|SASL/i);
});

test('modules: change an option, Save & Apply, confirmed and written', {timeout: 60000}, async (t) => {
	const p = await page(t);
	await login(p, srv);
	await p.click('#menu a[data-page="modules"]');
	await p.waitForSelector('#modules_table');
	await shot(p, 'modules');
	await p.goto(srv.url + '/admin/#/modules/ping');
	const keepalive = p.locator('#opt_ping_keepalive');
	await keepalive.waitFor();
	await shot(p, 'module-options');

	// A value of the wrong type is refused and nothing is written.
	const before = await srv.config();
	await keepalive.fill('soon');
	await p.click('#save_apply');
	await p.waitForSelector('.notice.error');
	assert.match(await p.textContent('.notice.error'), /keepalive/);
	assert.equal(await srv.config(), before, 'a refused change is not written');
	await p.click('.cbi-button-reset');
	await p.waitForFunction(() => document.getElementById('changes').classList.contains('hidden'));

	// A good one is staged, applied, confirmed and written.
	await p.locator('#opt_ping_keepalive').fill('45s');
	await p.click('#save_apply');
	await p.waitForSelector('.notice.success >> text=Configuration changes applied.');
	assert.match(await srv.config(), /config module 'ping'\s+option keepalive '45s'/);
	const cfg = await p.evaluate(() => api('GET', 'config'));
	assert.equal(cfg.changes, 0, 'nothing left staged');
	assert.ok(!cfg.pending, 'the apply was confirmed: no rollback pending');
	assert.ok(await p.locator('#changes').isHidden());
	assert.equal(await p.locator('#opt_ping_keepalive').inputValue(), '45s');
});

test('every page renders and is saved as a screenshot', {timeout: 90000}, async (t) => {
	const p = await page(t);
	// A client online, so that Status and Sessions show one.
	const client = await startClient(srv, alice);
	t.after(client.stop);
	await login(p, srv);
	const want = {
		status: '#session_count',
		users: '#users_table',
		sessions: `#sessions_table button[data-kick="${client.jid}"]`,
		hosts: 'text=Hosts and listeners',
		modules: '#modules_table',
		certs: 'text=SHA-256',
		logs: '#log_table',
	};
	const pages = await p.$$eval('#menu a', (as) => as.map((a) => a.dataset.page));
	for (const name of pages) {
		await p.click(`#menu a[data-page="${name}"]`);
		await p.waitForSelector(`#menu a[data-page="${name}"].active`);
		if (want[name]) await p.waitForSelector(want[name]);
		await p.waitForFunction(() => !document.querySelector('#maincontent .spinning'));
		assert.equal(await p.locator('#maincontent .alert-message.error').count(), 0, `${name} shows an error`);
		await shot(p, name);
	}
	for (const name of Object.keys(want)) assert.ok(pages.includes(name), `menu has ${name}`);
});

test('certificates: a new self-signed certificate after a confirm', {timeout: 60000}, async (t) => {
	const p = await page(t);
	await login(p, srv);
	await p.click('#menu a[data-page="certs"]');
	const sum = () => p.locator('.cbi-section', {hasText: 'SHA-256'}).first().locator('.mono').last().textContent();
	await p.waitForSelector('text=SHA-256');
	const old = await sum();
	assert.match(old, /^[0-9a-f:]{40,}$/i);
	p.once('dialog', (d) => d.accept());
	await p.click('button >> text=Generate a new self-signed certificate');
	await p.waitForSelector('.notice.success >> text=A new self-signed certificate is in use.');
	assert.notEqual(await sum(), old);
	// A client still gets in over TLS with the new one.
	const c = await startClient(srv, alice);
	c.stop();

	// Upload: a pair made by `xmppd cert` elsewhere. A key of another pair
	// is refused; the right one stages the host's cert and key, which Save
	// & Apply writes and which wait for a restart.
	const made = await pairs(2);
	t.after(made.remove);
	await p.setInputFiles('#upload_cert_localhost', made.files[0].cert);
	await p.setInputFiles('#upload_key_localhost', made.files[1].key);
	await p.click('#upload_localhost');
	await p.waitForSelector('.notice.error >> text=/do not make a pair/');
	await p.setInputFiles('#upload_key_localhost', made.files[0].key);
	await p.click('#upload_localhost');
	await p.waitForSelector('.notice.success >> text=Configuration changes applied.');
	assert.match(await p.textContent('.notice.success'), /Waits for a restart: hosts/);
	assert.match(await srv.config(), /config host 'localhost'[^]*option cert '[^']*\/certs\/localhost\.crt'\s+option key '[^']*\/certs\/localhost\.key'/);
	assert.ok(!(await p.evaluate(() => api('GET', 'config'))).pending, 'the apply was confirmed');
	await shot(p, 'certs-upload');
});

// pairs makes n self-signed pairs for localhost with `xmppd cert`, each in
// a directory of its own.
async function pairs(n) {
	const dirs = [];
	const files = [];
	for (let i = 0; i < n; i++) {
		const dir = await mkdtemp(join(tmpdir(), 'xmppd-web-cert-'));
		dirs.push(dir);
		const file = join(dir, 'cert.uci');
		await writeFile(file, `config xmppd 'main'\n\toption data_dir '${dir}'\n\nconfig host 'localhost'\n\toption domain 'localhost'\n`);
		await xmppd({file}, ['cert']);
		files.push({cert: join(dir, 'certs/selfsigned.crt'), key: join(dir, 'certs/selfsigned.key')});
	}
	return {files, remove: () => Promise.all(dirs.map((d) => rm(d, {recursive: true, force: true})))};
}

test('logs: records of what was done, filtered by level', {timeout: 60000}, async (t) => {
	const p = await page(t);
	await login(p, srv);
	await p.click('#menu a[data-page="logs"]');
	await p.waitForSelector('#log_table');
	// The login above is logged at info.
	await p.waitForSelector('#log_table >> text=admin logged in');
	await p.selectOption('#log_level', 'error');
	await p.waitForSelector('#log_table >> text=admin logged in', {state: 'detached'});
	await p.selectOption('#log_level', 'debug');
	await p.fill('#log_module', 'webadmin');
	await p.press('#log_module', 'Enter');
	// Once the filtered list is drawn, every row is the module's.
	await p.waitForFunction(() => {
		const mods = [...document.querySelectorAll('#log_table .tr:not(.cbi-section-table-titles) .td:nth-child(3)')].map((td) => td.textContent);
		return mods.length > 0 && mods.every((m) => m.startsWith('webadmin'));
	});
	await p.waitForSelector('#log_table >> text=admin logged in');
});

test('phone width: the menu and the pages are usable at 375 px', {timeout: 60000}, async (t) => {
	const p = await page(t, 375, 812);
	await login(p, srv);
	const links = await p.$$('#menu a');
	assert.ok(links.length >= 7);
	const rows = new Set();
	for (const a of links) {
		const b = await a.boundingBox();
		assert.ok(b && b.x >= 0 && b.x + b.width <= 375, `menu entry ${await a.textContent()} inside the screen`);
		assert.ok(b.height >= 24, 'a menu entry is tall enough to tap');
		assert.ok(await a.isVisible());
		rows.add(Math.round(b.y));
	}
	// The entries flow in rows across the screen, not one under another.
	assert.ok(rows.size <= 3, `the menu takes ${rows.size} rows`);
	await shot(p, 'phone-status');
	for (const name of ['users', 'sessions', 'modules', 'logs']) {
		await p.click(`#menu a[data-page="${name}"]`);
		await p.waitForSelector(`#menu a[data-page="${name}"].active`);
		await p.waitForFunction(() => !document.querySelector('#maincontent .spinning'));
		const width = await p.evaluate(() => document.documentElement.scrollWidth);
		assert.ok(width <= 375, `${name}: the page is ${width} px wide, wider than the phone`);
	}
	await shot(p, 'phone-logs');
	// The tabs of the modules page wrap and switch.
	await p.goto(srv.url + '/admin/#/modules/ping');
	await p.waitForSelector('#opt_ping_keepalive');
	await p.click('ul.cbi-tabmenu >> text=Global settings');
	await p.waitForSelector('ul.cbi-tabmenu li.cbi-tab >> text=Global settings');
	const tabs = await p.$$('ul.cbi-tabmenu li');
	for (const li of tabs) {
		const b = await li.boundingBox();
		assert.ok(b.x + b.width <= 375, 'a tab inside the screen');
	}
	await p.click('#menu a[data-page="users"]');
	await p.fill('#new_jid', 'dave@localhost');
	await p.fill('#new_password', 'dave pass');
	await p.click('#add_user');
	await p.waitForSelector('.notice.success');
	await shot(p, 'phone-users');
});

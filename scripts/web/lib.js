// Shared parts of the browser tests: a server of our own on loopback with a
// temporary data directory, real XMPP clients, Debian's Chromium through
// playwright-core, and screenshots.
import {spawn} from 'node:child_process';
import {mkdtemp, mkdir, readFile, rm, writeFile} from 'node:fs/promises';
import {createServer} from 'node:net';
import {tmpdir} from 'node:os';
import {dirname, join, resolve} from 'node:path';
import {fileURLToPath} from 'node:url';
import {chromium} from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');

// webDir is scripts/web, served at /test/ for the client pages.
export const webDir = here;

// Where things are; `make test-web` sets the binaries it built.
export const paths = {
	server: process.env.XMPPD_WEB_SERVER || join(root, 'bin/web-test-server'),
	client: process.env.XMPPD_WEB_CLIENT || join(root, 'bin/web-test-client'),
	chromium: process.env.CHROMIUM || '/usr/bin/chromium',
	shots: process.env.XMPPD_WEB_SHOTS || join(root, 'dist/web-screenshots'),
};

export const admin = {jid: 'admin@localhost', password: 'correct horse battery'};

// freePort asks the kernel for a port that is free right now; the server
// start below tries again when another process takes it first.
export function freePort() {
	return new Promise((res, rej) => {
		const s = createServer();
		s.on('error', rej);
		s.listen(0, '127.0.0.1', () => {
			const {port} = s.address();
			s.close(() => res(port));
		});
	});
}

// lines calls f with each line a stream prints.
function lines(stream, f) {
	let buf = '';
	stream.setEncoding('utf8');
	stream.on('data', (d) => {
		buf += d;
		let i;
		while ((i = buf.indexOf('\n')) >= 0) {
			f(buf.slice(0, i));
			buf = buf.slice(i + 1);
		}
	});
}

// waitLine resolves with the first line of proc's stdout that matches re,
// and rejects when proc exits first or ms pass.
function waitLine(proc, re, ms, what) {
	return new Promise((res, rej) => {
		const timer = setTimeout(() => rej(new Error(`${what}: no line matching ${re} within ${ms} ms`)), ms);
		lines(proc.stdout, (l) => {
			const m = l.match(re);
			if (m) { clearTimeout(timer); res(m); }
		});
		proc.on('exit', (code) => { clearTimeout(timer); rej(new Error(`${what} exited with ${code} before ${re}`)); });
	});
}

// config is the UCI file of a test server: one host, a direct-TLS client
// listener, and the admin UI with one admin.
function config(dir, c2sPort, mainExtra) {
	return `config xmppd 'main'
	option data_dir '${dir}/data'
	option log_level 'debug'
	list modules_enabled 'webadmin'
	list modules_enabled 'ping'
${mainExtra}

config host 'localhost'
	option domain 'localhost'

config listener 'c2s_direct_tls'
	option address '127.0.0.1'
	option port '${c2sPort}'
	option tls 'direct'

config module 'webadmin'
	list admins '${admin.jid}'
`;
}

// startServer runs scripts/web/server on a free loopback port with a
// temporary data directory; stop() ends it and removes the directory.
// users are created at start; mainExtra is added to the main section;
// static is served at /test/.
export async function startServer({users = [], mainExtra = '', staticDir = ''} = {}) {
	let lastErr;
	for (let attempt = 0; attempt < 3; attempt++) {
		const dir = await mkdtemp(join(tmpdir(), 'xmppd-web-'));
		const c2sPort = await freePort();
		const file = join(dir, 'xmppd.uci');
		await writeFile(file, config(dir, c2sPort, mainExtra));
		const args = ['-c', file, '-http', '127.0.0.1:0'];
		for (const u of [admin, ...users]) args.push('-user', `${u.jid}:${u.password}`);
		if (staticDir) args.push('-static', staticDir);
		const proc = spawn(paths.server, args, {stdio: ['ignore', 'pipe', 'pipe']});
		let stderr = '';
		proc.stderr.setEncoding('utf8');
		proc.stderr.on('data', (d) => { stderr = (stderr + d).slice(-8000); });
		try {
			const [, url] = await waitLine(proc, /^ready (http:\/\/\S+)/, 20000, 'server');
			return {
				url, dir, file, c2s: `127.0.0.1:${c2sPort}`, proc,
				log: () => stderr,
				config: () => readFile(file, 'utf8'),
				async stop() {
					if (proc.exitCode === null) {
						const gone = new Promise((res) => proc.once('exit', res));
						proc.kill('SIGTERM');
						const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
						await gone;
						clearTimeout(t);
					}
					await rm(dir, {recursive: true, force: true});
				},
			};
		} catch (e) {
			proc.kill('SIGKILL');
			await rm(dir, {recursive: true, force: true});
			lastErr = new Error(`${e.message}\n${stderr}`);
			if (!/address already in use/.test(stderr)) break;
		}
	}
	throw lastErr;
}

// startClient logs a real XMPP client in (scripts/web/client); it
// resolves once the session is bound, with its full JID and a promise
// that resolves when the server ends the stream.
export async function startClient(srv, user, maxLife = '60s') {
	const proc = spawn(paths.client, ['-addr', srv.c2s, '-jid', user.jid, '-password', user.password, '-max', maxLife],
		{stdio: ['ignore', 'pipe', 'pipe']});
	let stderr = '';
	proc.stderr.setEncoding('utf8');
	proc.stderr.on('data', (d) => { stderr += d; });
	const closed = new Promise((res) => lines(proc.stdout, (l) => { if (l === 'closed') res(); }));
	try {
		const [, jid] = await waitLine(proc, /^online (\S+)/, 15000, 'client');
		return {jid, closed, stop: () => proc.kill('SIGKILL')};
	} catch (e) {
		proc.kill('SIGKILL');
		throw new Error(`${e.message}\n${stderr}`);
	}
}

// launch starts Debian's Chromium, headless.
export function launch() {
	return chromium.launch({executablePath: paths.chromium, headless: true, timeout: 30000});
}

// newPage opens a page at width × height whose every wait gives up after
// 10 s, and that fails the test on an uncaught error in the page.
export async function newPage(browser, width = 1280, height = 900) {
	const context = await browser.newContext({viewport: {width, height}});
	const page = await context.newPage();
	page.setDefaultTimeout(10000);
	page.errors = [];
	page.on('pageerror', (e) => page.errors.push(e));
	return page;
}

// login logs the admin in through the login form.
export async function login(page, srv, who = admin) {
	await page.goto(srv.url + '/admin/');
	await page.fill('#login_jid', who.jid);
	await page.fill('#login_password', who.password);
	await page.click('#login_submit');
	await page.waitForSelector('#menu a[data-page="status"]');
}

// shot saves a screenshot of the whole page as name.png.
export async function shot(page, name) {
	await mkdir(paths.shots, {recursive: true});
	await page.screenshot({path: join(paths.shots, name + '.png'), fullPage: true});
}

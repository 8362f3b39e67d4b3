// Shared parts of the browser tests: the daemon (bin/xmppd) on loopback
// with a temporary data directory, real XMPP clients, Debian's Chromium
// through playwright-core, and screenshots.
import {spawn} from 'node:child_process';
import {createWriteStream} from 'node:fs';
import {mkdtemp, mkdir, readFile, rm, writeFile} from 'node:fs/promises';
import {connect, createServer} from 'node:net';
import {tmpdir} from 'node:os';
import {createServer as createHttpServer} from 'node:http';
import {dirname, extname, join, normalize, resolve} from 'node:path';
import {fileURLToPath} from 'node:url';
import {chromium} from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');

// webDir is scripts/web, whose pages/ and node_modules/ serveStatic serves.
export const webDir = here;

// Where things are; `make test-web` sets the binaries it built.
export const paths = {
	xmppd: process.env.XMPPD || join(root, 'bin/xmppd'),
	client: process.env.XMPPD_WEB_CLIENT || join(root, 'bin/web-test-client'),
	chromium: process.env.CHROMIUM || '/usr/bin/chromium',
	shots: process.env.XMPPD_WEB_SHOTS || join(root, 'dist/web-screenshots'),
	logs: process.env.XMPPD_WEB_LOGS || join(root, 'dist/web-logs'),
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
// listener, an HTTP listener, and the admin UI with one admin.
function config(dir, c2sPort, httpPort, {mainExtra = '', extra = ''}) {
	return `config xmppd 'main'
${allowRoot ? "\toption allow_root '1'" : ''}
	option data_dir '${dir}/data'
	option admin_socket '${dir}/xmppd.sock'
	option log_level 'debug'
	list modules_enabled 'webadmin'
${mainExtra}

config host 'localhost'
	option domain 'localhost'

config listener 'c2s_direct_tls'
	option address '127.0.0.1'
	option port '${c2sPort}'
	option tls 'direct'

config listener 'web'
	option type 'http'
	option address '127.0.0.1'
	option port '${httpPort}'

config module 'webadmin'
	list admins '${admin.jid}'
${extra}
`;
}

// allowRoot: as root (CI), a daemon that drops root by default must be
// told to keep it; startServer drops the option for a daemon that does
// not know it and adds it for one that asks for it.
let allowRoot = process.getuid?.() === 0;

// xmppd runs a subcommand of bin/xmppd against the test server's file,
// with input on stdin; it resolves with stdout and rejects on a non-zero
// exit or after 20 s.
export function xmppd(srv, args, input = '') {
	return new Promise((res, rej) => {
		const proc = spawn(paths.xmppd, [...args, '-c', srv.file], {stdio: [input ? 'pipe' : 'ignore', 'pipe', 'pipe']});
		let out = '', err = '';
		proc.stdout.on('data', (d) => { out += d; });
		proc.stderr.on('data', (d) => { err += d; });
		const timer = setTimeout(() => proc.kill('SIGKILL'), 20000);
		proc.on('exit', (code, sig) => {
			clearTimeout(timer);
			if (code === 0) res(out);
			else rej(new Error(`xmppd ${args.join(' ')}: exit ${code ?? sig}: ${err.trim()}`));
		});
		if (input) {
			// A command that exits before reading its input is judged by its
			// exit status, not by the broken pipe.
			proc.stdin.on('error', () => {});
			proc.stdin.end(input);
		}
	});
}

// hasModule reports whether bin/xmppd has module name compiled in: its
// configuration check names the modules it lacks.
export async function hasModule(name) {
	const dir = await mkdtemp(join(tmpdir(), 'xmppd-web-probe-'));
	try {
		const file = join(dir, 'probe.uci');
		await writeFile(file, `config host 'localhost'\n\toption domain 'localhost'\n\nconfig module '${name}'\n`);
		const out = await xmppd({file}, ['check']).catch((e) => e.message);
		return !out.includes(`no module '${name}' is compiled in`);
	} finally {
		await rm(dir, {recursive: true, force: true});
	}
}

// portOpen reports whether something accepts connections on 127.0.0.1:port.
function portOpen(port) {
	return new Promise((res) => {
		const c = connect(port, '127.0.0.1');
		c.on('connect', () => { c.destroy(); res(true); });
		c.on('error', () => res(false));
	});
}

// startServer runs bin/xmppd serve on free loopback ports with a temporary
// data directory, and creates users (and the admin) with `xmppd user add`;
// stop() ends it (SIGTERM, which must stop it cleanly) and removes the
// directory. mainExtra goes into the main section, extra after the rest.
// The daemon's log is kept in dist/web-logs/NAME.log.
export async function startServer(name, {users = [], mainExtra = '', extra = ''} = {}) {
	await mkdir(paths.logs, {recursive: true});
	const logFile = join(paths.logs, name + '.log');
	let lastErr;
	for (let attempt = 0; attempt < 4; attempt++) {
		const dir = await mkdtemp(join(tmpdir(), 'xmppd-web-'));
		const c2sPort = await freePort();
		const httpPort = await freePort();
		const file = join(dir, 'xmppd.uci');
		await writeFile(file, config(dir, c2sPort, httpPort, {mainExtra, extra}));
		const proc = spawn(paths.xmppd, ['serve', '-c', file], {stdio: ['ignore', 'ignore', 'pipe']});
		const log = createWriteStream(logFile);
		proc.stderr.pipe(log);
		let exited = false, started = false, stopping = false;
		proc.on('exit', (code, sig) => {
			exited = true;
			// Said at once: every later failure of the file stems from it.
			if (started && !stopping) console.error(`# xmppd (${name}) exited with ${code ?? sig} before the tests stopped it; its log: ${logFile}`);
		});
		const srv = {
			url: `http://127.0.0.1:${httpPort}`, dir, file, c2s: `127.0.0.1:${c2sPort}`, proc, logFile,
			config: () => readFile(file, 'utf8'),
			async stop() {
				stopping = true;
				if (proc.exitCode === null && proc.signalCode === null) {
					const gone = new Promise((res) => proc.once('exit', res));
					proc.kill('SIGTERM');
					const t = setTimeout(() => proc.kill('SIGKILL'), 10000);
					await gone;
					clearTimeout(t);
				}
				await rm(dir, {recursive: true, force: true});
			},
		};
		const deadline = Date.now() + 20000;
		while (!exited && Date.now() < deadline && !(await portOpen(httpPort) && await portOpen(c2sPort))) {
			await new Promise((r) => setTimeout(r, 100));
		}
		try {
			if (exited) throw new Error(`xmppd exited during start-up; its log: ${logFile}`);
			if (Date.now() >= deadline) throw new Error(`xmppd did not open its ports within 20 s; see ${logFile}`);
			for (const u of [admin, ...users]) await xmppd(srv, ['user', 'add', u.jid, '--password-stdin'], u.password + '\n');
			started = true;
			return srv;
		} catch (e) {
			lastErr = e;
			await srv.stop();
			const text = await readFile(logFile, 'utf8').catch(() => '');
			if (allowRoot && /unknown option 'allow_root'/.test(text)) allowRoot = false;
			else if (!allowRoot && /does not keep root/.test(text)) allowRoot = true;
			else if (!/address already in use/.test(text)) break;
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
	// From the top: the sticky header would otherwise sit mid-picture.
	await page.evaluate(() => window.scrollTo(0, 0));
	await page.screenshot({path: join(paths.shots, name + '.png'), fullPage: true});
}

const types = {'.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.map': 'application/json'};

// serveStatic serves scripts/web's pages/ and node_modules/ on a free
// loopback port: the client pages come from an origin of their own, as a
// web chat's do, and reach the server's endpoints across origins.
export function serveStatic() {
	const server = createHttpServer(async (req, res) => {
		const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname));
		const top = path.split('/')[1];
		if (req.method !== 'GET' || !['pages', 'node_modules'].includes(top) || path.includes('..')) {
			res.writeHead(404).end();
			return;
		}
		try {
			const body = await readFile(join(webDir, path));
			res.writeHead(200, {'Content-Type': types[extname(path)] || 'application/octet-stream'}).end(body);
		} catch {
			res.writeHead(404).end();
		}
	});
	return new Promise((res) => server.listen(0, '127.0.0.1', () => res({
		url: `http://127.0.0.1:${server.address().port}`,
		close: () => new Promise((r) => { server.closeAllConnections(); server.close(r); }),
	})));
}

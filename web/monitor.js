'use strict';
// The Monitor: an XMPP client over the WebSocket endpoint (RFC 7395) that
// logs in as the admin, announces +notify for the monitor account's PEP
// nodes in its entity capabilities (XEP-0115, XEP-0163), and draws each
// numeric value it is pushed as a small SVG chart. Capabilities rather
// than explicit subscriptions: the server keeps nothing for a closed tab.

const NS = {
	framing: 'urn:ietf:params:xml:ns:xmpp-framing',
	sasl: 'urn:ietf:params:xml:ns:xmpp-sasl',
	bind: 'urn:ietf:params:xml:ns:xmpp-bind',
	caps: 'http://jabber.org/protocol/caps',
	info: 'http://jabber.org/protocol/disco#info',
	event: 'http://jabber.org/protocol/pubsub#event',
	pubsub: 'http://jabber.org/protocol/pubsub',
};
// The device monitor's nodes (internal/modules/monitor). Nodes that
// scripts publish with `xmppd publish` are added by name in the page and
// remembered in the browser: PEP lists an account's nodes to no one else.
const MONITOR_NODES = ['load', 'memory', 'net', 'thermal', 'wireless', 'xmppd'].map((n) => 'urn:xmppd:monitor:0#' + n);
const CAPS_NODE = 'https://xmppd.invalid/admin-monitor';
const POINTS = 60; // values kept per chart
const STORE = 'xmppd.monitor.nodes'; // localStorage: the nodes added by name

function esc(s) {
	return String(s).replace(/[&<>"']/g, (c) => ({'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', '\'': '&apos;'})[c]);
}
const enc = new TextEncoder();
function b64(bytes) { return btoa(String.fromCharCode(...new Uint8Array(bytes))); }
function unb64(s) { return Uint8Array.from(atob(s), (c) => c.charCodeAt(0)); }
function b64text(s) { return b64(enc.encode(s)); }

// scram computes SCRAM-SHA-256 (RFC 5802, RFC 7677) with WebCrypto, which
// browsers offer on HTTPS and on localhost: exactly where the server
// offers a login without TLS to a page at all.
const scram = {
	async hmac(key, data) {
		const k = await crypto.subtle.importKey('raw', key, {name: 'HMAC', hash: 'SHA-256'}, false, ['sign']);
		return new Uint8Array(await crypto.subtle.sign('HMAC', k, typeof data === 'string' ? enc.encode(data) : data));
	},
	async salted(password, salt, iterations) {
		const k = await crypto.subtle.importKey('raw', enc.encode(password), 'PBKDF2', false, ['deriveBits']);
		return new Uint8Array(await crypto.subtle.deriveBits({name: 'PBKDF2', hash: 'SHA-256', salt, iterations}, k, 256));
	},
};

// XmppWs is the client: connect() logs in and binds; stanzas after that
// go to onstanza, IQ results to the promise of iq().
class XmppWs {
	constructor(url) {
		this.url = url;
		this.inbox = [];
		this.waiting = null;
		this.pending = new Map();
		this.seq = 0;
		this.onstanza = () => {};
		this.onclose = () => {};
	}
	send(xml) { if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(xml); }
	// next resolves with the next element the server sends during login.
	next(ms = 15000) {
		if (this.inbox.length) return Promise.resolve(this.inbox.shift());
		return new Promise((res, rej) => {
			const t = setTimeout(() => { this.waiting = null; rej(new Error('the server did not answer in time')); }, ms);
			this.waiting = {res: (el) => { clearTimeout(t); res(el); }, rej: (e) => { clearTimeout(t); rej(e); }};
		});
	}
	receive(text) {
		const doc = new DOMParser().parseFromString(text, 'text/xml');
		const el = doc.documentElement;
		if (!el || el.localName === 'parsererror') return;
		if (this.bound) {
			if (el.localName === 'close') { this.ws.close(); return; }
			if (el.localName === 'iq' && (el.getAttribute('type') === 'result' || el.getAttribute('type') === 'error')) {
				const p = this.pending.get(el.getAttribute('id'));
				if (p) { this.pending.delete(el.getAttribute('id')); p(el); return; }
			}
			this.onstanza(el);
			return;
		}
		if (this.waiting) { const w = this.waiting; this.waiting = null; w.res(el); } else this.inbox.push(el);
	}
	async open(domain) {
		this.send(`<open xmlns="${NS.framing}" to="${esc(domain)}" version="1.0"/>`);
		const open = await this.next();
		if (open.localName !== 'open') throw new Error('the server closed the stream: ' + open.localName);
		const features = await this.next();
		if (features.localName !== 'features') throw new Error('expected stream features, got ' + features.localName);
		return features;
	}
	async connect(jid, password) {
		const [local, domain] = jid.split('@');
		await new Promise((res, rej) => {
			this.ws = new WebSocket(this.url, 'xmpp');
			this.ws.onopen = res;
			this.ws.onerror = () => rej(new Error('cannot open a WebSocket to ' + this.url));
			this.ws.onmessage = (ev) => this.receive(ev.data);
			this.ws.onclose = () => {
				if (this.waiting) this.waiting.rej(new Error('the server closed the connection'));
				this.pending.forEach((p) => p(null));
				this.pending.clear();
				this.onclose();
			};
		});
		let features = await this.open(domain);
		const mechs = [...features.getElementsByTagNameNS(NS.sasl, 'mechanism')].map((m) => m.textContent);
		if (mechs.includes('SCRAM-SHA-256') && window.crypto && crypto.subtle) await this.scram(local, password);
		else if (mechs.includes('PLAIN')) await this.plain(local, password);
		else throw new Error('the server offers no login on this connection: open the admin pages over HTTPS');
		features = await this.open(domain);
		if (!features.getElementsByTagNameNS(NS.bind, 'bind').length) throw new Error('the server offers no resource binding');
		this.send(`<iq type="set" id="bind"><bind xmlns="${NS.bind}"><resource>monitor-${Math.random().toString(36).slice(2, 8)}</resource></bind></iq>`);
		const res = await this.next();
		const j = res.getElementsByTagNameNS(NS.bind, 'jid')[0];
		if (res.getAttribute('type') !== 'result' || !j) throw new Error('binding a resource failed');
		this.jid = j.textContent;
		this.bound = true;
		this.inbox.forEach((el) => this.onstanza(el));
		this.inbox = [];
		return this.jid;
	}
	async saslResult() {
		const el = await this.next();
		if (el.localName === 'success') return el;
		if (el.localName === 'challenge') return el;
		const cond = el.firstElementChild ? el.firstElementChild.localName : el.localName;
		throw new Error('login refused: ' + cond);
	}
	async plain(local, password) {
		this.send(`<auth xmlns="${NS.sasl}" mechanism="PLAIN">${b64text('\0' + local + '\0' + password)}</auth>`);
		const el = await this.saslResult();
		if (el.localName !== 'success') throw new Error('login refused');
	}
	async scram(local, password) {
		const nonce = b64(crypto.getRandomValues(new Uint8Array(18)));
		const bare = 'n=' + local.replace(/=/g, '=3D').replace(/,/g, '=2C') + ',r=' + nonce;
		this.send(`<auth xmlns="${NS.sasl}" mechanism="SCRAM-SHA-256">${b64text('n,,' + bare)}</auth>`);
		const ch = await this.saslResult();
		if (ch.localName !== 'challenge') throw new Error('login refused');
		const first = new TextDecoder().decode(unb64(ch.textContent.trim()));
		const attrs = Object.fromEntries(first.split(',').map((kv) => [kv[0], kv.slice(2)]));
		if (!attrs.r || !attrs.r.startsWith(nonce) || !attrs.s || !(+attrs.i > 0)) throw new Error('the server sent a bad SCRAM challenge');
		const salted = await scram.salted(password, unb64(attrs.s), +attrs.i);
		const clientKey = await scram.hmac(salted, 'Client Key');
		const storedKey = new Uint8Array(await crypto.subtle.digest('SHA-256', clientKey));
		const final = 'c=' + b64text('n,,') + ',r=' + attrs.r;
		const authMessage = bare + ',' + first + ',' + final;
		const sig = await scram.hmac(storedKey, authMessage);
		const proof = clientKey.map((b, i) => b ^ sig[i]);
		this.send(`<response xmlns="${NS.sasl}">${b64text(final + ',p=' + b64(proof))}</response>`);
		const ok = await this.saslResult();
		if (ok.localName !== 'success') throw new Error('login refused');
		const serverSig = b64(await scram.hmac(await scram.hmac(salted, 'Server Key'), authMessage));
		const v = new TextDecoder().decode(unb64(ok.textContent.trim()));
		if (v !== 'v=' + serverSig) throw new Error('the server failed to prove it knows the password');
	}
	iq(type, to, payload, ms = 10000) {
		const id = 'q' + (++this.seq);
		return new Promise((res, rej) => {
			const t = setTimeout(() => { this.pending.delete(id); rej(new Error('no answer from ' + to)); }, ms);
			this.pending.set(id, (el) => { clearTimeout(t); el ? res(el) : rej(new Error('connection closed')); });
			this.send(`<iq type="${type}" id="${id}"${to ? ` to="${esc(to)}"` : ''}>${payload}</iq>`);
		});
	}
	close() {
		this.bound = false;
		if (this.ws && this.ws.readyState === WebSocket.OPEN) {
			this.send(`<close xmlns="${NS.framing}"/>`);
			this.ws.close();
		}
	}
}

// capsInfo is the disco#info answer the caps are computed from.
function capsFeatures(nodes) {
	return [NS.caps, NS.info].concat(nodes.map((n) => n + '+notify')).sort();
}
async function capsVer(nodes) {
	// XEP-0115 §5.1: identities then features, each followed by '<'.
	const s = 'client/web//xmppd admin monitor<' + capsFeatures(nodes).map((f) => f + '<').join('');
	return b64(await crypto.subtle.digest('SHA-256', enc.encode(s)));
}

// series reads the numeric values of a payload: label → value. A label is
// the leaf's name attribute or element name, after the name attributes of
// the elements around it (an interface, a zone). Counters that only grow
// are left out: their rates are charted instead.
function series(payload) {
	const out = [];
	const walk = (el, prefix) => {
		const kids = [...el.children];
		const name = el.getAttribute('name');
		if (!kids.length) {
			const label = prefix.concat(name || el.localName).join(' ');
			const v = el.textContent.trim();
			if (v !== '' && !isNaN(+v) && !/_(bytes|packets)$/.test(label)) out.push([label, +v]);
			return;
		}
		kids.forEach((k) => walk(k, name ? prefix.concat(name) : prefix));
	};
	[...payload.children].forEach((k) => walk(k, []));
	return out;
}

function nodeTitle(node) {
	const i = node.lastIndexOf('#');
	return i >= 0 ? node.slice(i + 1) : node;
}

function sparkline(values) {
	const w = 100, hgt = 40;
	const min = Math.min(...values), max = Math.max(...values);
	const span = max - min || 1;
	const pts = values.map((v, i) => ((values.length === 1 ? w : i * w / (values.length - 1)).toFixed(1) + ',' +
		(hgt - 2 - (v - min) / span * (hgt - 4)).toFixed(1))).join(' ');
	const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
	svg.setAttribute('viewBox', `0 0 ${w} ${hgt}`);
	svg.setAttribute('preserveAspectRatio', 'none');
	const grid = document.createElementNS(svg.namespaceURI, 'line');
	Object.entries({x1: 0, y1: hgt - 1, x2: w, y2: hgt - 1, class: 'grid'}).forEach(([k, v]) => grid.setAttribute(k, v));
	const line = document.createElementNS(svg.namespaceURI, 'polyline');
	line.setAttribute('points', pts);
	line.setAttribute('vector-effect', 'non-scaling-stroke');
	svg.append(grid, line);
	return svg;
}

function fmt(v) {
	if (Math.abs(v) >= 1e6) return bytes(v);
	return Number.isInteger(v) ? String(v) : v.toFixed(2).replace(/\.?0+$/, '');
}

register('monitor', 'Monitor', async (main) => {
	const [cfg, st, mods] = await Promise.all([api('GET', 'config'), api('GET', 'status'), api('GET', 'modules')]);
	const module = mods.modules.find((m) => m.name === 'monitor');
	if (!module || !module.enabled) {
		show(main, h('h2', {}, 'Monitor'), alertBox('', 'The device monitor is not running: enable the module monitor (Modules) and list your account in its viewers.'));
		return;
	}
	const mon = cfg.values && cfg.values.monitor && cfg.values.monitor['.type'] === 'module' ? cfg.values.monitor : {};
	const domain = xa.session.jid.split('@')[1];
	const monitorJid = mon.jid || 'monitor@' + (st.hosts.includes(domain) ? domain : st.hosts[0]);
	const state = h('span', {id: 'monitor_state'}, 'Connecting…');
	const problems = h('div', {});
	const charts = h('div', {class: 'charts', id: 'monitor_charts'});
	const data = new Map(); // node → {card, rows: Map(label → {values, value, chart})}
	show(main, h('h2', {}, 'Monitor'),
		h('div', {class: 'cbi-map-descr'}, 'Values that ', h('span', {class: 'mono'}, monitorJid),
			' publishes (the device monitor, and scripts through xmppd publish), pushed over XMPP as they change. Your account needs to be in the monitor\'s list viewers.'),
		h('p', {}, 'State: ', state), problems, charts,
		h('p', {class: 'cbi-section-descr hidden', id: 'monitor_empty'}, 'Nothing published yet.'));

	const draw = (node, from, payload) => {
		let d = data.get(node);
		if (!d) {
			const list = h('div', {});
			const card = h('div', {class: 'chart', 'data-node': node}, h('h4', {title: node}, nodeTitle(node)), list);
			d = {card, list, rows: new Map()};
			data.set(node, d);
			charts.append(card);
			[...charts.children].sort((a, b) => a.dataset.node.localeCompare(b.dataset.node)).forEach((c) => charts.append(c));
		}
		for (const [label, v] of series(payload)) {
			let r = d.rows.get(label);
			if (!r) {
				r = {values: [], value: h('span', {class: 'value', 'data-series': label}), box: h('div', {class: 'series'})};
				d.rows.set(label, r);
				d.list.append(h('div', {}, h('div', {class: 'series-head'}, h('span', {}, label), r.value), r.box));
			}
			r.values.push(v);
			if (r.values.length > POINTS) r.values.shift();
			r.value.textContent = fmt(v);
			r.box.replaceChildren(sparkline(r.values));
		}
		document.getElementById('monitor_empty').classList.toggle('hidden', data.size > 0);
	};

	const client = new XmppWs((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/xmpp-websocket');
	let closing = false;
	xa.cleanup.push(() => { closing = true; client.close(); });
	let nodes = MONITOR_NODES.slice();
	let ver = null;
	const announce = async () => {
		ver = await capsVer(nodes);
		client.send(`<presence><priority>-1</priority><c xmlns="${NS.caps}" hash="sha-256" node="${CAPS_NODE}" ver="${ver}"/></presence>`);
	};
	client.onstanza = (el) => {
		if (el.localName === 'iq' && el.getAttribute('type') === 'get') {
			const q = el.getElementsByTagNameNS(NS.info, 'query')[0];
			const id = esc(el.getAttribute('id') || ''), to = esc(el.getAttribute('from') || '');
			if (q && (!q.getAttribute('node') || q.getAttribute('node') === CAPS_NODE + '#' + ver)) {
				client.send(`<iq type="result" id="${id}" to="${to}"><query xmlns="${NS.info}"${q.getAttribute('node') ? ` node="${esc(q.getAttribute('node'))}"` : ''}>` +
					'<identity category="client" type="web" name="xmppd admin monitor"/>' +
					capsFeatures(nodes).map((f) => `<feature var="${esc(f)}"/>`).join('') + '</query></iq>');
			} else {
				client.send(`<iq type="error" id="${id}" to="${to}"><error type="cancel"><service-unavailable xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/></error></iq>`);
			}
			return;
		}
		if (el.localName !== 'message') return;
		const from = (el.getAttribute('from') || '').split('/')[0];
		if (from !== monitorJid) return;
		for (const items of el.getElementsByTagNameNS(NS.event, 'items')) {
			for (const item of items.getElementsByTagNameNS(NS.event, 'item')) {
				if (item.firstElementChild) draw(items.getAttribute('node'), from, item.firstElementChild);
			}
		}
	};
	client.onclose = () => {
		if (!closing) state.textContent = 'Disconnected. Open the page again to reconnect.';
	};
	// last asks for a node's current item: the server pushes the last item
	// of the nodes a session wants only when it comes online.
	const last = async (node) => {
		const r = await client.iq('get', monitorJid, `<pubsub xmlns="${NS.pubsub}"><items node="${esc(node)}" max_items="1"/></pubsub>`);
		if (r.getAttribute('type') !== 'result') {
			const e = r.getElementsByTagName('error')[0];
			const cond = e && e.firstElementChild ? e.firstElementChild.localName : 'error';
			if (cond !== 'item-not-found') problems.replaceChildren(alertBox('error', `cannot read ${node} of ${monitorJid}: ${cond}`));
			return;
		}
		for (const item of r.getElementsByTagNameNS(NS.pubsub, 'item')) {
			if (item.firstElementChild) draw(node, monitorJid, item.firstElementChild);
		}
	};
	// Nodes added by name: the page tells the server it wants them too.
	const stored = () => { try { return JSON.parse(localStorage.getItem(STORE) || '[]').filter((n) => typeof n === 'string'); } catch (e) { return []; } };
	nodes = nodes.concat(stored().filter((n) => !nodes.includes(n)));
	const nodeInput = h('input', {type: 'text', id: 'monitor_node', placeholder: 'urn:example:temperature'});
	const watch = h('form', {class: 'cbi-section-create', onsubmit: (ev) => {
		ev.preventDefault();
		const n = nodeInput.value.trim();
		if (!n || nodes.includes(n)) return;
		localStorage.setItem(STORE, JSON.stringify(stored().concat(n).slice(-50)));
		nodes.push(n);
		nodeInput.value = '';
		if (client.bound) announce().then(() => last(n)).catch((e) => problems.replaceChildren(alertBox('error', e.message)));
	}}, nodeInput, h('button', {class: 'btn cbi-button cbi-button-add', type: 'submit', id: 'monitor_watch'}, 'Watch'));
	main.append(section('Other nodes', 'A node of ' + monitorJid + ' that a script publishes to (xmppd publish --node NODE): its values appear above once it has any.', watch));

	const start = async (password) => {
		try {
			const jid = await client.connect(xa.session.jid, password);
			state.textContent = 'Connected as ' + jid + '.';
			await announce();
			await Promise.all(stored().map((n) => last(n).catch(() => {})));
			document.getElementById('monitor_empty').classList.toggle('hidden', data.size > 0);
		} catch (e) {
			state.textContent = 'Not connected.';
			problems.replaceChildren(alertBox('error', e.message));
			client.close();
		}
	};
	if (xa.password) {
		await start(xa.password);
	} else {
		// The password is kept only in the memory of the page that logged in.
		const pw = h('input', {type: 'password', id: 'monitor_password', autocomplete: 'current-password'});
		state.textContent = 'The monitor logs in over XMPP: enter your password again.';
		problems.replaceChildren(h('form', {class: 'cbi-section-create', onsubmit: (ev) => {
			ev.preventDefault();
			xa.password = pw.value;
			problems.replaceChildren();
			start(pw.value);
		}}, pw, h('button', {class: 'btn cbi-button cbi-button-apply', type: 'submit'}, 'Connect')));
	}
});

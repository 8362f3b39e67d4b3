'use strict';
// The admin UI's frame: the API client, the login, the menu and router,
// the modal, and the LuCI-style building blocks the pages use. Plain DOM:
// no framework, no build step, nothing fetched from elsewhere.

const xa = {
	session: null,   // {jid, csrf, hostname}
	password: null,  // kept in memory from the login, for the monitor's XMPP login
	pages: {},       // name → {title, render(main)}
	order: [],
	timers: [],      // cleared when the page changes
	cleanup: [],     // functions run when the page changes
};

// h builds an element: h('div', {class: 'x', onclick: f}, child, 'text', [more]).
function h(tag, attrs, ...children) {
	const el = document.createElement(tag);
	for (const [k, v] of Object.entries(attrs || {})) {
		if (v === null || v === undefined || v === false) continue;
		if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
		else if (k === 'value') el.value = v;
		else if (k === 'checked') el.checked = !!v;
		else el.setAttribute(k, v === true ? '' : v);
	}
	const add = (c) => {
		if (c === null || c === undefined || c === false) return;
		if (Array.isArray(c)) c.forEach(add);
		else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
	};
	children.forEach(add);
	return el;
}

// api calls the JSON API; a refusal throws an Error with .status, .errors.
async function api(method, path, body) {
	const opts = {method, credentials: 'same-origin', headers: {}};
	if (method !== 'GET') {
		opts.headers['X-CSRF-Token'] = xa.session ? xa.session.csrf : '';
		opts.headers['Content-Type'] = 'application/json';
		opts.body = JSON.stringify(body || {});
	}
	const resp = await fetch('/admin/api/' + path, opts);
	let data = {};
	try { data = await resp.json(); } catch (e) { /* no body */ }
	if (!resp.ok) {
		const err = new Error(data.error || (resp.status + ' ' + resp.statusText));
		err.status = resp.status;
		err.errors = data.errors || [];
		if (resp.status === 401 && path !== 'login') showLogin();
		throw err;
	}
	return data;
}

// show replaces main's content; null and false children are left out. A
// notice stays: a page that redraws itself (a timer, an action's result)
// must not wipe the message of what was just done. Changing pages drops it.
function show(main, ...children) {
	const notices = [...main.querySelectorAll(':scope > .notice')];
	main.replaceChildren(...notices);
	main.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
}

// Formatting helpers.
function bytes(n) {
	if (!n) return '0 B';
	const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
	let i = 0;
	while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
	return (i ? n.toFixed(1) : n) + ' ' + units[i];
}
function duration(secs) {
	const d = Math.floor(secs / 86400), hh = Math.floor(secs % 86400 / 3600), m = Math.floor(secs % 3600 / 60), s = secs % 60;
	return (d ? d + 'd ' : '') + (d || hh ? hh + 'h ' : '') + (d || hh || m ? m + 'm ' : '') + s + 's';
}
function when(t) { return t ? new Date(t).toLocaleString() : ''; }

// LuCI-like blocks.
function alertBox(kind, msg, list) {
	return h('div', {class: 'alert-message ' + (kind || '')}, msg,
		list && list.length ? h('ul', {}, list.map((e) => h('li', {}, e))) : null);
}
function section(title, descr, ...body) {
	return h('div', {class: 'cbi-section'}, title ? h('h3', {}, title) : null,
		descr ? h('div', {class: 'cbi-section-descr'}, descr) : null, body);
}
// table(['A', 'B'], rows of cells, 'placeholder text')
function table(titles, rows, empty, id) {
	return h('div', {class: 'table cbi-section-table', id},
		titles ? h('div', {class: 'tr cbi-section-table-titles'}, titles.map((t) => h('div', {class: 'th'}, t))) : null,
		rows.length ? rows.map((r) => h('div', {class: 'tr'}, r.map((c) =>
			c instanceof Node && c.classList && c.classList.contains('td') ? c : h('div', {class: 'td'}, c))))
			: h('div', {class: 'tr placeholder'}, h('div', {class: 'td'}, empty || 'This section contains no values yet')));
}
function actions(...cells) { return h('div', {class: 'td cbi-section-actions'}, cells); }
function button(kind, label, onclick, attrs) {
	return h('button', Object.assign({class: 'btn cbi-button cbi-button-' + kind, type: 'button', onclick}, attrs || {}), label);
}
function valueRow(title, field, descr) {
	return h('div', {class: 'cbi-value'}, h('label', {class: 'cbi-value-title'}, title),
		h('div', {class: 'cbi-value-field'}, field, descr ? h('div', {class: 'cbi-value-description'}, descr) : null));
}

// field makes the input for an option documented as doc (config.OptionDoc)
// holding value; field.get() returns the UCI value: a string, a list, or
// null to delete the option.
function field(doc, value, name) {
	const id = 'opt_' + name + '_' + doc.name;
	let el, get;
	if (doc.type === 'boolean') {
		const on = value !== undefined ? ['1', 'yes', 'on', 'true', 'enabled'].includes(String(value)) : doc.default === '1';
		el = h('input', {type: 'checkbox', id, checked: on});
		get = () => el.checked ? '1' : '0';
	} else if (doc.type === 'enum') {
		el = h('select', {id}, doc.allowed.map((a) => h('option', {value: a}, a + (a === doc.default ? ' (default)' : ''))));
		el.value = value !== undefined ? value : doc.default;
		get = () => el.value === doc.default && value === undefined ? null : el.value;
	} else if (doc.type === 'list') {
		el = h('textarea', {id, rows: 3, placeholder: 'one item a line'}, '');
		el.value = (Array.isArray(value) ? value : value ? String(value).split(/\s+/) : []).join('\n');
		get = () => { const items = el.value.split('\n').map((s) => s.trim()).filter(Boolean); return items.length ? items : null; };
	} else {
		el = h('input', {type: 'text', id, value: value !== undefined ? value : '', placeholder: doc.default || ''});
		get = () => el.value.trim() === '' ? null : el.value.trim();
	}
	el.dataset.option = doc.name;
	return {el, get, name: doc.name};
}
function describe(doc) {
	const bits = [doc.type];
	if (doc.min || doc.max) bits.push((doc.min || '…') + ' to ' + (doc.max || '…'));
	if (doc.default) bits.push('default ' + doc.default);
	return (doc.doc ? doc.doc + ' ' : '') + '(' + bits.join(', ') + ')';
}

// Modal dialogs.
function modal(...content) {
	const box = document.getElementById('modal');
	box.replaceChildren(...content);
	document.getElementById('modal_overlay').classList.remove('hidden');
}
function closeModal() { document.getElementById('modal_overlay').classList.add('hidden'); }
function notify(kind, msg, list) {
	const main = document.getElementById('maincontent');
	const box = alertBox(kind, msg, list);
	box.classList.add('notice');
	main.querySelectorAll('.notice').forEach((n) => n.remove());
	main.prepend(box);
	window.scrollTo(0, 0);
}
// run calls f and shows what went wrong; it returns f's result or undefined.
async function run(f) {
	try { return await f(); } catch (e) { notify('error', e.message, e.errors); }
}

// The staged changes: the indicator, and LuCI's stage → apply → confirm.
async function refreshChanges() {
	try {
		const c = await api('GET', 'config');
		const ind = document.getElementById('changes');
		ind.textContent = 'Unsaved changes: ' + c.changes;
		ind.classList.toggle('hidden', !c.changes);
		return c;
	} catch (e) { return null; }
}
async function stage(changes) {
	const c = await api('POST', 'config/stage', {changes});
	await refreshChanges();
	return c;
}
// applyChanges applies what is staged with a rollback timer, then confirms
// once the server answers again, as LuCI's apply does.
async function applyChanges() {
	const rollback = 90;
	modal(h('h4', {}, 'Configuration'), h('p', {class: 'spinning', id: 'apply_state'}, 'Applying configuration changes…'));
	let res;
	try {
		res = await api('POST', 'config/apply', {rollback});
	} catch (e) {
		closeModal();
		notify('error', e.message, e.errors);
		await refreshChanges();
		return false;
	}
	const state = document.getElementById('apply_state');
	state.textContent = 'Waiting for the server to answer, rollback in ' + res.rollback_in + ' s…';
	try {
		await api('GET', 'session');
		await api('POST', 'config/confirm');
	} catch (e) {
		closeModal();
		notify('error', 'Could not confirm the changes; they will be rolled back: ' + e.message);
		return false;
	}
	closeModal();
	const notes = (res.restart || []).map((r) => 'Waits for a restart: ' + r).concat(res.warnings || []);
	notify('success', 'Configuration changes applied.', notes);
	await refreshChanges();
	return true;
}
async function revertChanges() {
	await api('POST', 'config/revert');
	await refreshChanges();
}
// pageActions is LuCI's bar under a form: Save & Apply, Save, Reset.
function pageActions(collect, after) {
	const save = async (apply) => run(async () => {
		const changes = collect();
		if (changes.length) await stage(changes);
		if (apply) await applyChanges();
		else notify('', 'Changes staged: apply them with Save & Apply.');
		if (after) await after();
	});
	return h('div', {class: 'cbi-page-actions'},
		button('apply', 'Save & Apply', () => save(true), {id: 'save_apply'}),
		button('save', 'Save', () => save(false)),
		button('reset', 'Reset', () => run(async () => { await revertChanges(); if (after) await after(); })));
}

// The login page.
function showLogin(msg) {
	xa.session = null;
	document.getElementById('menu').replaceChildren();
	document.getElementById('logout').classList.add('hidden');
	document.getElementById('changes').classList.add('hidden');
	const jid = h('input', {type: 'text', id: 'login_jid', autocomplete: 'username', placeholder: 'admin@example.org'});
	const pw = h('input', {type: 'password', id: 'login_password', autocomplete: 'current-password'});
	const err = h('div', {});
	const submit = async (ev) => {
		ev.preventDefault();
		try {
			xa.session = await api('POST', 'login', {jid: jid.value.trim(), password: pw.value});
			xa.password = pw.value;
			start();
		} catch (e) {
			err.replaceChildren(alertBox('error', e.message));
		}
	};
	document.getElementById('maincontent').replaceChildren(h('form', {class: 'login', onsubmit: submit},
		h('h2', {}, 'Authorization Required'),
		h('div', {class: 'cbi-map-descr'}, 'Please enter the JID and password of an admin account.'),
		msg ? alertBox('', msg) : null, err,
		valueRow('JID', jid), valueRow('Password', pw),
		h('div', {class: 'cbi-page-actions'}, h('button', {class: 'btn cbi-button cbi-button-apply', type: 'submit', id: 'login_submit'}, 'Log in'))));
	jid.focus();
}

// The menu and the router (#/page).
function register(name, title, render) {
	xa.pages[name] = {title, render};
	xa.order.push(name);
}
// route draws the page the location names; keep keeps the notices shown
// (rerender), for a redraw after an action whose outcome they tell.
function route(ev, keep) {
	if (!xa.session) return Promise.resolve();
	xa.timers.forEach(clearInterval);
	xa.timers = [];
	xa.cleanup.forEach((f) => f());
	xa.cleanup = [];
	const name = (location.hash.match(/^#\/(\w+)/) || [])[1] || 'status';
	const page = xa.pages[name] || xa.pages.status;
	document.querySelectorAll('#menu a').forEach((a) => a.classList.toggle('active', a.dataset.page === name));
	const main = document.getElementById('maincontent');
	const notices = keep ? [...main.querySelectorAll(':scope > .notice')] : [];
	main.replaceChildren(...notices, h('h2', {}, page.title), h('p', {class: 'spinning'}, 'Loading…'));
	document.title = page.title + ' - ' + xa.session.hostname + ' - xmppd';
	return Promise.resolve(page.render(main)).catch((e) => {
		if (e.status !== 401) show(main, h('h2', {}, page.title), alertBox('error', e.message, e.errors));
	});
}
function rerender() { return route(null, true); }
function every(ms, f) { xa.timers.push(setInterval(f, ms)); }

function start() {
	document.getElementById('brand').textContent = xa.session.hostname;
	document.getElementById('menu').replaceChildren(...xa.order.map((n) =>
		h('a', {href: '#/' + n, 'data-page': n}, xa.pages[n].title)));
	document.getElementById('logout').classList.remove('hidden');
	refreshChanges();
	route();
}

window.addEventListener('hashchange', route);
document.getElementById('logout').addEventListener('click', () => run(async () => {
	await api('POST', 'logout');
	xa.password = null;
	showLogin('You have logged out.');
}));
document.getElementById('changes').addEventListener('click', () => { location.hash = '#/modules'; });
window.addEventListener('DOMContentLoaded', async () => {
	try {
		xa.session = await api('GET', 'session');
		start();
	} catch (e) {
		if (e.status !== 401) showLogin(e.message);
	}
});

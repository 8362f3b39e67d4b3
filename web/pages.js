'use strict';
// The admin pages, in menu order; monitor.js adds the Monitor.

function levelBadge(level) {
	const cls = {INFO: 'ok', WARN: 'warn', ERROR: 'error'}[level] || '';
	return h('span', {class: 'badge ' + cls}, level);
}

register('status', 'Status', async (main) => {
	const draw = async () => {
		const s = await api('GET', 'status');
		document.getElementById('version').textContent = s.version;
		const transports = new Set();
		Object.values(s.by_host).forEach((m) => Object.keys(m).forEach((t) => transports.add(t)));
		const tlist = [...transports].sort();
		show(main, h('h2', {}, 'Status'),
			section('System', null, table(null, [
				['Hostname', s.hostname],
				['Version', s.version],
				['Uptime', h('span', {id: 'uptime'}, duration(s.uptime_secs))],
				['Hosts', s.hosts.join(', ')],
				['Sessions', h('span', {id: 'session_count'}, s.sessions)],
				['Users online', s.users],
				['Memory (heap in use / from the OS / resident)', bytes(s.heap_bytes) + ' / ' + bytes(s.sys_bytes) + ' / ' + bytes(s.rss_bytes)],
				['Goroutines', s.goroutines],
				['Store size', bytes(s.store_bytes)],
			])),
			section('Sessions by host and transport', null, table(['Host'].concat(tlist.length ? tlist : ['Sessions']),
				Object.keys(s.by_host).sort().map((host) => [host].concat(tlist.length ? tlist.map((t) => s.by_host[host][t] || 0) : [0])),
				'No hosts')),
			section('Module status', 'What modules report about their health.', table(['Module', 'Level', 'Message'],
				(s.module_status || []).map((m) => [m.key, levelBadge(m.level), m.msg]), 'No module has reported anything.')));
	};
	await draw();
	every(5000, () => draw().catch(() => {}));
});

register('users', 'Users', async (main) => {
	const state = {q: '', offset: 0, limit: 25};
	const search = h('input', {type: 'search', id: 'user_search', placeholder: 'Search accounts'});
	const list = h('div', {});
	const jid = h('input', {type: 'text', id: 'new_jid', placeholder: 'user@' + (xa.session.jid.split('@')[1] || 'example.org')});
	const pw = h('input', {type: 'password', id: 'new_password', placeholder: 'password', autocomplete: 'new-password'});
	const draw = async () => {
		const r = await api('GET', 'users?q=' + encodeURIComponent(state.q) + '&offset=' + state.offset + '&limit=' + state.limit);
		const last = Math.min(r.offset + r.users.length, r.total);
		list.replaceChildren(
			table(['Account', 'Sessions', ''], r.users.map((u) => [
				h('span', {}, u.jid, u.admin ? ' ' : null, u.admin ? h('span', {class: 'badge ok'}, 'admin') : null),
				u.sessions,
				actions(
					button('edit', 'Password', () => changePassword(u.jid)),
					button('action', 'Kick', () => run(async () => {
						const k = await api('POST', 'sessions/kick', {jid: u.jid});
						notify('success', 'Disconnected ' + k.kicked + ' session(s) of ' + u.jid + '.');
						await draw();
					}), {disabled: !u.sessions, 'data-kick': u.jid}),
					button('remove', 'Delete', () => {
						if (confirm('Delete the account ' + u.jid + ' and all its data?')) {
							run(async () => { await api('POST', 'users/delete', {jid: u.jid}); notify('success', 'Deleted ' + u.jid + '.'); await draw(); });
						}
					})),
			]), state.q ? 'No account matches.' : 'No accounts yet.', 'users_table'),
			h('div', {class: 'pager'},
				h('span', {}, r.total ? (r.offset + 1) + '–' + last + ' of ' + r.total : ''),
				button('action', '‹ Previous', () => { state.offset = Math.max(0, state.offset - state.limit); draw(); }, {disabled: r.offset === 0}),
				button('action', 'Next ›', () => { state.offset += state.limit; draw(); }, {disabled: last >= r.total})));
	};
	const changePassword = (who) => {
		const p = h('input', {type: 'password', id: 'change_password', autocomplete: 'new-password'});
		modal(h('h4', {}, 'New password for ' + who), valueRow('Password', p),
			h('div', {class: 'cbi-page-actions'},
				button('reset', 'Cancel', closeModal),
				button('save', 'Save', () => run(async () => {
					await api('POST', 'users/password', {jid: who, password: p.value});
					closeModal();
					notify('success', 'Password of ' + who + ' changed.');
				}), {id: 'change_password_save'})));
		p.focus();
	};
	let debounce;
	search.addEventListener('input', () => {
		clearTimeout(debounce);
		debounce = setTimeout(() => { state.q = search.value.trim().toLowerCase(); state.offset = 0; draw(); }, 200);
	});
	const add = (ev) => {
		ev.preventDefault();
		run(async () => {
			await api('POST', 'users', {jid: jid.value.trim(), password: pw.value});
			notify('success', 'Account ' + jid.value.trim() + ' added.');
			jid.value = pw.value = '';
			await draw();
		});
	};
	show(main, h('h2', {}, 'Users'),
		h('div', {class: 'cbi-map-descr'}, 'The accounts of every host this server serves.'),
		section(null, null, h('div', {class: 'toolbar'}, search), list),
		section('Add account', null, h('form', {class: 'cbi-section-create', onsubmit: add}, jid, pw,
			h('button', {class: 'btn cbi-button cbi-button-add', type: 'submit', id: 'add_user'}, 'Add'))));
	await draw();
});

register('sessions', 'Sessions', async (main) => {
	const draw = async () => {
		const r = await api('GET', 'sessions');
		show(main, h('h2', {}, 'Sessions'),
			h('div', {class: 'cbi-map-descr'}, 'Clients bound to a resource, on every transport.'),
			table(['JID', 'Transport', 'Address', 'Encrypted', 'Presence', ''], r.sessions.map((s) => [
				h('span', {class: 'mono'}, s.jid), s.transport, s.remote, s.secure ? 'yes' : 'no',
				s.available ? 'available (' + s.priority + ')' : 'unavailable',
				actions(button('remove', 'Kick', () => run(async () => {
					await api('POST', 'sessions/kick', {jid: s.jid});
					notify('success', 'Disconnected ' + s.jid + '.');
					await draw();
				}), {'data-kick': s.jid})),
			]), 'No client is connected.', 'sessions_table'));
	};
	await draw();
	every(5000, () => draw().catch(() => {}));
});

register('hosts', 'Hosts', async (main) => {
	const r = await api('GET', 'hosts');
	show(main, h('h2', {}, 'Hosts and listeners'),
		section('Hosts', 'The domains this server serves.', table(['Domain', 'Enabled', 'Sessions', 'Users online', 'Certificate'],
			r.hosts.map((x) => [x.Domain, x.Enabled ? 'yes' : 'no', x.sessions, x.users, x.Cert || 'self-signed']))),
		section('Listeners', 'Sockets clients connect to.', table(['Name', 'Type', 'Address', 'Port', 'TLS'],
			(r.listeners || []).map((l) => [l.Name || '(anonymous)', l.Type, l.Address || 'all', l.Port, l.TLS]), 'No listeners.')),
		section('HTTP', 'Routes served over HTTP, and the endpoints advertised in host-meta (XEP-0156).',
			table(['Route'], (r.routes || []).map((p) => [h('span', {class: 'mono'}, p)]), 'No HTTP routes.'),
			table(['Relation', 'Path'], (r.links || []).map((l) => [l.Rel, l.Path]), 'No endpoints advertised.')));
});

register('modules', 'Modules', async (main) => {
	const [mods, cfg] = await Promise.all([api('GET', 'modules'), api('GET', 'config')]);
	const values = cfg.values;
	const mainName = (cfg.order || []).find((n) => values[n]['.type'] === 'xmppd');
	const mainSec = mainName ? values[mainName] : {};
	const enabledList = new Set([].concat(mainSec.modules_enabled || []).flatMap((s) => String(s).split(/\s+/)).filter(Boolean));
	const toggles = [];
	const forms = []; // {section, exists, fields}
	const tab = location.hash.split('/')[2] || 'modules';

	const moduleRows = mods.modules.map((m) => {
		const box = h('input', {type: 'checkbox', checked: m.auto || enabledList.has(m.name), disabled: m.auto, 'data-module': m.name});
		if (!m.auto) toggles.push({name: m.name, box});
		const st = (m.status || []).map((s) => h('div', {}, levelBadge(s.level), ' ', s.msg));
		return [h('strong', {}, m.name), m.global ? 'server' : 'per host', h('label', {}, box, m.auto ? ' always' : ''),
			m.enabled ? 'loaded' : 'not loaded', st,
			actions(m.docs && m.docs.length ? button('edit', 'Options', () => { location.hash = '#/modules/' + m.name; }) : null)];
	});

	// Options of one module, from what its option reader asks for.
	const moduleForm = (m) => {
		const sec = values[m.name] && values[m.name]['.type'] === 'module' ? values[m.name] : null;
		const fields = m.docs.map((d) => field(d, sec ? sec[d.name] : undefined, m.name));
		forms.push({section: m.name, exists: !!sec, fields});
		return section('Options of ' + m.name, 'Section config module \'' + m.name + '\': applies to every host.',
			fields.map((f, i) => valueRow(f.name, f.el, describe(m.docs[i]))));
	};
	const globalForm = () => {
		const fields = mods.docs.xmppd.filter((d) => d.name !== 'modules_enabled').map((d) => field(d, mainSec[d.name], 'main'));
		forms.push({section: mainName, exists: true, fields});
		return section('Global settings', 'Section config xmppd \'' + mainName + '\'.',
			fields.map((f) => valueRow(f.name, f.el, describe(mods.docs.xmppd.find((d) => d.name === f.name)))));
	};
	const collect = () => {
		const changes = [];
		const list = [...enabledList].filter((n) => !toggles.some((t) => t.name === n));
		toggles.forEach((t) => { if (t.box.checked) list.push(t.name); });
		const before = [...enabledList].sort().join(' ');
		if (mainName && list.slice().sort().join(' ') !== before) {
			changes.push({op: 'set', section: mainName, values: {modules_enabled: list.length ? list : null}});
		}
		for (const f of forms) {
			const v = {};
			for (const fl of f.fields) {
				const cur = f.exists ? values[f.section][fl.name] : undefined;
				const now = fl.get();
				if (JSON.stringify(now === null ? undefined : now) !== JSON.stringify(cur)) v[fl.name] = now;
			}
			if (!Object.keys(v).length) continue;
			if (f.exists) changes.push({op: 'set', section: f.section, values: v});
			else changes.push({op: 'add', type: 'module', name: f.section, values: v});
		}
		return changes;
	};
	const selected = mods.modules.find((m) => m.name === tab);
	const tabs = h('ul', {class: 'cbi-tabmenu'},
		[['modules', 'Modules'], ['global', 'Global settings']].concat(selected ? [[selected.name, selected.name]] : []).map(([k, label]) =>
			h('li', {class: k === tab || (k === 'modules' && !selected && tab !== 'global') ? 'cbi-tab' : 'cbi-tab-disabled'},
				h('a', {href: '#/modules/' + k}, label))));
	let body;
	if (selected) body = moduleForm(selected);
	else if (tab === 'global') body = globalForm();
	else body = section(null, 'Enable or disable modules for every host. Per-host lists are in each host\'s section.',
		table(['Module', 'Scope', 'Enabled', 'State', 'Status', ''], moduleRows, '', 'modules_table'));
	show(main, h('h2', {}, 'Modules'),
		cfg.errors && cfg.errors.length ? alertBox('error', 'The staged configuration has errors; Save & Apply will refuse it:', cfg.errors) : null,
		cfg.pending ? alertBox('', 'An apply waits for its confirm; it rolls back in ' + cfg.pending.seconds_left + ' s.') : null,
		h('div', {class: 'cbi-map-descr'}, 'Configuration file ' + cfg.file + '.'),
		tabs, body, pageActions(collect, rerender));
});

register('certs', 'Certificates', async (main) => {
	const draw = (r) => show(main, h('h2', {}, 'Certificates'),
		h('div', {class: 'cbi-map-descr'}, 'The TLS certificate each host presents. Hosts without option cert and key use a self-signed one in the data directory.'),
		r.certs.map((c) => section(c.host, null, c.error ? alertBox('error', c.error) : table(null, [
			['File', h('span', {class: 'mono'}, c.file)],
			['Subject', c.subject], ['Issuer', c.issuer + (c.self_signed ? ' (self-signed)' : '')],
			['Names', (c.dns_names || []).join(', ')],
			['Valid', when(c.not_before) + ' – ' + when(c.not_after)],
			['SHA-256', h('span', {class: 'mono'}, c.sha256)],
		]), uploadForm(c.host))),
		h('div', {class: 'cbi-page-actions'}, button('negative', 'Generate a new self-signed certificate', () => {
			if (confirm('Replace the self-signed certificate? Clients that pinned the old one will warn.')) {
				run(async () => { draw(await api('POST', 'certs/selfsigned')); notify('success', 'A new self-signed certificate is in use.'); });
			}
		})));
	// uploadForm sends a PEM certificate (with its chain) and key for host;
	// a host on other files gets its options staged and applied.
	const uploadForm = (host) => {
		const id = host.replace(/[^a-z0-9]/gi, '_');
		const cert = h('input', {type: 'file', id: 'upload_cert_' + id, accept: '.pem,.crt,.cer'});
		const key = h('input', {type: 'file', id: 'upload_key_' + id, accept: '.pem,.key'});
		const send = (ev) => {
			ev.preventDefault();
			run(async () => {
				if (!cert.files.length || !key.files.length) throw new Error('Choose a certificate file and a key file.');
				if (cert.files[0].size + key.files[0].size > 200000) throw new Error('These files are too large for a certificate and its key.');
				const res = await api('POST', 'certs/upload', {host, cert: await cert.files[0].text(), key: await key.files[0].text()});
				if (res.live) {
					draw(await api('GET', 'certs'));
					notify('success', 'The new certificate of ' + host + ' is in use.');
				} else {
					await refreshChanges();
					if (await applyChanges()) draw(await api('GET', 'certs'));
				}
			});
		};
		return h('form', {class: 'cbi-section-create upload', onsubmit: send},
			h('label', {}, 'Certificate (PEM) ', cert), h('label', {}, 'Key ', key),
			h('button', {class: 'btn cbi-button cbi-button-action', type: 'submit', id: 'upload_' + id}, 'Upload'));
	};
	draw(await api('GET', 'certs'));
});

register('logs', 'Logs', async (main) => {
	const level = h('select', {id: 'log_level'}, ['debug', 'info', 'warn', 'error'].map((l) => h('option', {value: l}, l)));
	level.value = 'info';
	const module = h('input', {type: 'search', id: 'log_module', placeholder: 'module, e.g. c2s'});
	const out = h('div', {});
	const draw = async () => {
		const r = await api('GET', 'logs?level=' + level.value + '&module=' + encodeURIComponent(module.value.trim()) + '&limit=300');
		out.replaceChildren(table(['Time', 'Level', 'Module', 'Message'], r.records.slice().reverse().map((x) => [
			h('span', {class: 'mono'}, new Date(x.time).toLocaleTimeString()),
			h('span', {class: 'lvl-' + x.level}, x.level), (x.module || '') + (x.host ? '@' + x.host : ''),
			h('span', {}, x.msg, x.attrs ? h('div', {class: 'mono cbi-value-description'}, x.attrs) : null),
		]), 'No records at this level.', 'log_table'));
	};
	level.addEventListener('change', draw);
	module.addEventListener('change', draw);
	show(main, h('h2', {}, 'Logs'),
		h('div', {class: 'cbi-map-descr'}, 'The most recent log records kept in memory, newest first.'),
		h('div', {class: 'toolbar'}, h('label', {}, 'Level ', level), h('label', {}, 'Module ', module), button('action', 'Refresh', draw)), out);
	await draw();
	every(5000, () => draw().catch(() => {}));
});

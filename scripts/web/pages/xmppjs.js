// A minimal XMPP client of xmpp.js (@xmpp/client from npm, its browser
// bundle) over WebSocket, driven by clients.test.js through window.client
// with the same calls as strophe.js's page.
'use strict';
(() => {
	const {client: newClient, xml} = window.XMPP;
	const PUBSUB = 'http://jabber.org/protocol/pubsub';
	// The WebSocket endpoint: ?ws=URL, since the page comes from another origin.
	const service = new URLSearchParams(location.search).get('ws');
	const got = {messages: [], items: []};
	let xmpp;

	function log(line) {
		const div = document.createElement('div');
		div.textContent = line;
		document.getElementById('log').append(div);
	}
	function state(s) { document.getElementById('state').textContent = s; }

	window.client = {
		got,
		// connect logs in and sends presence; it resolves with the bound
		// full JID.
		async connect(jid, password) {
			const [username, domain] = jid.split('@');
			xmpp = newClient({service, domain, username, password});
			xmpp.on('status', (s) => state(s));
			xmpp.on('error', (e) => log('error: ' + e.message));
			xmpp.on('stanza', (st) => {
				if (!st.is('message')) return;
				const body = st.getChildText('body');
				if (body !== null) {
					got.messages.push({from: st.attrs.from, body});
					log('message from ' + st.attrs.from + ': ' + body);
				}
				const items = st.getChild('event', PUBSUB + '#event')?.getChild('items');
				for (const item of items ? items.getChildren('item') : []) {
					const text = item.getChildText('entry', 'urn:xmppd:test');
					got.items.push({from: st.attrs.from, node: items.attrs.node, id: item.attrs.id, text});
					log('PEP item ' + item.attrs.id + ' on ' + items.attrs.node + ' from ' + st.attrs.from + ': ' + text);
				}
			});
			xmpp.reconnect.stop();
			const address = await xmpp.start();
			await xmpp.send(xml('presence'));
			document.getElementById('jid').textContent = address.toString();
			return address.toString();
		},
		send(to, body) {
			return xmpp.send(xml('message', {to, type: 'chat'}, xml('body', {}, body)));
		},
		// publish puts an item into the account's own PEP node, open to anyone.
		async publish(node, id, text) {
			await xmpp.iqCaller.set(xml('pubsub', {xmlns: PUBSUB},
				xml('publish', {node}, xml('item', {id}, xml('entry', {xmlns: 'urn:xmppd:test'}, text))),
				xml('publish-options', {}, xml('x', {xmlns: 'jabber:x:data', type: 'submit'},
					xml('field', {var: 'FORM_TYPE', type: 'hidden'}, xml('value', {}, PUBSUB + '#publish-options')),
					xml('field', {var: 'pubsub#access_model'}, xml('value', {}, 'open'))))));
		},
		// subscribe subscribes this session to another account's PEP node.
		async subscribe(owner, node) {
			await xmpp.iqCaller.set(xml('pubsub', {xmlns: PUBSUB}, xml('subscribe', {node, jid: xmpp.jid.toString()})), owner);
		},
		disconnect() {
			return xmpp.stop();
		},
	};
	state('loaded');
})();

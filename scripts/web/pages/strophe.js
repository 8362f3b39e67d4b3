// A minimal XMPP client of strophe.js (from npm) over BOSH, driven by
// clients.test.js through window.client: it logs in, sends and receives
// chat messages, publishes to its PEP and subscribes to another account's.
import {$iq, $msg, $pres, Strophe} from '../node_modules/strophe.js/dist/strophe.esm.js';

const PUBSUB = 'http://jabber.org/protocol/pubsub';
// The BOSH endpoint: ?bosh=URL, since the page may come from another origin.
const service = new URLSearchParams(location.search).get('bosh') || '/http-bind';
const got = {messages: [], items: []};
let conn;

function log(line) {
	const div = document.createElement('div');
	div.textContent = line;
	document.getElementById('log').append(div);
}

function iq(stanza) {
	return new Promise((res, rej) => conn.sendIQ(stanza, res,
		(e) => rej(new Error(e ? Strophe.serialize(e) : 'IQ timed out')), 10000));
}

window.client = {
	got,
	// connect logs in over BOSH and sends presence; it resolves with
	// the bound full JID.
	connect(jid, password) {
		return new Promise((res, rej) => {
			conn = new Strophe.Connection(service);
			conn.connect(jid, password, (status, cond) => {
				document.getElementById('state').textContent = Object.keys(Strophe.Status).find((k) => Strophe.Status[k] === status);
				if (status === Strophe.Status.CONNECTED) {
					conn.addHandler((m) => {
						const body = m.getElementsByTagName('body')[0];
						if (body) {
							got.messages.push({from: m.getAttribute('from'), body: body.textContent});
							log('message from ' + m.getAttribute('from') + ': ' + body.textContent);
						}
						for (const item of m.getElementsByTagNameNS(PUBSUB + '#event', 'item')) {
							const node = item.parentNode.getAttribute('node');
							const text = item.textContent;
							got.items.push({from: m.getAttribute('from'), node, id: item.getAttribute('id'), text});
							log('PEP item ' + item.getAttribute('id') + ' on ' + node + ' from ' + m.getAttribute('from') + ': ' + text);
						}
						return true;
					}, null, 'message');
					conn.send($pres());
					document.getElementById('jid').textContent = conn.jid;
					res(conn.jid);
				} else if ([Strophe.Status.AUTHFAIL, Strophe.Status.CONNFAIL, Strophe.Status.ERROR].includes(status)) {
					rej(new Error('connection failed: status ' + status + ' ' + (cond || '')));
				}
			});
		});
	},
	send(to, body) {
		conn.send($msg({to, type: 'chat'}).c('body').t(body));
	},
	// publish puts an item into the account's own PEP node, open to anyone.
	publish(node, id, text) {
		return iq($iq({type: 'set'}).c('pubsub', {xmlns: PUBSUB})
			.c('publish', {node}).c('item', {id}).c('entry', {xmlns: 'urn:xmppd:test'}).t(text).up().up().up()
			.c('publish-options').c('x', {xmlns: 'jabber:x:data', type: 'submit'})
			.c('field', {var: 'FORM_TYPE', type: 'hidden'}).c('value').t(PUBSUB + '#publish-options').up().up()
			.c('field', {var: 'pubsub#access_model'}).c('value').t('open'));
	},
	// subscribe subscribes this session to another account's PEP node.
	subscribe(owner, node) {
		return iq($iq({type: 'set', to: owner}).c('pubsub', {xmlns: PUBSUB})
			.c('subscribe', {node, jid: conn.jid}));
	},
	disconnect() {
		conn.disconnect('done');
	},
};
document.getElementById('state').textContent = 'loaded';

// Tenace's live page: polls the API (same origin) every second and draws
// what it reads. Everything shown is set with textContent (no HTML from
// data). The body's data-* attributes tell a test what the page saw.
'use strict';

const POLL_MS = 1000;
const HISTORY = 60;            // samples per chart
const ENDPOINTS = ['status', 'stats', 'pendingChanges', 'tasks', 'transitions'];

// key -> {time, pps, bps, rates: [pps...]}: the controller's rates, per sample
const series = new Map();
let lastSampleTime = null;
let timer = null;

function $(id) { return document.getElementById(id); }

function el(tag, text, cls) {
	const e = document.createElement(tag);
	if (text !== undefined && text !== null) e.textContent = String(text);
	if (cls) e.className = cls;
	return e;
}

function row(cells) {
	const tr = document.createElement('tr');
	for (const c of cells) tr.appendChild(c instanceof Node ? c : el('td', c));
	return tr;
}

function td(text, cls) { return el('td', text, cls); }

function fill(tbody, rows) { tbody.replaceChildren(...rows); }

function human(n, unit) {
	const k = [['', 1], ['k', 1e3], ['M', 1e6], ['G', 1e9]];
	let i = 0;
	while (i < k.length - 1 && Math.abs(n) >= k[i + 1][1]) i++;
	const v = n / k[i][1];
	return (v >= 100 || i === 0 ? v.toFixed(0) : v.toFixed(1)) + ' ' + k[i][0] + unit;
}

function since(iso) {
	if (!iso) return '';
	const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
	const ago = s < 120 ? s + ' s' : s < 7200 ? Math.round(s / 60) + ' min' : Math.round(s / 3600) + ' h';
	return iso.replace('T', ' ').replace('Z', '') + ' (' + ago + ' ago)';
}

function stateClass(s) {
	return s === 'up' || s === 'done' ? 'ok' : s === 'down' || s === 'unresolved' || s === 'error' ? 'bad' : 'warn';
}

// One sample of a counter: the rate the controller measured over its last
// sample interval (from its own counters and clock, so it is right from the
// first poll, whatever the page's timers do), kept once per sample time for
// the chart.
function sample(key, pps, bps, t) {
	let s = series.get(key);
	if (!s) {
		s = { time: null, pps: 0, bps: 0, rates: [] };
		series.set(key, s);
	}
	if (t === s.time) return s;
	s.pps = pps || 0;
	s.bps = bps || 0;
	s.rates.push(s.pps);
	if (s.rates.length > HISTORY) s.rates.shift();
	s.time = t;
	return s;
}

function chart(s) {
	const c = document.createElement('canvas');
	c.className = 'spark';
	const w = 160, h = 28, r = window.devicePixelRatio || 1;
	c.width = w * r; c.height = h * r;
	const g = c.getContext('2d');
	g.scale(r, r);
	g.strokeStyle = '#d9dee3';
	g.beginPath(); g.moveTo(0, h - 0.5); g.lineTo(w, h - 0.5); g.stroke();
	const v = s ? s.rates : [];
	if (v.length > 1) {
		const max = Math.max(1, ...v);
		g.strokeStyle = '#2f6fde';
		g.lineWidth = 1.5;
		g.beginPath();
		v.forEach((x, i) => {
			const px = (i + HISTORY - v.length) * w / (HISTORY - 1), py = h - 2 - (h - 4) * x / max;
			if (i === 0) g.moveTo(px, py); else g.lineTo(px, py);
		});
		g.stroke();
	}
	const cell = el('td');
	cell.appendChild(c);
	return cell;
}

function rateCells(s) {
	return [td(s ? s.pps.toFixed(1) : '0.0', 'num'), td(human(s ? s.bps : 0, 'b/s'), 'num'), chart(s)];
}

function drawVips(stats) {
	const t = stats.time;
	const rows = (stats.vips || []).map(v => {
		const s = sample('vip/' + v.type + '/' + v.index, v.pps, v.bps, t);
		const tr = row([td(v.type), td(v.vip), td(v.port), td(v.frontendId), ...rateCells(s)]);
		tr.dataset.vip = v.vip + ':' + v.port;
		tr.dataset.pps = s.pps.toFixed(1);
		return tr;
	});
	fill($('vips').tBodies[0], rows);
}

function farmTable(farm, stats) {
	const t = stats.time;
	const table = el('table');
	table.appendChild(el('thead')).appendChild(row(['server', 'address', 'state', 'health', 'weight', 'since',
		'last error', 'packets/s', 'bits/s', 'rate (last 60 samples)'].map(h => el('th', h))));
	const tbody = table.appendChild(el('tbody'));
	for (const sv of farm.servers) {
		const key = farm.type + '/' + farm.farmId + '/' + sv.serverId;
		const st = (stats.servers || []).find(x => x.type === farm.type && x.farmId === farm.farmId &&
							  x.serverId === sv.serverId);
		const s = st ? sample('srv/' + key, st.pps, st.bps, t) : null;
		const addr = sv.address.includes(':') ? '[' + sv.address + ']:' + sv.port : sv.address + ':' + sv.port;
		const tr = row([td(sv.serverId + (sv.backup ? ' (backup)' : '')), td(addr), td(sv.state, stateClass(sv.state)),
			td(sv.health, stateClass(sv.health)), td(sv.weight, 'num'), td(since(sv.since)),
			td(sv.lastError || '', 'wrap bad'), ...rateCells(s)]);
		tr.dataset.server = key;
		tr.dataset.state = sv.state;
		tr.dataset.pps = s ? s.pps.toFixed(1) : '0.0';
		tbody.appendChild(tr);
	}
	return table;
}

function drawFarms(status, stats) {
	const nodes = [];
	for (const f of status.farms || []) {
		const h = el('h2', f.type + ' farm ' + f.farmId + (f.displayName ? ' — ' + f.displayName : ''));
		h.appendChild(el('span', '  ' + f.state + ', ' + f.serversUp + ' of ' + f.servers.length +
			' servers up · zone ' + f.zone + ' · ' + f.forwarding + ' · generation ' + (f.generation ?? '–'),
			stateClass(f.state)));
		nodes.push(h);
		if (f.lastError) nodes.push(el('p', f.lastError, 'bad'));
		nodes.push(farmTable(f, stats));
	}
	$('farms').replaceChildren(...nodes);
}

function drawLists(pending, tasks, transitions) {
	fill($('pending').tBodies[0], pending.length ? pending.map(p => row([td(p.zone), td(p.number, 'num')]))
		: [row([td('none', 'muted'), td('0', 'num')])]);
	fill($('tasks').tBodies[0], tasks.slice(0, 10).map(k => row([td(k.id), td(k.zone || 'all'),
		td(k.status, stateClass(k.status)), td(since(k.creationDate)), td(since(k.doneDate)),
		td(k.message || '', 'wrap')])));
	$('transitions-total').textContent = '(' + transitions.total + ' since start, latest first)';
	fill($('transitions').tBodies[0], transitions.transitions.slice(0, 20).map(x => row([td(since(x.time)),
		td(x.type + ' farm ' + x.farmId + ' server ' + x.serverId), td(x.from, stateClass(x.from)),
		td(x.to, stateClass(x.to)), td(x.reason || '', 'wrap')])));
}

function draw(d) {
	const [status, stats, pending, tasks, transitions] = d;
	$('zone').textContent = 'zone ' + status.zone + ' · started ' + since(status.started) + ' · ' +
		(status.interfaces || []).map(i => i.name + ' (' + i.mode + ')').join(', ');
	drawVips(stats);
	drawFarms(status, stats);
	drawLists(pending, tasks, transitions);
	lastSampleTime = stats.time;
	$('updated').textContent = 'updated ' + new Date().toLocaleTimeString() + ' · sample ' + (lastSampleTime || '–');
	document.body.dataset.polls = String(Number(document.body.dataset.polls) + 1);
	document.body.dataset.servers = String(document.querySelectorAll('tr[data-server]').length);
}

function showLogin() {
	document.body.dataset.auth = 'needed';
	$('main').hidden = true;
	$('login').hidden = false;
	$('token').focus();
}

async function poll() {
	timer = null;
	try {
		const res = await Promise.all(ENDPOINTS.map(e => fetch('/v1/' + e, { credentials: 'same-origin',
									  cache: 'no-store' })));
		if (res.some(r => r.status === 401)) return showLogin();
		const bad = res.find(r => !r.ok);
		if (bad) throw new Error(bad.url + ': HTTP ' + bad.status);
		draw(await Promise.all(res.map(r => r.json())));
		document.body.dataset.auth = 'ok';
		$('banner').hidden = true;
		$('main').hidden = false;
	} catch (e) {
		$('banner').textContent = 'cannot read the controller: ' + e.message + ' (retrying)';
		$('banner').hidden = false;
		document.body.dataset.fetchErrors = String(Number(document.body.dataset.fetchErrors || 0) + 1);
	}
	timer = setTimeout(poll, POLL_MS);
}

async function login(ev) {
	ev.preventDefault();
	const r = await fetch('/v1/session', { method: 'POST', credentials: 'same-origin',
		headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ token: $('token').value }) });
	if (!r.ok) {
		$('login-error').textContent = r.status === 401 ? 'wrong token' : 'HTTP ' + r.status;
		return;
	}
	$('token').value = '';
	$('login').hidden = true;
	if (!timer) poll();
}

window.addEventListener('error', () => {
	document.body.dataset.errors = String(Number(document.body.dataset.errors) + 1);
});
document.addEventListener('DOMContentLoaded', () => {
	$('login').addEventListener('submit', login);
	poll();
});

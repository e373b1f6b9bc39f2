// oflash station page.  Reads the JSON API (docs/web.md) and the event
// stream /api/events; writes every value with textContent (never as HTML),
// so serials and error texts show exactly as they are.  Read-only: no
// request here changes anything.
'use strict';

const $ = (id) => document.getElementById(id);

const STATE_WORDS = {
  idle: 'waiting for a board',
  connecting: 'connecting',
  erasing: 'erasing',
  programming: 'programming',
  verifying: 'verifying',
  locking: 'locking OTP',
  protecting: 'setting readout protection',
  pass: 'PASS – take the board off',
  fail: 'FAIL',
  stopped: 'stopped',
};

function cell(tr, text, cls) {
  const td = document.createElement('td');
  td.textContent = text === undefined || text === null ? '' : String(text);
  if (cls) td.className = cls;
  tr.appendChild(td);
  return td;
}

function fmtTime(us) {
  if (!us) return '';
  const d = new Date(us / 1000);
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ` +
    `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

function fmtNum(n) {
  return n === null || n === undefined ? '–' : String(n);
}

// ---- live state ---------------------------------------------------------

let lastTotals = null;

function setConn(state, text) {
  const c = $('conn');
  c.dataset.state = state;
  c.textContent = text;
}

function renderTile(tile, p) {
  tile.dataset.state = p.state;
  tile.dataset.port = p.port;
  tile.querySelector('.port').textContent = `Port ${p.port + 1}`;
  tile.querySelector('.probe').textContent = p.probe;
  tile.querySelector('.probe').title = p.probe;
  const busy = ['erasing', 'programming', 'verifying'].includes(p.state);
  tile.querySelector('.state').textContent =
    (STATE_WORDS[p.state] || p.state) + (busy ? ` ${p.percent} %` : '');
  tile.querySelector('.fill').style.width =
    (busy ? p.percent : (p.state === 'pass' ? 100 : 0)) + '%';
  tile.querySelector('.uid').textContent = p.uid || '–';
  tile.querySelector('.serial').textContent = p.serial || '–';
  tile.querySelector('.last-serial').textContent = p.last_serial || '–';
  tile.querySelector('.pf').textContent = `${p.passed} / ${p.failed}`;
  tile.querySelector('.last-error').textContent = p.last_error || '';
}

function renderStation(box, s) {
  let head = box.querySelector('.station-head');
  if (!head) {
    head = document.createElement('div');
    head.className = 'station-head';
    for (const cls of ['name', 'job', 'offline']) {
      const span = document.createElement('span');
      span.className = cls;
      head.appendChild(span);
    }
    box.appendChild(head);
    const tiles = document.createElement('div');
    tiles.className = 'tiles';
    box.appendChild(tiles);
  }
  box.dataset.station = s.station;
  head.querySelector('.name').textContent = s.station;
  if (s.error) {
    head.querySelector('.job').textContent = '';
    head.querySelector('.offline').textContent = s.error;
    return;
  }
  const img = s.image || {};
  head.querySelector('.job').textContent =
    `Job: ${img.name || '?'} (SHA-256 ${img.sha256 || '?'}) · device ${s.device || '?'} · serials ${s.scheme || '?'}`;
  const age = Math.round(s.age_s || 0);
  head.querySelector('.offline').textContent =
    s.liveness === 'lost' ? `no heartbeat for ${age} s: stopped without saying so (killed, crashed or cut off from the database)` :
    s.liveness === 'stopped' ? (s.online ? 'stopped' : `stopped ${age} s ago`) : '';
  box.dataset.liveness = s.liveness || '';
  const tiles = box.querySelector('.tiles');
  const ports = s.ports || [];
  while (tiles.children.length > ports.length) tiles.lastChild.remove();
  while (tiles.children.length < ports.length) {
    tiles.appendChild($('tile-template').content.firstElementChild.cloneNode(true));
  }
  ports.forEach((p, i) => renderTile(tiles.children[i], p));
}

// Every serial pool of the ledger (one per scheme a job used): scheme in
// words, serials issued and left, the next serial as it will be written.
function renderPools(pools) {
  const list = pools || [];
  $('pools').hidden = list.length === 0;
  const rows = list.map((p) => {
    const tr = document.createElement('tr');
    tr.dataset.pool = p.name;
    if (p.in_use) tr.className = 'in-use';
    cell(tr, p.name, 'mono pool-name');
    cell(tr, p.scheme_known ? p.scheme : `${p.scheme} (list not stored yet)`, 'pool-scheme');
    cell(tr, p.issued, 'pool-issued');
    cell(tr, p.left === null ? 'unlimited' : p.left, 'pool-left');
    cell(tr, p.next_serial || (p.left === 0 ? 'none left' : '–'), 'mono pool-next');
    return tr;
  });
  $('pools-body').replaceChildren(...rows);
}

function renderStatus(st) {
  const stations = st.stations || [];
  $('title').textContent = stations.length === 1 ? `station ${stations[0].station}` :
    `${stations.length} stations`;
  document.title = `oflash – ${$('title').textContent}`;
  const root = $('stations');
  while (root.children.length > stations.length) root.lastChild.remove();
  while (root.children.length < stations.length) {
    const box = document.createElement('section');
    box.className = 'station';
    root.appendChild(box);
  }
  stations.forEach((s, i) => renderStation(root.children[i], s));

  let uph = 0;
  for (const s of stations) if (s.liveness === 'running') uph += s.units_per_hour || 0;
  $('c-uph').textContent = stations.length ? uph.toFixed(0) : '–';
  const c = st.counts;
  $('c-pass').textContent = c ? fmtNum(c.pass) : '–';
  $('c-fail').textContent = c ? fmtNum(c.fail) : '–';
  $('c-void').textContent = c ? fmtNum(c.void) : '–';
  $('c-yield').textContent = c && c.yield !== null ? (c.yield * 100).toFixed(1) + ' %' : '–';
  $('c-left').textContent = c ? (c.left === null ? 'unlimited' : String(c.left)) : '–';
  $('c-next').textContent = c ? (c.next_serial || (c.left === 0 ? 'none left' : '–')) : '–';
  renderPools(st.pools);
  const err = (st.ledger && st.ledger.error) || '';
  $('ledger-error').hidden = !err;
  $('ledger-error').textContent = err;
  renderCert(st.tls);

  const totals = c ? `${c.pass}/${c.fail}/${c.void}/${c.released}/${c.writing}` : '';
  if (totals !== lastTotals) {
    lastTotals = totals;
    refreshHistory();
  }
}

// The HTTPS certificate, as the server checks it (hourly): a warning within
// its last 30 days, another once it has expired.
function renderCert(tls) {
  const el = $('cert-warning');
  const state = tls ? tls.cert_state : 'ok';
  el.hidden = state !== 'expiring' && state !== 'expired';
  el.dataset.state = state;
  if (state === 'expiring') {
    const d = tls.cert_days_left;
    el.textContent = `The page's HTTPS certificate expires on ${tls.cert_not_after_text} ` +
      `(${d < 1 ? 'within a day' : `in ${d} day${d === 1 ? '' : 's'}`}): make a new one and ` +
      'restart oflash with it before then.';
  } else if (state === 'expired') {
    el.textContent = `The page's HTTPS certificate expired on ${tls.cert_not_after_text}: ` +
      'browsers now refuse the page; make a new one and restart oflash with it.';
  } else {
    el.textContent = '';
  }
}

// ---- history --------------------------------------------------------------

async function getJSON(url) {
  const r = await fetch(url, { credentials: 'same-origin', cache: 'no-store' });
  if (!r.ok) throw new Error(`${url}: ${r.status} ${(await r.text()).trim()}`);
  return r.json();
}

function fillUnits(body, units, wide) {
  const rows = [];
  for (const u of units) {
    const tr = document.createElement('tr');
    tr.dataset.uid = u.uid;
    tr.dataset.serial = u.serial;
    cell(tr, u.serial, 'mono serial');
    cell(tr, u.uid, 'mono uid');
    cell(tr, u.state, `result result-${u.state}`);
    if (wide) cell(tr, u.station);
    cell(tr, u.port + 1);
    cell(tr, fmtTime(u.start_us));
    if (wide) {
      cell(tr, u.duration_ms ? `${(u.duration_ms / 1000).toFixed(2)} s` : '');
      cell(tr, u.error, 'error-text');
    }
    rows.push(tr);
  }
  body.replaceChildren(...rows);
}

let historyBusy = false;
let historyAgain = false;

async function refreshHistory() {
  if (historyBusy) { historyAgain = true; return; }
  historyBusy = true;
  try {
    const last = await getJSON('/api/units?limit=50');
    fillUnits($('last-body'), last.units, false);
    const f = await getJSON('/api/failures');
    const rows = f.failures.map((r) => {
      const tr = document.createElement('tr');
      cell(tr, r.reason, 'reason').title = r.example;
      cell(tr, r.count, 'count');
      cell(tr, r.void);
      cell(tr, r.last_serial, 'mono');
      return tr;
    });
    $('fail-body').replaceChildren(...rows);
    $('fail-none').hidden = rows.length > 0;
  } catch (e) {
    // The next status event tries again.
    lastTotals = null;
  } finally {
    historyBusy = false;
    if (historyAgain) { historyAgain = false; setTimeout(refreshHistory, 500); }
  }
}

function searchParams() {
  const p = new URLSearchParams();
  const s = $('q-serial').value.trim();
  const u = $('q-uid').value.trim();
  if (s) p.set('serial', s);
  if (u) p.set('uid', u);
  return p;
}

async function search(ev) {
  if (ev) ev.preventDefault();
  const p = searchParams();
  const q = p.toString();
  $('dl-csv').href = '/api/export.csv' + (q ? '?' + q : '');
  $('dl-json').href = '/api/export.json' + (q ? '?' + q : '');
  p.set('limit', '1000');
  try {
    const r = await getJSON('/api/units?' + p.toString());
    fillUnits($('units-body'), r.units, true);
    $('search-info').textContent = `${r.units.length} unit${r.units.length === 1 ? '' : 's'}` +
      (r.units.length === 1000 ? ' (the newest 1000; narrow the search)' : '');
  } catch (e) {
    $('search-info').textContent = String(e.message || e);
  }
}

// ---- event stream -----------------------------------------------------------

let source = null;

function connect() {
  source = new EventSource('/api/events');
  source.addEventListener('open', () => setConn('live', 'live'));
  source.addEventListener('status', (e) => {
    setConn('live', 'live');
    renderStatus(JSON.parse(e.data));
  });
  source.addEventListener('error', () => {
    setConn('disconnected', 'disconnected – station not reachable, retrying');
    // The browser retries by itself while the stream is CONNECTING; an
    // answer it will not retry (CLOSED) is retried here.
    if (source.readyState === EventSource.CLOSED) {
      source.close();
      setTimeout(connect, 3000);
    }
  });
}

document.addEventListener('DOMContentLoaded', () => {
  $('search').addEventListener('submit', search);
  connect();
  search();
});

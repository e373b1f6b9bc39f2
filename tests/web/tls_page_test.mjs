// tls_page_test.mjs - the station's page over HTTPS in Debian's headless
// Chromium (puppeteer-core, executablePath /usr/bin/chromium), while a real
// 2-port sim-feed station runs with --http-cert/--http-key and a token.
// Run by tests/web/tls_page.sh, which sets OFLASH, WORK, FW, CERTS,
// TRUSTED_HOME (NSS database trusting the test CA), UNTRUSTED_HOME.
//
// Asserts: a browser that does not trust the test CA refuses the page
// (net::ERR_CERT_AUTHORITY_INVALID: the TLS is real); the trusting browser
// opens https://127.0.0.1:PORT/?token=T, is sent (303) to the page without
// the token in the address, the connection is TLS 1.3 with the station's
// certificate issued by the test CA, the cookie is Secure + HttpOnly +
// SameSite=Strict; the page goes live and its counters and tiles move
// (Server-Sent Events over TLS); /api/status fetched by the page shows the
// running station; no certificate line (40 days left); the page says
// "disconnected" when the station stops; the page of `prod serve` with a
// certificate that has 20 days left says so in words under the counters.
import fs from 'node:fs';
import path from 'node:path';
import { bad, check, finish, freePort, launch, ok, sleep, start, waitFor } from './lib.mjs';

const { WORK, FW, CERTS, TRUSTED_HOME, UNTRUSTED_HOME } = process.env;
// A browser whose HOME holds the NSS database given (trusting the test CA
// or not).
const launchHome = (home) =>
  launch(fs.mkdtempSync(path.join(WORK, 'profile-')), { ...process.env, HOME: home });

const TOKEN = 'line1-9c4e7a2b';
const port = await freePort();
const BASE = `https://127.0.0.1:${port}/`;
for (const d of ['p1', 'p2']) fs.mkdirSync(path.join(WORK, d), { recursive: true });
const station = start(['prod', 'run', '--image', FW, '--device', 'STM32F401RE', '--serial-at',
  '0x1FFF7800', '--station', 'tls-line', '--db', 'sqlite:ledger.db', '--probe', 'sim-feed:p1',
  '--probe', 'sim-feed:p2', '--units', '100000', '--http', `127.0.0.1:${port}`,
  '--http-token', TOKEN, '--http-cert', path.join(CERTS, 'srv.pem'),
  '--http-key', path.join(CERTS, 'srv.key')]);
await waitFor(() => /web page:/.test(station.err) || station.exitCode !== null, 20000, 'the station\'s page');
check(station.err.includes(`web page: ${BASE}`), `the station prints its page as ${BASE}`);

// A browser that does not trust the test CA: the page does not open.
{
  const b = await launchHome(UNTRUSTED_HOME);
  const p = await b.newPage();
  let err = '';
  try { await p.goto(BASE, { timeout: 15000 }); } catch (e) { err = String(e.message); }
  check(err.includes('ERR_CERT_AUTHORITY_INVALID'),
    `a browser without the test CA refuses the certificate (${err.split('\n')[0]})`);
  await b.close();
}

// The supervisor's browser: trusts the line's (test) CA.
const browser = await launchHome(TRUSTED_HOME);
const page = await browser.newPage();
const pageErrors = [];
page.on('pageerror', (e) => pageErrors.push(String(e)));
let resp = null;
try { resp = await page.goto(`${BASE}?token=${TOKEN}`, { timeout: 15000 }); } catch (e) { bad(`goto: ${e.message}`); }
if (resp) {
  const chain = resp.request().redirectChain();
  check(resp.status() === 200 && chain.length === 1 && chain[0].response().status() === 303 &&
    page.url() === BASE, `first visit ?token=: 303, then the page at ${page.url()} (status ${resp.status()})`);
  const sd = resp.securityDetails();
  check(sd && sd.issuer() === 'oflash test CA' && sd.protocol() === 'TLS 1.3' &&
    sd.subjectName() === 'oflash test station',
    `TLS: ${sd && sd.protocol()}, certificate "${sd && sd.subjectName()}" issued by "${sd && sd.issuer()}", trusted`);
}
const cookies = await page.cookies();
const c = cookies.find((k) => k.name === 'oflash_token');
check(c && c.secure && c.httpOnly && c.sameSite === 'Strict' && c.value === TOKEN,
  `token cookie: secure=${c && c.secure} httpOnly=${c && c.httpOnly} sameSite=${c && c.sameSite}`);
check(await page.evaluate(() => document.cookie) === '', 'the page\'s script cannot read the token');

const conn = () => page.$eval('#conn', (e) => e.dataset.state).catch(() => '');
await waitFor(async () => (await conn()) === 'live', 15000, 'the page to go live over HTTPS');
check((await conn()) === 'live', 'the page is live (Server-Sent Events over TLS)');
// The stream's 'open' marks the page live before its first status event is
// drawn (the counters show '–' until then): wait for the first number.
const passCount = () => page.$eval('#c-pass', (e) => Number(e.textContent)).catch(() => NaN);
await waitFor(async () => Number.isFinite(await passCount()), 15000, 'the first counters');
const first = await passCount();
const seen = [new Set(), new Set()];
const t0 = Date.now();
let last = first;
while (Date.now() - t0 < 30000) {
  const states = await page.$$eval('.tile', (ts) => ts.map((t) => t.dataset.state));
  states.forEach((s, i) => seen[i] && seen[i].add(s));
  last = await passCount();
  if (last >= first + 3 && seen.every((s) => s.size >= 2)) break;
  await sleep(50);
}
check(last >= first + 3, `the pass counter moved live: ${first} -> ${last}`);
for (let i = 0; i < 2; i++) {
  check(seen[i].size >= 2, `port ${i + 1}: the tile showed its state changing (${[...seen[i]].join(', ')})`);
}
const api = await page.evaluate(async () => {
  const r = await fetch('/api/status');
  return { status: r.status, body: await r.json() };
});
const st = api.body.stations && api.body.stations[0];
check(api.status === 200 && st && st.station === 'tls-line' && st.running === true && st.ports.length === 2,
  `/api/status fetched by the page over HTTPS: station ${st && st.station}, running ${st && st.running}`);

check(await page.$eval('#cert-warning', (e) => e.hidden).catch(() => false),
  'a certificate with 40 days left: no certificate line on the page');

station.kill('SIGINT');
const code = await station.done;
check(code === 130, `the station stopped on Ctrl-C (exit ${code})`);
await waitFor(async () => (await conn()) === 'disconnected', 10000, '"disconnected" after the station stopped');
check((await conn()) === 'disconnected', 'the page says "disconnected" when the station stops');

// A certificate with 20 days left (tls_page.sh: soon20.pem): the page of
// `prod serve` says so under the counters, in words.
{
  const serve = start(['prod', 'serve', '--db', 'sqlite:ledger.db', '--http', '127.0.0.1:0',
    '--http-cert', path.join(CERTS, 'soon20.pem'), '--http-key', path.join(CERTS, 'srv.key')]);
  await waitFor(() => /web page: https:\/\/127\.0\.0\.1:\d+\//.test(serve.err) || serve.exitCode !== null,
    20000, 'prod serve\'s page');
  const url = (serve.err.match(/web page: (https:\/\/127\.0\.0\.1:\d+\/)/) || [])[1];
  const p2 = await browser.newPage();
  p2.on('pageerror', (e) => pageErrors.push(String(e)));
  try { await p2.goto(url, { timeout: 15000 }); } catch (e) { bad(`goto ${url}: ${e.message}`); }
  const warn = () => p2.$eval('#cert-warning', (e) => (e.hidden ? '' : e.textContent)).catch(() => '');
  await waitFor(async () => (await warn()) !== '', 15000, 'the certificate line');
  const text = await warn();
  check(/^The page's HTTPS certificate expires on \d{4}-\d\d-\d\d \d\d:\d\d UTC \(in 19 days\): make a new one and restart oflash with it before then\.$/.test(text),
    `a certificate with 20 days left: the page says "${text}"`);
  serve.kill('SIGINT');
  await serve.done;
  await p2.close();
}
check(pageErrors.length === 0, `no script error on the page (${pageErrors.join('; ')})`);
await browser.close();
finish();

// lib.mjs - what the browser tests (page_test.mjs, tls_page_test.mjs) share:
// check/ok/bad counting failures, sleep, waitFor, a free loopback port,
// `oflash` children started in WORK and killed when the test ends, Debian's
// Chromium through puppeteer-core, and the final verdict.  OFLASH and WORK
// come from the environment (set by page.sh / tls_page.sh).
import { spawn } from 'node:child_process';
import net from 'node:net';
import puppeteer from 'puppeteer-core';

const { OFLASH, WORK } = process.env;
let fails = 0;
export const ok = (m) => console.log(`ok: ${m}`);
export const bad = (m) => { console.log(`FAIL: ${m}`); fails++; };
export const check = (cond, m) => (cond ? ok(m) : bad(m));
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
    s.on('error', reject);
  });
}

// Every oflash started here is stopped when the test ends, whatever the
// reason (a failed check must not leave a server behind).
const children = new Set();
process.on('exit', () => { for (const c of children) if (c.exitCode === null) c.kill('SIGKILL'); });
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(1));

// Start `oflash ARGS` in WORK, its output collected in .out and .err;
// .done resolves to its exit code.
export function start(args) {
  const p = spawn(OFLASH, args, { cwd: WORK, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(p);
  p.out = '';
  p.err = '';
  p.stdout.on('data', (d) => { p.out += d; });
  p.stderr.on('data', (d) => { p.err += d; });
  p.done = new Promise((r) => p.on('exit', (code) => r(code)));
  return p;
}

// Poll fn every 50 ms until it is true; after ms a failure naming what.
export async function waitFor(fn, ms, what) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await fn()) return true;
    await sleep(50);
  }
  bad(`timed out waiting for ${what}`);
  return false;
}

// Debian's headless Chromium (never a downloaded browser), 1366x768, its
// profile in profileDir; env: the browser's environment (e.g. its HOME).
export function launch(profileDir, env = process.env) {
  return puppeteer.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    env,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run',
      `--user-data-dir=${profileDir}`],
    defaultViewport: { width: 1366, height: 768 },
  });
}

// The verdict: exit 1 after any failure.
export function finish() {
  if (fails) {
    console.log(`${fails} failed`);
    process.exit(1);
  }
  console.log('all passed');
}

// What the browser tests share: a portend of their own (the built binaries,
// PORTEN_BUILD, default ../../build), Debian's Chromium (PORTEN_CHROMIUM to
// override) through playwright-core, and the axe-core check every page gets.

import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdtempSync, mkdirSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const here = dirname(fileURLToPath(import.meta.url));
export const build = process.env.PORTEN_BUILD || join(here, '..', '..', 'build');
const chromiumPath = process.env.PORTEN_CHROMIUM || '/usr/bin/chromium';
const artifacts = join(here, 'artifacts');

export const CHALLENGE = 'b7elB7ZyxIXgFyvBznKvxl7wOB-H17Pz0a3B62NIMFI';
export const VERIFIER = 'xyo94uhy3zKvgB0NJwLms86SwcjtWviEOpkBnGgaLlo';

function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}

async function waitReady(url) {
  for (let i = 0; i < 200; i++) {
    try { if ((await fetch(url)).ok) return; } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('portend did not start');
}

// portend on a free port with a data directory of its own, a callback server
// standing in for the client, and an ID-porten client registered for it.
export async function startPorten(extraEnv = {}) {
  assert.ok(existsSync(join(build, 'portend')), `no portend in ${build}`);
  const t = { cbHits: [] };
  t.dataDir = mkdtempSync(join(tmpdir(), 'porten-browser-'));
  const port = await freePort();
  t.issuer = `http://127.0.0.1:${port}`;
  t.cb = createServer((req, res) => {
    t.cbHits.push(new URL(req.url, 'http://x'));
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end('ok');
  });
  await new Promise((r) => t.cb.listen(0, '127.0.0.1', r));
  t.cb.base = `http://127.0.0.1:${t.cb.address().port}`;
  t.env = {
    PATH: process.env.PATH, PORTEN_LISTEN: `127.0.0.1:${port}`, PORTEN_ISSUER: t.issuer,
    PORTEN_DATA: t.dataDir, PORTEN_ENV: 'test', PORTEN_KEK: randomBytes(32).toString('base64url'),
    PORTEN_MINID_ARGON_MEM_KIB: '8192', PORTEN_MINID_ARGON_OPS: '1', PORTEN_MINID_RATE_PER_MIN: '0',
    ...extraEnv,
  };
  t.srv = spawn(join(build, 'portend'), [], { env: t.env, stdio: 'ignore' });
  await waitReady(`${t.issuer}/health/ready`);
  t.ctl = (...args) => {
    const out = execFileSync(join(build, 'portenctl'), ['--json', ...args],
      { env: t.env, stdio: ['ignore', 'pipe', 'pipe'], timeout: 30000 });
    return JSON.parse(out.toString());
  };
  t.client = t.ctl('client', 'create', '--client-name', 'Nettleser-test', '--description', 'browser test',
    '--integration-type', 'idporten', '--application-type', 'web', '--token-endpoint-auth-method',
    'client_secret_basic', '--client-orgno', '991825827', '--redirect-uri', `${t.cb.base}/cb`,
    '--post-logout-redirect-uri', `${t.cb.base}/out`, '--grant-type', 'authorization_code');
  // at: the issuer's URL, with the client registered there (ID-porten's by default).
  t.authorizeUrl = (extra = {}, at = t.issuer, cl = t.client) => {
    const p = new URLSearchParams({
      client_id: cl.client_id, response_type: 'code', redirect_uri: `${t.cb.base}/cb`,
      scope: 'openid profile', state: randomBytes(8).toString('hex'), nonce: randomBytes(8).toString('hex'),
      code_challenge: CHALLENGE, code_challenge_method: 'S256', ...extra,
    });
    return `${at}/authorize?${p}`;
  };
  t.browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  t.stop = async () => {
    if (t.browser) await t.browser.close();
    if (t.srv) t.srv.kill('SIGTERM');
    if (t.cb) t.cb.close();
    if (t.dataDir) rmSync(t.dataDir, { recursive: true, force: true });
  };
  return t;
}

// The newest code of `digits` digits sent to `to` through a file sink of dataDir.
export function lastCode(dataDir, sink, to, digits) {
  const lines = readFileSync(join(dataDir, sink), 'utf8').trim().split('\n')
    .map((l) => JSON.parse(l)).filter((m) => m.to === to);
  assert.ok(lines.length, `nothing sent to ${to}`);
  const m = new RegExp(`\\b(\\d{${digits}})\\b`).exec(lines.at(-1).text);
  assert.ok(m, `no code in the message to ${to}`);
  return m[1];
}

// axe-core on the page as the browser rendered it; serious and critical fail.
export async function checkPage(page, name) {
  mkdirSync(artifacts, { recursive: true });
  await page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
  await page.addScriptTag({ content: axeSource });
  const res = await page.evaluate(async () => await globalThis.axe.run(document, {
    runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
  }));
  const bad = res.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target).join(', ')})`), [],
    `accessibility violations on ${name}`);
  assert.ok(res.passes.length > 10, `axe found too little to check on ${name}`);
}

// The pages forbid every script (CSP default-src 'none'); only the test's axe may run.
export async function newPage(browser, options = {}) {
  const ctx = await browser.newContext({ bypassCSP: true, viewport: { width: 1024, height: 800 }, ...options });
  return ctx.newPage();
}

// TestID from the selector to whatever page follows it.
export async function testidLogin(page, pid) {
  await page.click('#eid-testid');
  await page.waitForSelector('#testid-form');
  await page.fill('#pid', pid);
  await page.selectOption('#acr', 'idporten-loa-substantial');
  await page.click('#testid-form button[type=submit]');
}

// The login pages in a real browser: Debian's Chromium driven by
// playwright-core through the eID selector, MinID (number + password, code,
// reset, registration) and TestID in two languages, the error page and the
// logout page.  Every page gets a screenshot in artifacts/ and an axe-core
// check (WCAG 2.1 A and AA rules): no serious or critical violation.
//
// Then the representation choosers: Ansattporten's organisation chooser
// (several organisations, sub-units), the fullmakt chooser at ID-porten,
// and the page when there is nothing to choose.
//
// Needs the built portend and portenctl (PORTEN_BUILD, default ../../build)
// and /usr/bin/chromium (PORTEN_CHROMIUM to override).

import { test, before, after } from 'node:test';
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
const build = process.env.PORTEN_BUILD || join(here, '..', '..', 'build');
const chromiumPath = process.env.PORTEN_CHROMIUM || '/usr/bin/chromium';
const artifacts = join(here, 'artifacts');

const PASSWORD = 'Fjellvann2024Blå';
const MINID_PID = '21879498012';
const MINID_MOBILE = '+4791234567';
const TESTID_PID = '01819012365';

let srv, cb, browser, issuer, client, dataDir, env;
const cbHits = [];

function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}

function ctl(...args) {
  const out = execFileSync(join(build, 'portenctl'), ['--json', ...args],
    { env, stdio: ['ignore', 'pipe', 'pipe'], timeout: 30000 });
  return JSON.parse(out.toString());
}

async function waitReady(url) {
  for (let i = 0; i < 200; i++) {
    try { if ((await fetch(url)).ok) return; } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('portend did not start');
}

function lastCode(mobile) {
  const lines = readFileSync(join(dataDir, 'sms.jsonl'), 'utf8').trim().split('\n')
    .map((l) => JSON.parse(l)).filter((m) => m.to === mobile);
  const m = /\b(\d{5})\b/.exec(lines.at(-1).text);
  assert.ok(m, 'no code in the SMS');
  return m[1];
}

// axe-core on the page as the browser rendered it; serious and critical fail.
async function checkPage(page, name) {
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

// at: the issuer's URL, with the client registered there (ID-porten's by default).
function authorizeUrl(extra = {}, at = issuer, cl = client) {
  const p = new URLSearchParams({
    client_id: cl.client_id, response_type: 'code', redirect_uri: `${cb.base}/cb`,
    scope: 'openid profile', state: randomBytes(8).toString('hex'), nonce: randomBytes(8).toString('hex'),
    code_challenge: 'b7elB7ZyxIXgFyvBznKvxl7wOB-H17Pz0a3B62NIMFI', code_challenge_method: 'S256', ...extra,
  });
  return `${at}/authorize?${p}`;
}

async function newPage() {
  // The pages forbid every script (CSP default-src 'none'); only the test's axe may run.
  const ctx = await browser.newContext({ bypassCSP: true, viewport: { width: 1024, height: 800 } });
  return ctx.newPage();
}

before(async () => {
  assert.ok(existsSync(join(build, 'portend')), `no portend in ${build}`);
  dataDir = mkdtempSync(join(tmpdir(), 'porten-browser-'));
  const port = await freePort();
  issuer = `http://127.0.0.1:${port}`;
  cb = createServer((req, res) => {
    cbHits.push(new URL(req.url, 'http://x'));
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end('ok');
  });
  await new Promise((r) => cb.listen(0, '127.0.0.1', r));
  cb.base = `http://127.0.0.1:${cb.address().port}`;
  env = {
    PATH: process.env.PATH, PORTEN_LISTEN: `127.0.0.1:${port}`, PORTEN_ISSUER: issuer,
    PORTEN_DATA: dataDir, PORTEN_ENV: 'test', PORTEN_KEK: randomBytes(32).toString('base64url'),
    PORTEN_MINID_ARGON_MEM_KIB: '8192', PORTEN_MINID_ARGON_OPS: '1', PORTEN_MINID_RATE_PER_MIN: '0',
  };
  srv = spawn(join(build, 'portend'), [], { env, stdio: 'ignore' });
  await waitReady(`${issuer}/health/ready`);
  client = ctl('client', 'create', '--client-name', 'Nettleser-test', '--description', 'browser test',
    '--integration-type', 'idporten', '--application-type', 'web', '--token-endpoint-auth-method',
    'client_secret_basic', '--client-orgno', '991825827', '--redirect-uri', `${cb.base}/cb`,
    '--post-logout-redirect-uri', `${cb.base}/out`, '--grant-type', 'authorization_code');
  ctl('minid', 'create', MINID_PID, '--password', PASSWORD, '--mobile', MINID_MOBILE);
  browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
});

after(async () => {
  if (browser) await browser.close();
  if (srv) srv.kill('SIGTERM');
  if (cb) cb.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

test('MinID login in bokmål: selector, number and password, SMS code', async () => {
  const page = await newPage();
  await page.goto(authorizeUrl());
  assert.equal(await page.getAttribute('html', 'lang'), 'nb');
  assert.match(await page.textContent('h1'), /Velg elektronisk ID/);
  await checkPage(page, 'nb-1-selector');
  await page.click('#eid-minid');
  await page.waitForSelector('#minid-login-form');
  await checkPage(page, 'nb-2-minid-login');
  // the first Tab stop is the skip link (WCAG 2.4.1), then the form in reading order
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.className), 'skip');
  await page.fill('#pid', MINID_PID);
  await page.fill('#password', 'Feil-passord-1');
  await page.click('#minid-login-form button[type=submit]');
  await page.waitForSelector('#form-error');
  assert.equal(await page.getAttribute('#password', 'aria-invalid'), 'true');
  await checkPage(page, 'nb-3-minid-wrong-password');
  await page.fill('#password', PASSWORD);
  await page.click('#minid-login-form button[type=submit]');
  await page.waitForSelector('#minid-code-form');
  await checkPage(page, 'nb-4-minid-code');
  await page.fill('#code', lastCode(MINID_MOBILE));
  const before = cbHits.length;
  await Promise.all([page.waitForURL(`${cb.base}/cb**`), page.click('#minid-code-form button[type=submit]')]);
  const hit = cbHits[before];
  assert.ok(hit.searchParams.get('code'), 'no authorization code');
  assert.equal(hit.searchParams.get('iss'), issuer);
  await page.context().close();
});

test('TestID login in English, then the logout page', async () => {
  const page = await newPage();
  await page.goto(authorizeUrl({ ui_locales: 'en' }));
  assert.equal(await page.getAttribute('html', 'lang'), 'en');
  assert.match(await page.textContent('h1'), /Choose electronic ID/);
  await checkPage(page, 'en-1-selector');
  await page.click('#eid-testid');
  await page.waitForSelector('#testid-form');
  await checkPage(page, 'en-2-testid');
  await page.fill('#pid', '12345678901');
  await page.click('#testid-form button[type=submit]');
  await page.waitForSelector('#pid-error');
  await checkPage(page, 'en-3-testid-error');
  await page.fill('#pid', TESTID_PID);
  await page.selectOption('#acr', 'idporten-loa-substantial');
  const before = cbHits.length;
  await Promise.all([page.waitForURL(`${cb.base}/cb**`), page.click('#testid-form button[type=submit]')]);
  const code = cbHits[before].searchParams.get('code');
  // The client's side: an ID token to name the session at logout.
  const tok = await fetch(`${issuer}/token`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/x-www-form-urlencoded',
      Authorization: 'Basic ' + Buffer.from(`${encodeURIComponent(client.client_id)}:${encodeURIComponent(client.client_secret)}`).toString('base64'),
    },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: `${cb.base}/cb`,
      code_verifier: 'xyo94uhy3zKvgB0NJwLms86SwcjtWviEOpkBnGgaLlo' }),
  }).then((r) => r.json());
  assert.ok(tok.id_token, JSON.stringify(tok));
  await page.goto(`${issuer}/logout?id_token_hint=${tok.id_token}&ui_locales=en`);
  assert.match(await page.textContent('h1'), /logged out/i);
  await checkPage(page, 'en-4-logout');
  await page.context().close();
});

test('language switch on the selector, MinID in nynorsk and Sami', async () => {
  const page = await newPage();
  await page.goto(authorizeUrl());
  await page.click('footer a[lang=nn]');
  assert.equal(await page.getAttribute('html', 'lang'), 'nn');
  assert.match(await page.textContent('h1'), /Vel elektronisk ID/);
  await page.click('#eid-minid');
  await page.waitForSelector('#minid-login-form');
  assert.equal(await page.getAttribute('html', 'lang'), 'nn', 'the choice is remembered');
  await checkPage(page, 'nn-1-minid-login');
  await page.click('footer a[lang=se]');
  assert.equal(await page.getAttribute('html', 'lang'), 'se');
  assert.match(await page.textContent('h1'), /Čálit sisa MinID:in/);
  await checkPage(page, 'se-1-minid-login');
  // cancel returns access_denied to the service
  const before = cbHits.length;
  await Promise.all([page.waitForURL(`${cb.base}/cb**`), page.click('#cancel-form button')]);
  assert.equal(cbHits[before].searchParams.get('error'), 'access_denied');
  await page.context().close();
});

test('MinID reset, registration and error pages', async () => {
  const page = await newPage();
  await page.goto(`${issuer}/minid/reset?lang=nn`);
  await checkPage(page, 'nn-2-reset');
  await page.fill('#pid', '123');
  await page.click('#minid-reset-form button[type=submit]');
  await page.waitForSelector('#pid-error');
  await checkPage(page, 'nn-3-reset-error');
  await page.fill('#pid', MINID_PID);
  await page.click('#minid-reset-form button[type=submit]');
  await page.waitForSelector('#minid-code-form');
  await checkPage(page, 'nn-4-reset-code');
  await page.fill('#code', lastCode(MINID_MOBILE));
  await page.click('#minid-code-form button[type=submit]');
  await page.waitForSelector('#minid-password-form');
  await checkPage(page, 'nn-5-reset-password');
  await page.goto(`${issuer}/minid/register`);
  await checkPage(page, 'nn-6-register');
  await page.fill('#pid', '01819012365');
  await page.click('#minid-register-form button[type=submit]');
  await page.waitForSelector('#activation-code');
  await checkPage(page, 'nn-7-activation-code');
  await page.goto(`${issuer}/minid/activate`);
  await checkPage(page, 'nn-8-activate');
  await page.goto(`${issuer}/minid/account`);
  await checkPage(page, 'nn-9-account-login');
  await page.goto(`${issuer}/login?ar=${'x'.repeat(43)}`);
  await checkPage(page, 'nn-10-error');
  await page.context().close();
});

// TestID from the selector to whatever page follows it.
async function testidLogin(page, pid) {
  await page.click('#eid-testid');
  await page.waitForSelector('#testid-form');
  await page.fill('#pid', pid);
  await page.selectOption('#acr', 'idporten-loa-substantial');
  await page.click('#testid-form button[type=submit]');
}

test('the representation choosers: organisations, fullmakt, nothing to choose', async () => {
  const RES = 'urn:altinn:resource:browser-test';
  ctl('repr', 'person', TESTID_PID, 'Kari Nettlesar');
  ctl('repr', 'org', '910000004', 'Hovud AS', 'AS');
  ctl('repr', 'org', '920000002', 'Filial Bergen', 'BEDR', '910000004');
  ctl('repr', 'right', TESTID_PID, '910000004', RES, 'read');
  ctl('repr', 'right', TESTID_PID, '920000002', RES, 'read');
  ctl('repr', 'person', '02819010040', 'Fullmakt Givar');
  ctl('repr', 'fullmakt', TESTID_PID, '02819010040', 'nav:arbeid');
  const ap = ctl('client', 'create', '--client-name', 'Tilsettportal', '--description', 'browser test',
    '--integration-type', 'ansattporten', '--application-type', 'web', '--token-endpoint-auth-method',
    'client_secret_basic', '--client-orgno', '991825827', '--redirect-uri', `${cb.base}/cb`,
    '--post-logout-redirect-uri', `${cb.base}/out`, '--grant-type', 'authorization_code', '--scope', 'openid');
  const orgRar = (more) => JSON.stringify([{ type: 'ansattporten:altinn:resource', resource: RES, ...more }]);

  // the organisation chooser in bokmål, several allowed and one required: checkboxes, then a choice missing
  let page = await newPage();
  await page.goto(authorizeUrl({ scope: 'openid', authorization_details: orgRar({ allow_multiple_organizations: true, representation_is_required: true }) },
    `${issuer}/ansattporten`, ap));
  await testidLogin(page, TESTID_PID);
  await page.waitForSelector('#repr-form');
  assert.equal(await page.getAttribute('html', 'lang'), 'nb');
  assert.match(await page.textContent('h1'), /Velg organisasjon/);
  await checkPage(page, 'nb-repr-1-organisations');
  await page.click('#repr-form button[type=submit]');
  await page.waitForSelector('#repr-error');
  await checkPage(page, 'nb-repr-2-none-chosen');
  await page.check('#org-0');
  await page.check('#org-1');
  let before = cbHits.length;
  await Promise.all([page.waitForURL(`${cb.base}/cb**`), page.click('#repr-form button[type=submit]')]);
  assert.ok(cbHits[before].searchParams.get('code'), 'no code after the organisation choice');
  await page.context().close();

  // the fullmakt chooser in English: radio buttons, "myself"
  page = await newPage();
  await page.goto(authorizeUrl({ ui_locales: 'en',
    authorization_details: JSON.stringify([{ type: 'idporten:fullmakt', permission_roles: ['arbeid'] }]) }));
  await testidLogin(page, TESTID_PID);
  await page.waitForSelector('#repr-form');
  assert.match(await page.textContent('h1'), /Act on behalf of someone/);
  await checkPage(page, 'en-repr-3-fullmakt');
  await page.check('#whom-0');
  before = cbHits.length;
  await Promise.all([page.waitForURL(`${cb.base}/cb**`), page.click('#repr-form button[type=submit]')]);
  assert.ok(cbHits[before].searchParams.get('code'), 'no code after the fullmakt choice');
  await page.context().close();

  // nothing to choose while representation is required, in nynorsk: the page and its cancel
  page = await newPage();
  await page.goto(authorizeUrl({ scope: 'openid', ui_locales: 'nn',
    authorization_details: orgRar({ representation_is_required: true }) }, `${issuer}/ansattporten`, ap));
  await testidLogin(page, '02819010040');
  await page.waitForSelector('#repr-error');
  assert.equal(await page.getAttribute('html', 'lang'), 'nn');
  await checkPage(page, 'nn-repr-4-nothing');
  before = cbHits.length;
  await Promise.all([page.waitForURL(`${cb.base}/cb**`), page.click('#cancel-form button')]);
  assert.equal(cbHits[before].searchParams.get('error'), 'access_denied');
  await page.context().close();
});

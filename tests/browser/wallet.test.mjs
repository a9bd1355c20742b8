// The wallet eID's page in a real browser (spec/eudi-wallet.md §4.3, §4.4):
// Debian's Chromium under the page's own Content Security Policy.  Where
// the browser has the Digital Credentials API the page's script takes it:
// navigator.credentials.get is answered, through an init script and a
// binding, by the test wallet of tests/e2e/walletkit.py (wallet_helper.py),
// which checks the signed request (dc_api.jwt, expected_origins) and makes
// the encrypted answer; the page posts it back and the login ends at the
// client with a code.  Hostile answers (another origin, a wrong nonce, an
// unencrypted response, a cancelled dialog) end on the failure page.  Without
// the API the page polls by script, and without JavaScript by its meta
// refresh, while the wallet answers the QR code's link.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkPage, startPorten, VERIFIER } from './common.mjs';

const here = dirname(fileURLToPath(import.meta.url));
let t, helper, helperUrl;

async function helperCall(path, body) {
  const r = await fetch(`${helperUrl}${path}`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
  });
  const out = await r.json();
  assert.equal(r.status, 200, `test wallet: ${JSON.stringify(out)}`);
  return out;
}

before(async () => {
  helper = spawn('/usr/bin/python3', [join(here, 'wallet_helper.py')], { stdio: ['pipe', 'pipe', 'inherit'] });
  const first = await new Promise((resolve, reject) => {
    createInterface({ input: helper.stdout }).once('line', resolve);
    helper.once('exit', (code) => reject(new Error(`wallet helper exited: ${code}`)));
  });
  const { port, env } = JSON.parse(first);
  helperUrl = `http://127.0.0.1:${port}`;
  t = await startPorten(env);
});

after(async () => {
  if (t) await t.stop();
  if (helper) helper.stdin.end();
});

// A browser context under the pages' real CSP.  dc: 'wallet' answers
// navigator.credentials.get through the test wallet with the knobs in
// bad(); 'cancel' throws as a dismissed dialog does; 'none' takes the API away.
async function walletPage(dc, bad = () => [], options = {}) {
  const ctx = await t.browser.newContext({ viewport: { width: 1024, height: 800 }, ...options });
  const asked = [];
  if (dc === 'wallet' || dc === 'cancel') {
    await ctx.exposeBinding('__testWallet', async ({ page }, request) => {
      asked.push(request);
      if (dc === 'cancel') return { throw: 'NotAllowedError' };
      return helperCall('/dc', { request: request.data.request, origin: new URL(page.url()).origin, bad: bad() });
    });
    await ctx.addInitScript(() => {
      if (typeof window.DigitalCredential === 'undefined') window.DigitalCredential = class {};
      Object.defineProperty(navigator.credentials, 'get', {
        configurable: true,
        value: async (opts) => {
          const req = opts && opts.digital && opts.digital.requests && opts.digital.requests[0];
          if (!req) throw new DOMException('not a digital credential request', 'NotSupportedError');
          const data = await window.__testWallet(req);
          if (data.throw) throw new DOMException('the wallet dialog was closed', data.throw);
          return { protocol: req.protocol, data };
        },
      });
    });
  } else if (dc === 'none' && options.javaScriptEnabled !== false) {
    await ctx.addInitScript(() => { delete window.DigitalCredential; });
  }
  const page = await ctx.newPage();
  return { ctx, page, asked };
}

const eidasUrl = () => t.authorizeUrl({ acr_values: 'eidas-loa-high' });

async function redeem(code) {
  const r = await fetch(`${t.issuer}/token`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/x-www-form-urlencoded',
      Authorization: `Basic ${Buffer.from(`${t.client.client_id}:${t.client.client_secret}`).toString('base64')}`,
    },
    body: new URLSearchParams({
      grant_type: 'authorization_code', code, redirect_uri: `${t.cb.base}/cb`, code_verifier: VERIFIER,
    }),
  });
  const text = await r.text();
  assert.equal(r.status, 200, text);
  const body = JSON.parse(text);
  return JSON.parse(Buffer.from(body.id_token.split('.')[1], 'base64url').toString());
}

test('the Digital Credentials API: the page asks, the wallet answers, the client gets a code', async () => {
  const { ctx, page, asked } = await walletPage('wallet');
  await page.goto(eidasUrl());
  // the waiting page finds the API and takes the DC page at once
  await page.waitForSelector('#wallet-dc-start');
  assert.match(page.url(), /\/wallet\?ar=[^&]+&mode=dc$/);
  const before = t.cbHits.length;
  await Promise.all([page.waitForURL(`${t.cb.base}/cb**`), page.click('#wallet-dc-start')]);
  assert.equal(asked.length, 1);
  assert.equal(asked[0].protocol, 'openid4vp-v1-signed');
  const code = t.cbHits[before].searchParams.get('code');
  assert.ok(code, 'no authorization code');
  const idc = await redeem(code);
  assert.equal(idc.pid, '21879498012');
  assert.deepEqual(idc.amr, ['eudiw']);
  assert.equal(idc.acr, 'eidas-loa-high');
  assert.equal(idc.nationalities, undefined);
  await ctx.close();
});

test('a foreign PID over the DC API: eidas_* claims and nationalities', async () => {
  const { ctx, page } = await walletPage('wallet', () => ['foreign']);
  await page.goto(eidasUrl());
  await page.waitForSelector('#wallet-dc-start');
  const before = t.cbHits.length;
  await Promise.all([page.waitForURL(`${t.cb.base}/cb**`), page.click('#wallet-dc-start')]);
  const idc = await redeem(t.cbHits[before].searchParams.get('code'));
  assert.equal(idc.eidas_identifier, 'DE/NO/T22000129');
  assert.deepEqual(idc.nationalities, ['DE']);
  await ctx.close();
});

for (const [bad, text] of [
  ['wrong_origin', /kunne ikke verifiseres/],
  ['wrong_nonce', /kunne ikke verifiseres/],
  ['unencrypted', /kunne ikke verifiseres/],
  ['cancel', /avbrutt/],
]) {
  test(`a hostile or cancelled DC API answer (${bad}) ends on the failure page`, async () => {
    const { ctx, page } = await walletPage(bad === 'cancel' ? 'cancel' : 'wallet', () => [bad]);
    await page.goto(eidasUrl());
    await page.waitForSelector('#wallet-dc-start');
    const before = t.cbHits.length;
    await page.click('#wallet-dc-start');
    await page.waitForSelector('#wallet-error');
    assert.match(await page.textContent('#wallet-error'), text);
    assert.match(page.url(), /\/wallet\/dc-response$/);
    assert.ok(await page.isVisible('#wallet-retry'));
    assert.equal(t.cbHits.length, before, 'the client heard something');
    await ctx.close();
  });
}

test('the wallet pages pass axe-core: waiting page, DC page, failure page', async () => {
  // axe is injected, so this context bypasses the CSP the other tests keep
  const { ctx, page } = await walletPage('wallet', () => ['wrong_nonce'], { bypassCSP: true });
  await page.goto(t.authorizeUrl({ acr_values: 'eidas-loa-high' }).replace('/authorize?', '/authorize?ui_locales=nn&'));
  await page.waitForSelector('#wallet-dc-start');
  assert.equal(await page.getAttribute('html', 'lang'), 'nn');
  await checkPage(page, 'wallet-nn-1-dc');
  await page.click('#wallet-dc-start');
  await page.waitForSelector('#wallet-error');
  await checkPage(page, 'wallet-nn-2-failure');
  await page.click('#wallet-switch-qr');
  await page.waitForSelector('#wallet-qr svg');
  await checkPage(page, 'wallet-nn-3-qr');
  await ctx.close();
});

// Without the API the page polls by script; without JavaScript by its meta refresh.
for (const [name, opts] of [
  ['without the API the page polls by script; the wallet answers the QR link', {}],
  ['without JavaScript: the QR code, the meta refresh, then the client', { javaScriptEnabled: false }],
]) {
  test(name, async () => {
    const { ctx, page } = await walletPage('none', () => [], opts);
    await page.goto(eidasUrl());
    await page.waitForSelector('#wallet-qr svg');
    assert.equal(await page.isVisible('#wallet-dc'), false);
    const link = await page.getAttribute('#wallet-link', 'href');
    assert.equal((await helperCall('/link', { link })).status, 200);
    await page.waitForURL(`${t.cb.base}/cb**`, { timeout: 15000 });
    await ctx.close();
  });
}

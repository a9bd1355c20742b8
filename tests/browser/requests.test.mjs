// The requests Chromium makes for one TestID login (docs/login-flow.md
// "Requests of a login"), with the pages' own Content-Security-Policy in
// force: /authorize answers with the selector, whose script puts the
// selector's own address (/login?ar=) in the address bar, so that reload and
// Back show the selector again; TestID's form answers with the redirect to
// the client.
//
// Needs the built portend and portenctl (PORTEN_BUILD, default ../../build)
// and /usr/bin/chromium (PORTEN_CHROMIUM to override).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startPorten } from './common.mjs';

const TESTID_PID = '01819012365';

let t;

before(async () => {
  t = await startPorten();
});

after(async () => {
  if (t) await t.stop();
});

// A page that enforces the server's policy, and the documents it asks Porten for.
async function tracedPage() {
  const ctx = await t.browser.newContext({ viewport: { width: 1024, height: 800 } });
  const page = await ctx.newPage();
  const seen = [];
  const errors = [];
  // (the favicon's 404 is the only other console error)
  page.on('console', (m) => { if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) errors.push(m.text()); });
  page.on('response', (r) => {
    const u = new URL(r.url());
    if (r.request().resourceType() === 'document' && r.url().startsWith(t.issuer)) {
      seen.push(`${r.request().method()} ${u.pathname} ${r.status()}`);
    }
  });
  return { page, seen, errors };
}

test('TestID login: three requests, and the selector names its own address', async () => {
  const { page, seen, errors } = await tracedPage();
  await page.goto(t.authorizeUrl());
  await page.waitForSelector('#eid-testid');
  const at = new URL(page.url());
  assert.equal(at.pathname, '/login', `the address bar shows ${page.url()}`);
  const ar = at.searchParams.get('ar');
  // a sealed login (docs/login-flow.md), or a store row's id for a long request
  assert.match(ar, /^[A-Za-z0-9_-]{43,}$/);
  assert.deepEqual(errors, [], 'the policy blocked the page\'s script');
  await page.click('#eid-testid');
  await page.waitForSelector('#testid-form');
  await page.fill('#pid', TESTID_PID);
  await page.selectOption('#acr', 'idporten-loa-substantial');
  const n = t.cbHits.length;
  await Promise.all([page.waitForURL(`${t.cb.base}/cb**`), page.click('#testid-form button[type=submit]')]);
  assert.ok(t.cbHits[n].searchParams.get('code'), 'no code at the client');
  assert.deepEqual(seen, ['GET /authorize 200', 'GET /testid 200', 'POST /testid 302']);
  await page.context().close();
});

test('reload, Back and the language switch keep the selector', async () => {
  const { page, seen } = await tracedPage();
  await page.goto(t.authorizeUrl());
  await page.waitForSelector('#eid-testid');
  const ar = new URL(page.url()).searchParams.get('ar');
  await page.reload();
  await page.waitForSelector('#eid-testid');
  assert.equal(new URL(page.url()).searchParams.get('ar'), ar);
  assert.equal(seen.at(-1), 'GET /login 200', 'the reload asked for the selector\'s own address');
  await page.click('#eid-testid');
  await page.waitForSelector('#testid-form');
  await page.goBack();
  await page.waitForSelector('#eid-testid');
  assert.equal(new URL(page.url()).pathname, '/login');
  assert.equal(new URL(page.url()).searchParams.get('ar'), ar);
  await page.click('a[hreflang=en]');
  await page.waitForSelector('#eid-testid');
  assert.match(await page.textContent('h1'), /Choose electronic ID/);
  // and the login still finishes
  await page.click('#eid-testid');
  await page.waitForSelector('#testid-form');
  await page.fill('#pid', TESTID_PID);
  const n = t.cbHits.length;
  await Promise.all([page.waitForURL(`${t.cb.base}/cb**`), page.click('#testid-form button[type=submit]')]);
  assert.ok(t.cbHits[n].searchParams.get('code'), 'no code at the client');
  // Back from the client: the finished login's page is an error page, not a 500
  const resp = await page.goto(`${t.issuer}/login?ar=${ar}`);
  assert.equal(resp.status(), 400);
  await page.context().close();
});

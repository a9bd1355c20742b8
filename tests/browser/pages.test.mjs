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
import { checkPage, newPage as openPage, lastCode as sentCode, startPorten, testidLogin, VERIFIER } from './common.mjs';

const PASSWORD = 'Fjellvann2024Blå';
const MINID_PID = '21879498012';
const MINID_MOBILE = '+4791234567';
const TESTID_PID = '01819012365';

let t, cb, browser, issuer, client, cbHits, authorizeUrl;

const lastCode = (mobile) => sentCode(t.dataDir, 'sms.jsonl', mobile, 5);
const ctl = (...args) => t.ctl(...args);
const newPage = () => openPage(browser);

before(async () => {
  t = await startPorten();
  ({ cb, browser, issuer, client, cbHits, authorizeUrl } = t);
  t.ctl('minid', 'create', MINID_PID, '--password', PASSWORD, '--mobile', MINID_MOBILE);
});

after(async () => {
  if (t) await t.stop();
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
      code_verifier: VERIFIER }),
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

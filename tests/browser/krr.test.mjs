// KRR's self-service pages (/minprofil, spec/krr.md §5) and the 90-day
// confirmation prompt in the ID-porten login (§6) in a real browser: the
// login through TestID, the profile with a return link, a new e-mail address
// confirmed by its code (a wrong one first), a refused mobile number,
// the language switch to nynorsk and Northern Sami, the prompt with its code
// form; every page through axe-core (no serious or critical violation).
// The same pages once more with JavaScript off: they need none.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { checkPage, lastCode, newPage, startPorten, testidLogin } from './common.mjs';

const PERSON = '04879140078';   // the test persons' "mobile and e-mail"
const EXPIRED = '09899940080';  // expired by the 18-month rule: prompted
const BACK = 'https://tjeneste.example.no/minside';

let t;

before(async () => {
  t = await startPorten({ PORTEN_KRR_PROMPT: 'true', PORTEN_KRR_GOTO_URLS: 'https://tjeneste.example.no/' });
  t.ctl('krr', 'testdata');
});

after(async () => {
  if (t) await t.stop();
});

const formButton = (action) => `form:has(input[name=action][value=${action}]) button[type=submit]`;

test('the profile pages: log in, return link, e-mail by code, refused number, languages', async () => {
  const page = await newPage(t.browser);
  await page.goto(`${t.issuer}/minprofil?gotoUrl=${encodeURIComponent(BACK)}`);
  await testidLogin(page, PERSON);
  await page.waitForSelector('#current');
  assert.equal(await page.getAttribute('html', 'lang'), 'nb');
  assert.equal(await page.getAttribute('#goto', 'href'), BACK);
  await checkPage(page, 'krr-nb-1-profile');

  await page.fill('#epost', 'ny.adresse@example.no');
  await page.click(formButton('email'));
  await page.waitForSelector('#kode');
  await checkPage(page, 'krr-nb-2-code');
  await page.fill('#kode', '000000' === lastCode(t.dataDir, 'mail.jsonl', 'ny.adresse@example.no', 6) ? '111111' : '000000');
  await page.click(formButton('code'));
  await page.waitForSelector('#kode[aria-invalid=true]');
  await checkPage(page, 'krr-nb-3-wrong-code');
  await page.fill('#kode', lastCode(t.dataDir, 'mail.jsonl', 'ny.adresse@example.no', 6));
  await page.click(formButton('code'));
  await page.waitForSelector('#notice');
  assert.equal(t.ctl('krr', 'show', PERSON).epostadresse, 'ny.adresse@example.no');
  await checkPage(page, 'krr-nb-4-saved');

  await page.fill('#mobil', '12');
  await page.click(formButton('mobile'));
  await page.waitForSelector('#mobil[aria-invalid=true]');
  await checkPage(page, 'krr-nb-5-bad-number');

  for (const lang of ['nn', 'se', 'en']) {
    await page.click(`footer a[lang=${lang}]`);
    await page.waitForSelector('#current');
    assert.equal(await page.getAttribute('html', 'lang'), lang);
    await checkPage(page, `krr-${lang}-1-profile`);
  }
  await page.context().close();
});

test('the prompt after an eID login: shown, a code form, "later" from there', async () => {
  const page = await newPage(t.browser);
  await page.goto(t.authorizeUrl({ ui_locales: 'nn' }));
  await testidLogin(page, EXPIRED);
  await page.waitForSelector('form[action$="/krr/confirm"]');
  assert.equal(await page.getAttribute('html', 'lang'), 'nn');
  await checkPage(page, 'krr-nn-2-prompt');
  await page.fill('#mobil', '+47 998 87 766');
  await page.click(formButton('mobile'));
  await page.waitForSelector('#kode');
  await checkPage(page, 'krr-nn-3-prompt-code');
  const before = t.cbHits.length;
  await Promise.all([page.waitForURL(`${t.cb.base}/cb**`), page.click(formButton('later'))]);
  assert.ok(t.cbHits[before].searchParams.get('code'), 'no code after "later"');
  assert.equal(t.ctl('krr', 'show', EXPIRED).mobiltelefonnummer, '+4799000006', 'later records nothing');
  await page.context().close();
});

test('no JavaScript needed: the pages work with it turned off', async () => {
  const page = await newPage(t.browser, { javaScriptEnabled: false });
  await page.goto(`${t.issuer}/minprofil?lang=en`);
  await testidLogin(page, PERSON);
  await page.waitForSelector('#current');
  await page.selectOption('#spraak', 'se');
  await page.click(formButton('lang'));
  await page.waitForSelector('#notice');
  assert.equal(t.ctl('krr', 'show', PERSON).spraak, 'se');
  // the way out without a return link is the ID-porten logout
  await page.click(formButton('logout'));
  await page.waitForURL(/\/logout/);
  assert.match(await page.textContent('h1'), /logged out/i);
  await page.context().close();
});

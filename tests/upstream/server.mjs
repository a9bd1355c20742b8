// An independent OpenID Connect provider (panva's oidc-provider) that the
// e2e tests start as an upstream eID (BankID): a login page where the
// tester types the national identity number and picks the level, or
// cancels.  With MODE=eidas it plays the eIDAS connector instead: the
// tester types the four eidas_* attributes (one left empty is left out of
// the ID token).  Settings come from the environment:
//   PORT, ISSUER, ACRS (comma-separated acr values), CLIENTS (JSON array of
//   oidc-provider client metadata), KEY_FILE (where the signing JWKS is
//   written, so tests can sign with it or rotate it), MODE (eidas or unset).
// Prints "ready" on stdout when it listens.
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import Provider from 'oidc-provider';

const env = process.env;
const acrs = (env.ACRS || 'bankid-substantial,bankid-high').split(',');
const eidas = env.MODE === 'eidas';
const EIDAS_CLAIMS = ['eidas_identifier', 'eidas_firstname', 'eidas_lastname',
  'eidas_date_of_birth'];
// What each eIDAS login typed, by account (the identifier).
const foreign = new Map();

function accountClaims(id) {
  if (!eidas) return { sub: id, nnin: id };
  return { sub: id, ...foreign.get(id) };
}

function signingKey() {
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  return { ...jwk, kid: `up-${crypto.randomBytes(6).toString('hex')}`, use: 'sig', alg: 'RS256' };
}

const keys = { keys: [signingKey()] };
if (env.KEY_FILE) fs.writeFileSync(env.KEY_FILE, JSON.stringify(keys), { mode: 0o600 });

const provider = new Provider(env.ISSUER, {
  clients: JSON.parse(env.CLIENTS),
  jwks: keys,
  acrValues: acrs,
  claims: eidas ? { openid: ['sub'], eidas: EIDAS_CLAIMS } : { openid: ['sub'], nnin: ['nnin'] },
  // The national identity number goes in the ID token, as BankID's does.
  conformIdTokenClaims: false,
  findAccount: async (ctx, id) => ({
    accountId: id,
    claims: async () => accountClaims(id),
  }),
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  features: {
    devInteractions: { enabled: false },
    pushedAuthorizationRequests: { enabled: true },
  },
  pkce: { required: () => true },
  cookies: { keys: ['upstream-test-cookies'] },
});

function esc(s) {
  return String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function loginPage(res, uid, params) {
  const options = acrs.map((a) => `<option value="${esc(a)}">${esc(a)}</option>`).join('');
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
  res.end(`<!doctype html><title>Upstream login</title><h1>Upstream login</h1>
<p>acr_values: <span id="acr-values">${esc(params.acr_values || '')}</span></p>
<form id="upstream-login" method="post" action="/interaction/${esc(uid)}">
<input name="nnin">${EIDAS_CLAIMS.map((c) => `<input name="${c}">`).join('')}
<select name="acr">${options}</select>
<button type="submit" name="action" value="login">Log in</button>
<button type="submit" name="action" value="cancel">Cancel</button></form>`);
}

async function readForm(req) {
  let body = '';
  for await (const chunk of req) body += chunk;
  return new URLSearchParams(body);
}

async function finishLogin(req, res, form) {
  const details = await provider.interactionDetails(req, res);
  if (form.get('action') === 'cancel') {
    await provider.interactionFinished(req, res, {
      error: 'access_denied', error_description: 'the user cancelled',
    }, { mergeWithLastSubmission: false });
    return;
  }
  const accountId = form.get(eidas ? 'eidas_identifier' : 'nnin') || 'nobody';
  if (eidas) {
    const typed = {};
    for (const c of EIDAS_CLAIMS) if (form.get(c)) typed[c] = form.get(c);
    foreign.set(accountId, typed);
  }
  const grant = new provider.Grant({ accountId, clientId: details.params.client_id });
  grant.addOIDCScope(details.params.scope);
  grant.addOIDCClaims(eidas ? EIDAS_CLAIMS : ['nnin']);
  const grantId = await grant.save();
  await provider.interactionFinished(req, res, {
    login: { accountId, acr: form.get('acr'), amr: [eidas ? 'eidas' : 'bankid'] },
    consent: { grantId },
  }, { mergeWithLastSubmission: false });
}

const callback = provider.callback();
const server = http.createServer(async (req, res) => {
  const m = /^\/interaction\/([^/?]+)/.exec(req.url);
  if (!m) {
    callback(req, res);
    return;
  }
  try {
    if (req.method === 'GET') {
      const details = await provider.interactionDetails(req, res);
      loginPage(res, m[1], details.params);
    } else {
      await finishLogin(req, res, await readForm(req));
    }
  } catch (err) {
    res.writeHead(400, { 'content-type': 'text/plain' });
    res.end(`interaction failed: ${err.message}`);
  }
});
server.listen(Number(env.PORT), '127.0.0.1', () => process.stdout.write('ready\n'));

// panva/oidc-provider set up as a benchmark peer, as close to Porten's
// ID-porten issuer as it allows:
//   - RS256 (one 2048-bit RSA key) for ID tokens and access tokens;
//   - JWT access tokens (RFC 9068) through the resource indicators feature:
//     every token is minted for one default resource server;
//   - PKCE S256 required; client_secret_basic; pairwise subjects;
//   - refresh tokens issued on every code exchange and rotated on every use;
//   - introspection and client_credentials enabled;
//   - no devInteractions; a minimal login interaction for one fixed account
//     (one HTML form, one POST) stands in for Porten's TestID page;
//   - production mode (NODE_ENV=production), no logging.
// Storage is the built-in in-memory adapter: oidc-provider ships no
// persistent one, while Porten and Glewlwyd write to SQLite.
//
// Environment: BENCH_PORT, BENCH_ISSUER, BENCH_REDIRECT_URI, and either
// BENCH_CLIENTS_FILE (a JSON array of {client_id, client_secret}) or
// BENCH_CLIENT_SECRET for the one client "bench"; BENCH_PKJWT_JWKS (a JWKS
// file of public keys) adds "bench-pkjwt", a client_credentials-only client
// that authenticates by private_key_jwt (one signature verified per token,
// as a Maskinporten grant costs).

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';

import Provider from 'oidc-provider';

const port = Number(process.env.BENCH_PORT || 47280);
const issuer = process.env.BENCH_ISSUER || `http://127.0.0.1:${port}`;
const secret = process.env.BENCH_CLIENT_SECRET || 'bench-secret-0123456789abcdef0123456789abcdef';
const redirectUri = process.env.BENCH_REDIRECT_URI || 'http://127.0.0.1:9/cb';
const RESOURCE = 'urn:porten-bench:api';
const ACCOUNT = 'bench-user';

const pairwiseSalt = crypto.randomBytes(32);
const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'bench-rs256', alg: 'RS256', use: 'sig' };

const credentials = process.env.BENCH_CLIENTS_FILE
  ? JSON.parse(fs.readFileSync(process.env.BENCH_CLIENTS_FILE, 'utf8'))
  : [{ client_id: 'bench', client_secret: secret }];

const pkjwtClients = process.env.BENCH_PKJWT_JWKS
  ? [{
    client_id: 'bench-pkjwt',
    redirect_uris: [],
    response_types: [],
    grant_types: ['client_credentials'],
    token_endpoint_auth_method: 'private_key_jwt',
    token_endpoint_auth_signing_alg: 'RS256',
    jwks: JSON.parse(fs.readFileSync(process.env.BENCH_PKJWT_JWKS, 'utf8')),
    scope: 'bench.api',
  }]
  : [];

const provider = new Provider(issuer, {
  clients: pkjwtClients.concat(credentials.map(({ client_id, client_secret }) => ({
    client_id,
    client_secret,
    redirect_uris: [redirectUri],
    response_types: ['code'],
    grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: 'RS256',
    subject_type: 'pairwise',
    scope: 'openid profile bench.api',
  }))),
  jwks: { keys: [jwk] },
  scopes: ['openid', 'profile', 'bench.api'],
  claims: { openid: ['sub'], profile: ['name'] },
  subjectTypes: ['public', 'pairwise'],
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: false },
    introspection: { enabled: true },
    revocation: { enabled: true },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: async () => RESOURCE,
      useGrantedResource: async () => true,
      getResourceServerInfo: async (_ctx, resource) => {
        if (resource !== RESOURCE) throw new Error('unknown resource');
        return {
          scope: 'profile bench.api',
          audience: RESOURCE,
          accessTokenTTL: 600,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        };
      },
    },
  },
  findAccount: async (_ctx, id) => ({
    accountId: id,
    claims: async () => ({ sub: id, name: 'Bench User' }),
  }),
  pairwiseIdentifier: async (_ctx, accountId, client) => crypto.createHash('sha256')
    .update(client.sectorIdentifier).update('\0').update(accountId).update(pairwiseSalt)
    .digest('base64url'),
  issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
  rotateRefreshToken: true,
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
  ttl: {
    AccessToken: 600,
    AuthorizationCode: 60,
    ClientCredentials: 600,
    IdToken: 600,
    RefreshToken: 1200,
    Interaction: 600,
    Session: 3600,
    Grant: 3600,
  },
});

// Errors stay silent in a run; BENCH_DEBUG=1 prints them while setting up.
if (process.env.BENCH_DEBUG) {
  provider.on('server_error', (_ctx, err) => console.error(err));
  provider.on('grant.error', (_ctx, err) => console.error(err));
}

const escape = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function readForm(req) {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => {
      body += chunk;
      if (body.length > 4096) reject(new Error('body too large'));
    });
    req.on('end', () => resolve(new URLSearchParams(body)));
    req.on('error', reject);
  });
}

// GET /interaction/:uid shows the login form; POST /interaction/:uid/login
// logs the fixed account in and grants what was asked, so no consent prompt
// follows (Porten asks no consent either).
async function interaction(req, res) {
  const url = new URL(req.url, issuer);
  const m = /^\/interaction\/([A-Za-z0-9_-]+)(\/login)?$/.exec(url.pathname);
  if (!m) {
    res.statusCode = 404;
    res.end();
    return;
  }
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== m[1]) {
    res.statusCode = 400;
    res.end();
    return;
  }
  if (!m[2] && req.method === 'GET') {
    res.setHeader('Content-Type', 'text/html; charset=utf-8');
    res.setHeader('Cache-Control', 'no-store');
    res.end(`<!DOCTYPE html><html><head><title>Login</title></head><body><main><h1>Log in</h1>`
      + `<form id="login-form" method="post" action="/interaction/${escape(details.uid)}/login">`
      + `<input type="hidden" name="uid" value="${escape(details.uid)}">`
      + `<label for="login">User</label><input id="login" name="login">`
      + `<button type="submit">Log in</button></form></main></body></html>`);
    return;
  }
  if (m[2] && req.method === 'POST') {
    const form = await readForm(req);
    if (form.get('uid') !== details.uid || form.get('login') !== ACCOUNT) {
      res.statusCode = 400;
      res.end('login failed');
      return;
    }
    const { params } = details;
    const grant = new provider.Grant({ accountId: ACCOUNT, clientId: params.client_id });
    grant.addOIDCScope('openid profile');
    grant.addResourceScope(RESOURCE, 'profile bench.api');
    const grantId = await grant.save();
    await provider.interactionFinished(req, res, {
      login: { accountId: ACCOUNT },
      consent: { grantId },
    }, { mergeWithLastSubmission: false });
    return;
  }
  res.statusCode = 405;
  res.end();
}

const callback = provider.callback();
const server = http.createServer((req, res) => {
  if (req.url.startsWith('/interaction/')) {
    interaction(req, res).catch(() => {
      if (!res.headersSent) res.statusCode = 500;
      res.end();
    });
    return;
  }
  callback(req, res);
});
server.keepAliveTimeout = 60000;
server.listen(port, '127.0.0.1');

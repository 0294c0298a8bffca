// The comparison server of the OIDC benchmark: `oidc-provider` (npm, the version pinned in
// tests/browser/package-lock.json, OpenID Certified) configured as an ordinary production
// deployment doing what Thăng Long does for the benchmark's flows:
//   - one confidential client, client_secret_basic, one exact redirect URI, PKCE S256 required,
//     grant type authorization_code, ID tokens signed with ES256 (one P-256 key), pairwise
//     subjects (HMAC-SHA256 of sector and account under a server secret, as Thăng Long does);
//   - TTLs as Thăng Long's: authorization code as the harness sets on both (--code-ttl, 60 s
//     unless given), access token and ID token 15 min;
//   - opaque access tokens kept in the adapter (looked up at userinfo; Thăng Long seals its
//     access tokens instead and checks their revocations in the database);
//   - `findAccount` returning the account's name claims;
//   - a plain Map-based adapter (the bundled memory adapter is an LRU of 1,000 entries that
//     would evict codes, and re-scans a grant's whole token list on every write): entries
//     expire at their TTL (checked on read, swept once a minute), a Set per grant for
//     revokeByGrantId — what a Redis adapter does, without the network hop;
//   - single Node process (JavaScript runs on one thread; a Map cannot be shared between
//     cluster workers — several processes would need Redis or a database).
// The interaction pages answer by themselves (one fixed account, consent given): they run once,
// before any measurement, to leave a signed-in session with consent behind.
//
//   NODE_ENV=production node bench/oidc/provider.mjs --port 4100 --client-id bench \
//     --client-secret S --redirect-uri http://127.0.0.1:9/cb
// Prints `READY <issuer>` when listening.

import crypto from 'node:crypto';
import http from 'node:http';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const browserDir = path.resolve(here, '..', '..', 'tests', 'browser');
const require = createRequire(path.join(browserDir, 'package.json'));
const pkgDir = path.dirname(require.resolve('oidc-provider/package.json'));
const { default: Provider } = await import(pathToFileURL(path.join(pkgDir, 'lib', 'index.js')).href);
export const VERSION = require('oidc-provider/package.json').version;

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
);
const port = Number(args.port ?? 4100);
const clientId = args['client-id'] ?? 'bench';
const clientSecret = args['client-secret'] ?? crypto.randomBytes(24).toString('base64url');
const redirectUri = args['redirect-uri'] ?? 'http://127.0.0.1:9/cb';

/** Plain Map storage with expiry; one instance per model, shared maps for the indexes. */
const store = new Map(); // key -> { payload, exp (ms or Infinity) }
const grants = new Map(); // grantId -> Set of keys
const uids = new Map(); // session uid -> key
const userCodes = new Map();
const GRANTABLE = new Set(['AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest']);

function live(key) {
  const e = store.get(key);
  if (!e) return undefined;
  if (e.exp <= Date.now()) {
    store.delete(key);
    return undefined;
  }
  return e.payload;
}

class MapAdapter {
  constructor(model) {
    this.model = model;
  }
  key(id) {
    return `${this.model}:${id}`;
  }
  async upsert(id, payload, expiresIn) {
    const key = this.key(id);
    const exp = typeof expiresIn === 'number' ? Date.now() + expiresIn * 1000 : Infinity;
    store.set(key, { payload, exp });
    if (this.model === 'Session' && payload.uid) uids.set(payload.uid, key);
    if (payload.userCode) userCodes.set(payload.userCode, key);
    if (GRANTABLE.has(this.model) && payload.grantId) {
      let s = grants.get(payload.grantId);
      if (!s) grants.set(payload.grantId, (s = new Set()));
      s.add(key);
    }
  }
  async find(id) {
    return live(this.key(id));
  }
  async findByUid(uid) {
    const key = uids.get(uid);
    return key ? live(key) : undefined;
  }
  async findByUserCode(userCode) {
    const key = userCodes.get(userCode);
    return key ? live(key) : undefined;
  }
  async consume(id) {
    const p = live(this.key(id));
    if (p) p.consumed = Math.floor(Date.now() / 1000);
  }
  async destroy(id) {
    const key = this.key(id);
    const p = store.get(key)?.payload;
    store.delete(key);
    if (p?.grantId) grants.get(p.grantId)?.delete(key);
  }
  async revokeByGrantId(grantId) {
    for (const key of grants.get(grantId) ?? []) store.delete(key);
    grants.delete(grantId);
  }
}

// Sweep expired entries once a minute (what a TTL'd store does on its own).
setInterval(() => {
  const now = Date.now();
  for (const [key, e] of store) if (e.exp <= now) store.delete(key);
  for (const [g, s] of grants) {
    for (const key of s) if (!store.has(key)) s.delete(key);
    if (!s.size) grants.delete(g);
  }
  for (const m of [uids, userCodes]) for (const [k, key] of m) if (!store.has(key)) m.delete(k);
}, 60_000).unref();

const ACCOUNT = { id: 'bench-user', name: 'Nguyễn Văn Bình', given_name: 'Bình', family_name: 'Nguyễn' };
const pairwiseSecret = crypto.randomBytes(32);
const ec = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });

const server = http.createServer();
await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  adapter: MapAdapter,
  clients: [
    {
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uris: [redirectUri],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'ES256',
      subject_type: 'pairwise',
    },
  ],
  pkce: { required: () => true },
  jwks: { keys: [{ ...ec, kid: 'bench-es256', alg: 'ES256', use: 'sig' }] },
  subjectTypes: ['pairwise'],
  pairwiseIdentifier: async (ctx, accountId, client) =>
    crypto.createHmac('sha256', pairwiseSecret).update(`${client.sectorIdentifier}\0${accountId}`).digest('base64url'),
  scopes: ['openid', 'profile'],
  claims: { openid: ['sub'], profile: ['name', 'given_name', 'family_name'] },
  findAccount: async (ctx, sub) =>
    sub === ACCOUNT.id
      ? { accountId: sub, claims: async () => ({ sub, name: ACCOUNT.name, given_name: ACCOUNT.given_name, family_name: ACCOUNT.family_name }) }
      : undefined,
  ttl: {
    AuthorizationCode: Number(args['code-ttl'] ?? 60),
    AccessToken: 15 * 60,
    IdToken: 15 * 60,
    Interaction: 60 * 60,
    Session: 12 * 60 * 60,
    Grant: 14 * 24 * 60 * 60,
  },
  features: { devInteractions: { enabled: false }, userinfo: { enabled: true } },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
  clientBasedCORS: () => false,
  renderError: async (ctx, out) => {
    ctx.type = 'json';
    ctx.body = out;
  },
});

const callback = provider.callback();
server.on('request', async (req, res) => {
  const m = /^\/interaction\/([\w-]+)$/.exec(req.url.split('?')[0]);
  if (!m) return callback(req, res);
  try {
    // Sign-in and consent answer themselves (used once, before the measurements).
    const details = await provider.interactionDetails(req, res);
    if (details.prompt.name === 'login') {
      return await provider.interactionFinished(req, res, { login: { accountId: ACCOUNT.id } }, { mergeWithLastSubmission: false });
    }
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: details.session.accountId, clientId: details.params.client_id });
    const d = details.prompt.details;
    if (d.missingOIDCScope) grant.addOIDCScope(d.missingOIDCScope.join(' '));
    if (d.missingOIDCClaims) grant.addOIDCClaims(d.missingOIDCClaims);
    if (d.missingResourceScopes) for (const [ind, s] of Object.entries(d.missingResourceScopes)) grant.addResourceScope(ind, s.join(' '));
    return await provider.interactionFinished(req, res, { consent: { grantId: await grant.save() } }, { mergeWithLastSubmission: true });
  } catch (e) {
    res.writeHead(500, { 'content-type': 'text/plain' }).end(`${e.name}: ${e.message}`);
  }
});

console.log(`READY ${issuer} oidc-provider ${VERSION} node ${process.version} NODE_ENV=${process.env.NODE_ENV ?? ''}`);

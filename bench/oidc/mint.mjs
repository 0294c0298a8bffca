// Prepares the OIDC benchmark's code minting (bench/oidc/authorize.lua): a signed-in session with
// consent already given, for which `GET authorize` answers with a redirect carrying the code
// straight away. Works against Thăng Long (`--target tl`: sign in through the /signin form
// with its CSRF token, then the consent page's form) and the oidc-provider server of
// bench/oidc/provider.mjs (`--target op`: its interaction pages answer by themselves).
//
//   node mint.mjs signin --target tl|op --base URL --client-id ID --redirect-uri URI \
//        --verifier V --state FILE [--login L --password P]
//     signs in, gives consent, checks that a second authorize answers with a code at once, and
//     writes the session (cookies, endpoints) to FILE; prints TOKEN_PATH= and USERINFO_PATH=.
//   node mint.mjs token --state FILE --client-secret S
//     one code exchanged at the token endpoint (client_secret_basic, PKCE): prints the access
//     token (checks that an ID token came with it).

import crypto from 'node:crypto';
import fs from 'node:fs';

const [cmd, ...rest] = process.argv.slice(2);
const opt = {};
for (let i = 0; i < rest.length; i += 2) opt[rest[i].replace(/^--/, '')] = rest[i + 1];

const b64url = (buf) => Buffer.from(buf).toString('base64url');
const challengeOf = (v) => b64url(crypto.createHash('sha256').update(v).digest());

class Jar {
  constructor(init = {}) {
    this.c = new Map(Object.entries(init));
  }
  take(res) {
    for (const sc of res.headers.getSetCookie()) {
      const [pair, ...attrs] = sc.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const gone = value === '' || attrs.some((a) => /^\s*max-age=0\s*$/i.test(a) || /^\s*expires=.*1970/i.test(a));
      if (gone) this.c.delete(name);
      else this.c.set(name, value);
    }
  }
  header() {
    return [...this.c].map(([k, v]) => `${k}=${v}`).join('; ');
  }
  toJSON() {
    return Object.fromEntries(this.c);
  }
}

async function go(url, jar, init = {}) {
  const res = await fetch(url, { redirect: 'manual', ...init, headers: { cookie: jar.header(), ...(init.headers ?? {}) } });
  jar.take(res);
  return res;
}

function authorizeUrl(s) {
  const u = new URL(s.authorization_endpoint);
  u.search = new URLSearchParams({
    response_type: 'code',
    client_id: s.clientId,
    redirect_uri: s.redirectUri,
    scope: 'openid profile',
    state: b64url(crypto.randomBytes(12)),
    nonce: b64url(crypto.randomBytes(12)),
    code_challenge: s.challenge,
    code_challenge_method: 'S256',
  }).toString();
  return u.href;
}

/** The code in a redirect to the client, or null. */
function codeIn(res, s) {
  const loc = res.headers.get('location');
  if (!loc || !loc.startsWith(s.redirectUri)) return null;
  const u = new URL(loc);
  if (u.searchParams.get('error')) throw new Error(`authorize error: ${loc}`);
  return u.searchParams.get('code');
}

function decodeHtml(s) {
  return s
    .replace(/&#x([0-9a-f]+);/gi, (_, h) => String.fromCodePoint(parseInt(h, 16)))
    .replace(/&#(\d+);/g, (_, d) => String.fromCodePoint(Number(d)))
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

async function signin() {
  const base = opt.base.replace(/\/$/, '');
  const meta = await (await fetch(`${base}/.well-known/openid-configuration`)).json();
  const s = {
    target: opt.target,
    base,
    clientId: opt['client-id'],
    redirectUri: opt['redirect-uri'],
    verifier: opt.verifier,
    challenge: challengeOf(opt.verifier),
    authorization_endpoint: meta.authorization_endpoint,
    token_endpoint: meta.token_endpoint,
    userinfo_endpoint: meta.userinfo_endpoint,
  };
  const jar = new Jar();
  if (s.target === 'tl') {
    await go(`${base}/signin`, jar);
    const csrf = jar.c.get('tl_csrf');
    if (!csrf) throw new Error('no tl_csrf cookie from /signin');
    const r = await go(`${base}/signin`, jar, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ login: opt.login, password: opt.password, csrf }).toString(),
    });
    if (!jar.c.get('tl_session')) throw new Error(`signing in failed: ${r.status} ${r.headers.get('location')}`);
    // The consent page: post its form back with "allow".
    const page = await go(authorizeUrl(s), jar);
    let code = codeIn(page, s);
    if (!code) {
      const html = await page.text();
      const consentForm = /<form method="post" action="\/oidc\/consent"[\s\S]*?<\/form>/.exec(html)?.[0] ?? '';
      const form = new URLSearchParams();
      for (const m of consentForm.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)">/g)) form.append(decodeHtml(m[1]), decodeHtml(m[2]));
      if (!form.get('csrf')) throw new Error(`no consent form (status ${page.status}): ${html.slice(0, 400)}`);
      form.append('decision', 'allow');
      const r2 = await go(`${base}/oidc/consent`, jar, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: form.toString(),
      });
      code = codeIn(r2, s);
      if (!code) throw new Error(`consent did not redirect with a code: ${r2.status} ${r2.headers.get('location')}`);
    }
  } else {
    // oidc-provider: follow the interaction redirects (they answer by themselves).
    let url = authorizeUrl(s);
    let code = null;
    for (let i = 0; i < 12 && !code; i++) {
      const r = await go(url, jar);
      code = codeIn(r, s);
      if (code) break;
      const loc = r.headers.get('location');
      if (!loc) throw new Error(`no redirect at ${url}: ${r.status} ${await r.text()}`);
      url = new URL(loc, url).href;
    }
    if (!code) throw new Error('no code after the interactions');
  }
  s.cookies = jar.toJSON();
  // Consent is remembered: the next authorize must answer with a code at once.
  const again = await go(authorizeUrl(s), new Jar(s.cookies));
  if (!codeIn(again, s)) throw new Error(`second authorize did not redirect with a code: ${again.status} ${again.headers.get('location')}`);
  fs.writeFileSync(opt.state, JSON.stringify(s, null, 1));
  console.log(`TOKEN_PATH=${new URL(s.token_endpoint).pathname}`);
  console.log(`USERINFO_PATH=${new URL(s.userinfo_endpoint).pathname}`);
}

async function token() {
  const s = JSON.parse(fs.readFileSync(opt.state, 'utf8'));
  const r = await fetch(authorizeUrl(s), { redirect: 'manual', headers: { cookie: new Jar(s.cookies).header() } });
  const code = codeIn(r, s);
  if (!code) throw new Error(`authorize: ${r.status} ${r.headers.get('location')}`);
  const basic = Buffer.from(`${encodeURIComponent(s.clientId)}:${encodeURIComponent(opt['client-secret'])}`).toString('base64');
  const t = await fetch(s.token_endpoint, {
    method: 'POST',
    headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: s.redirectUri, code_verifier: s.verifier }).toString(),
  });
  const body = await t.json();
  if (t.status !== 200 || !body.access_token || !body.id_token) throw new Error(`token: ${t.status} ${JSON.stringify(body)}`);
  const info = await fetch(s.userinfo_endpoint, { headers: { authorization: `Bearer ${body.access_token}` } });
  const claims = await info.json();
  if (info.status !== 200 || !claims.sub || !claims.name) throw new Error(`userinfo: ${info.status} ${JSON.stringify(claims)}`);
  const [h, p] = body.id_token.split('.').slice(0, 2).map((x) => JSON.parse(Buffer.from(x, 'base64url')));
  console.error(`id_token alg=${h.alg} sub=${p.sub} aud=${p.aud}; userinfo ${JSON.stringify(claims)}; token response keys: ${Object.keys(body).join(',')}`);
  console.log(body.access_token);
}

const cmds = { signin, token };
if (!cmds[cmd]) {
  console.error('usage: node mint.mjs signin|token …');
  process.exit(2);
}
await cmds[cmd]();

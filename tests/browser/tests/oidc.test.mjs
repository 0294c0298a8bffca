// The platform as an OpenID Connect provider, verified with a real, widely used relying party:
// `openid-client` (npm) drives discovery, the authorization code flow with PKCE through a real
// browser sign-in and consent page, refresh, userinfo, revocation, introspection, client
// credentials and RP-initiated logout against the release binary — and every error case is
// refused the way the specifications say. The browser runs under the site's real CSP.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import * as client from 'openid-client';
import { CITIZEN, THANGLONG_BIN, assertAccessible, field, freePort, setup, snap, watchErrors } from './lib/harness.mjs';

let env;
let ctx;
let page;
let errors;
let rp; // where the relying party lives: a tiny HTTP server answering every request
let rpServer;
let CB;
let BYE;
let lib; // confidential web client (client_secret_basic)
let spa; // public client (PKCE, no secret)
let machine; // client_credentials
let config;
let machineConfig;
let spaConfig;

/** `thanglong oidc client add …` on the server's own database; returns { id, secret }. */
function addClient(args) {
  const cleanEnv = { ...process.env };
  for (const k of Object.keys(cleanEnv)) if (k.startsWith('THANGLONG_')) delete cleanEnv[k];
  const out = execFileSync(THANGLONG_BIN, ['oidc', 'client', 'add', '--data-dir', env.server.dataDir, ...args], {
    cwd: env.server.dataDir,
    env: cleanEnv,
    encoding: 'utf8',
  });
  const id = /client_id=(\S+)/.exec(out)?.[1];
  const secret = /client_secret=(\S+)/.exec(out)?.[1];
  assert.ok(id, `no client_id in: ${out}`);
  return { id, secret };
}

const insecure = { execute: [client.allowInsecureRequests] };

before(async () => {
  env = await setup();
  const rpPort = await freePort();
  rp = `http://127.0.0.1:${rpPort}`;
  rpServer = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
    res.end('relying party');
  });
  await new Promise((resolve) => rpServer.listen(rpPort, '127.0.0.1', resolve));
  CB = `${rp}/cb`;
  BYE = `${rp}/bye`;
  lib = addClient([
    '--name', 'Thư viện Hà Nội',
    '--redirect-uri', CB,
    '--post-logout-redirect-uri', BYE,
    '--scope', 'openid profile email thanglong:personal_id',
  ]);
  spa = addClient(['--name', 'Đặt lịch khám bệnh', '--public', '--redirect-uri', CB, '--scope', 'openid profile', '--grant', 'authorization_code']);
  machine = addClient(['--name', 'Hệ thống họp', '--scope', 'api:catalog.read', '--grant', 'client_credentials']);
  config = await client.discovery(
    new URL(env.baseURL),
    lib.id,
    { id_token_signed_response_alg: 'ES256' },
    client.ClientSecretBasic(lib.secret),
    insecure,
  );
  // Check the ID tokens' signatures against the JWKS too (not only TLS trust).
  client.enableNonRepudiationChecks(config);
  machineConfig = await client.discovery(new URL(env.baseURL), machine.id, undefined, client.ClientSecretPost(machine.secret), insecure);
  spaConfig = await client.discovery(new URL(env.baseURL), spa.id, { id_token_signed_response_alg: 'ES256' }, client.None(), insecure);
  ctx = await env.newContext();
  page = await ctx.newPage();
  errors = watchErrors(page);
});
after(async () => {
  await ctx?.close().catch(() => {});
  await env?.close();
  rpServer?.close();
});

/** Starts an authorization request in the browser; resolves with the URL the RP got back. */
async function authorize(cfg, { verifier = client.randomPKCECodeVerifier(), signIn = false, consent = false, scope = 'openid profile email thanglong:personal_id' } = {}) {
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(cfg, {
    redirect_uri: CB,
    scope,
    state,
    nonce,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  });
  const back = page.waitForRequest((r) => r.url().startsWith(CB), { timeout: 15_000 });
  await page.goto(url.href);
  if (signIn) {
    await page.waitForURL(/\/signin\?next=/);
    await page.getByLabel(field('Số định danh cá nhân, mã số thuế hoặc tên đăng nhập')).fill(CITIZEN.login);
    await page.getByLabel(field('Mật khẩu')).fill(CITIZEN.password);
    await page.locator('main').getByRole('button', { name: 'Đăng nhập', exact: true }).click();
  }
  if (consent) {
    await page.getByRole('heading', { level: 1, name: 'Cho phép ứng dụng truy cập thông tin' }).waitFor();
    await snap(page, 'oidc-consent');
    await page.getByRole('button', { name: 'Đồng ý' }).click();
  }
  const req = await back;
  // Let the navigation to the relying party finish before the next one starts.
  await page.waitForURL((u) => u.href.startsWith(CB));
  return { callback: new URL(req.url()), verifier, state, nonce };
}

async function rejects(promise, error, label) {
  await assert.rejects(promise, (e) => {
    assert.equal(e.error ?? e.cause?.error, error, `${label}: ${e.message} ${JSON.stringify(e.cause ?? {})}`);
    return true;
  }, label);
}

/** A token the provider no longer honours: 401 with a Bearer challenge (RFC 6750 §3.1). */
async function refusedBearer(promise, label) {
  await assert.rejects(promise, (e) => {
    const ok = e.status === 401 || e.cause?.status === 401 || e.error === 'invalid_token';
    assert.ok(ok, `${label}: ${e.name}: ${e.message}`);
    return true;
  }, label);
}

describe('openid-client as the relying party', () => {
  let tokens;
  let sub;
  let stale; // a code left to expire while the other tests run

  test('discovery and the JWKS describe an ES256, PKCE-only, pairwise provider', async () => {
    const m = config.serverMetadata();
    assert.equal(m.issuer, env.baseURL);
    assert.deepEqual(m.code_challenge_methods_supported, ['S256']);
    assert.deepEqual(m.id_token_signing_alg_values_supported, ['ES256']);
    assert.ok(m.end_session_endpoint && m.revocation_endpoint && m.introspection_endpoint);
    const jwks = await (await fetch(m.jwks_uri)).json();
    assert.ok(jwks.keys.length >= 1 && jwks.keys.every((k) => k.kty === 'EC' && k.crv === 'P-256' && k.alg === 'ES256' && !k.d));
  });

  test('sign-in in the browser, the consent page, and a validated ID token', async () => {
    const r = await authorize(config, { signIn: true, consent: true });
    assert.equal(r.callback.searchParams.get('iss'), env.baseURL);
    tokens = await client.authorizationCodeGrant(config, r.callback, { pkceCodeVerifier: r.verifier, expectedState: r.state, expectedNonce: r.nonce, idTokenExpected: true });
    const claims = tokens.claims();
    assert.equal(claims.aud, lib.id);
    assert.equal(claims.nonce, r.nonce);
    assert.ok(claims.sid && claims.auth_time && claims.at_hash);
    sub = claims.sub;
    assert.ok(!sub.includes(CITIZEN.login), 'the subject is pairwise, not the personal ID');
    assert.deepEqual(errors, []);
  });

  test('userinfo returns what the citizen agreed to', async () => {
    const info = await client.fetchUserInfo(config, tokens.access_token, sub);
    assert.equal(info.name, CITIZEN.name);
    assert.equal(info.personal_id, CITIZEN.login);
    assert.equal(info.account_kind, 'citizen');
  });

  test('a code is refused once expired (left to age while the other tests run)', async () => {
    // Consent is remembered now: the browser comes straight back.
    stale = await authorize(config);
    stale.at = Date.now();
  });

  test('refresh rotates; the old refresh token is refused and its reuse revokes the family', async () => {
    const r1 = tokens.refresh_token;
    const next = await client.refreshTokenGrant(config, r1);
    assert.ok(next.refresh_token && next.refresh_token !== r1);
    assert.equal(next.claims().sub, sub);
    await client.fetchUserInfo(config, next.access_token, sub);
    await rejects(client.refreshTokenGrant(config, r1), 'invalid_grant', 'the old refresh token');
    await rejects(client.refreshTokenGrant(config, next.refresh_token), 'invalid_grant', 'the family is revoked');
    await refusedBearer(client.fetchUserInfo(config, next.access_token, sub), 'userinfo');
  });

  test('a wrong PKCE verifier is refused', async () => {
    const r = await authorize(config);
    await rejects(
      client.authorizationCodeGrant(config, r.callback, { pkceCodeVerifier: client.randomPKCECodeVerifier(), expectedState: r.state, expectedNonce: r.nonce }),
      'invalid_grant',
      'wrong verifier',
    );
  });

  test('a reused code is refused and revokes the tokens it gave', async () => {
    const r = await authorize(config);
    const checks = { pkceCodeVerifier: r.verifier, expectedState: r.state, expectedNonce: r.nonce };
    const first = await client.authorizationCodeGrant(config, r.callback, checks);
    await client.fetchUserInfo(config, first.access_token, sub);
    await rejects(client.authorizationCodeGrant(config, r.callback, checks), 'invalid_grant', 'reused code');
    await refusedBearer(client.fetchUserInfo(config, first.access_token, sub), 'userinfo');
  });

  test('introspection and revocation', async () => {
    const r = await authorize(config);
    const t = await client.authorizationCodeGrant(config, r.callback, { pkceCodeVerifier: r.verifier, expectedState: r.state, expectedNonce: r.nonce });
    const live = await client.tokenIntrospection(config, t.access_token);
    assert.equal(live.active, true);
    assert.equal(live.sub, sub);
    assert.equal(live.client_id, lib.id);
    await client.tokenRevocation(config, t.access_token);
    assert.equal((await client.tokenIntrospection(config, t.access_token)).active, false);
    await refusedBearer(client.fetchUserInfo(config, t.access_token, sub), 'userinfo');
    tokens = t; // its ID token serves as the logout hint below
  });

  test('client credentials for a machine client, within its scopes', async () => {
    const t = await client.clientCredentialsGrant(machineConfig, { scope: 'api:catalog.read' });
    assert.equal(t.scope, 'api:catalog.read');
    assert.equal(t.id_token, undefined);
    const i = await client.tokenIntrospection(machineConfig, t.access_token);
    assert.equal(i.active, true);
    // The JSON API takes the token: the catalogue reads; acting as an account needs a scope this
    // client was not given (403 insufficient_scope, with the RFC 6750 challenge).
    const auth = { authorization: `Bearer ${t.access_token}` };
    const list = await fetch(`${env.baseURL}/api/v1/procedures?q=khai%20sinh`, { headers: auth });
    assert.equal(list.status, 200);
    assert.ok((await list.json()).items.some((p) => p.code === '1.001193'));
    const me = await fetch(`${env.baseURL}/api/v1/me`, { headers: auth });
    assert.equal(me.status, 403);
    assert.match(me.headers.get('www-authenticate'), /error="insufficient_scope", scope="api:account.read"/);
    assert.equal((await me.json()).code, 'insufficient_scope');
    const forged = await fetch(`${env.baseURL}/api/v1/procedures`, { headers: { authorization: `Bearer ${t.access_token}x` } });
    assert.equal(forged.status, 401);
    await rejects(client.clientCredentialsGrant(machineConfig, { scope: 'openid profile' }), 'invalid_scope', 'user scopes');
  });

  test('a public client must use PKCE and gets another subject', async () => {
    const r = await authorize(spaConfig, { consent: true, scope: 'openid profile' });
    const t = await client.authorizationCodeGrant(spaConfig, r.callback, { pkceCodeVerifier: r.verifier, expectedState: r.state, expectedNonce: r.nonce });
    assert.notEqual(t.claims().sub, sub, 'two clients cannot correlate the citizen');
    const url = client.buildAuthorizationUrl(spaConfig, { redirect_uri: CB, scope: 'openid', state: 'no-pkce' });
    const back = page.waitForRequest((q) => q.url().startsWith(CB));
    await page.goto(url.href);
    const cb = new URL((await back).url());
    await page.waitForURL((u) => u.href.startsWith(CB));
    assert.equal(cb.searchParams.get('error'), 'invalid_request');
    assert.equal(cb.searchParams.get('state'), 'no-pkce');
  });

  test('a wrong redirect URI is shown on our page and never redirected', async () => {
    const url = client.buildAuthorizationUrl(config, { redirect_uri: `${rp}/evil`, scope: 'openid', state: 's' });
    const res = await page.goto(url.href);
    assert.equal(res.status(), 400);
    assert.ok(page.url().startsWith(env.baseURL), page.url());
    await page.getByText('không khớp với địa chỉ đã đăng ký').waitFor();
    await snap(page, 'oidc-wrong-redirect');
  });

  test('the expired code is refused', async () => {
    const wait = stale.at + 61_000 - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    await rejects(
      client.authorizationCodeGrant(config, stale.callback, { pkceCodeVerifier: stale.verifier, expectedState: stale.state, expectedNonce: stale.nonce }),
      'invalid_grant',
      'expired code',
    );
  });

  test('RP-initiated logout ends the platform session and returns with the state', async () => {
    const url = client.buildEndSessionUrl(config, { id_token_hint: tokens.id_token, post_logout_redirect_uri: BYE, state: 'bye-1' });
    const back = page.waitForRequest((q) => q.url().startsWith(BYE));
    await page.goto(url.href);
    const cb = new URL((await back).url());
    await page.waitForURL((u) => u.href.startsWith(BYE));
    assert.equal(cb.searchParams.get('state'), 'bye-1');
    // Signed out: the next authorization request goes to the sign-in page.
    const again = client.buildAuthorizationUrl(config, { redirect_uri: CB, scope: 'openid', state: 's', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' });
    await page.goto(again.href);
    await page.waitForURL(/\/signin\?next=/);
    // Signing in again goes back to the client at once (consent is remembered), through a page
    // that follows on by itself: the sign-in form's CSP would stop a redirect chain.
    const returned = page.waitForRequest((q) => q.url().startsWith(CB));
    await page.getByLabel(field('Số định danh cá nhân, mã số thuế hoặc tên đăng nhập')).fill(CITIZEN.login);
    await page.getByLabel(field('Mật khẩu')).fill(CITIZEN.password);
    await page.locator('main').getByRole('button', { name: 'Đăng nhập', exact: true }).click();
    assert.ok(new URL((await returned).url()).searchParams.get('code'));
    await page.waitForURL((u) => u.href.startsWith(CB));
    // Signed out again for the next check.
    const bye2 = page.waitForRequest((q) => q.url().startsWith(BYE));
    await page.goto(client.buildEndSessionUrl(config, { id_token_hint: tokens.id_token, post_logout_redirect_uri: BYE }).href);
    // The hint's session has ended, so this one is confirmed by the person.
    await page.locator('main').getByRole('button', { name: 'Đăng xuất', exact: true }).click();
    await bye2;
    await page.waitForURL((u) => u.href.startsWith(BYE));
    // An unregistered post-logout address is refused on our page.
    const evil = client.buildEndSessionUrl(config, { id_token_hint: tokens.id_token, post_logout_redirect_uri: `${rp}/evil` });
    const res = await page.goto(evil.href);
    assert.equal(res.status(), 400);
    assert.ok(page.url().startsWith(env.baseURL));
  });

  test('the consent page passes axe', async (t) => {
    const axeCtx = await env.newContext({ bypassCSP: true });
    const p = await axeCtx.newPage();
    try {
      const url = client.buildAuthorizationUrl(config, {
        redirect_uri: CB,
        scope: 'openid profile email thanglong:personal_id',
        state: 's',
        code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
        code_challenge_method: 'S256',
        prompt: 'consent',
      });
      await p.goto(url.href);
      await p.getByLabel(field('Số định danh cá nhân, mã số thuế hoặc tên đăng nhập')).fill(CITIZEN.login);
      await p.getByLabel(field('Mật khẩu')).fill(CITIZEN.password);
      await p.locator('main').getByRole('button', { name: 'Đăng nhập', exact: true }).click();
      await p.getByRole('heading', { level: 1, name: 'Cho phép ứng dụng truy cập thông tin' }).waitFor();
      await assertAccessible(t, p, 'consent page');
    } finally {
      await axeCtx.close();
    }
  });
});

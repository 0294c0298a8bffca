// A stand-in for the national identity provider (VNeID), which cannot be reached from here: a
// real OpenID Connect provider (the `oidc-provider` package, OpenID Certified) with a client for
// Thăng Long (confidential, PKCE S256 required, exact redirect URI), ES256-signed ID tokens,
// and citizens whose claims look like the national IdP's: `sub`, `name`, `birthdate`, the
// 12-digit personal ID number in `cccd`, `phone_number`. Its login and consent pages are plain
// HTML forms the browser test fills in.
//
// As a library: `const idp = await startStandin({ redirectUris: [...] })` → { issuer, close() }.
// For a demo:   node tests/lib/vneid-standin.mjs --port 4000 --redirect-uri http://127.0.0.1:8080/signin/with/vneid/callback
// then run thanglong with THANGLONG_VNEID_CLIENT_SECRET=standin-secret and the configuration
// printed at start.

import crypto from 'node:crypto';
import http from 'node:http';
import { pathToFileURL } from 'node:url';
import Provider, { errors } from 'oidc-provider';

export const CLIENT_ID = 'thanglong';
export const CLIENT_SECRET = 'standin-secret';
/** Every stand-in citizen's password. */
export const PASSWORD = 'VNeID demo 2026';

/**
 * Citizens of the stand-in, keyed by their personal ID number (VNeID's user name). The `sub`
 * is deliberately not the number: a relying party must key links on `sub`.
 */
export const CITIZENS = {
  // The demo citizen of `thanglong demo` (signs in with a password there too): linked, not duplicated.
  '001203012345': { sub: 'vneid-5b1c0e', name: 'Nguyễn Văn An', birthdate: '2003-04-15', phone_number: '+84912345678' },
  // Nobody on the portal yet: the first sign-in creates the account.
  '079198001234': { sub: 'vneid-9a7f21', name: 'Trần Thị Mai', birthdate: '1998-05-12', phone_number: '+84987654321', email: 'mai.tran@example.vn' },
  // Signs up at the portal first (browser test), then uses VNeID: linked by the number.
  '036088001122': { sub: 'vneid-4d2e88', name: 'Lê Văn Hùng', birthdate: '1988-03-04', phone_number: '+84903111222' },
  // A number that fails the portal's checks (003 is no province code): refused with a message.
  '003095001234': { sub: 'vneid-000bad', name: 'Phạm Văn Sai', birthdate: '1995-01-01' },
};

function page(title, body) {
  return `<!doctype html><html lang="vi"><head><meta charset="utf-8"><title>${title} — VNeID (giả lập)</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font-family:sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem}label{display:block;margin:.75rem 0 .25rem}
input{font-size:1rem;padding:.4rem;width:100%;box-sizing:border-box}button{font-size:1rem;padding:.5rem 1rem;margin:1rem .5rem 0 0}
.error{color:#a00}</style></head><body><main><p>Hệ thống định danh điện tử VNeID — <strong>bản giả lập để kiểm thử</strong></p>${body}</main></body></html>`;
}

const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);

async function readForm(req) {
  let body = '';
  for await (const chunk of req) {
    body += chunk;
    if (body.length > 10_000) break;
  }
  return new URLSearchParams(body);
}

/**
 * Starts the stand-in on 127.0.0.1:`port` (0: any free port).
 * @param {{ port?: number, redirectUris: string[], citizens?: object }} opts
 */
export async function startStandin({ port = 0, redirectUris, citizens = CITIZENS }) {
  const bySub = new Map(Object.entries(citizens).map(([cccd, c]) => [c.sub, { cccd, ...c }]));
  const ec = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
  const rsa = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });

  const server = http.createServer();
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${server.address().port}`;

  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
        redirect_uris: redirectUris,
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
        id_token_signed_response_alg: 'ES256',
      },
    ],
    // RFC 7636: every authorization request must carry an S256 code challenge.
    pkce: { required: () => true },
    jwks: { keys: [{ ...ec, kid: 'standin-es256', alg: 'ES256', use: 'sig' }, { ...rsa, kid: 'standin-rs256', alg: 'RS256', use: 'sig' }] },
    scopes: ['openid', 'profile', 'phone', 'email', 'cccd'],
    // The personal ID number is released with `profile` (as the national IdP does for
    // relying parties allowed to read it) and with its own `cccd` scope.
    claims: {
      openid: ['sub'],
      profile: ['name', 'birthdate', 'cccd'],
      cccd: ['cccd'],
      phone: ['phone_number', 'phone_number_verified'],
      email: ['email', 'email_verified'],
    },
    findAccount: async (ctx, sub) => {
      const c = bySub.get(sub);
      if (!c) return undefined;
      return {
        accountId: sub,
        claims: async () => ({
          sub,
          name: c.name,
          birthdate: c.birthdate,
          cccd: c.cccd,
          phone_number: c.phone_number,
          phone_number_verified: Boolean(c.phone_number),
          email: c.email,
          email_verified: Boolean(c.email),
        }),
      };
    },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    features: { devInteractions: { enabled: false }, userinfo: { enabled: true } },
    cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
    renderError: async (ctx, out) => {
      ctx.type = 'html';
      ctx.body = page('Lỗi', `<h1>Lỗi</h1><pre>${esc(JSON.stringify(out, null, 2))}</pre>`);
    },
  });

  const callback = provider.callback();
  server.on('request', async (req, res) => {
    const m = /^\/interaction\/([\w-]+)(\/(login|confirm|abort))?$/.exec(req.url.split('?')[0]);
    if (!m) return callback(req, res);
    try {
      const details = await provider.interactionDetails(req, res);
      const { uid, prompt, params } = details;
      const action = m[3];
      const html = (status, title, body) => {
        res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' });
        res.end(page(title, body));
      };
      if (req.method === 'GET' && !action) {
        if (prompt.name === 'login') {
          return html(200, 'Đăng nhập', loginForm(uid));
        }
        return html(200, 'Chia sẻ thông tin', consentForm(uid, params));
      }
      if (req.method === 'POST' && action === 'login') {
        const form = await readForm(req);
        const cccd = (form.get('username') || '').replace(/\D/g, '');
        const c = citizens[cccd];
        if (!c || form.get('password') !== PASSWORD) {
          return html(400, 'Đăng nhập', loginForm(uid, 'Số định danh cá nhân hoặc mật khẩu không đúng.'));
        }
        return provider.interactionFinished(req, res, { login: { accountId: c.sub } }, { mergeWithLastSubmission: false });
      }
      if (req.method === 'POST' && action === 'confirm') {
        const { session, grantId } = details;
        const grant = grantId ? await provider.Grant.find(grantId) : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
        const d = prompt.details;
        if (d.missingOIDCScope) grant.addOIDCScope(d.missingOIDCScope.join(' '));
        if (d.missingOIDCClaims) grant.addOIDCClaims(d.missingOIDCClaims);
        if (d.missingResourceScopes) for (const [ind, s] of Object.entries(d.missingResourceScopes)) grant.addResourceScope(ind, s.join(' '));
        return provider.interactionFinished(req, res, { consent: { grantId: await grant.save() } }, { mergeWithLastSubmission: true });
      }
      if (req.method === 'POST' && action === 'abort') {
        // The person declined: RFC 6749 §4.1.2.1 `access_denied` goes back to the client.
        return provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'Người dùng từ chối' }, { mergeWithLastSubmission: false });
      }
      res.writeHead(405).end();
    } catch (e) {
      const status = e instanceof errors.SessionNotFound ? 400 : 500;
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' }).end(`${e.name}: ${e.message}`);
    }
  });

  return {
    issuer,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

function loginForm(uid, error) {
  return `<h1>Đăng nhập tài khoản định danh điện tử</h1>
${error ? `<p class="error" role="alert">${esc(error)}</p>` : ''}
<form method="post" action="/interaction/${uid}/login">
<label for="username">Số định danh cá nhân</label><input id="username" name="username" inputmode="numeric" autocomplete="username" required>
<label for="password">Mật khẩu</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Đăng nhập</button></form>
<form method="post" action="/interaction/${uid}/abort"><button type="submit">Hủy</button></form>`;
}

function consentForm(uid, params) {
  return `<h1>Chia sẻ thông tin định danh</h1>
<p>Ứng dụng <strong>${esc(params.client_id)}</strong> đề nghị được nhận: ${esc(params.scope)}.</p>
<form method="post" action="/interaction/${uid}/confirm"><button type="submit">Đồng ý</button></form>
<form method="post" action="/interaction/${uid}/abort"><button type="submit">Từ chối</button></form>`;
}

// node tests/lib/vneid-standin.mjs --port 4000 --redirect-uri URL [--redirect-uri URL…]
if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  let port = 4000;
  const redirectUris = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--port') port = Number(args[++i]);
    else if (args[i] === '--redirect-uri') redirectUris.push(args[++i]);
    else {
      console.error(`unknown argument ${args[i]}`);
      process.exit(2);
    }
  }
  if (!redirectUris.length) redirectUris.push('http://127.0.0.1:8080/signin/with/vneid/callback');
  const { issuer } = await startStandin({ port, redirectUris });
  console.log(`VNeID stand-in at ${issuer} (client_id "${CLIENT_ID}", secret "${CLIENT_SECRET}", redirect ${redirectUris.join(', ')})`);
  console.log(`Citizens (password "${PASSWORD}"):`);
  for (const [cccd, c] of Object.entries(CITIZENS)) console.log(`  ${cccd}  ${c.name}`);
  console.log(`\nthanglong configuration (and THANGLONG_VNEID_CLIENT_SECRET=${CLIENT_SECRET}):\n
[[identity_providers]]
id = "vneid"
name_vi = "tài khoản định danh điện tử VNeID"
name_en = "the VNeID electronic identity account"
issuer = "${issuer}"
client_id = "${CLIENT_ID}"
client_secret_env = "THANGLONG_VNEID_CLIENT_SECRET"
scopes = ["openid", "profile", "phone", "email"]
[identity_providers.claims]
personal_id = "cccd"`);
}

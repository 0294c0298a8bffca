// Sign-in with the national identity provider (VNeID), in a real browser against a real
// OpenID Connect provider: the `oidc-provider` stand-in (lib/vneid-standin.mjs) plays VNeID,
// the release binary is configured with it and talks to it through its production code path.
// Each person gets a fresh browser context (their own cookies at both sites).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { assertAccessible, clickAndWait, field, freePort, setup, snap, visit, watchErrors } from './lib/harness.mjs';
import { CLIENT_ID, CLIENT_SECRET, PASSWORD, startStandin } from './lib/vneid-standin.mjs';

const BUTTON = 'Đăng nhập bằng tài khoản định danh điện tử VNeID';
const MAI = { cccd: '079198001234', name: 'Trần Thị Mai' };
const HUNG = { cccd: '036088001122', name: 'Lê Văn Hùng', birthDate: '04/03/1988', password: 'Sông Hồng mùa nước nổi' };
const SAI = { cccd: '003095001234' };

let idp;
let env;
before(async () => {
  const port = await freePort();
  idp = await startStandin({ redirectUris: [`http://127.0.0.1:${port}/signin/with/vneid/callback`] });
  env = await setup({
    port,
    env: { THANGLONG_VNEID_CLIENT_SECRET: CLIENT_SECRET },
    config: `
[[identity_providers]]
id = "vneid"
name_vi = "tài khoản định danh điện tử VNeID"
name_en = "the VNeID electronic identity account"
issuer = "${idp.issuer}"
client_id = "${CLIENT_ID}"
client_secret_env = "THANGLONG_VNEID_CLIENT_SECRET"
scopes = ["openid", "profile", "phone", "email"]
[identity_providers.claims]
personal_id = "cccd"
`,
  });
});
after(async () => {
  await env?.close();
  await idp?.close();
});

const onStandin = (u) => u.origin === idp.issuer;
const onPortal = (path) => (u) => u.origin === env.baseURL && u.pathname === path;

/** At the stand-in: signs in with the personal ID number, then answers the consent page. */
async function atVneid(page, cccd, { consent = true } = {}) {
  await page.getByLabel('Số định danh cá nhân').fill(cccd);
  await page.getByLabel('Mật khẩu').fill(PASSWORD);
  await clickAndWait(page, page.getByRole('button', { name: 'Đăng nhập', exact: true }), onStandin);
  await page.getByRole('button', { name: consent ? 'Đồng ý' : 'Từ chối', exact: true }).click();
}

async function startAtPortal(page, path = '/signin') {
  await visit(page, path);
  await clickAndWait(page, page.getByRole('link', { name: BUTTON }), onStandin);
}

const main = (page) => page.locator('main');

describe('sign-in with VNeID', () => {
  test('first sign-in creates the citizen account; the next one finds it', async (t) => {
    // bypassCSP only so axe can be injected; the CSP itself is exercised by the other contexts.
    const ctx = await env.newContext({ bypassCSP: true });
    const page = await ctx.newPage();
    await visit(page, '/signin');
    assert.ok(await page.getByRole('link', { name: BUTTON }).isVisible(), 'the VNeID button is on /signin');
    await assertAccessible(t, page, '/signin with the VNeID button');
    await snap(page, 'vneid-signin-desktop');
    await visit(page, '/signup');
    assert.ok(await page.getByRole('link', { name: BUTTON }).isVisible(), 'and on /signup');
    await assertAccessible(t, page, '/signup with the VNeID button');

    await startAtPortal(page);
    await atVneid(page, MAI.cccd);
    await page.waitForURL(onPortal('/account'), { waitUntil: 'load' });
    assert.ok(await main(page).getByText(MAI.name, { exact: true }).isVisible(), 'signed in as the new citizen');
    assert.ok(await main(page).getByText(MAI.cccd, { exact: true }).isVisible(), 'whose login is the verified number');
    assert.match(await main(page).innerText(), /Đã xác thực qua tài khoản định danh điện tử VNeID/, 'verified with VNeID');
    await assertAccessible(t, page, '/account after VNeID sign-in');
    await snap(page, 'vneid-account-desktop');

    // Signed out, again: VNeID remembers the person, the portal finds the same account.
    await clickAndWait(page, page.getByRole('button', { name: 'Đăng xuất', exact: true }), onPortal('/'));
    await visit(page, '/signin');
    await Promise.all([page.waitForURL(onPortal('/account'), { waitUntil: 'load' }), page.getByRole('link', { name: BUTTON }).click()]);
    assert.ok(await main(page).getByText(MAI.cccd, { exact: true }).isVisible(), 'the same account');
    assert.equal((await main(page).getByText(/Đã xác thực qua/).count()), 1, 'one link, not two');
    await ctx.close();
  });

  test('a citizen who signed up with a password is linked, not duplicated (JavaScript off)', async () => {
    const ctx = await env.newContext({ javaScriptEnabled: false });
    const page = await ctx.newPage();
    const errors = watchErrors(page);
    await visit(page, '/signup');
    await page.getByLabel(field('Số định danh cá nhân')).fill(HUNG.cccd);
    await page.getByLabel(field('Ngày sinh')).fill(HUNG.birthDate);
    await page.getByLabel(field('Họ và tên (hoặc tên doanh nghiệp)')).fill(HUNG.name);
    await page.getByLabel(field('Mật khẩu')).fill(HUNG.password);
    await page.getByLabel(field('Nhập lại mật khẩu')).fill(HUNG.password);
    await clickAndWait(page, main(page).getByRole('button', { name: 'Đăng ký', exact: true }), onPortal('/account'));
    assert.doesNotMatch(await main(page).innerText(), /Đã xác thực qua/, 'not verified yet');
    await clickAndWait(page, page.getByRole('button', { name: 'Đăng xuất', exact: true }), onPortal('/'));

    await startAtPortal(page);
    await atVneid(page, HUNG.cccd);
    await page.waitForURL(onPortal('/account'), { waitUntil: 'load' });
    assert.ok(await main(page).getByText(HUNG.name, { exact: true }).isVisible(), 'the account made at sign-up');
    assert.match(await main(page).innerText(), /Đã xác thực qua tài khoản định danh điện tử VNeID/, 'now verified with VNeID');

    // The password still opens the same account.
    await clickAndWait(page, page.getByRole('button', { name: 'Đăng xuất', exact: true }), onPortal('/'));
    await visit(page, '/signin');
    await page.getByLabel(field('Số định danh cá nhân, mã số thuế hoặc tên đăng nhập')).fill(HUNG.cccd);
    await page.getByLabel(field('Mật khẩu')).fill(HUNG.password);
    await clickAndWait(page, main(page).getByRole('button', { name: 'Đăng nhập', exact: true }), onPortal('/account'));
    assert.match(await main(page).innerText(), /Đã xác thực qua tài khoản định danh điện tử VNeID/, 'one account, verified');
    assert.deepEqual(errors.splice(0), [], 'no errors in the browser console');
    await ctx.close();
  });

  test('a tampered state and a replayed callback are refused with a clear page', async (t) => {
    const ctx = await env.newContext({ bypassCSP: true });
    const page = await ctx.newPage();
    // The state changed in transit (RFC 6749 §10.12): the sign-in link's redirect to VNeID
    // is altered, so VNeID answers with a genuine code and a state that is not ours.
    const start = (u) => u.pathname === '/signin/with/vneid';
    await page.route(start, async (route) => {
      const response = await route.fetch({ maxRedirects: 0 });
      const location = response.headers().location.replace(/([?&]state=)([^&]+)/, (_, k, v) => `${k}${v.slice(0, -2)}xx`);
      await route.fulfill({ response, headers: { ...response.headers(), location } });
    });
    await startAtPortal(page);
    await page.unroute(start);
    await atVneid(page, MAI.cccd);
    await page.waitForURL((u) => u.origin === env.baseURL, { waitUntil: 'load' });
    assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), 'Phiên đăng nhập không hợp lệ hoặc đã hết hạn');
    assert.match(await main(page).innerText(), /Không có thay đổi nào được thực hiện/);
    assert.equal(await page.locator('header').getByRole('link', { name: 'Đăng nhập', exact: true }).count(), 1, 'still signed out');
    await assertAccessible(t, page, 'refused sign-in page');
    await snap(page, 'vneid-refused-desktop');

    // A sign-in that succeeds (VNeID remembers the person and the consent), then its callback
    // replayed: refused, and the session it opened is untouched.
    const seen = [];
    page.on('request', (r) => {
      if (r.url().includes('/signin/with/vneid/callback')) seen.push(r.url());
    });
    await visit(page, '/signin');
    await Promise.all([page.waitForURL(onPortal('/account'), { waitUntil: 'load' }), page.getByRole('link', { name: BUTTON }).click()]);
    assert.ok(await main(page).getByText(MAI.name, { exact: true }).isVisible(), 'signed in');
    assert.equal(seen.length, 1, 'one trip through the callback');
    await visit(page, seen[0], 400);
    assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), 'Phiên đăng nhập không hợp lệ hoặc đã hết hạn');
    await visit(page, '/account');
    assert.ok(await main(page).getByText(MAI.name, { exact: true }).isVisible(), 'still signed in');
    await ctx.close();
  });

  test('declining at VNeID, and a personal ID number that fails our checks, are explained', async (t) => {
    const ctx = await env.newContext({ bypassCSP: true });
    const page = await ctx.newPage();
    await startAtPortal(page);
    await atVneid(page, SAI.cccd, { consent: false });
    await page.waitForURL((u) => u.origin === env.baseURL, { waitUntil: 'load' });
    assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), 'Bạn đã hủy đăng nhập');
    assert.ok(await page.getByRole('link', { name: 'Đăng nhập bằng mật khẩu' }).isVisible(), 'a way forward');

    // Again, consenting: the number is refused, with the reason.
    await Promise.all([page.waitForURL(onStandin), page.getByRole('link', { name: BUTTON }).click()]);
    await page.getByRole('button', { name: 'Đồng ý', exact: true }).click();
    await page.waitForURL((u) => u.origin === env.baseURL, { waitUntil: 'load' });
    assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), 'Không thể đăng nhập bằng tài khoản định danh này');
    assert.match(await main(page).innerText(), /Ba chữ số đầu của số định danh cá nhân không phải mã tỉnh hợp lệ/);
    await assertAccessible(t, page, 'refused identity page');
    await snap(page, 'vneid-invalid-id-desktop');

    // In English too.
    await visit(page, '/lang/en');
    await visit(page, '/signin');
    assert.ok(await page.getByRole('link', { name: 'Sign in with the VNeID electronic identity account' }).isVisible());
    await ctx.close();
  });
});

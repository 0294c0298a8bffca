// Officers' second factor in a real browser: an administrator requires it for the ward
// (H26.31); the ward's specialist, at the next sign-in, scans nothing but reads the key off the
// set-up page, computes codes with an authenticator written here from RFC 6238 (independent of
// the server's), saves the recovery codes, signs in again with a code, then ends the other
// browser's session from the security page. Phone-sized, without JavaScript, axe on each page.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { ADMIN, PHONE, SPECIALIST, assertAccessible, assertNoHorizontalOverflow, clickAndWait, field, setup, snap, visit, watchErrors } from './lib/harness.mjs';

/** RFC 4648 base32 → bytes. */
function base32(s) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of s.replace(/[\s=]/g, '').toUpperCase()) {
    const v = alphabet.indexOf(c);
    assert.ok(v >= 0, `not base32: ${c}`);
    bits += v.toString(2).padStart(5, '0');
  }
  const out = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) out.push(parseInt(bits.slice(i, i + 8), 2));
  return Buffer.from(out);
}

/** What an authenticator app shows at step `step` (RFC 6238 over RFC 4226, SHA-1, 6 digits). */
function totp(secret, step) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const h = crypto.createHmac('sha1', secret).update(counter).digest();
  const o = h[19] & 0x0f;
  const bin = ((h[o] & 0x7f) << 24) | (h[o + 1] << 16) | (h[o + 2] << 8) | h[o + 3];
  return String(bin % 1_000_000).padStart(6, '0');
}
const stepNow = () => Math.floor(Date.now() / 1000 / 30);

let env;
let admin;
let phone;
let laptop;
let phonePage;
let errors;
before(async () => {
  env = await setup();
  admin = await env.newContext();
  // No JavaScript on the phone: every step is a plain form.
  phone = await env.newContext({ viewport: PHONE, javaScriptEnabled: false, userAgent: 'Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Mobile Safari/537.36' });
  laptop = await env.newContext();
  phonePage = await phone.newPage();
  errors = watchErrors(phonePage);
});
after(async () => {
  for (const c of [admin, phone, laptop]) await c?.close().catch(() => {});
  await env?.close();
});

async function signIn(page, { login, password }) {
  await visit(page, '/signin');
  await page.getByLabel(field('Số định danh cá nhân, mã số thuế hoặc tên đăng nhập')).fill(login);
  await page.getByLabel(field('Mật khẩu')).fill(password);
  await clickAndWait(page, page.locator('main').getByRole('button', { name: 'Đăng nhập', exact: true }), (u) => !u.pathname.endsWith('/signin') || u.search !== '');
}

let secret;
let used;

describe('two-step verification for officers', () => {
  test('the specialist signs in with a password while the ward does not require it', async (t) => {
    await signIn(phonePage, SPECIALIST);
    assert.equal(new URL(phonePage.url()).pathname, '/account');
    await visit(phonePage, '/account/security');
    await assertAccessible(t, phonePage, 'security page');
    assert.match(await phonePage.locator('main').innerText(), /Chưa bật/);
  });

  test('an administrator requires it for the ward; the specialist is signed out', async (t) => {
    const page = await admin.newPage();
    await signIn(page, ADMIN);
    await visit(page, '/admin/agencies/H26.31/edit');
    await assertAccessible(t, page, 'agency form with the requirement');
    await page.getByLabel('Bắt buộc cán bộ của cơ quan này (và các đơn vị trực thuộc) đăng nhập bằng xác thực hai lớp').check();
    await clickAndWait(page, page.getByRole('button', { name: 'Lưu yêu cầu' }), (u) => u.search.includes('saved'));
    assert.equal(await page.locator('#mfa-required').isChecked(), true);
    await visit(phonePage, '/account');
    assert.equal(new URL(phonePage.url()).pathname, '/signin', 'the phone is back at the sign-in page');
  });

  test('at the next sign-in the specialist sets up an authenticator and keeps the recovery codes', async (t) => {
    await signIn(phonePage, SPECIALIST);
    assert.equal(new URL(phonePage.url()).pathname, '/signin/enrol');
    const main = phonePage.locator('main');
    assert.match(await main.innerText(), /Cơ quan của bạn yêu cầu/);
    assert.equal(await phonePage.getByRole('img', { name: 'Mã QR để quét bằng ứng dụng xác thực' }).count(), 1);
    await assertAccessible(t, phonePage, 'set-up page');
    await assertNoHorizontalOverflow(phonePage, 'set-up page');
    await snap(phonePage, 'totp-setup-phone');
    secret = base32(await phonePage.locator('code.secret').innerText());
    assert.equal(secret.length, 20);

    // A wrong code first: the page says so beside the field.
    await phonePage.getByLabel(field('Mã 6 chữ số')).fill('12345');
    await clickAndWait(phonePage, phonePage.getByRole('button', { name: 'Xác nhận và bật' }), () => true);
    assert.match(await main.innerText(), /Vui lòng nhập 6 chữ số/);
    used = stepNow();
    await phonePage.getByLabel(field('Mã 6 chữ số')).fill(totp(secret, used));
    await clickAndWait(phonePage, phonePage.getByRole('button', { name: 'Xác nhận và bật' }), () => true);
    assert.match(await main.innerText(), /Đã bật xác thực hai lớp/);
    const codes = await phonePage.locator('ul.recovery-codes code').allInnerTexts();
    assert.equal(codes.length, 10);
    for (const c of codes) assert.match(c, /^[a-z2-7]{5}-[a-z2-7]{5}$/);
    await assertAccessible(t, phonePage, 'recovery codes');
    await clickAndWait(phonePage, phonePage.getByRole('link', { name: 'Tôi đã lưu các mã, tiếp tục' }), (u) => u.pathname === '/account');
    assert.match(await main.innerText(), new RegExp(SPECIALIST.name));
  });

  test('on another computer the password alone is not enough; the next code is', async (t) => {
    const page = await laptop.newPage();
    await signIn(page, SPECIALIST);
    assert.equal(new URL(page.url()).pathname, '/signin/second-factor');
    await assertAccessible(t, page, 'second-factor page');
    await visit(page, '/dossiers');
    assert.equal(new URL(page.url()).pathname, '/signin', 'nothing opens half-way');
    await signIn(page, SPECIALIST);
    // The code typed at set-up was spent; the app's next one works.
    await page.getByLabel(field('Mã xác thực')).fill(totp(secret, used));
    await clickAndWait(page, page.getByRole('button', { name: 'Xác nhận' }), () => true);
    assert.match(await page.locator('main').innerText(), /vừa được dùng/);
    await page.getByLabel(field('Mã xác thực')).fill(totp(secret, used + 1));
    await clickAndWait(page, page.getByRole('button', { name: 'Xác nhận' }), (u) => u.pathname === '/account');
    assert.match(await page.locator('main').innerText(), new RegExp(SPECIALIST.name));
  });

  test('from the phone the specialist sees both sessions and signs the laptop out', async (t) => {
    await visit(phonePage, '/account/security');
    const text = await phonePage.locator('main').innerText();
    assert.match(text, /Đang bật/);
    assert.match(text, /Chrome trên Android/);
    assert.match(text, /phiên này/);
    assert.equal(await phonePage.locator('main table tbody tr').count(), 2);
    await assertAccessible(t, phonePage, 'security page with two sessions');
    await assertNoHorizontalOverflow(phonePage, 'security page');
    await snap(phonePage, 'security-phone');
    await clickAndWait(phonePage, phonePage.getByRole('button', { name: 'Đăng xuất tất cả phiên khác' }), (u) => u.search.includes('done=others'));
    assert.equal(await phonePage.locator('main table tbody tr').count(), 1);
    const page = await laptop.newPage();
    await visit(page, '/account');
    assert.equal(new URL(page.url()).pathname, '/signin', 'the laptop is signed out');
    assert.deepEqual(errors, []);
  });
});

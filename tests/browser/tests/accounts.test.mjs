// Accounts: sign up (with a validation error first), sign out, sign in (wrong password, then
// right), and the admin pages. Runs under the site's real Content-Security-Policy.
// The tests in this file run in order and share one browser context (one visitor).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ADMIN, clickAndWait, setup, snap, visit, watchErrors, field } from './lib/harness.mjs';

const HOA = {
  personalId: '001303012345', // Hà Nội (001), woman born in the 21st century (3), 2003 (03)
  name: 'Lê Thị Hoa',
  birthDate: '01/02/2003',
  password: 'Hoa sen nở giữa hồ',
};

let env;
let ctx;
let page;
let errors;
before(async () => {
  env = await setup();
  ctx = await env.newContext();
  page = await ctx.newPage();
  errors = watchErrors(page);
});
after(async () => {
  await ctx?.close().catch(() => {});
  await env?.close();
});

/** Waits for a form POST that re-renders the same URL (e.g. with errors) to finish loading. */
async function submitAndWaitFor(button, locatorThatAppears) {
  await button.click();
  await locatorThatAppears.waitFor({ state: 'visible' });
  await page.waitForLoadState('load');
}

async function fillSignup({ personalId, name, birthDate, password }) {
  await page.getByLabel(field('Số định danh cá nhân')).fill(personalId);
  await page.getByLabel(field('Ngày sinh')).fill(birthDate);
  await page.getByLabel(field('Họ và tên (hoặc tên doanh nghiệp)')).fill(name);
  await page.getByLabel(field('Mật khẩu')).fill(password);
  await page.getByLabel(field('Nhập lại mật khẩu')).fill(password);
}

async function signIn(login, password) {
  await page.getByLabel(field('Số định danh cá nhân, mã số thuế hoặc tên đăng nhập')).fill(login);
  await page.getByLabel(field('Mật khẩu')).fill(password);
}

const main = () => page.locator('main');
const signinButton = () => main().getByRole('button', { name: 'Đăng nhập', exact: true });

describe('citizen account', () => {
  test('sign-up shows an error summary for an 11-digit ID, then creates the account', async () => {
    await visit(page, '/signup');
    assert.equal(await page.getByRole('heading', { level: 1 }).textContent().then((s) => s.trim()), 'Đăng ký tài khoản');
    await snap(page, 'signup-desktop');

    // Wrong: 11 digits.
    await fillSignup({ ...HOA, personalId: HOA.personalId.slice(0, 11) });
    const summary = page.locator('.error-summary');
    await submitAndWaitFor(main().getByRole('button', { name: 'Đăng ký', exact: true }), summary);
    assert.equal(new URL(page.url()).pathname, '/signup', 'stays on the sign-up page');
    assert.ok(await summary.getByRole('heading', { name: 'Có lỗi cần sửa' }).isVisible(), 'summary heading "Có lỗi cần sửa"');
    const link = summary.getByRole('link', { name: 'Số định danh cá nhân phải gồm đúng 12 chữ số.' });
    assert.equal(await link.count(), 1, `summary links to the Vietnamese message; summary reads: ${await summary.innerText()}`);
    assert.equal(await link.getAttribute('href'), '#personal_id', 'the summary link points at the field');
    const field = page.locator('#personal_id');
    assert.equal(await field.getAttribute('aria-invalid'), 'true', 'the field is marked invalid');
    assert.equal(await field.inputValue(), HOA.personalId.slice(0, 11), 'what the user typed is kept');
    assert.ok(
      await page.locator('#personal_id-error').getByText('Số định danh cá nhân phải gồm đúng 12 chữ số.').isVisible(),
      'the message is also shown next to the field',
    );
    await snap(page, 'signup-error-desktop');
    await link.click();
    assert.equal(new URL(page.url()).hash, '#personal_id');

    // Right.
    await fillSignup(HOA);
    await clickAndWait(page, main().getByRole('button', { name: 'Đăng ký', exact: true }), (u) => u.pathname === '/account');
    assert.ok(await main().getByText(HOA.name, { exact: true }).isVisible(), `account page shows "${HOA.name}"`);
    assert.ok(
      await page.locator('header').getByRole('link', { name: HOA.name, exact: true }).isVisible(),
      'the header shows who is signed in',
    );
    assert.ok(await main().getByText(HOA.personalId, { exact: true }).isVisible(), 'the login (personal ID) is shown');
    await snap(page, 'account-desktop');
    assert.deepEqual(errors.splice(0), [], 'no errors in the browser console');
  });

  test('sign out, a wrong password is refused, the right one signs in', async () => {
    await visit(page, '/account');
    await clickAndWait(page, page.getByRole('button', { name: 'Đăng xuất', exact: true }), (u) => u.pathname === '/');
    assert.ok(await page.locator('header').getByRole('link', { name: 'Đăng nhập', exact: true }).isVisible(), 'signed out');
    assert.equal(await page.locator('header').getByRole('link', { name: HOA.name }).count(), 0, 'name gone from the header');

    // Signed out, the account page sends the visitor to sign in.
    await page.goto('/account', { waitUntil: 'load' });
    assert.equal(new URL(page.url()).pathname, '/signin', '/account redirects to /signin when signed out');

    await visit(page, '/signin');
    await signIn(HOA.personalId, 'Hoa sen nở giữa hồ!');
    const summary = page.locator('.error-summary');
    await submitAndWaitFor(signinButton(), summary);
    assert.match(await summary.innerText(), /Thông tin đăng nhập không đúng/, 'wrong password message');
    assert.equal(new URL(page.url()).pathname, '/signin');
    await snap(page, 'signin-error-desktop');

    await signIn(HOA.personalId, HOA.password);
    await clickAndWait(page, signinButton(), (u) => u.pathname === '/account');
    assert.ok(await main().getByText(HOA.name, { exact: true }).isVisible(), `account page shows "${HOA.name}"`);
    assert.deepEqual(errors.splice(0), [], 'no errors in the browser console');

    await clickAndWait(page, page.getByRole('button', { name: 'Đăng xuất', exact: true }), (u) => u.pathname === '/');
  });
});

describe('administrator', () => {
  test('admin signs in and opens /admin and /admin/agencies', async () => {
    await visit(page, '/signin');
    await snap(page, 'signin-desktop');
    await signIn(ADMIN.login, ADMIN.password);
    await clickAndWait(page, signinButton(), (u) => u.pathname === '/account');
    assert.ok(await page.locator('nav').getByRole('link', { name: 'Quản trị', exact: true }).isVisible(), 'admin link in the menu');

    await visit(page, '/admin');
    assert.ok(await page.getByRole('heading', { level: 1 }).isVisible(), '/admin has a heading');
    await snap(page, 'admin-desktop');

    await visit(page, '/admin/agencies');
    assert.ok(await page.getByRole('heading', { level: 1 }).isVisible(), '/admin/agencies has a heading');
    assert.ok((await page.locator('main table tbody tr').count()) > 0, 'the agency list is not empty');
    await snap(page, 'admin-agencies-desktop');
    assert.deepEqual(errors.splice(0), [], 'no errors in the browser console');
  });
});

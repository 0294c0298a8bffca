// Accessibility: axe-core on every kind of page a visitor, a citizen and an administrator
// sees. Fails on serious or critical violations; lesser findings are printed as diagnostics.
// The site's CSP forbids inline scripts, so these contexts use bypassCSP to inject axe.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ADMIN, CITIZEN, assertAccessible, clickAndWait, setup, snap, visit, field } from './lib/harness.mjs';

let env;
before(async () => {
  env = await setup();
});
after(async () => {
  await env?.close();
});

async function signedInPage(ctx, { login, password }) {
  const page = await ctx.newPage();
  await visit(page, '/signin');
  await page.getByLabel(field('Số định danh cá nhân, mã số thuế hoặc tên đăng nhập')).fill(login);
  await page.getByLabel(field('Mật khẩu')).fill(password);
  await clickAndWait(page, page.locator('main').getByRole('button', { name: 'Đăng nhập', exact: true }), (u) => u.pathname === '/account');
  return page;
}

describe('accessibility: public pages', () => {
  let ctx;
  let page;
  before(async () => {
    ctx = await env.newContext({ bypassCSP: true });
    page = await ctx.newPage();
  });
  after(async () => {
    await ctx?.close();
  });

  const pages = [
    ['home', '/', 200],
    ['search results', '/procedures?q=dang+ky+khai+sinh', 200],
    ['procedure list', '/procedures', 200],
    ['procedure (vi)', '/procedures/1.001193', 200],
    ['fields', '/fields', 200],
    ['agencies', '/agencies', 200],
    ['agency', '/agencies/H26.31', 200],
    ['sign-in', '/signin', 200],
    ['sign-up', '/signup', 200],
    ['404 page', '/trang-khong-ton-tai', 404],
  ];
  for (const [label, url, status] of pages) {
    test(`${label} (${url})`, async (t) => {
      await visit(page, url, status);
      assert.equal(await page.locator('html').getAttribute('lang'), 'vi');
      if (status === 404) {
        assert.ok(await page.getByRole('heading', { level: 1 }).isVisible(), 'the 404 page has a heading');
        assert.ok(await page.getByRole('link', { name: 'Về trang chủ' }).isVisible(), 'the 404 page links home');
      }
      await snap(page, `a11y-${label.replace(/[^a-z0-9]+/gi, '-')}-desktop`.replace(/-+/g, '-'));
      await assertAccessible(t, page, label);
    });
  }

  test('procedure (en) (/procedures/1.001193 after switching to English)', async (t) => {
    const enCtx = await env.newContext({ bypassCSP: true });
    try {
      const p = await enCtx.newPage();
      await visit(p, '/lang/en?next=%2Fprocedures%2F1.001193');
      assert.equal(new URL(p.url()).pathname, '/procedures/1.001193');
      assert.equal(await p.locator('html').getAttribute('lang'), 'en');
      await assertAccessible(t, p, 'procedure (en)');
    } finally {
      await enCtx.close();
    }
  });

  test('sign-up with the error summary shown (/signup, POST with an 11-digit ID)', async (t) => {
    await visit(page, '/signup');
    await page.getByLabel(field('Số định danh cá nhân')).fill('00130301234');
    await page.getByLabel(field('Ngày sinh')).fill('01/02/2003');
    await page.getByLabel(field('Họ và tên (hoặc tên doanh nghiệp)')).fill('Lê Thị Hoa');
    await page.getByLabel(field('Mật khẩu')).fill('Hoa sen nở giữa hồ');
    await page.getByLabel(field('Nhập lại mật khẩu')).fill('Hoa sen nở giữa hồ');
    await page.locator('main').getByRole('button', { name: 'Đăng ký', exact: true }).click();
    await page.locator('.error-summary').waitFor({ state: 'visible' });
    await page.waitForLoadState('load');
    await assertAccessible(t, page, 'sign-up with errors');
  });
});

describe('accessibility: signed-in pages', () => {
  test('account page of the demo citizen (/account)', async (t) => {
    const ctx = await env.newContext({ bypassCSP: true });
    try {
      const page = await signedInPage(ctx, CITIZEN);
      assert.ok(await page.locator('main').getByText(CITIZEN.name, { exact: true }).isVisible());
      await assertAccessible(t, page, 'account');
    } finally {
      await ctx.close();
    }
  });

  test('admin pages (/admin, /admin/agencies)', async (t) => {
    const ctx = await env.newContext({ bypassCSP: true });
    try {
      const page = await signedInPage(ctx, ADMIN);
      for (const url of ['/admin', '/admin/agencies']) {
        await visit(page, url);
        await t.test(url, async (st) => assertAccessible(st, page, url));
      }
    } finally {
      await ctx.close();
    }
  });
});

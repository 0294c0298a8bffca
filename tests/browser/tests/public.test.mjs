// Public pages as a visitor uses them: search, procedure page, language switch, no-JS, phone.
// These run under the site's real Content-Security-Policy (no bypassCSP here).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  PHONE,
  assertNoHorizontalOverflow,
  clickAndWait,
  pressEnterAndWait,
  setup,
  snap,
  visit,
  watchErrors,
} from './lib/harness.mjs';

const BIRTH = { code: '1.001193', vi: 'Đăng ký khai sinh', en: 'Birth registration' };

let env;
before(async () => {
  env = await setup();
});
after(async () => {
  await env?.close();
});

/** The search results for `q` have loaded. */
const resultsFor = (q) => (u) => u.pathname === '/procedures' && u.searchParams.get('q') === q;

async function resultTitles(page) {
  const titles = await page.locator('ol.results .result-title').allTextContents();
  return titles.map((s) => s.trim());
}

function searchBox(page) {
  return page.getByRole('searchbox', { name: 'Tìm thủ tục hành chính', exact: true });
}

async function withPage(opts, fn) {
  const ctx = await env.newContext(opts);
  try {
    const page = await ctx.newPage();
    const errors = watchErrors(page);
    await fn(page);
    assert.deepEqual(errors, [], `errors in the browser console on ${page.url()}`);
  } finally {
    await ctx.close();
  }
}

describe('search', () => {
  test('home page is in Vietnamese and has the search box', async () => {
    await withPage({}, async (page) => {
      await visit(page, '/');
      assert.equal(await page.locator('html').getAttribute('lang'), 'vi');
      assert.match(await page.title(), /Thăng Long|Cổng/, 'page title');
      assert.equal(await searchBox(page).count(), 1, 'one search box labelled "Tìm thủ tục hành chính"');
      assert.ok(await searchBox(page).isVisible(), 'search box is visible');
      assert.ok(
        await page.getByRole('button', { name: 'Tìm kiếm', exact: true }).isVisible(),
        'a visible "Tìm kiếm" button',
      );
      await snap(page, 'home-desktop');
    });
  });

  test('searching without diacritics, in capitals and by keyword finds the right procedures', async () => {
    await withPage({}, async (page) => {
      await visit(page, '/');

      // 1. Typed without diacritics, submitted with Enter from the home page.
      let q = 'dang ky khai sinh';
      await searchBox(page).fill(q);
      await pressEnterAndWait(page, searchBox(page), resultsFor(q));
      let titles = await resultTitles(page);
      assert.ok(titles.length > 0, `no results for "${q}"`);
      assert.equal(titles[0], BIRTH.vi, `first result for "${q}"`);
      assert.equal(await searchBox(page).inputValue(), q, 'the query stays in the search box');
      await snap(page, 'search-dang-ky-khai-sinh-desktop');

      // 2. Capitals with diacritics, submitted with the "Tìm kiếm" button on the results page.
      q = 'ĐĂNG KÝ KẾT HÔN';
      await searchBox(page).fill(q);
      await clickAndWait(page, page.getByRole('button', { name: 'Tìm kiếm', exact: true }), resultsFor(q));
      titles = await resultTitles(page);
      assert.ok(titles.length > 0, `no results for "${q}"`);
      assert.equal(titles[0], 'Đăng ký kết hôn', `first result for "${q}"`);

      // 3. A building permit, without diacritics.
      q = 'giay phep xay dung';
      await searchBox(page).fill(q);
      await pressEnterAndWait(page, searchBox(page), resultsFor(q));
      titles = await resultTitles(page);
      assert.ok(titles.length > 0, `no results for "${q}"`);
      assert.ok(
        titles[0].startsWith('Cấp giấy phép xây dựng'),
        `first result for "${q}" should start with "Cấp giấy phép xây dựng", got: ${JSON.stringify(titles.slice(0, 5))}`,
      );
      await snap(page, 'search-giay-phep-xay-dung-desktop');
    });
  });
});

describe('procedure page', () => {
  test('clicking the "Đăng ký khai sinh" result opens the procedure with its details', async () => {
    await withPage({}, async (page) => {
      await visit(page, '/');
      const q = 'dang ky khai sinh';
      await searchBox(page).fill(q);
      await pressEnterAndWait(page, searchBox(page), resultsFor(q));
      await clickAndWait(
        page,
        page.locator('ol.results').getByRole('link', { name: BIRTH.vi, exact: true }).first(),
        (u) => u.pathname === `/procedures/${BIRTH.code}`,
      );
      assert.equal(await page.getByRole('heading', { level: 1 }).textContent().then((s) => s.trim()), BIRTH.vi);
      assert.ok(await page.getByRole('heading', { name: 'Thành phần hồ sơ', exact: true }).isVisible(), 'heading "Thành phần hồ sơ"');
      assert.ok(await page.getByRole('heading', { name: 'Căn cứ pháp lý', exact: true }).isVisible(), 'heading "Căn cứ pháp lý"');
      assert.ok(await page.getByText('Thời hạn giải quyết', { exact: true }).first().isVisible(), 'text "Thời hạn giải quyết"');
      assert.ok(await page.locator('main').getByText(BIRTH.code).first().isVisible(), `procedure code ${BIRTH.code}`);
      assert.match(await page.title(), new RegExp(`^${BIRTH.vi}`), 'page title names the procedure');
      await snap(page, 'procedure-vi-desktop');
    });
  });

  test('the header language switch shows the same page in English and back in Vietnamese', async () => {
    await withPage({}, async (page) => {
      await visit(page, `/procedures/${BIRTH.code}`);
      assert.equal(await page.locator('html').getAttribute('lang'), 'vi');
      const header = page.locator('header').first();

      await header.getByRole('link', { name: 'English', exact: true }).click();
      await page.locator('html[lang="en"]').waitFor({ state: 'attached' });
      await page.waitForLoadState('load');
      assert.equal(new URL(page.url()).pathname, `/procedures/${BIRTH.code}`, 'stays on the same procedure');
      assert.equal(await page.getByRole('heading', { level: 1 }).textContent().then((s) => s.trim()), BIRTH.en);
      assert.ok(await page.getByText(BIRTH.en).first().isVisible(), `"${BIRTH.en}" is shown`);
      await snap(page, 'procedure-en-desktop');

      await header.getByRole('link', { name: 'Tiếng Việt', exact: true }).click();
      await page.locator('html[lang="vi"]').waitFor({ state: 'attached' });
      await page.waitForLoadState('load');
      assert.equal(new URL(page.url()).pathname, `/procedures/${BIRTH.code}`, 'stays on the same procedure');
      assert.equal(await page.getByRole('heading', { level: 1 }).textContent().then((s) => s.trim()), BIRTH.vi);
    });
  });
});

describe('without JavaScript', () => {
  test('a browser with JavaScript disabled can search and open a procedure', async () => {
    await withPage({ javaScriptEnabled: false }, async (page) => {
      await visit(page, '/');
      const q = 'dang ky khai sinh';
      await searchBox(page).fill(q);
      await clickAndWait(page, page.getByRole('button', { name: 'Tìm kiếm', exact: true }), resultsFor(q));
      const titles = await resultTitles(page);
      assert.equal(titles[0], BIRTH.vi, `first result for "${q}" without JavaScript`);
      await clickAndWait(
        page,
        page.locator('ol.results').getByRole('link', { name: BIRTH.vi, exact: true }).first(),
        (u) => u.pathname === `/procedures/${BIRTH.code}`,
      );
      assert.ok(await page.getByRole('heading', { name: 'Thành phần hồ sơ', exact: true }).isVisible());
      await snap(page, 'procedure-nojs-desktop');
    });
  });
});

describe('phone (390×844)', () => {
  for (const [name, url] of [
    ['home', '/'],
    ['search', '/procedures?q=dang+ky+khai+sinh'],
    ['procedure', `/procedures/${BIRTH.code}`],
    ['sign-up', '/signup'],
    ['fields', '/fields'],
  ]) {
    test(`${name} page has no horizontal overflow`, async () => {
      await withPage({ viewport: PHONE, isMobile: true, hasTouch: true, deviceScaleFactor: 2 }, async (page) => {
        await visit(page, url);
        await snap(page, `${name.replace(/[^a-z0-9]+/gi, '-')}-phone`);
        await assertNoHorizontalOverflow(page, `${name} page (${url}) at 390×844`);
      });
    });
  }
});

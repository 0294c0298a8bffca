// Filing end to end (issue #3) on a phone (390×844): a citizen signs in, starts "Đăng ký khai
// sinh" (1.001193) from the procedure page, meets the error summary, fills the four steps,
// saves the draft and comes back to it, uploads the required attachment (and has a fake PDF
// refused), reviews, files, gets a dossier code, and looks it up publicly.
//
// The tests in this file run in order and share one signed-in page. A failure in the flow
// itself (a page that does not load, a button that leads elsewhere) skips the rest of the flow
// with a note saying where it stopped; page-quality problems (axe serious/critical, sideways
// scrolling, console errors) fail their test but let the flow go on, so one run reports them
// all. Every form page is checked with axe and for horizontal overflow, and screenshotted
// into screenshots/filing-*-phone.png. The context uses bypassCSP so axe can be injected.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CITIZEN, PHONE, assertAccessible, assertNoHorizontalOverflow, field, setup, snap, visit, watchErrors } from './lib/harness.mjs';

const PROCEDURE = '1.001193';
const PROCEDURE_NAME = 'Đăng ký khai sinh';
const CODE_RE = /^H26(\.[0-9A-Z]{1,3})+-\d{6}-\d{4,}$/;
const STEP_TITLES = [
  'Thông tin người được khai sinh',
  'Thông tin người mẹ',
  'Thông tin người cha',
  'Người yêu cầu và giấy tờ kèm theo',
];
const PHONE_CONTEXT = { viewport: PHONE, isMobile: true, hasTouch: true, deviceScaleFactor: 2, bypassCSP: true };

/** dd/mm/yyyy, `days` days before today in Hà Nội (the server's calendar), so never in the future. */
function daysAgo(days) {
  return new Intl.DateTimeFormat('en-GB', { timeZone: 'Asia/Ho_Chi_Minh', day: '2-digit', month: '2-digit', year: 'numeric' }).format(
    new Date(Date.now() - days * 86_400_000),
  );
}

const CHILD = {
  child_full_name: 'Nguyễn Minh Khang',
  child_birth_date: daysAgo(3),
  child_ethnicity: 'Kinh',
  child_nationality: 'Việt Nam',
  child_birth_facility: 'Bệnh viện Phụ sản Hà Nội',
  child_birth_place: 'phường Láng, Thành phố Hà Nội',
  child_hometown: 'xã Đông Anh, Thành phố Hà Nội',
};
const MOTHER = {
  mother_full_name: 'Trần Thị Mai',
  mother_birth_date: '12/03/1995',
  mother_personal_id: '001195012345', // Hà Nội (001), woman born in the 20th century (1), 1995 (95)
  mother_ethnicity: 'Kinh',
  mother_nationality: 'Việt Nam',
  mother_residence_street: 'Số 5 ngõ 10 phố Láng Hạ',
};
const REQUESTER = {
  requester_full_name: MOTHER.mother_full_name,
  requester_personal_id: MOTHER.mother_personal_id,
  requester_phone: '0912345678',
};

// A minimal but well-formed PDF, and PNG bytes under a .pdf name.
const PDF_BYTES = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n', 'latin1');
const PNG_BYTES = Buffer.from(
  '89504e470d0a1a0a0000000d4948445200000001000000010806000000' +
    '1f15c4890000000d49444154789c63f8cfc0f01f0005000201fe0c3d4f0000000049454e44ae426082',
  'hex',
);

let env;
let ctx;
let page;
let errors;
let tmpDir;
const flow = {
  /** /dossiers/<id>/edit */
  editPath: null,
  code: null,
};
let stoppedAt = null;

before(async () => {
  env = await setup();
  ctx = await env.newContext(PHONE_CONTEXT);
  page = await ctx.newPage();
  errors = watchErrors(page);
  tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'thanglong-filing-'));
});
after(async () => {
  await ctx?.close().catch(() => {});
  await env?.close();
  if (tmpDir) fs.rmSync(tmpDir, { recursive: true, force: true });
});

/**
 * One step of the flow. A thrown error stops the flow (later steps are skipped, naming this
 * one); problems pushed to `soft` (axe, overflow, console errors) fail this test only.
 */
function flowTest(name, fn) {
  test(name, async (t) => {
    if (stoppedAt) {
      t.skip(`not run: the flow stopped at "${stoppedAt}"`);
      return;
    }
    const soft = [];
    try {
      await fn(t, soft);
    } catch (e) {
      stoppedAt = name;
      throw e;
    }
    const consoleErrors = errors.splice(0);
    if (consoleErrors.length) soft.push(`errors in the browser console:\n  ${consoleErrors.join('\n  ')}`);
    if (soft.length) assert.fail(soft.join('\n\n'));
  });
}

/** A check on the page the flow left behind; its failure does not stop the flow. */
function sideCheck(name, fn) {
  test(name, async (t) => {
    if (stoppedAt) {
      t.skip(`not run: the flow stopped at "${stoppedAt}"`);
      return;
    }
    await fn(t);
  });
}

/** Screenshot, then sideways scrolling and axe; problems are collected rather than thrown. */
async function checkPage(t, soft, p, label, shot) {
  await snap(p, `filing-${shot}-phone`);
  try {
    await assertNoHorizontalOverflow(p, label);
  } catch (e) {
    soft.push(e.message);
  }
  try {
    await assertAccessible(t, p, label);
  } catch (e) {
    soft.push(e.message);
  }
}

async function mainText(p = page) {
  return (await p.locator('main').innerText().catch(() => '(no <main>)')).replace(/\s+/g, ' ').trim();
}

/**
 * Clicks something that submits or navigates and waits for the resulting page to load
 * (following redirects). Checks the final status unless `expectedStatus` is null.
 */
async function go(locator, expectedStatus = 200) {
  const [res] = await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), locator.click()]);
  assert.ok(res, `no page loaded after the click (still on ${page.url()})`);
  if (expectedStatus !== null && res.status() !== expectedStatus) {
    const text = await mainText();
    assert.fail(
      `${page.url()} answered HTTP ${res.status()} (expected ${expectedStatus}); the page reads: ${text.slice(0, 600)}` +
        serverLogFor(text),
    );
  }
  return res;
}

/** The server's log lines for the request id shown on an error page ("Mã yêu cầu: …"), if any. */
function serverLogFor(pageText) {
  const id = pageText.match(/Mã yêu cầu:?\s*(\S+)/)?.[1];
  if (!id) return '';
  // eslint-disable-next-line no-control-regex
  const lines = env.server.output().replace(/\x1b\[[0-9;]*m/g, '').split('\n').filter((l) => l.includes(id) && !/ INFO /.test(l));
  return lines.length ? `\nServer log for request ${id}:\n  ${lines.join('\n  ')}` : '';
}

const h1 = async (p = page) => (await p.getByRole('heading', { level: 1 }).innerText()).trim();
const nextButton = () => page.locator('main').getByRole('button', { name: /^Tiếp tục/ });
const stepParam = () => new URL(page.url()).searchParams.get('step');

/** Asserts the page is step `i` (0-based) of 4. */
async function assertOnStep(i) {
  assert.equal(await h1(), STEP_TITLES[i], `step ${i + 1} heading; page reads: ${(await mainText()).slice(0, 400)}`);
  assert.ok(await page.getByText(`Bước ${i + 1} / 4`, { exact: true }).isVisible(), `"Bước ${i + 1} / 4" is shown`);
}

async function fillById(values) {
  for (const [id, value] of Object.entries(values)) await page.locator(`#${id}`).fill(value);
}

async function fillRequester() {
  await page.locator('#requester_relationship').selectOption({ label: 'Mẹ' });
  await fillById(REQUESTER);
}

describe('filing a birth registration (1.001193) on a phone', () => {
  flowTest('sign in, choose the agency on the procedure page, start filing', async (t, soft) => {
    await visit(page, '/signin');
    await page.getByLabel(field('Số định danh cá nhân, mã số thuế hoặc tên đăng nhập')).fill(CITIZEN.login);
    await page.getByLabel(field('Mật khẩu')).fill(CITIZEN.password);
    await go(page.locator('main').getByRole('button', { name: 'Đăng nhập', exact: true }));
    assert.equal(new URL(page.url()).pathname, '/account', 'signed in');

    await visit(page, `/procedures/${PROCEDURE}`);
    const agency = page.getByLabel('Cơ quan tiếp nhận hồ sơ');
    const first = await agency.locator('option').first().getAttribute('value');
    assert.ok(first, 'the agency select has options');
    await agency.selectOption(first);
    await go(page.getByRole('button', { name: 'Bắt đầu nộp hồ sơ', exact: true }));

    const url = new URL(page.url());
    assert.match(url.pathname, /^\/dossiers\/\d+\/edit$/, `lands on the draft's form (${page.url()})`);
    flow.editPath = url.pathname;
    assert.ok(await page.getByText(PROCEDURE_NAME, { exact: true }).first().isVisible(), 'the procedure name is shown');
    await assertOnStep(0);
    await checkPage(t, soft, page, 'step 1 (empty)', 'step1');
  });

  flowTest('step 1: "Tiếp tục" with the required fields empty shows the error summary', async (t, soft) => {
    const before = page.url();
    await go(nextButton(), null); // a form re-rendered with errors (HTTP 400)
    assert.equal(page.url(), before, 'stays on step 1');
    const summary = page.locator('.error-summary');
    await summary.waitFor({ state: 'visible' });
    assert.ok(await summary.getByRole('heading', { name: 'Có lỗi cần sửa' }).isVisible(), 'summary heading "Có lỗi cần sửa"');
    const firstLink = summary.getByRole('link').first();
    const href = await firstLink.getAttribute('href');
    assert.match(href ?? '', /^#.+/, `the first summary link points at a field on the page (href ${href})`);
    const target = page.locator(`[id="${href.slice(1)}"]`);
    assert.equal(await target.count(), 1, `exactly one element has id "${href.slice(1)}"`);
    assert.ok(await target.isVisible(), `the field ${href} is visible`);
    assert.ok((await firstLink.innerText()).trim().length > 0, 'the first summary link has a message');
    assert.ok(
      await summary.evaluate((el) => document.activeElement === el),
      'the error summary has the focus, so screen readers announce it first',
    );
    await assertOnStep(0);
    await checkPage(t, soft, page, 'step 1 with the error summary', 'step1-errors');
  });

  flowTest('step 1 filled (name, date of birth a few days ago, sex, place of birth…) → step 2', async () => {
    // The birth facility is asked only for a birth at a medical facility: with JavaScript it
    // appears when that answer is chosen.
    assert.ok(await page.locator('#child_birth_facility').isHidden(), 'the facility question waits for its condition');
    await page.locator('#child_birth_place_kind-1').check(); // Tại cơ sở y tế
    assert.ok(await page.locator('#child_birth_facility').isVisible(), 'choosing "Tại cơ sở y tế" shows the facility question');
    await fillById(CHILD);
    await page.locator('#child_gender-1').check(); // Nam
    await go(nextButton());
    assert.equal(stepParam(), '1', `moves to the second step (${page.url()})`);
    await assertOnStep(1);
  });

  async function fillMother() {
    await fillById(MOTHER);
    await page.locator('#mother_residence_province').selectOption({ label: 'Thành phố Hà Nội' });
    await page.locator('#mother_residence_commune').selectOption({ label: 'Phường Láng' });
  }

  flowTest('step 2 (the mother) is accessible and gets filled', async (t, soft) => {
    await checkPage(t, soft, page, 'step 2 (mother)', 'step2');
    await fillMother();
  });

  sideCheck('step 2: Enter in a text field (the phone keyboard\'s "Go") moves forward, not back', async () => {
    await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.locator('#mother_residence_street').press('Enter')]);
    assert.equal(
      stepParam(),
      '2',
      `pressing Enter on step 2 should act as "Tiếp tục" (step 3), but it landed on ${page.url()} ("${await h1()}"): ` +
        'the first submit button in the form is "‹ Quay lại", so implicit submission goes back a step',
    );
  });

  flowTest('step 2 → "Tiếp tục" → step 3', async () => {
    if (stepParam() !== '2') {
      // Wherever Enter led, come back to step 2 as a user would, and continue with the button.
      if (stepParam() !== '1') await visit(page, `${flow.editPath}?step=1`);
      await assertOnStep(1);
      await fillMother();
      await go(nextButton());
    }
    assert.equal(stepParam(), '2', `moves to the third step (${page.url()})`);
    await assertOnStep(2);
  });

  flowTest('step 3: the father is not known; "Lưu nháp và thoát" lands on Hồ sơ của tôi with a draft', async (t, soft) => {
    await checkPage(t, soft, page, 'step 3 (father)', 'step3');
    await page.locator('#father_known-2').check(); // Chưa xác định được cha
    await go(page.getByRole('button', { name: 'Lưu nháp và thoát', exact: true }));
    assert.equal(new URL(page.url()).pathname, '/dossiers', `lands on My dossiers (${page.url()})`);
    assert.equal(await h1(), 'Hồ sơ của tôi');
    assert.ok(await page.getByText(/Đã lưu hồ sơ nháp/).isVisible(), '"Đã lưu hồ sơ nháp" is shown');
    const draft = page.locator('main tbody tr').filter({ hasText: 'Bản nháp' });
    assert.equal(await draft.count(), 1, `one "Bản nháp" row; the page reads: ${await mainText()}`);
    assert.match(await draft.innerText(), new RegExp(PROCEDURE_NAME), 'the draft row names the procedure');
    await checkPage(t, soft, page, 'Hồ sơ của tôi (draft saved)', 'my-dossiers-draft');
  });

  sideCheck("the draft's own page (the procedure link in its row) opens", async (t) => {
    const draft = page.locator('main tbody tr').filter({ hasText: 'Bản nháp' });
    await go(draft.getByRole('link', { name: PROCEDURE_NAME, exact: true }));
    assert.equal(await h1(), PROCEDURE_NAME);
    await assertNoHorizontalOverflow(page, 'draft page');
    await assertAccessible(t, page, 'draft page');
  });

  flowTest('"Tiếp tục điền" reopens the first unfinished step; typed values are kept', async (t, soft) => {
    if (new URL(page.url()).pathname !== '/dossiers') await visit(page, '/dossiers');
    const draft = page.locator('main tbody tr').filter({ hasText: 'Bản nháp' });
    await go(draft.getByRole('link', { name: /^Tiếp tục điền/ }));
    assert.equal(new URL(page.url()).pathname, flow.editPath, 'back on the same draft');
    // It reopens the first step that still needs answers (the requester and attachments).
    assert.equal(stepParam(), null, `no step in the link (${page.url()})`);
    await assertOnStep(3);
    // Everything typed earlier is still there.
    await visit(page, `${flow.editPath}?step=0`);
    await assertOnStep(0);
    assert.equal(await page.locator('#child_full_name').inputValue(), CHILD.child_full_name, "the child's name is still there");
    assert.equal(await page.locator('#child_birth_date').inputValue(), CHILD.child_birth_date, 'the date of birth is still there');
    assert.ok(await page.locator('#child_gender-1').isChecked(), 'the sex is still chosen');

    await go(nextButton());
    await assertOnStep(1);
    assert.equal(await page.locator('#mother_full_name').inputValue(), MOTHER.mother_full_name, "the mother's name is still there");
    await go(nextButton());
    await assertOnStep(2);
    assert.ok(await page.locator('#father_known-2').isChecked(), '"Chưa xác định được cha" is still chosen');
    await go(nextButton());
    assert.equal(stepParam(), '3', `moves to the last step (${page.url()})`);
    await assertOnStep(3);
    await checkPage(t, soft, page, 'step 4 (requester and attachments)', 'step4');
  });

  flowTest('step 4: a PDF is uploaded for each required attachment and listed by name', async (t, soft) => {
    // A user fills the form top to bottom: the text fields first, then the attachments.
    await fillRequester();
    const required = await page
      .locator('main .field:has(input[type="file"])')
      .evaluateAll((els) => els.filter((e) => e.querySelector('.req')).map((e) => e.id));
    assert.ok(required.includes('birth_certificate_file'), `the birth certificate is a required attachment (found: ${required.join(', ')})`);
    for (const key of required) {
      const file = path.join(tmpDir, `${key.replace(/_/g, '-')}.pdf`);
      fs.writeFileSync(file, PDF_BYTES);
      await page.setInputFiles(`#${key}-file`, file);
      await go(page.locator(`#${key}`).getByRole('button', { name: /^Tải lên/ }));
      assert.equal(new URL(page.url()).pathname, flow.editPath, `back on the form after uploading ${key}`);
      assert.equal(stepParam(), '3', 'back on step 4');
      const link = page.locator(`#${key}`).getByRole('link', { name: path.basename(file), exact: true });
      assert.ok(await link.isVisible(), `"${path.basename(file)}" is listed as a link under ${key}; the field reads: ${await page.locator(`#${key}`).innerText()}`);
    }
    await checkPage(t, soft, page, 'step 4 after the upload', 'step4-uploaded');
  });

  sideCheck('step 4: what was typed before clicking "Tải lên" is still there after the upload', async () => {
    const kept = {};
    for (const id of Object.keys(REQUESTER)) kept[id] = await page.locator(`#${id}`).inputValue();
    kept.requester_relationship = await page.locator('#requester_relationship').inputValue();
    assert.deepEqual(
      kept,
      { ...REQUESTER, requester_relationship: 'me' },
      'uploading a file (a separate form) must not throw away the values typed on the same step',
    );
  });

  sideCheck('step 4: each file input is named after its document (not just "Chọn tệp")', async () => {
    // What a screen reader announces on each file input, next to the document it belongs to.
    const inputs = await page.locator('main .field:has(> input[type="file"])').evaluateAll((fields) =>
      fields.map((f) => ({
        document: f.querySelector('.label-like')?.textContent.replace(/\*/g, '').replace(/\s+/g, ' ').trim(),
        label: [...(f.querySelector('input[type="file"]').labels ?? [])].map((l) => l.textContent.replace(/\s+/g, ' ').trim()).join(' '),
      })),
    );
    assert.ok(inputs.length >= 1, 'the step has file inputs');
    const unnamed = inputs.filter((i) => !i.document || !i.label.includes(i.document));
    assert.deepEqual(unnamed, [], "every file input's label names its document");
  });

  flowTest('step 4: PNG bytes named .pdf are refused with a Vietnamese message', async (t, soft) => {
    const fake = path.join(tmpDir, 'anh-chup.pdf');
    fs.writeFileSync(fake, PNG_BYTES);
    await page.setInputFiles('#birth_certificate_file-file', fake);
    await go(page.locator('#birth_certificate_file').getByRole('button', { name: /^Tải lên/ }), null);
    assert.ok(await page.getByText(/Nội dung tệp không phải/).first().isVisible(), `the refusal is explained; the page reads: ${await mainText()}`);
    await checkPage(t, soft, page, 'refused upload', 'upload-refused');
  });

  sideCheck('step 4: the refusal is shown on the step itself, so the user can pick another file', async () => {
    assert.equal(
      await h1(),
      STEP_TITLES[3],
      `after a refused upload the user should still be on "${STEP_TITLES[3]}" with the message next to the field; ` +
        `instead ${page.url()} reads: ${await mainText()}`,
    );
    assert.ok(await page.locator('#birth_certificate_file-file').isVisible(), 'the file input is there to try again');
  });

  flowTest('"Kiểm tra và nộp" opens the review page', async (t, soft) => {
    if (new URL(page.url()).pathname !== flow.editPath || stepParam() !== '3') await visit(page, `${flow.editPath}?step=3`);
    await assertOnStep(3);
    const listed = page.locator('#birth_certificate_file').getByRole('link');
    assert.equal(await listed.count(), 1, 'the refused file was not added; the valid PDF is still attached');
    if ((await page.locator('#requester_full_name').inputValue()) === '') await fillRequester(); // see the side check above
    await go(page.locator('main').getByRole('button', { name: /^Kiểm tra và nộp/ }));
    assert.match(new URL(page.url()).pathname, /^\/dossiers\/\d+\/review$/, `on the review page (${page.url()})`);
    assert.equal(await h1(), 'Kiểm tra thông tin trước khi nộp');
    const text = await mainText();
    assert.ok(text.includes(CHILD.child_full_name), "the review shows the child's name");
    assert.ok(text.includes(CHILD.child_birth_date), 'the review shows the date of birth as dd/mm/yyyy');
    assert.equal(await page.locator('.error-summary').count(), 0, `no problems reported on the review page: ${text.slice(0, 400)}`);
    // Every answer reads as something: a value or "—", not a blank or an empty address "(, )".
    const answers = await page.locator('main dl.facts > div').evaluateAll((rows) =>
      rows.map((r) => [r.querySelector('dt')?.textContent.trim(), r.querySelector('dd')?.textContent.replace(/\s+/g, ' ').trim()]),
    );
    const unreadable = answers.filter(([, v]) => !v || /\(\s*,\s*\)/.test(v));
    if (unreadable.length) soft.push(`review: answers shown blank or as "(, )": ${JSON.stringify(unreadable)}`);
    await checkPage(t, soft, page, 'review', 'review');
  });

  flowTest('"Nộp hồ sơ" files it: acknowledgement with a dossier code', async (t, soft) => {
    await go(page.locator('main').getByRole('button', { name: 'Nộp hồ sơ', exact: true }));
    assert.equal(await h1(), 'Đã nộp hồ sơ thành công', `acknowledgement heading; the page reads: ${(await mainText()).slice(0, 400)}`);
    const receipt = await page.getByRole('status').innerText();
    const code = receipt.match(/\bH26\S*/)?.[0];
    assert.ok(code, `a dossier code is shown in the acknowledgement: ${receipt}`);
    assert.match(code, CODE_RE, 'the dossier code has the legal form');
    flow.code = code;
    assert.ok(await page.getByText('Mới đăng ký', { exact: true }).first().isVisible(), 'status "Mới đăng ký"');
    await checkPage(t, soft, page, 'acknowledgement', 'acknowledgement');
  });

  flowTest('Hồ sơ của tôi lists the filed dossier with its code', async (t, soft) => {
    await visit(page, '/dossiers');
    const row = page.locator('main tbody tr').filter({ hasText: flow.code });
    assert.equal(await row.count(), 1, `one row with ${flow.code}; the page reads: ${await mainText()}`);
    assert.match(await row.innerText(), /Mới đăng ký/, 'the row says "Mới đăng ký"');
    assert.equal(await page.locator('main tbody tr').filter({ hasText: 'Bản nháp' }).count(), 0, 'no draft left');
    await checkPage(t, soft, page, 'Hồ sơ của tôi (filed)', 'my-dossiers-filed');
  });

  flowTest('public lookup by code shows the status and no personal data', async (t, soft) => {
    const anon = await env.newContext(PHONE_CONTEXT); // signed out: no cookies
    try {
      const p = await anon.newPage();
      const anonErrors = watchErrors(p);
      await visit(p, `/lookup?code=${encodeURIComponent(flow.code)}`);
      const text = await mainText(p);
      assert.ok(text.includes(flow.code), `the lookup names the dossier: ${text}`);
      assert.ok(await p.getByText('Mới đăng ký', { exact: true }).first().isVisible(), `"Mới đăng ký" is shown: ${text}`);
      for (const secret of [CHILD.child_full_name, MOTHER.mother_full_name, MOTHER.mother_personal_id, REQUESTER.requester_phone]) {
        assert.ok(!(await p.content()).includes(secret), `the public lookup must not reveal "${secret}"`);
      }
      await checkPage(t, soft, p, 'public lookup', 'lookup');
      if (anonErrors.length) soft.push(`errors in the browser console (lookup):\n  ${anonErrors.join('\n  ')}`);
    } finally {
      await anon.close();
    }
  });
});

// Once-only (issue #6), end to end in a real browser: the demo citizen (Nguyễn Văn An) allows
// pre-filling, registers his son's birth (1.001193) at phường Ba Đình with his own details filled
// in from his data store; the ward accepts, decides and signs; his data store now holds his son,
// what the birth extract states, and the extract itself. He registers his son's permanent
// residence (1.004222) at the ward police: his son's name, birth date and sex, his own phone, and
// the birth extract (instead of an upload) are there, each saying where it came from; he changes
// the phone and files. The police officer sees which answers were verified, changed or reused.
// He withdraws his consent: the next form starts empty.
//
// The tests run in order and share pages; a failure in the flow skips the rest, naming where it
// stopped. Pages with JavaScript are checked with axe (bypassCSP so it can be injected).

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CITIZEN, DESKTOP, LEADER, OFFICER, PHONE, SPECIALIST, assertAccessible, assertNoHorizontalOverflow, field, setup, smallPdf, snap, visit, watchErrors } from './lib/harness.mjs';

const POLICE = { login: 'congan.badinh', password: 'Công an Ba Đình 2026', name: 'Đỗ Quang Huy' };
const WARD = 'H26.31';
const WARD_POLICE = 'H26.20.31';
const CONTEXT = { viewport: DESKTOP, bypassCSP: true };
const PHONE_CONTEXT = { viewport: PHONE, isMobile: true, hasTouch: true, deviceScaleFactor: 2, bypassCSP: true };

function daysAgo(days) {
  return new Intl.DateTimeFormat('en-GB', { timeZone: 'Asia/Ho_Chi_Minh', day: '2-digit', month: '2-digit', year: 'numeric' }).format(
    new Date(Date.now() - days * 86_400_000),
  );
}

const SON = { name: 'Nguyễn Minh Khang', born: daysAgo(6), personalId: '001226001234' };
const PHONE_NUMBER = '0912345678';
const NEW_PHONE = '0987654321';

let env;
let tmpDir;
const people = {};
const watched = [];
const flow = { birthId: null, residenceId: null, residenceCode: null };
let stoppedAt = null;

async function person(name, opts = CONTEXT) {
  const ctx = await env.newContext(opts);
  const page = await ctx.newPage();
  watched.push([name, watchErrors(page)]);
  people[name] = { ctx, page };
  return page;
}

before(async () => {
  env = await setup();
  tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'thanglong-store-'));
  await person('citizen');
  await person('reception');
  await person('specialist');
  await person('leader');
  await person('police', PHONE_CONTEXT);
});
after(async () => {
  for (const { ctx } of Object.values(people)) await ctx.close().catch(() => {});
  await env?.close();
  if (tmpDir) fs.rmSync(tmpDir, { recursive: true, force: true });
});

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
    for (const [who, errors] of watched) {
      const consoleErrors = errors.splice(0);
      if (consoleErrors.length) soft.push(`errors in the browser console (${who}):\n  ${consoleErrors.join('\n  ')}`);
    }
    if (soft.length) assert.fail(soft.join('\n\n'));
  });
}

const collapse = (s) => s.replace(/\s+/g, ' ').trim();
const mainText = async (p) => collapse(await p.locator('main').innerText().catch(() => '(no <main>)'));

async function go(p, locator, expectedStatus = 200) {
  const [res] = await Promise.all([p.waitForNavigation({ waitUntil: 'load' }), locator.click()]);
  assert.ok(res, `no page loaded after the click (still on ${p.url()})`);
  if (expectedStatus !== null && res.status() !== expectedStatus) {
    assert.fail(`${p.url()} answered HTTP ${res.status()} (expected ${expectedStatus}); the page reads: ${(await mainText(p)).slice(0, 600)}`);
  }
  return res;
}

async function signIn(p, { login, password }) {
  await visit(p, '/signin');
  await p.getByLabel(field('Số định danh cá nhân, mã số thuế hoặc tên đăng nhập')).fill(login);
  await p.getByLabel(field('Mật khẩu')).fill(password);
  await go(p, p.locator('main').getByRole('button', { name: 'Đăng nhập', exact: true }));
  assert.equal(new URL(p.url()).pathname, '/account', `signed in as ${login}`);
}

async function checkPage(t, soft, p, label, shot) {
  await snap(p, `datastore-${shot}`);
  for (const check of [() => assertNoHorizontalOverflow(p, label), () => assertAccessible(t, p, label)]) {
    try {
      await check();
    } catch (e) {
      soft.push(e.message);
    }
  }
}

const next = (p) => p.locator('main').getByRole('button', { name: /^Tiếp tục/ });
/** The provenance note beside a field (id of the field's input or group). */
const noteOf = (p, id) => p.locator(`#${id}-prefill`);

async function upload(p, key, name) {
  const file = path.join(tmpDir, `${name}.pdf`);
  fs.writeFileSync(file, smallPdf(name));
  await p.setInputFiles(`#${key}-file`, file);
  await go(p, p.locator(`#${key}`).getByRole('button', { name: /^Tải lên/ }));
}

/** Opens a dossier page as an officer and presses a decision button. */
async function decide(p, id, button) {
  await visit(p, `/dossiers/${id}`);
  await go(p, p.locator('main').getByRole('button', { name: button }).first());
  assert.equal(new URL(p.url()).pathname, `/dossiers/${id}`, `back on the dossier after "${button}": ${(await mainText(p)).slice(0, 300)}`);
}

describe('once-only: a data store that fills itself, pre-fills with consent, reuses the birth extract', () => {
  flowTest('the citizen allows pre-filling from the procedure page', async (t, soft) => {
    const p = people.citizen.page;
    await signIn(p, CITIZEN);
    await visit(p, '/procedures/1.001193');
    const ask = p.locator('main form.prefill-ask');
    assert.match(collapse(await ask.innerText()), /Không phải khai lại thông tin đã có/, 'the page offers pre-filling');
    await checkPage(t, soft, p, 'procedure page asking for consent', 'ask');
    await go(p, ask.getByRole('button', { name: 'Cho phép điền sẵn', exact: true }));
    assert.equal(new URL(p.url()).pathname, '/procedures/1.001193', 'back on the procedure page');
    assert.equal(await p.locator('main form.prefill-ask').count(), 0, 'no longer asked');
    assert.ok(await p.getByRole('group', { name: 'Điền sẵn từ Kho dữ liệu' }).isVisible(), 'the start form offers pre-filling');
  });

  flowTest('he registers his son’s birth with his own details pre-filled, and files it', async () => {
    const p = people.citizen.page;
    await p.getByLabel('Cơ quan tiếp nhận hồ sơ').selectOption(WARD);
    await p.getByLabel('Người cha').selectOption({ label: `${CITIZEN.name} (Bản thân)` });
    await go(p, p.getByRole('button', { name: 'Bắt đầu nộp hồ sơ', exact: true }));
    flow.birthId = new URL(p.url()).pathname.match(/^\/dossiers\/(\d+)\/edit$/)?.[1];
    assert.ok(flow.birthId, `on the draft's form (${p.url()})`);
    // The child.
    await p.locator('#child_birth_place_kind-1').check();
    for (const [id, v] of Object.entries({
      child_full_name: SON.name, child_birth_date: SON.born, child_ethnicity: 'Kinh', child_nationality: 'Việt Nam',
      child_birth_facility: 'Bệnh viện Phụ sản Hà Nội', child_birth_place: 'phường Ba Đình, Thành phố Hà Nội', child_hometown: 'xã Đông Anh, Thành phố Hà Nội',
    })) await p.locator(`#${id}`).fill(v);
    await p.locator('#child_gender-1').check();
    await go(p, next(p));
    // The mother.
    for (const [id, v] of Object.entries({
      mother_full_name: 'Trần Thị Mai', mother_birth_date: '12/03/1995', mother_personal_id: '001195012345', mother_ethnicity: 'Kinh',
      mother_nationality: 'Việt Nam', mother_residence_street: 'Số 5 ngõ 10 phố Láng Hạ',
    })) await p.locator(`#${id}`).fill(v);
    await p.locator('#mother_residence_province').selectOption({ label: 'Thành phố Hà Nội' });
    await p.locator('#mother_residence_commune').selectOption({ label: 'Phường Ba Đình' });
    await go(p, next(p));
    // The father: himself, from his data store.
    await p.locator('#father_known-1').check();
    assert.equal(await p.locator('#father_full_name').inputValue(), CITIZEN.name, 'his name is filled in');
    assert.equal(await p.locator('#father_personal_id').inputValue(), CITIZEN.login, 'his personal ID number is filled in');
    assert.match(collapse(await noteOf(p, 'father_full_name').innerText()), /^Điền sẵn từ Kho dữ liệu: do bạn tự khai$/, 'and says where it came from');
    for (const [id, v] of Object.entries({ father_birth_date: '15/04/1993', father_ethnicity: 'Kinh', father_nationality: 'Việt Nam', father_residence_street: 'Số 5 ngõ 10 phố Láng Hạ' })) {
      await p.locator(`#${id}`).fill(v);
    }
    await p.locator('#father_residence_province').selectOption({ label: 'Thành phố Hà Nội' });
    await p.locator('#father_residence_commune').selectOption({ label: 'Phường Ba Đình' });
    await p.locator('#parents_married-1').check();
    await go(p, next(p));
    // The requester (himself, pre-filled) and the hospital's birth certificate.
    await upload(p, 'birth_certificate_file', 'giay-chung-sinh');
    await p.locator('#requester_relationship').selectOption({ label: 'Cha' });
    assert.equal(await p.locator('#requester_full_name').inputValue(), CITIZEN.name);
    assert.equal(await p.locator('#requester_personal_id').inputValue(), CITIZEN.login);
    await p.locator('#requester_phone').fill(PHONE_NUMBER);
    await go(p, p.locator('main').getByRole('button', { name: /^Kiểm tra và nộp/ }));
    await go(p, p.locator('main').getByRole('button', { name: 'Nộp hồ sơ', exact: true }));
    assert.equal((await p.getByRole('heading', { level: 1 }).innerText()).trim(), 'Đã nộp hồ sơ thành công', await mainText(p));
  });

  flowTest('the ward accepts it, the specialist forwards it, the leader approves and signs', async () => {
    await signIn(people.reception.page, OFFICER);
    await decide(people.reception.page, flow.birthId, 'Tiếp nhận hồ sơ');
    await signIn(people.specialist.page, SPECIALIST);
    await decide(people.specialist.page, flow.birthId, /^Trình lãnh đạo phê duyệt/);
    await signIn(people.leader.page, LEADER);
    await decide(people.leader.page, flow.birthId, /^(Phê duyệt và ký số kết quả|Ký Giấy khai sinh)$/);
    await visit(people.citizen.page, `/dossiers/${flow.birthId}`);
    assert.match(await mainText(people.citizen.page), /Kết quả giải quyết/, 'the citizen sees the result');
  });

  flowTest('his data store now holds his son, what the extract states, and the extract itself', async (t, soft) => {
    const p = people.citizen.page;
    await visit(p, '/account');
    await go(p, p.locator('main').getByRole('link', { name: 'Kho dữ liệu cá nhân', exact: true }));
    const son = p.locator('main section').filter({ has: p.getByRole('heading', { name: new RegExp(`^${SON.name}`) }) });
    const text = collapse(await son.innerText());
    assert.match(text, /\(Con\)/, text);
    assert.match(text, new RegExp(`Ngày, tháng, năm sinh ${SON.born.replace(/\//g, '\\/')}`), `his birth date: ${text}`);
    assert.match(text, /Đã xác minh ghi trên kết quả do Ủy ban nhân dân phường Ba Đình cấp/, `with its provenance: ${text}`);
    const docs = p.locator('main section').filter({ has: p.getByRole('heading', { name: 'Giấy tờ', exact: true }) });
    const docText = collapse(await docs.innerText());
    assert.match(docText, /Trích lục khai sinh Kết quả/, docText);
    assert.match(docText, /Không thể xóa: Kết quả giải quyết thủ tục hành chính/, `an issued result is kept, with the reason: ${docText}`);
    assert.match(docText, /Giấy chứng sinh/, 'the accepted upload is there too');
    await checkPage(t, soft, p, '/account/data', 'store');
  });

  flowTest('registering his son’s residence: name, birth date, sex, phone and the birth extract are there', async (t, soft) => {
    const p = people.citizen.page;
    await visit(p, '/procedures/1.004222');
    await p.getByLabel('Cơ quan tiếp nhận hồ sơ').selectOption(WARD_POLICE);
    await p.getByLabel('Người đăng ký thường trú').selectOption({ label: `${SON.name} (Con)` });
    await go(p, p.getByRole('button', { name: 'Bắt đầu nộp hồ sơ', exact: true }));
    flow.residenceId = new URL(p.url()).pathname.match(/^\/dossiers\/(\d+)\/edit$/)?.[1];
    assert.ok(flow.residenceId, p.url());
    assert.equal(await p.locator('#full_name').inputValue(), SON.name);
    assert.equal(await p.locator('#birth_date').inputValue(), SON.born);
    assert.ok(await p.locator('#gender-1').isChecked(), 'his sex (Nam) is chosen');
    assert.equal(await p.locator('#phone').inputValue(), PHONE_NUMBER, 'the phone he gave in the birth registration');
    assert.match(collapse(await noteOf(p, 'birth_date').innerText()), /ghi trên kết quả do Ủy ban nhân dân phường Ba Đình cấp/);
    assert.match(collapse(await noteOf(p, 'phone').innerText()), /đã được Ủy ban nhân dân phường Ba Đình xác minh/);
    await checkPage(t, soft, p, 'pre-filled residence form', 'prefilled');
    // He changes one value and types what the store does not hold.
    await p.locator('#phone').fill(NEW_PHONE);
    await p.locator('#personal_id').fill(SON.personalId);
    await go(p, next(p));
    await p.locator('#new_address_province').selectOption({ label: 'Thành phố Hà Nội' });
    await p.locator('#new_address_commune').selectOption({ label: 'Phường Ba Đình' });
    await p.locator('#new_address_street').fill('Số 5 ngõ 10 phố Láng Hạ');
    await p.locator('#residence_basis').selectOption('ve_o_voi_nguoi_than');
    await p.locator('#household-2').check();
    await p.locator('#head_full_name').fill(CITIZEN.name);
    await p.locator('#head_personal_id').fill(CITIZEN.login);
    await p.locator('#relationship_to_head').fill('Con');
    await p.locator('#owner_consent-2').check();
    await p.locator('#owner_full_name').fill(CITIZEN.name);
    await p.locator('#owner_personal_id').fill(CITIZEN.login);
    await go(p, next(p));
    await go(p, next(p)); // nobody else moves with him
    // The documents: the birth extract is already attached, from the data store.
    const reused = p.locator('#relationship_files');
    assert.match(collapse(await reused.innerText()), /Trích lục khai sinh\.pdf/, `the extract is attached: ${collapse(await reused.innerText())}`);
    assert.match(collapse(await noteOf(p, 'relationship_files').innerText()), /Dùng lại giấy tờ trong Kho dữ liệu/);
    await p.locator('#residence_document_kind').selectOption('giay_chung_nhan');
    await upload(p, 'residence_document_files', 'so-do');
    await go(p, p.locator('main').getByRole('button', { name: /^Kiểm tra và nộp/ }));
    await go(p, p.locator('main').getByRole('button', { name: 'Nộp hồ sơ', exact: true }));
    assert.equal((await p.getByRole('heading', { level: 1 }).innerText()).trim(), 'Đã nộp hồ sơ thành công', await mainText(p));
    flow.residenceCode = (await p.locator('main .dossier-code').innerText()).trim();
  });

  flowTest('the ward police officer sees which answers were verified, changed or reused (on a phone)', async (t, soft) => {
    const p = people.police.page;
    await signIn(p, POLICE);
    await visit(p, `/dossiers/${flow.residenceId}`);
    const text = await mainText(p);
    assert.match(text, new RegExp(`${SON.name} Đã xác minh Điền sẵn từ Kho dữ liệu`), `the name: ${text}`);
    assert.match(text, new RegExp(`${NEW_PHONE} Đã sửa`), `the phone: ${text}`);
    assert.match(text, /Dùng lại Dùng lại giấy tờ trong Kho dữ liệu/, `the extract: ${text}`);
    assert.match(text, new RegExp(`${SON.personalId} Người nộp tự nhập`), `the typed number: ${text}`);
    await checkPage(t, soft, p, 'residence dossier (police)', 'officer');
  });

  flowTest('"Ai đã xem dữ liệu của tôi": his log lists the officers who read his dossiers', async (t, soft) => {
    const p = people.citizen.page;
    await visit(p, '/account');
    await go(p, p.locator('main').getByRole('link', { name: 'Ai đã xem dữ liệu của tôi' }).first());
    const text = await mainText(p);
    assert.match(text, new RegExp(`${POLICE.name}.*Công an phường Ba Đình|Công an phường Ba Đình.*${POLICE.name}`), `the police officer's read: ${text.slice(0, 800)}`);
    assert.ok(text.includes(flow.residenceCode), `for the residence dossier ${flow.residenceCode}`);
    assert.ok(text.includes(OFFICER.name) && text.includes(LEADER.name), 'the ward officers who handled the birth registration');
    await checkPage(t, soft, p, '/account/access-log', 'access-log');
  });

  flowTest('he withdraws his consent: the next form starts empty', async (t, soft) => {
    const p = people.citizen.page;
    await visit(p, '/account/consents');
    await checkPage(t, soft, p, '/account/consents', 'consents');
    await go(p, p.locator('main').getByRole('button', { name: /^Rút lại sự đồng ý/ }));
    assert.match(await mainText(p), /Đã rút lại sự đồng ý/);
    await p.locator('main details summary').first().click();
    assert.match(await mainText(p), /Đồng ý .*Đã rút lại|Đã rút lại .*Đồng ý/, 'the history keeps both decisions');
    await visit(p, '/procedures/1.004222');
    assert.equal(await p.locator('main form.prefill-ask').count(), 1, 'pre-filling is offered again, not done');
    await p.getByLabel('Cơ quan tiếp nhận hồ sơ').selectOption(WARD_POLICE);
    await go(p, p.getByRole('button', { name: 'Bắt đầu nộp hồ sơ', exact: true }));
    assert.equal(await p.locator('#full_name').inputValue(), '', 'nothing pre-filled');
    assert.equal(await p.locator('#phone').inputValue(), '');
    assert.equal(await p.locator('.prefill-note').count(), 0, 'no provenance notes');
  });
});

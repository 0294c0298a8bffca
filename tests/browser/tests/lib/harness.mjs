// Shared helpers for the browser tests: start the real release binary on a free port with a
// fresh data directory, launch Debian's Chromium through playwright-core, take screenshots,
// and run axe-core. Not a test file itself (node --test only picks up *.test.mjs here).

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url)); // tests/browser/tests/lib

/** tests/browser */
export const BROWSER_DIR = path.resolve(here, '..', '..');
/** The repository root: two levels above tests/browser. */
export const REPO_ROOT = path.resolve(BROWSER_DIR, '..', '..');
export const SCREENSHOT_DIR = path.join(BROWSER_DIR, 'screenshots');
/** THANGLONG_BIN (a relative path is taken from the repository root), else the release build. */
export const THANGLONG_BIN = path.resolve(REPO_ROOT, process.env.THANGLONG_BIN || path.join('target', 'release', 'thanglong'));
export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

/** Demo accounts printed by `thanglong demo`. */
export const CITIZEN = { login: '001203012345', password: 'Công dân Hà Nội 2026', name: 'Nguyễn Văn An' };
export const ADMIN = { login: 'admin', password: 'Quản trị Thăng Long 2026' };
/** One-stop officer (Reception, and catalog editor) at H26.31, UBND phường Ba Đình. */
export const OFFICER = { login: 'motcua.badinh', password: 'Một cửa Ba Đình 2026', name: 'Trần Thị Bình' };
/** Specialist (chuyên viên) at H26.31: reviews dossiers in "Hồ sơ cần xử lý". */
export const SPECIALIST = { login: 'chuyenvien.badinh', password: 'Chuyên viên Ba Đình 2026', name: 'Lê Văn Cường' };
/** Leader (lãnh đạo) at H26.31: approves and signs results. */
export const LEADER = { login: 'lanhdao.badinh', password: 'Lãnh đạo Ba Đình 2026', name: 'Phạm Minh Đức' };

const READY_TIMEOUT_MS = 60_000;

/** A TCP port that was free a moment ago (listen on port 0, read it, close). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const running = new Set();
process.on('exit', () => {
  // Last resort if a test file dies without running its `after` hook.
  for (const child of running) {
    try {
      child.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
});

/**
 * Starts `thanglong demo --data-dir <tmp> --listen 127.0.0.1:<port>` and waits until
 * GET /readyz answers 200. Returns { baseURL, dataDir, stop(), output() } (the data directory
 * lets a test run other `thanglong` commands, e.g. `oidc client add`, on the same database).
 * Options: `port` (else a free one), `config` (TOML text, written to the data directory and
 * passed with --config), `env` (extra environment variables, e.g. a client secret the
 * configuration names).
 */
export async function startServer({ port: wantedPort, config, env: extraEnv } = {}) {
  try {
    fs.accessSync(THANGLONG_BIN, fs.constants.X_OK);
  } catch {
    throw new Error(
      `Release binary not found or not executable: ${THANGLONG_BIN}\n` +
        `Build it with \`cargo build --release\` in ${REPO_ROOT}, or set THANGLONG_BIN.`,
    );
  }
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'thanglong-browser-'));
  const port = wantedPort ?? (await freePort());
  const listen = `127.0.0.1:${port}`;
  const baseURL = `http://${listen}`;

  // Do not let a developer's THANGLONG_* settings (database URL, config file…) leak in.
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('THANGLONG_')) delete env[k];
  Object.assign(env, extraEnv ?? {});
  const args = ['demo', '--data-dir', dataDir, '--listen', listen];
  if (config !== undefined) {
    const file = path.join(dataDir, 'config.toml');
    fs.writeFileSync(file, config);
    args.push('--config', file);
  }

  const child = spawn(THANGLONG_BIN, args, {
    cwd: dataDir,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let log = '';
  const keep = (chunk) => {
    log += chunk.toString('utf8');
    if (log.length > 200_000) log = log.slice(-100_000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    });
    child.on('error', (err) => {
      running.delete(child);
      keep(`\n[spawn error] ${err.message}\n`);
      resolve({ code: null, signal: null, error: err });
    });
  });
  let exitInfo = null;
  exited.then((info) => {
    exitInfo = info;
  });

  const stop = async () => {
    if (exitInfo === null && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    fs.rmSync(dataDir, { recursive: true, force: true });
  };

  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (exitInfo !== null) {
      await stop();
      throw new Error(`thanglong exited before becoming ready (${JSON.stringify(exitInfo)}). Output:\n${log}`);
    }
    try {
      const res = await fetch(`${baseURL}/readyz`, { signal: AbortSignal.timeout(2_000) });
      await res.arrayBuffer();
      if (res.status === 200) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`thanglong did not answer 200 on /readyz within ${READY_TIMEOUT_MS / 1000} s. Output:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 200)); // readiness polling only
  }
  return { baseURL, dataDir, stop, output: () => log };
}

/** Launches Debian's Chromium (never a downloaded browser). */
export function launchBrowser() {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}

/**
 * Starts the server and the browser for one test file. Call inside `before`; the returned
 * `close` belongs in `after` (it also runs if the test file failed).
 */
export async function setup(serverOptions = {}) {
  fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const server = await startServer(serverOptions);
  let browser;
  try {
    browser = await launchBrowser();
  } catch (e) {
    await server.stop();
    throw e;
  }
  return {
    server,
    browser,
    baseURL: server.baseURL,
    /** A fresh context (cookies are per context) with the server as base URL. */
    newContext: async (opts = {}) => {
      const ctx = await browser.newContext({ baseURL: server.baseURL, viewport: DESKTOP, ...opts });
      // Server-rendered pages on localhost: anything slower than this is a failure, and a
      // short timeout keeps a broken run well inside CI's time budget.
      ctx.setDefaultTimeout(10_000);
      ctx.setDefaultNavigationTimeout(20_000);
      return ctx;
    },
    close: async () => {
      await browser.close().catch(() => {});
      await server.stop();
    },
  };
}

/**
 * Records what a user (or a developer with the console open) would see go wrong: uncaught
 * exceptions, console errors (CSP violations are reported there), sub-resources (CSS, images)
 * that fail or answer 4xx/5xx. Deliberate 4xx pages (a form re-rendered with errors, a 404)
 * and loads aborted by navigating away are not errors.
 */
export function watchErrors(page) {
  const errors = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(`console.error: ${m.text()}`);
  });
  page.on('response', (r) => {
    if (r.status() >= 400 && !r.request().isNavigationRequest()) errors.push(`HTTP ${r.status()} for ${r.url()}`);
  });
  page.on('requestfailed', (r) => {
    const why = r.failure()?.errorText ?? '';
    if (why !== 'net::ERR_ABORTED') errors.push(`request failed: ${r.url()} (${why})`);
  });
  return errors;
}

/** Full-page PNG in tests/browser/screenshots/<name>.png. */
export async function snap(page, name) {
  const file = path.join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** Same-origin navigation that waits for the load event and checks the HTTP status. */
export async function visit(page, url, expectedStatus = 200) {
  const res = await page.goto(url, { waitUntil: 'load' });
  assert.ok(res, `no response for ${url}`);
  assert.equal(res.status(), expectedStatus, `GET ${url} → HTTP ${res.status()}, expected ${expectedStatus}`);
  return res;
}

/** Clicks something that navigates, and waits until the new page has loaded. */
export async function clickAndWait(page, locator, urlPredicate) {
  await Promise.all([page.waitForURL(urlPredicate, { waitUntil: 'load' }), locator.click()]);
}

/** Presses Enter in a field (submitting its form) and waits for the result page to load. */
export async function pressEnterAndWait(page, locator, urlPredicate) {
  await Promise.all([page.waitForURL(urlPredicate, { waitUntil: 'load' }), locator.press('Enter')]);
}

/**
 * Horizontal overflow as the user sees it: content wider than the viewport. Compared with the
 * smaller of window.innerWidth and the configured viewport width, because a mobile browser may
 * zoom out (widening innerWidth) to fit an overflowing page.
 */
export function horizontalOverflow(page) {
  const configured = page.viewportSize()?.width ?? Infinity;
  return page.evaluate((configured) => {
    const vw = Math.min(window.innerWidth, configured);
    const sw = document.documentElement.scrollWidth;
    const culprits = [];
    if (sw > vw + 1) {
      for (const el of document.body.querySelectorAll('*')) {
        const r = el.getBoundingClientRect();
        if (r.right > vw + 1 && r.width > 0) {
          const id = el.id ? `#${el.id}` : '';
          const cls = typeof el.className === 'string' && el.className ? `.${el.className.trim().split(/\s+/).join('.')}` : '';
          culprits.push(`${el.tagName.toLowerCase()}${id}${cls} (right edge ${Math.round(r.right)}px)`);
          if (culprits.length >= 8) break;
        }
      }
    }
    return { scrollWidth: sw, innerWidth: window.innerWidth, viewport: vw, culprits };
  }, configured);
}

export async function assertNoHorizontalOverflow(page, label) {
  const o = await horizontalOverflow(page);
  assert.ok(
    o.scrollWidth <= o.viewport + 1,
    `${label}: page is ${o.scrollWidth}px wide in a ${o.viewport}px viewport (window.innerWidth ${o.innerWidth}), ` +
      `so it scrolls sideways. Elements sticking out: ${o.culprits.join(', ')}`,
  );
}

// ---------------------------------------------------------------- accessibility (axe-core)

const AXE_SOURCE = fs.readFileSync(require.resolve('axe-core'), 'utf8');

/**
 * Injects axe-core and runs it on the whole document. The page must belong to a context
 * created with `bypassCSP: true` (the site's CSP forbids inline scripts).
 */
export async function runAxe(page) {
  const injected = await page.evaluate(() => typeof window.axe !== 'undefined');
  if (!injected) await page.addScriptTag({ content: AXE_SOURCE });
  return page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
}

export function formatViolations(violations) {
  return violations
    .map((v) => {
      const nodes = v.nodes
        .slice(0, 10)
        .map((n) => `      - ${n.target.join(' ')}${n.failureSummary ? `\n        ${n.failureSummary.replace(/\n/g, '\n        ')}` : ''}`)
        .join('\n');
      const more = v.nodes.length > 10 ? `\n      … and ${v.nodes.length - 10} more` : '';
      return `  [${v.impact}] ${v.id}: ${v.help}\n    ${v.helpUrl}\n${nodes}${more}`;
    })
    .join('\n');
}

/**
 * Fails on serious or critical axe violations; lesser ones are reported as test
 * diagnostics (visible in the TAP/spec output) without failing.
 */
export async function assertAccessible(t, page, label) {
  const results = await runAxe(page);
  const blocking = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  const other = results.violations.filter((v) => !blocking.includes(v));
  if (other.length) {
    t.diagnostic(`${label}: minor/moderate axe findings (not failing):`);
    for (const line of formatViolations(other).split('\n')) t.diagnostic(line);
  }
  if (blocking.length) {
    const msg = `${label} (${page.url()}): ${blocking.length} serious/critical accessibility violation(s):\n${formatViolations(blocking)}`;
    console.error(msg);
    assert.fail(msg);
  }
}

/**
 * Matches a form label exactly, ignoring the trailing required-field asterisk (which is
 * aria-hidden but still part of the label's text): use with page.getByLabel(field('…')).
 */
export function field(text) {
  return new RegExp(`^\\s*${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(\\s*\\*)?\\s*$`);
}

/** A small, well-formed one-page PDF showing `line` (a scanned paper document, minus the image). */
export function smallPdf(line) {
  const content = `BT /F1 14 Tf 72 770 Td (${line}) Tj ET`;
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>',
    `<< /Length ${Buffer.byteLength(content, 'latin1')} >>\nstream\n${content}\nendstream`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
  ];
  let out = '%PDF-1.4\n';
  const offsets = [];
  objects.forEach((body, i) => {
    offsets.push(Buffer.byteLength(out, 'latin1'));
    out += `${i + 1} 0 obj\n${body}\nendobj\n`;
  });
  const xref = Buffer.byteLength(out, 'latin1');
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const o of offsets) out += `${String(o).padStart(10, '0')} 00000 n \n`;
  out += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}

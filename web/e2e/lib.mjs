// Shared helpers for the browser tests: one persistent Chromium context per simulated person,
// API shortcuts for fixtures, and waiting on conditions (never fixed sleeps).
import { chromium } from 'playwright-core';
import { mkdtemp, rm, mkdir } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const BASE = (process.env.TRIVIUM_E2E_URL || 'http://127.0.0.1:18080').replace(/\/$/, '');
const SHOTS = process.env.TRIVIUM_SCREENSHOTS === '1';
const SHOT_DIR = process.env.TRIVIUM_SCREENSHOT_DIR
  || path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../docs/screenshots');
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

let uniq = 0;
/** A name unlikely to clash across runs against the same server. */
export function unique(prefix) {
  return `${prefix}_${Date.now().toString(36).slice(-5)}${(++uniq).toString(36)}${Math.floor(Math.random() * 1296).toString(36)}`.slice(0, 24);
}

/** A person: a browser context of its own, with its page; errors on the page fail the test. */
export async function person(t, name, { viewport = { width: 1280, height: 800 } } = {}) {
  const dir = await mkdtemp(path.join(tmpdir(), `trivium-e2e-${name}-`));
  const ctx = await chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  const page = ctx.pages()[0] || await ctx.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(`${name}: page error: ${e.message}`));
  page.on('console', (m) => {
    // A CSP violation is reported on the console as an error: it means inline code crept in.
    if (m.type() === 'error' && /Content Security Policy|Refused to/i.test(m.text())) problems.push(`${name}: ${m.text()}`);
  });
  t.after(async () => {
    await ctx.close();
    await rm(dir, { recursive: true, force: true });
  });
  return { name, ctx, page, problems, dir };
}

/** Fails when any person's page threw or violated the CSP. */
export function assertClean(...people) {
  const all = people.flatMap((p) => p.problems);
  if (all.length) throw new Error(`browser problems:\n${all.join('\n')}`);
}

/** Calls the API from Node. */
export async function call(method, p, body, token) {
  const headers = { 'Content-Type': 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  const res = await fetch(`${BASE}/api/v1/${p}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  const data = text ? JSON.parse(text) : null;
  if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${text}`);
  return data;
}

/** Registers an account through the API; returns {token, player, username, password}. */
export async function account(prefix = 'user') {
  const username = unique(prefix).toLowerCase();
  const password = 'correct horse battery';
  const r = await call('POST', 'auth/register', { username, password });
  return { ...r, username, password };
}

/** Signs a page in with an existing token, as the app would remember it. */
export async function signIn(page, acc) {
  await page.goto(`${BASE}/`);
  await page.evaluate(([token, player]) => {
    localStorage.setItem('trivium.token', token);
    localStorage.setItem('trivium.player', JSON.stringify(player));
  }, [acc.token, acc.player]);
}

/** A choice question. */
export function choice(text, choices, answer, extra = {}) {
  return { text, kind: 'choice', choices, answer, timeLimitSec: 60, ...extra };
}

/** A guest joins a game through the join page and waits in the lobby. */
export async function joinAsGuest(p, code, nickname) {
  await p.page.goto(`${BASE}/join/${code}`);
  await p.page.fill('input[name=nickname]', nickname);
  await p.page.click('button:has-text("Join as guest")');
  await p.page.waitForSelector('.lobby');
}

/** Creates a quiz owned by acc through the API. */
export function createQuiz(acc, quiz) {
  return call('POST', 'quizzes', { description: '', scoring: 'flat', public: false, ...quiz }, acc.token);
}

/** Polls fn until it returns a truthy value (or throws the last error at the deadline). */
export async function eventually(fn, { timeout = 10000, interval = 50, what = 'condition' } = {}) {
  const end = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) { last = e; }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ''}`);
    await new Promise((r) => setTimeout(r, interval));
  }
}

/** Writes a screenshot to docs/screenshots when TRIVIUM_SCREENSHOTS=1. */
export async function screenshot(page, name) {
  if (!SHOTS) return;
  await mkdir(SHOT_DIR, { recursive: true });
  await page.screenshot({ path: path.join(SHOT_DIR, `${name}.png`), fullPage: false });
}

/**
 * Grants a role with the server's own CLI (`trivium users role NAME ROLE`) on its data directory,
 * then waits until the running server sees it: the CLI is another process, and the server keeps
 * a player it has read for up to 2 s.
 */
export async function grantRole(acc, role) {
  const bin = process.env.TRIVIUM_E2E_BIN;
  const data = process.env.TRIVIUM_E2E_DATA;
  if (!bin || !data) throw new Error('granting a role needs TRIVIUM_E2E_BIN and TRIVIUM_E2E_DATA (run.sh sets them when it starts the server)');
  await promisify(execFile)(bin, ['users', 'role', acc.username, role], { env: { ...process.env, TRIVIUM_DATA: data } });
  await eventually(async () => (await call('GET', 'me', undefined, acc.token)).role === role,
    { interval: 100, what: `the server to see ${acc.username}'s role ${role}` }); // ten a second: under the API's rate limit
}

function crc32(buf) {
  let c = ~0;
  for (const b of buf) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

/** A size×size RGB PNG whose pixels are fn(x, y) → [r, g, b]. */
export function png(size, fn) {
  const row = size * 3 + 1;
  const raw = Buffer.alloc(row * size);
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) raw.set(fn(x, y), y * row + 1 + x * 3);
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(td));
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/**
 * Runs axe-core on the page as it is now and fails on serious or critical violations (WCAG 2.x
 * A/AA rules and best practices, colour contrast included). The source is evaluated through the
 * driver, which the page's CSP does not apply to, so the CSP stays as strict as in production.
 */
export async function checkA11y(page, where) {
  await page.evaluate(AXE_SOURCE);
  const violations = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ['violations'] });
    return r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.impact} ${v.id}: ${v.help}\n${v.nodes.slice(0, 5).map((n) => `    ${n.target.join(' ')} — ${n.failureSummary.split('\n').slice(1).join(' ').trim()}`).join('\n')}`);
  });
  if (violations.length) throw new Error(`accessibility problems on ${where}:\n  ${violations.join('\n  ')}`);
}

// A yellow disc on navy: nothing skin-like, so the built-in screen accepts it.
export const face = png(96, (x, y) => ((x - 48) ** 2 + (y - 48) ** 2 < 1600 ? [255, 210, 63] : [29, 43, 100]));
// Skin tones everywhere (but not uniform): the built-in screen sends it to human review.
export const skin = png(96, (x, y) => [200 + ((x * 7) % 30), 150 + ((y * 5) % 30), 120 + ((x + y) % 20)]);

/** Uploads an avatar through the profile page (the status is then followed on that page). */
export async function uploadAvatar(page, name, buffer) {
  await page.goto(`${BASE}/profile`);
  await page.waitForSelector('#avatar-file');
  await page.locator('#avatar-file').setInputFiles({ name, mimeType: 'image/png', buffer });
  await page.waitForSelector('.preview img');
  await page.click('button:has-text("Upload")');
}

const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 800 };

/**
 * With TRIVIUM_SCREENSHOTS=1, writes docs/screenshots/NAME-phone.png and NAME-desktop.png of the
 * page as it is (the viewport is put back afterwards); otherwise does nothing.
 */
export async function screenshots(page, name) {
  if (!SHOTS) return;
  const before = page.viewportSize();
  for (const [kind, size] of [['phone', PHONE], ['desktop', DESKTOP]]) {
    await page.setViewportSize(size);
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    await screenshot(page, `${name}-${kind}`);
  }
  if (before) await page.setViewportSize(before);
}

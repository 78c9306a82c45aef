// Avatars end to end: an accepted upload (presigned PUT with progress, live notification, new
// thumbnail, inbox), and a flagged one that waits for a moderator who approves it in the console.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, person, account, signIn, screenshot, assertClean, call, grantRole, png } from '../lib.mjs';

// A yellow disc on navy: nothing skin-like, so the built-in screen accepts it.
const face = png(96, (x, y) => ((x - 48) ** 2 + (y - 48) ** 2 < 1600 ? [255, 210, 63] : [29, 43, 100]));
// Skin tones everywhere (but not uniform): the built-in screen sends it to human review.
const skin = png(96, (x, y) => [200 + ((x * 7) % 30), 150 + ((y * 5) % 30), 120 + ((x + y) % 20)]);

async function upload(page, name, buffer) {
  await page.goto(`${BASE}/profile`);
  await page.waitForSelector('#avatar-file');
  await page.locator('#avatar-file').setInputFiles({ name, mimeType: 'image/png', buffer });
  await page.waitForSelector('.preview img');
  await page.click('button:has-text("Upload")');
}

test('an accepted avatar upload shows progress, a live notification and the new thumbnail', { timeout: 60000 }, async (t) => {
  const acc = await account('avup');
  const p = await person(t, 'avup');
  await signIn(p.page, acc);
  await upload(p.page, 'face.png', face);

  await p.page.waitForSelector('#upload-status[data-status="accepted"]', { timeout: 30000 });
  assert.equal(await p.page.getAttribute('#upload-progress', 'value'), '100');
  const me = await call('GET', 'me', undefined, acc.token);
  assert.equal(me.avatar.status, 'accepted');
  assert.ok(me.avatar.thumbnailUrl);
  await p.page.waitForSelector(`#avatar-img[src="${me.avatar.thumbnailUrl}"]`);
  assert.ok(await p.page.$eval('#avatar-img', (img) => img.complete && img.naturalWidth > 0), 'the thumbnail loads');
  // The in-band copy of the notification arrives over the tab's WebSocket as a toast.
  await p.page.waitForSelector('.toast:has-text("avatar")', { timeout: 15000 });
  await screenshot(p.page, 'profile');

  await p.page.click('.nav a[href="/inbox"]');
  await p.page.waitForSelector('.inbox .note:has-text("avatar")');
  assertClean(p);
});

test('a flagged avatar waits for a moderator, who approves it; players never see the console', { timeout: 90000 }, async (t) => {
  const acc = await account('flag');
  const p = await person(t, 'flagged');
  await signIn(p.page, acc);
  await upload(p.page, 'skin.png', skin);
  await p.page.waitForSelector('#upload-status[data-status="in_review"]', { timeout: 30000 });

  // A player has no console and no link to it.
  const other = await p.ctx.newPage();
  await other.goto(`${BASE}/moderation`);
  await other.waitForSelector('h1:has-text("Moderators only")');
  assert.equal(await other.locator('.nav a[href="/moderation"]').count(), 0);
  await other.close();

  const modAcc = await account('mod');
  await grantRole(modAcc.username, 'moderator');
  const m = await person(t, 'moderator', { viewport: { width: 1280, height: 900 } });
  await signIn(m.page, modAcc);
  await m.page.goto(`${BASE}/moderation`);
  const card = m.page.locator('.case', { has: m.page.locator(`h2:text-is("${acc.username}")`) });
  await card.waitFor();
  await m.page.waitForSelector('.nav a[href="/moderation"]');
  assert.match(await card.locator('.labels').textContent(), /Suggestive/);
  assert.ok(await card.locator('img.case-img').evaluate((img) => img.complete && img.naturalWidth === 96), 'the signed image URL loads');
  await screenshot(m.page, 'moderator-console');

  await card.locator('textarea[name=note]').fill('a face close-up, fine');
  await card.locator('button[data-action="approve"]').click();
  await card.waitFor({ state: 'detached' });

  // The player's open profile follows the decision live.
  await p.page.waitForSelector('#upload-status[data-status="accepted"]', { timeout: 30000 });
  await p.page.waitForSelector('#avatar-img');

  await m.page.click('button[role=tab]:has-text("Decided")');
  const decided = m.page.locator('.case', { has: m.page.locator(`h2:text-is("${acc.username}")`) });
  await decided.locator('.decision').waitFor();
  assert.match(await decided.locator('.decision').textContent(), /approve — a face close-up, fine/);
  assertClean(p, m);
});

// Avatars end to end: an accepted upload (presigned PUT with progress, live notification, new
// thumbnail, inbox), and a flagged one that waits for a moderator who approves it in the console.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, person, account, signIn, screenshot, assertClean, call, grantRole, face, skin, uploadAvatar as upload } from '../lib.mjs';

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
  // Shown at 128 px, the avatar is the 256 px image, not the 64 px thumbnail blown up.
  await p.page.waitForSelector(`#avatar-img[src="${me.avatar.url}"]`);
  await p.page.waitForFunction(() => { const img = document.getElementById('avatar-img'); return img.complete && img.naturalWidth >= 128; });
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
  await grantRole(modAcc, 'moderator');
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

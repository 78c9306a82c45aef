// Profile: display name, the client-side avatar checks and preview, and the service worker showing
// a Web Push (delivered through CDP: headless Chromium has no push service) and relaying it to the
// open profile, whose avatar status updates live.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, person, account, signIn, assertClean, eventually } from '../lib.mjs';

// A valid 1×1 PNG.
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');

test('the profile renames, checks avatar files before upload and previews them', { timeout: 60000 }, async (t) => {
  const acc = await account('prof');
  const p = await person(t, 'prof', { viewport: { width: 375, height: 812 } });
  await signIn(p.page, acc);
  await p.page.goto(`${BASE}/profile`);
  await p.page.waitForSelector('#name-h');

  await p.page.fill('input[name=displayName]', 'Profile Tester');
  await p.page.click('button:has-text("Save name")');
  await p.page.waitForSelector('.nav .who:has-text("Profile Tester")');

  const file = p.page.locator('#avatar-file');
  await file.setInputFiles({ name: 'a.gif', mimeType: 'image/gif', buffer: Buffer.from('GIF89a') });
  await p.page.waitForSelector('#avatar-file-err:has-text("JPEG, PNG or WebP")');
  assert.ok(await p.page.isDisabled('button:has-text("Upload")'));
  await file.setInputFiles({ name: 'big.png', mimeType: 'image/png', buffer: Buffer.alloc(5 * 1024 * 1024 + 1) });
  await p.page.waitForSelector('#avatar-file-err:has-text("limit is 5 MiB")');
  await file.setInputFiles({ name: 'ok.png', mimeType: 'image/png', buffer: PNG });
  await p.page.waitForSelector('.preview img');
  assert.ok(await p.page.isHidden('#avatar-file-err'));
  assert.ok(await p.page.isEnabled('button:has-text("Upload")'));
  assertClean(p);
});

test('a delivered push shows a notification and updates the open profile', { timeout: 60000 }, async (t) => {
  const acc = await account('push');
  const p = await person(t, 'push', { viewport: { width: 1100, height: 760 } });
  await signIn(p.page, acc);
  const cdp = await p.ctx.newCDPSession(p.page);
  const regs = new Map();
  cdp.on('ServiceWorker.workerRegistrationUpdated', (ev) => {
    for (const r of ev.registrations) if (!r.isDeleted) regs.set(r.scopeURL, r.registrationId);
  });
  await cdp.send('ServiceWorker.enable');
  await p.page.goto(`${BASE}/profile`);
  await p.page.evaluate(() => navigator.serviceWorker.ready.then(() => true));
  assert.equal(await p.page.evaluate(() => Notification.permission), 'default', 'no permission is asked without a click');
  await p.ctx.grantPermissions(['notifications'], { origin: BASE });
  const registrationId = await eventually(() => regs.get(`${BASE}/`), { what: 'the service worker registration' });

  const payload = { topic: 'avatar', title: 'Avatar accepted', body: 'Your new avatar is live.', data: { uploadId: 'u1', status: 'accepted', reason: '', thumbnailUrl: '' } };
  const notifications = () => p.page.evaluate(async () => (await (await navigator.serviceWorker.ready).getNotifications())
    .map((n) => ({ title: n.title, body: n.body, tag: n.tag, data: n.data })));
  // A push delivered while the worker is still activating can be dropped by Chromium: deliver
  // again until one shows (the tag makes a repeat replace, not add, a notification).
  const shown = await eventually(async () => {
    await cdp.send('ServiceWorker.deliverPushMessage', { origin: BASE, registrationId, data: JSON.stringify(payload) });
    return eventually(async () => { const ns = await notifications(); return ns.length ? ns : null; }, { timeout: 2000, what: 'the notification' }).catch(() => null);
  }, { timeout: 20000, what: 'a delivered push to show a notification' });
  assert.equal(shown[0].title, 'Avatar accepted');
  assert.equal(shown[0].body, 'Your new avatar is live.');
  assert.equal(shown[0].tag, 'avatar');
  assert.equal(shown[0].data.data.uploadId, 'u1');

  await p.page.waitForSelector('#upload-status[data-status="accepted"]');
  assertClean(p);
});

// Flows that had no browser test: the login form, an avatar in review then rejected as the player
// sees it, the inbox, the moderator console's reject and own-case rule, reporting an avatar from a
// game, broken and sharp avatars, "Notify me" without a push service, and two players of one name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, person, account, signIn, createQuiz, choice, assertClean, call, grantRole, face, skin, uploadAvatar, eventually } from '../lib.mjs';

test('the login form signs in with the right password and says so on a wrong one', { timeout: 30000 }, async (t) => {
  const acc = await account('login');
  const p = await person(t, 'login');
  await p.page.goto(`${BASE}/login`);
  await p.page.waitForSelector('h1:has-text("Sign in")');
  const nullText = () => p.page.evaluate(() => {
    const w = document.createTreeWalker(document.querySelector('main'), NodeFilter.SHOW_TEXT);
    for (let n = w.nextNode(); n; n = w.nextNode()) if (n.nodeValue.trim() === 'null') return true;
    return false;
  });
  assert.equal(await nullText(), false, 'no literal "null" on the sign-in page');
  const form = 'form[aria-labelledby="login-h"]';
  await p.page.fill(`${form} input[name=username]`, acc.username);
  await p.page.fill(`${form} input[name=password]`, 'wrong password!');
  await p.page.click(`${form} button[type=submit]`);
  await p.page.waitForSelector(`${form} .field-error:has-text("Wrong username or password.")`);
  assert.equal(await p.page.evaluate(() => localStorage.getItem('trivium.token')), null);
  await p.page.fill(`${form} input[name=password]`, acc.password);
  await p.page.click(`${form} button[type=submit]`);
  await p.page.waitForSelector(`.nav .who:has-text("${acc.player.displayName}")`);
  assert.equal(new URL(p.page.url()).pathname, '/');

  // Sent to the sign-in page by a page that needs an account: the reason, and still no "null".
  await p.page.click('.nav button:has-text("Log out")');
  await p.page.goto(`${BASE}/profile`);
  await p.page.waitForSelector('.notice:has-text("needs an account")');
  await p.page.goto(`${BASE}/login?next=/inbox`);
  await p.page.waitForSelector('h1:has-text("Sign in")');
  assert.equal(await nullText(), false);
  assertClean(p);
});

test('an avatar in review, then rejected, as the player sees it; the inbox; the console refuses own cases', { timeout: 90000 }, async (t) => {
  const acc = await account('rej');
  const p = await person(t, 'rejected');
  await signIn(p.page, acc);
  await uploadAvatar(p.page, 'skin.png', skin);
  await p.page.waitForSelector('#upload-status[data-status="in_review"]:has-text("A moderator is reviewing your image.")', { timeout: 30000 });

  const modAcc = await account('rejmod');
  await grantRole(modAcc, 'moderator');
  const m = await person(t, 'moderator', { viewport: { width: 1280, height: 900 } });
  await signIn(m.page, modAcc);
  // The moderator's own flagged avatar is in the queue too, but not theirs to decide.
  await uploadAvatar(m.page, 'skin.png', skin);
  await m.page.waitForSelector('#upload-status[data-status="in_review"]', { timeout: 30000 });
  await m.page.goto(`${BASE}/moderation`);
  const own = m.page.locator('.case', { has: m.page.locator(`h2:text-is("${modAcc.username}")`) });
  await own.waitFor();
  assert.match(await own.textContent(), /your own content: another moderator must decide it/);
  assert.equal(await own.locator('.case-actions button, button[data-action="approve"], button[data-action="reject"]').count(), 0, 'no decision buttons on one\'s own case');

  const card = m.page.locator('.case', { has: m.page.locator(`h2:text-is("${acc.username}")`) });
  await card.locator('textarea[name=note]').fill('not a face');
  await card.locator('button[data-action="reject"]').click();
  await card.waitFor({ state: 'detached' });
  await m.page.waitForSelector('.toast:has-text("Rejected")');

  // The player's open profile says so, with the reason, and keeps no new avatar.
  await p.page.waitForSelector('#upload-status[data-status="rejected"]:has-text("Rejected")', { timeout: 30000 });
  assert.equal(await p.page.locator('#avatar-img').count(), 0);
  await p.page.click('.nav a[href="/inbox"]');
  await p.page.waitForSelector('.inbox .note:has-text("avatar")');
  assert.match(await p.page.textContent('.inbox'), /reject/i);

  await m.page.click('button[role=tab]:has-text("Decided")');
  const decided = m.page.locator('.case', { has: m.page.locator(`h2:text-is("${acc.username}")`) });
  await decided.locator('.decision').waitFor();
  assert.match(await decided.locator('.decision').textContent(), /reject — not a face/);
  assertClean(p, m);
});

test('players report an avatar from the game; avatars are sharp and a broken one falls back to an initial', { timeout: 90000 }, async (t) => {
  const hostAcc = await account('rephost');
  const quiz = await createQuiz(hostAcc, { title: 'Report', mode: 'casual', questions: [choice('Q?', ['A', 'B'], 0)] });
  const game = await call('POST', 'games', { quizId: quiz.id }, hostAcc.token);
  const ava = await account('ava');
  const rex = await account('rex');
  const a = await person(t, 'ava');
  const r = await person(t, 'rex', { viewport: { width: 390, height: 844 } });
  const g = await person(t, 'guest', { viewport: { width: 390, height: 844 } });
  await signIn(a.page, ava);
  await uploadAvatar(a.page, 'face.png', face);
  await a.page.waitForSelector('#upload-status[data-status="accepted"]', { timeout: 30000 });
  const me = await call('GET', 'me', undefined, ava.token);

  await a.page.goto(`${BASE}/play/${game.code}`);
  await a.page.waitForSelector('.lobby');
  await signIn(r.page, rex);
  await r.page.goto(`${BASE}/play/${game.code}`);
  await r.page.waitForSelector('.lobby');
  await g.page.goto(`${BASE}/join/${game.code}`);
  await g.page.fill('input[name=nickname]', 'Gil');
  await g.page.click('button:has-text("Join as guest")');
  await g.page.waitForSelector('.lobby');

  // A guest cannot report (the API needs an account); nobody reports themselves.
  await g.page.waitForSelector(`.player-list li[data-player="${ava.player.id}"] img.avatar`);
  assert.equal(await g.page.locator('button.report').count(), 0);
  await a.page.waitForSelector(`.player-list li[data-player="${rex.player.id}"]`);
  assert.equal(await a.page.locator(`.player-list li[data-player="${ava.player.id}"] button.report`).count(), 0);

  // A 32 px avatar on a 1× screen is the 64 px thumbnail.
  const src = await r.page.getAttribute(`.player-list li[data-player="${ava.player.id}"] img.avatar`, 'src');
  assert.equal(new URL(src, BASE).pathname, new URL(me.avatar.thumbnailUrl).pathname);
  await r.page.click(`.player-list li[data-player="${ava.player.id}"] button.report`);
  await r.page.waitForSelector('dialog.confirm[open]');
  await r.page.click('dialog.confirm button[data-confirm="yes"]');
  await r.page.waitForSelector('.toast:has-text("Avatar reported")');

  const modAcc = await account('repmod');
  await grantRole(modAcc, 'moderator');
  const cases = await call('GET', 'moderation/cases?status=pending&limit=100', undefined, (await call('POST', 'auth/login', { username: modAcc.username, password: modAcc.password })).token);
  assert.ok(cases.items.some((c) => c.kind === 'report' && c.player.id === ava.player.id && /reported from game/.test(c.reason)), 'a report case on the avatar');

  // An image that fails to load shows the initial, not its alt text in the circle.
  const b = await person(t, 'broken', { viewport: { width: 390, height: 844 } });
  await b.page.route(/\/avatars\//, (route) => route.fulfill({ status: 404, body: 'gone' }));
  await signIn(b.page, ava);
  await b.page.goto(`${BASE}/profile`);
  await b.page.waitForSelector('.current-avatar .avatar-initial[role="img"][aria-label="Your avatar"]');
  assert.equal(await b.page.locator('.current-avatar img').count(), 0);
  assert.equal((await b.page.textContent('.current-avatar')).trim(), ava.player.displayName.charAt(0).toUpperCase());
  assertClean(a, r, g);
});

test('"Notify me" gives up with a message when no push service answers', { timeout: 40000 }, async (t) => {
  const acc = await account('push');
  const p = await person(t, 'push');
  await p.ctx.grantPermissions(['notifications'], { origin: BASE });
  await signIn(p.page, acc);
  await p.page.goto(`${BASE}/profile`);
  await p.page.click('#push-on');
  await p.page.waitForSelector('#push-status:has-text("Asking your browser")');
  await p.page.waitForSelector('#push-status:has-text("did not answer")', { timeout: 20000 });
  assert.equal(await p.page.isDisabled('#push-on'), false, 'the button can be tried again');
  assertClean(p);
});

test('two players with the same name are told apart', { timeout: 60000 }, async (t) => {
  const hostAcc = await account('dups');
  const quiz = await createQuiz(hostAcc, { title: 'Names', mode: 'casual', questions: [choice('Q?', ['A', 'B'], 0)] });
  const game = await call('POST', 'games', { quizId: quiz.id }, hostAcc.token);
  const host = await person(t, 'host');
  await signIn(host.page, hostAcc);
  await host.page.goto(`${BASE}/host/${game.code}`);
  await host.page.waitForSelector('.join-code');
  const bobs = [];
  for (const nick of ['Bob', 'böb ']) {
    const p = await person(t, nick.trim(), { viewport: { width: 390, height: 844 } });
    await p.page.goto(`${BASE}/join/${game.code}`);
    await p.page.fill('input[name=nickname]', nick);
    await p.page.click('button:has-text("Join as guest")');
    await p.page.waitForSelector('.lobby');
    bobs.push(p);
  }
  await eventually(async () => (await host.page.$$eval('.player-list .name', (els) => els.map((e) => e.textContent))).length === 2, { what: 'two players' });
  const names = await host.page.$$eval('.player-list .name', (els) => els.map((e) => e.textContent));
  assert.deepEqual(names, ['Bob', 'böb (2)']);
  await host.page.click('button[data-action="start"]');
  for (const p of bobs) await p.page.click('.question-card[data-index="0"] button[data-choice="0"]');
  await host.page.waitForSelector('.reveal');
  await host.page.click('button[data-action="scoreboard"]');
  await host.page.waitForSelector('.scoreboard');
  const board = await host.page.$$eval('.scoreboard .name', (els) => els.map((e) => e.textContent).sort());
  assert.deepEqual(board, ['Bob', 'böb (2)']);
  assertClean(host, ...bobs);
});

// Accessibility: axe-core finds no serious or critical problem on any page, in any phase of a
// game, for a player (phone) and a host (projector); answers can be given with the 1–4 keys; focus
// goes to the answers when a question opens and Tab walks them in order; the time left is
// announced through a polite live region.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, person, account, signIn, createQuiz, choice, assertClean, call, checkA11y, grantRole, screenshots } from '../lib.mjs';

test('every page passes axe-core, signed out, as an account and as a moderator', { timeout: 120000 }, async (t) => {
  const p = await person(t, 'visitor', { viewport: { width: 390, height: 844 } });
  const page = p.page;
  const acc = await account('a11y');
  const quiz = await createQuiz(acc, { title: 'Solo a11y', mode: 'single', questions: [choice('Pick B', ['A', 'B'], 1)] });
  const game = await call('POST', 'games', { quizId: (await createQuiz(acc, { title: 'Game a11y', mode: 'casual', questions: [choice('Q', ['A', 'B'], 0)] })).id }, acc.token);

  const shotName = (path) => (path === '/' ? 'home' : path.slice(1).replace(/\/[A-Z0-9]{6}$/, '-code').replace(/ZZZZZZ|no\/such\/page/, 'not-found').replace(/[^a-z0-9-]+/g, '-'));
  for (const path of ['/', '/login', '/join', `/join/${game.code}`, '/join/ZZZZZZ', '/leaderboards', '/no/such/page']) {
    await page.goto(`${BASE}${path}`);
    await page.waitForSelector('main h1');
    await page.waitForLoadState('networkidle');
    await checkA11y(page, `${path} (signed out)`);
    if (path !== '/leaderboards') await screenshots(page, shotName(path));
  }
  // A failed sign-in shows its error.
  await page.goto(`${BASE}/login`);
  await page.fill('form[aria-labelledby="login-h"] input[name=username]', acc.username);
  await page.fill('form[aria-labelledby="login-h"] input[name=password]', 'not the password');
  await page.click('form[aria-labelledby="login-h"] button[type=submit]');
  await page.waitForSelector('form[aria-labelledby="login-h"] .field-error:has-text("Wrong username or password")');
  await checkA11y(page, '/login with a wrong password');

  await signIn(page, acc);
  for (const path of ['/', '/host', '/author', '/author/new', '/solo', `/solo/${quiz.id}`, '/profile', '/inbox', '/leaderboards', '/moderation']) {
    await page.goto(`${BASE}${path}`);
    await page.waitForSelector('main h1');
    await page.waitForLoadState('networkidle');
    await checkA11y(page, `${path} (account)`);
    if (path !== '/' && path !== '/moderation') await screenshots(page, path === `/solo/${quiz.id}` ? 'solo-play' : shotName(path));
  }
  // The editor with server errors, and its summary.
  await page.goto(`${BASE}/author/new`);
  await page.click('button:has-text("Create quiz")');
  await page.waitForSelector('.error-summary a');
  await checkA11y(page, '/author/new with errors');
  await screenshots(page, 'author-errors');

  const mod = await account('a11ymod');
  await grantRole(mod, 'moderator');
  await signIn(page, mod);
  await page.goto(`${BASE}/moderation`);
  await page.waitForSelector('main h1:has-text("Moderation")');
  await page.waitForLoadState('networkidle');
  await checkA11y(page, '/moderation (moderator)');
  await screenshots(page, 'moderation');
  assertClean(p);
});

test('every phase of a game passes axe-core, is playable by keyboard and announces the time politely', { timeout: 120000 }, async (t) => {
  const hostAcc = await account('a11yhost');
  const quiz = await createQuiz(hostAcc, {
    title: 'Keys', mode: 'casual', scoring: 'flat',
    questions: [choice('Third letter?', ['A', 'B', 'C', 'D'], 2, { timeLimitSec: 20 }), choice('First letter?', ['A', 'B'], 0)],
  });
  const game = await call('POST', 'games', { quizId: quiz.id }, hostAcc.token);
  const host = await person(t, 'host', { viewport: { width: 1280, height: 800 } });
  const pl = await person(t, 'kim', { viewport: { width: 390, height: 844 } });
  await signIn(host.page, hostAcc);
  await host.page.goto(`${BASE}/host/${game.code}`);
  await host.page.waitForSelector('.join-code');
  await pl.page.goto(`${BASE}/join/${game.code}`);
  await pl.page.fill('input[name=nickname]', 'Kim');
  await pl.page.click('button:has-text("Join as guest")');
  await pl.page.waitForSelector('.lobby');
  // A second player keeps the round open while the first has answered.
  const lou = await person(t, 'lou', { viewport: { width: 390, height: 844 } });
  await lou.page.goto(`${BASE}/join/${game.code}`);
  await lou.page.fill('input[name=nickname]', 'Lou');
  await lou.page.click('button:has-text("Join as guest")');
  await lou.page.waitForSelector('.lobby');
  await host.page.waitForFunction(() => document.querySelectorAll('.player-list li').length === 2);
  await checkA11y(pl.page, 'player lobby');
  await screenshots(pl.page, 'player-lobby');
  await checkA11y(host.page, 'host lobby');
  await screenshots(host.page, 'host-lobby');

  // End game asks first: the dialog is accessible, and cancelling keeps the game going.
  await host.page.click('button[data-action="end"]');
  await host.page.waitForSelector('dialog.confirm[open]');
  await checkA11y(host.page, 'host end-game confirmation');
  await host.page.keyboard.press('Escape');
  await host.page.waitForSelector('dialog.confirm', { state: 'detached' });

  // Every announcement is recorded as it is made, so a slow machine cannot miss one.
  await pl.page.evaluate(() => {
    window.__said = [];
    let last = '';
    new MutationObserver(() => {
      const text = document.getElementById('announce')?.textContent ?? '';
      if (text !== last) window.__said.push(text);
      last = text;
    }).observe(document.body, { childList: true, characterData: true, subtree: true });
  });
  await host.page.click('button[data-action="start"]');
  await pl.page.waitForSelector('.question-card[data-index="0"]');
  // Focus lands on the first answer; Tab walks the answers in their visible order.
  const order = [];
  order.push(await pl.page.evaluate(() => document.activeElement.dataset.choice));
  for (let i = 0; i < 3; i++) {
    await pl.page.keyboard.press('Tab');
    order.push(await pl.page.evaluate(() => document.activeElement.dataset.choice));
  }
  assert.deepEqual(order, ['0', '1', '2', '3']);
  await checkA11y(pl.page, 'player question');
  await screenshots(pl.page, 'player-question');
  await checkA11y(host.page, 'host question');
  await screenshots(host.page, 'host-question');
  // The countdown is announced politely (not every tick): "10 seconds left".
  const live = pl.page.locator('#announce');
  assert.equal(await live.getAttribute('aria-live'), 'polite');
  await pl.page.waitForFunction(() => window.__said.includes('10 seconds left'), null, { timeout: 25000 });
  const said = await pl.page.evaluate(() => window.__said.filter((s) => /seconds left/.test(s)));
  assert.ok(said.every((s) => s === '10 seconds left' || s === '5 seconds left'), `announced every tick: ${said}`);
  assert.equal(await pl.page.locator('.stage[aria-live]').count(), 0, 'the ticking stage is not a live region');

  // Key 3 answers the third choice.
  await pl.page.keyboard.press('3');
  await pl.page.waitForSelector('.locked:has-text("Answer locked: C")');
  await checkA11y(pl.page, 'player answered');
  await screenshots(pl.page, 'player-answered');
  await lou.page.keyboard.press('1');
  await pl.page.waitForSelector('.reveal[data-index="0"] .result-right');
  assert.equal((await pl.page.textContent('.reveal[data-index="0"] .your-answer')).trim(), 'Your answer: C');
  await checkA11y(pl.page, 'player reveal');
  await screenshots(pl.page, 'player-reveal');
  await host.page.waitForSelector('.reveal[data-index="0"]');
  // On the projector the question reads as large as its answer, not as small body text.
  const sizes = await host.page.$eval('.reveal[data-index="0"]', (el) => ({
    q: parseFloat(getComputedStyle(el.querySelector('.reveal-q')).fontSize),
    a: parseFloat(getComputedStyle(el.querySelector('.reveal-answer')).fontSize),
    text: el.querySelector('.reveal-q').textContent,
  }));
  assert.equal(sizes.text, 'Third letter?');
  assert.ok(sizes.q >= sizes.a && sizes.q >= 32, `host reveal: question ${sizes.q}px, answer ${sizes.a}px`);
  await checkA11y(host.page, 'host reveal');
  await screenshots(host.page, 'host-reveal');
  await host.page.click('button[data-action="scoreboard"]');
  await pl.page.waitForSelector('.scoreboard');
  await checkA11y(pl.page, 'player scoreboard');
  await screenshots(pl.page, 'player-scoreboard');
  await checkA11y(host.page, 'host scoreboard');
  await screenshots(host.page, 'host-scoreboard');
  await host.page.click('button[data-action="next"]');
  await pl.page.waitForSelector('.question-card[data-index="1"]');
  await pl.page.keyboard.press('1');
  await lou.page.waitForSelector('.question-card[data-index="1"]');
  await lou.page.keyboard.press('2');
  await pl.page.waitForSelector('.reveal[data-index="1"] .result-right');
  await host.page.click('button[data-action="next"]');
  await pl.page.waitForSelector('.podium');
  await host.page.waitForSelector('.podium');
  await checkA11y(pl.page, 'player podium');
  await screenshots(pl.page, 'player-podium');
  await checkA11y(host.page, 'host podium');
  await screenshots(host.page, 'host-podium');
  assertClean(host, pl, lou);
});

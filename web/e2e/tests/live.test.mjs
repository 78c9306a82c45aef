// Live mode: two players race; a wrong answer locks its player out, the first right answer wins
// the question and the winner is announced to both. Chat text is shown as text, never as markup.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, person, account, signIn, createQuiz, choice, assertClean, call } from '../lib.mjs';

test('in a live game the first right answer wins and both players see the winner', { timeout: 90000 }, async (t) => {
  const hostAcc = await account('lhost');
  const zoe = await account('zoe');
  const max = await account('max');
  zoe.player = await call('PATCH', 'me', { displayName: 'Zoe' }, zoe.token);
  max.player = await call('PATCH', 'me', { displayName: 'Max' }, max.token);
  const quiz = await createQuiz(hostAcc, {
    title: 'Race', mode: 'live', scoring: 'speed',
    questions: [choice('2 + 2?', ['3', '4', '5'], 1), choice('3 × 3?', ['9', '6'], 0)],
  });
  const game = await call('POST', 'games', { quizId: quiz.id }, hostAcc.token);

  const host = await person(t, 'host');
  const pz = await person(t, 'zoe', { viewport: { width: 375, height: 700 } });
  const pm = await person(t, 'max', { viewport: { width: 375, height: 700 } });
  // Max's computer clock is an hour fast: his countdown must still follow the server's deadline.
  await pm.page.addInitScript(() => {
    const real = Date.now;
    Date.now = () => real() + 3600000;
  });
  await signIn(host.page, hostAcc);
  await host.page.goto(`${BASE}/host/${game.code}`);
  await host.page.waitForSelector('.join-code');
  for (const [p, acc] of [[pz, zoe], [pm, max]]) {
    await signIn(p.page, acc);
    await p.page.goto(`${BASE}/join/${game.code}`);
    await p.page.waitForSelector('.lobby');
  }
  await host.page.waitForFunction(() => document.querySelectorAll('.player-list li').length === 2);

  // Chat renders text, not markup.
  await pz.page.fill('input[name=chat]', '<b>hi</b> <img src=x>');
  await pz.page.click('.chat-form button');
  await pm.page.waitForSelector('.chat-log li');
  assert.equal(await pm.page.textContent('.chat-log .chat-text'), '<b>hi</b> <img src=x>');
  assert.equal(await pm.page.locator('.chat-log b, .chat-log img').count(), 0);

  await host.page.click('button[data-action="start"]');
  await pz.page.waitForSelector('.question-card[data-index="0"]');
  await pm.page.waitForSelector('.question-card[data-index="0"]');

  const secs = Number(await pm.page.textContent('.question-card .timer-secs'));
  assert.ok(secs >= 50 && secs <= 60, `a skewed clock shows ${secs}s left of 60`);

  // Max is wrong first and is locked out; Zoe then wins.
  await pm.page.click('.question-card[data-index="0"] button[data-choice="0"]');
  await pm.page.waitForSelector('.locked:has-text("Wrong")');
  assert.equal(await pm.page.locator('.question-card button.choice:not([disabled])').count(), 0);
  await pz.page.click('.question-card[data-index="0"] button[data-choice="1"]');

  for (const p of [pz, pm, host]) await p.page.waitForSelector('.buzz-winner');
  assert.equal(await pz.page.textContent('.buzz-winner'), 'You got it first!');
  assert.equal(await pm.page.textContent('.buzz-winner'), 'Zoe got it first!');
  assert.equal(await host.page.textContent('.buzz-winner'), 'Zoe got it first!');
  assert.equal(await pm.page.textContent('.correct-answer'), '4');
  // The scoreboard is pushed at once with the winner on top.
  await pm.page.waitForSelector('.scoreboard .board-row');
  assert.equal(await pm.page.textContent('.scoreboard .board-row:first-child .name'), 'Zoe');
  assert.ok(Number(await pz.page.textContent('.scoreboard .board-row.me .score')) > 0);
  assertClean(host, pz, pm);
});

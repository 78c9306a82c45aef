// Competitive mode: the host asks a whole group at once, the group is revealed together, and open
// questions are answered by typing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, person, account, signIn, createQuiz, choice, assertClean, call } from '../lib.mjs';

test('a competitive game asks and reveals whole groups, with open answers', { timeout: 60000 }, async (t) => {
  const hostAcc = await account('chost');
  const quiz = await createQuiz(hostAcc, {
    title: 'Rounds', mode: 'competitive', scoring: 'flat',
    questions: [
      choice('Red + blue?', ['Purple', 'Green'], 0, { group: 1 }),
      { text: 'Capital of Switzerland?', kind: 'open', answer: 'Bern', alternatives: ['Berne'], group: 1, timeLimitSec: 60 },
      choice('Sky colour?', ['Blue', 'Pink'], 0, { group: 2 }),
    ],
  });
  const game = await call('POST', 'games', { quizId: quiz.id }, hostAcc.token);
  const host = await person(t, 'host');
  const pl = await person(t, 'pat', { viewport: { width: 375, height: 900 } });
  await signIn(host.page, hostAcc);
  await host.page.goto(`${BASE}/host/${game.code}`);
  await host.page.waitForSelector('.join-code');
  await pl.page.goto(`${BASE}/join/${game.code}`);
  await pl.page.fill('input[name=nickname]', 'Pat');
  await pl.page.click('button:has-text("Join as guest")');
  await pl.page.waitForSelector('.lobby');

  await host.page.click('button[data-action="start"]');
  await pl.page.waitForSelector('.question-card[data-index="0"]');
  await pl.page.waitForSelector('.question-card[data-index="1"]');
  await host.page.waitForSelector('.question-card[data-index="1"]');
  await pl.page.keyboard.press('1');
  await pl.page.waitForSelector('.question-card[data-index="0"] .locked:has-text("Answer locked")');
  await pl.page.fill('.question-card[data-index="1"] input[name=answer]', 'berne');
  await pl.page.press('.question-card[data-index="1"] input[name=answer]', 'Enter');

  // Both questions of the group are revealed together.
  await pl.page.waitForSelector('.reveal[data-index="0"] .result-right');
  await pl.page.waitForSelector('.reveal[data-index="1"] .result-right');
  assert.equal(await pl.page.textContent('.reveal[data-index="1"] .correct-answer'), 'Bern');
  await host.page.waitForSelector('.reveal[data-index="1"]');
  await host.page.click('button[data-action="scoreboard"]');
  await pl.page.waitForSelector('.scoreboard .board-row.me .score:has-text("2100")'); // the second right answer in a row has the streak bonus

  await host.page.click('button[data-action="next"]');
  await pl.page.waitForSelector('.question-card[data-index="2"]');
  assert.equal(await pl.page.locator('.question-card').count(), 1, 'the previous group is gone');
  await pl.page.click('.question-card[data-index="2"] button[data-choice="1"]');
  await pl.page.waitForSelector('.reveal[data-index="2"] .result-wrong');
  await host.page.click('button[data-action="end"]');
  await host.page.click('dialog.confirm button[data-confirm="yes"]');
  await pl.page.waitForSelector('.podium');
  assert.match(await pl.page.textContent('.my-rank'), /#1 with 2100/);
  assertClean(host, pl);
});

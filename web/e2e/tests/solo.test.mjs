// Single player over HTTP, a choice and an open question, then the score on the quiz leaderboard.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, person, account, signIn, createQuiz, choice, assertClean, call } from '../lib.mjs';

test('a player plays a quiz alone and finds the score on its leaderboard', { timeout: 60000 }, async (t) => {
  const acc = await account('solo');
  acc.player = await call('PATCH', 'me', { displayName: 'Solo Sam' }, acc.token);
  const quiz = await createQuiz(acc, {
    title: 'Solo run', mode: 'single', scoring: 'flat',
    questions: [choice('Largest planet?', ['Mars', 'Jupiter'], 1), { text: 'Largest Swiss city?', kind: 'open', answer: 'Zürich', alternatives: ['Zurich'], timeLimitSec: 60 }],
  });
  const p = await person(t, 'solo', { viewport: { width: 375, height: 740 } });
  await signIn(p.page, acc);
  await p.page.goto(`${BASE}/solo/${quiz.id}`);

  await p.page.waitForSelector('.question-card[data-index="0"]');
  await p.page.keyboard.press('2');
  await p.page.waitForSelector('.result-right:has-text("+1000")');
  assert.equal(await p.page.textContent('.correct-answer'), 'Jupiter');
  await p.page.click('button:has-text("Next question")');

  await p.page.waitForSelector('.question-card[data-index="1"] input[name=answer]');
  await p.page.fill('input[name=answer]', '  ZURICH ');
  await p.page.press('input[name=answer]', 'Enter');
  await p.page.waitForSelector('.result-right');
  assert.equal(await p.page.textContent('.correct-answer'), 'Zürich');
  await p.page.click('button:has-text("See result")');
  await p.page.waitForSelector('.my-rank:has-text("Your score: 2000")');

  // The score reaches the quiz's leaderboard asynchronously: reopen the board until it shows.
  const deadline = Date.now() + 20000;
  for (;;) {
    await p.page.goto(`${BASE}/leaderboards`);
    await p.page.click('#tab-quiz');
    await p.page.waitForSelector(`#board-quiz option[value="${quiz.id}"]`, { state: 'attached' });
    await p.page.selectOption('#board-quiz', quiz.id);
    await p.page.waitForSelector(`[data-board="quiz:${quiz.id}"] #me-h`);
    if (/2000 points/.test(await p.page.textContent('#me-h'))) break;
    if (Date.now() > deadline) throw new Error('the solo score never reached the quiz leaderboard');
  }
  assert.equal(await p.page.textContent('#me-h'), 'You: #1 · 2000 points');
  await p.page.waitForSelector('.board-row.me');
  assert.match(await p.page.textContent('.card .board-row.me'), /Solo Sam\s*2000/);
  assertClean(p);
});

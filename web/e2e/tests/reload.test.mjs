// A reload in every phase of a game shows the right screen at once, for a player and for the
// host: lobby, question, answered, reveal, scoreboard, finished. The chat survives it too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, person, account, signIn, createQuiz, choice, assertClean, call } from '../lib.mjs';

async function joinAsGuest(p, code, nickname) {
  await p.page.goto(`${BASE}/join/${code}`);
  await p.page.fill('input[name=nickname]', nickname);
  await p.page.click('button:has-text("Join as guest")');
  await p.page.waitForSelector('.lobby');
}

// The screen right after a reload, before any new frame could arrive: nothing else happens in
// the game while the page reloads, so what is shown comes from the resume alone.
async function reloadShows(p, selector) {
  await p.page.reload();
  await p.page.waitForSelector(selector, { timeout: 10000 });
}

test('a reload in every phase shows the right screen at once', { timeout: 120000 }, async (t) => {
  const hostAcc = await account('rhost');
  const quiz = await createQuiz(hostAcc, {
    title: 'Reloads', mode: 'casual', scoring: 'flat',
    questions: [
      choice('Capital of France?', ['Paris', 'Rome', 'Berlin', 'Madrid'], 0),
      choice('Capital of Norway?', ['Bern', 'Oslo'], 1),
    ],
  });
  const game = await call('POST', 'games', { quizId: quiz.id }, hostAcc.token);
  const host = await person(t, 'host', { viewport: { width: 1280, height: 800 } });
  const ann = await person(t, 'ann', { viewport: { width: 390, height: 844 } });
  const bob = await person(t, 'bob', { viewport: { width: 390, height: 844 } });
  await signIn(host.page, hostAcc);
  await host.page.goto(`${BASE}/host/${game.code}`);
  await host.page.waitForSelector('.join-code');
  await joinAsGuest(ann, game.code, 'Ann');
  await joinAsGuest(bob, game.code, 'Bob');
  await host.page.waitForFunction(() => document.querySelectorAll('.player-list li').length === 2);

  // Lobby (with a chat line, which a reload keeps).
  await ann.page.fill('input[name=chat]', 'hello from the lobby');
  await ann.page.press('input[name=chat]', 'Enter');
  await bob.page.waitForSelector('.chat-log li:has-text("hello from the lobby")');
  await reloadShows(ann, '.lobby');
  await ann.page.waitForSelector('.chat-log li:has-text("hello from the lobby")', { timeout: 5000 });
  await reloadShows(host, '.join-code');

  // Question, not answered yet: the answers can be given.
  await host.page.click('button[data-action="start"]');
  await ann.page.waitForSelector('.question-card[data-index="0"]');
  await reloadShows(ann, '.question-card[data-index="0"] button[data-choice="0"]:not([disabled])');
  await reloadShows(host, '.question-card[data-index="0"] .q-text:has-text("Capital of France?")');

  // Answered: the answer stays locked, with its text.
  await ann.page.click('.question-card[data-index="0"] button[data-choice="0"]');
  await ann.page.waitForSelector('.locked:has-text("Answer locked")');
  await reloadShows(ann, '.question-card[data-index="0"] .locked:has-text("Answer locked: Paris")');
  assert.equal(await ann.page.locator('.question-card[data-index="0"] button[data-choice="1"][disabled]').count(), 1, 'a locked answer cannot be changed after a reload');
  // The chat is still there after several reloads and a phase change.
  await ann.page.waitForSelector('.chat-log li:has-text("hello from the lobby")', { timeout: 5000 });

  // Reveal: the question, the right answer and the player's result.
  await bob.page.click('.question-card[data-index="0"] button[data-choice="1"]');
  await ann.page.waitForSelector('.reveal[data-index="0"]');
  await reloadShows(ann, '.reveal[data-index="0"] .reveal-q:has-text("Capital of France?")');
  assert.equal((await ann.page.textContent('.reveal[data-index="0"] .correct-answer')).trim(), 'Paris');
  await ann.page.waitForSelector('.reveal[data-index="0"] .result-right:has-text("+1000")');
  assert.match(await ann.page.textContent('.my-score'), /1000/, 'the points are counted once, not again on the replay');
  await reloadShows(bob, '.reveal[data-index="0"] .result-wrong');
  await reloadShows(host, '.reveal[data-index="0"] .reveal-q:has-text("Capital of France?")');
  assert.equal((await host.page.textContent('.reveal .correct-answer')).trim(), 'Paris');
  await host.page.waitForSelector('.reveal .chart-right .chart-n:has-text("1")');

  // Scoreboard.
  await host.page.click('button[data-action="scoreboard"]');
  await ann.page.waitForSelector('.scoreboard');
  await reloadShows(ann, '.scoreboard .board-row.me .score:has-text("1000")');
  await reloadShows(host, '.scoreboard .board-row .name:has-text("Ann")');
  assert.match(await ann.page.textContent('.my-score'), /Your score: 1000\b/);

  // Second question, then the end: the podium after a reload.
  await host.page.click('button[data-action="next"]');
  await bob.page.waitForSelector('.question-card[data-index="1"]');
  await reloadShows(bob, '.question-card[data-index="1"] button[data-choice="1"]:not([disabled])');
  await bob.page.click('.question-card[data-index="1"] button[data-choice="1"]');
  await ann.page.click('.question-card[data-index="1"] button[data-choice="1"]');
  await ann.page.waitForSelector('.reveal[data-index="1"]');
  await reloadShows(ann, '.reveal[data-index="1"] .reveal-q:has-text("Capital of Norway?")');
  assert.equal(await ann.page.locator('.reveal[data-index="0"]').count(), 0, 'only the last round is revealed');
  await host.page.click('button[data-action="next"]');
  await ann.page.waitForSelector('.podium');
  await reloadShows(ann, '.podium .step[data-rank="1"] .name:has-text("Ann")');
  // Two right in a row: the second earns the 10% streak bonus.
  assert.match(await ann.page.textContent('.my-rank'), /#1 with 2100/);
  await reloadShows(host, '.podium');
  assertClean(host, ann, bob);
});

test('a reload during a competitive reveal of open questions shows the questions and the counts', { timeout: 60000 }, async (t) => {
  const hostAcc = await account('rchost');
  const quiz = await createQuiz(hostAcc, {
    title: 'Open group', mode: 'competitive', scoring: 'flat',
    questions: [
      { text: 'Capital of Peru?', kind: 'open', answer: 'Lima', group: 1, timeLimitSec: 60 },
      choice('Capital of Chile?', ['Santiago', 'Quito'], 0, { group: 1 }),
    ],
  });
  const game = await call('POST', 'games', { quizId: quiz.id }, hostAcc.token);
  const host = await person(t, 'host');
  const pl = await person(t, 'pia', { viewport: { width: 390, height: 844 } });
  await signIn(host.page, hostAcc);
  await host.page.goto(`${BASE}/host/${game.code}`);
  await host.page.waitForSelector('.join-code');
  await joinAsGuest(pl, game.code, 'Pia');
  await host.page.click('button[data-action="start"]');
  await pl.page.waitForSelector('.question-card[data-index="1"]');
  await pl.page.fill('.question-card[data-index="0"] input[name=answer]', 'lima');
  await pl.page.press('.question-card[data-index="0"] input[name=answer]', 'Enter');
  await pl.page.click('.question-card[data-index="1"] button[data-choice="0"]');
  await pl.page.waitForSelector('.reveal[data-index="1"]');

  await reloadShows(pl, '.reveal[data-index="0"] .reveal-q:has-text("Capital of Peru?")');
  await pl.page.waitForSelector('.reveal[data-index="1"] .correct-answer:has-text("Santiago")');
  const counts = await pl.page.textContent('.reveal[data-index="0"]');
  const rows = await pl.page.$$eval('.reveal[data-index="0"] .chart-row', (els) => els.map((e) => e.dataset.count));
  assert.deepEqual(rows, ['1', '0', '0'], 'right, wrong, no answer');
  assert.doesNotMatch(counts, /undefined/);
  assert.equal((await pl.page.textContent('.reveal[data-index="0"] .correct-answer')).trim(), 'Lima');
  await reloadShows(host, '.reveal[data-index="1"] .reveal-q:has-text("Capital of Chile?")');
  assertClean(host, pl);
});

// A host and three players, each in a browser of their own, play a full casual game. One player
// reloads mid-question and resumes with the same score; the podium is right.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import jsQR from 'jsqr';
import { BASE, person, account, signIn, createQuiz, choice, screenshot, assertClean, eventually } from '../lib.mjs';

async function joinAsGuest(p, code, nickname) {
  await p.page.goto(`${BASE}/join/${code}`);
  await p.page.fill('input[name=nickname]', nickname);
  await p.page.click('button:has-text("Join as guest")');
  await p.page.waitForSelector('.lobby');
}

// The last answer closes the round at once, so its "locked" state may be replaced by the reveal
// before anyone could see it.
async function answer(p, index, choiceIdx, { last = false } = {}) {
  const btn = p.page.locator(`.question-card[data-index="${index}"] button[data-choice="${choiceIdx}"]`);
  await btn.click();
  await p.page.waitForSelector(last ? `.reveal[data-index="${index}"]` : `.question-card[data-index="${index}"] .locked:has-text("Answer locked")`);
}

test('a host and three players play a full casual game', { timeout: 120000 }, async (t) => {
  const hostAcc = await account('host');
  const quiz = await createQuiz(hostAcc, {
    // Public: the guests follow the link to its board, and a private quiz's board is only for
    // its owner and the accounts with a score on it.
    title: 'Capitals', mode: 'casual', scoring: 'flat', public: true,
    questions: [
      choice('Capital of France?', ['Paris', 'Rome', 'Berlin', 'Madrid'], 0),
      choice('Capital of Italy?', ['Vienna', 'Rome', 'Oslo'], 1),
      choice('Capital of Norway?', ['Oslo', 'Bern'], 0),
    ],
  });

  const host = await person(t, 'host', { viewport: { width: 1366, height: 768 } });
  const ann = await person(t, 'ann', { viewport: { width: 390, height: 844 } });
  const bob = await person(t, 'bob', { viewport: { width: 390, height: 844 } });
  const cat = await person(t, 'cat', { viewport: { width: 390, height: 844 } });

  // The host picks the quiz and gets a code.
  await signIn(host.page, hostAcc);
  await host.page.goto(`${BASE}/host`);
  await host.page.click(`.quiz-item[data-quiz="${quiz.id}"] button`);
  await host.page.waitForSelector('.join-code');
  const code = (await host.page.textContent('.join-code')).trim();
  assert.match(code, /^[A-HJKMNP-Z2-9]{6}$/);

  // The QR code on the host screen decodes to the join URL.
  const img = await host.page.$eval('canvas.qr', (c) => {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height);
    return { w: c.width, h: c.height, data: Array.from(d.data) };
  });
  const qr = jsQR(Uint8ClampedArray.from(img.data), img.w, img.h);
  assert.ok(qr, 'the QR code on the host screen is readable');
  assert.equal(qr.data, `${BASE}/join/${code}`);

  // Three guests join; the host sees them arrive.
  await joinAsGuest(ann, code, 'Ann');
  await joinAsGuest(bob, code, 'Bob');
  await joinAsGuest(cat, code, 'Cat');
  await host.page.waitForFunction(() => document.querySelectorAll('.player-list li').length === 3);
  await screenshot(host.page, 'host-lobby');

  // Question 1: Ann and Bob right, Cat wrong. The round closes when everyone answered.
  await host.page.click('button[data-action="start"]');
  await ann.page.waitForSelector('.question-card[data-index="0"]');
  await bob.page.waitForSelector('.question-card[data-index="0"]');
  await cat.page.waitForSelector('.question-card[data-index="0"]');
  await screenshot(ann.page, 'player-question');
  await answer(ann, 0, 0);
  await host.page.waitForSelector('.progress-text:has-text("1 / 3 answered")');
  await screenshot(host.page, 'host-question');
  await ann.page.keyboard.press('2'); // already answered: ignored
  await bob.page.keyboard.press('1'); // keyboard answering
  await bob.page.waitForSelector('.question-card[data-index="0"] .locked:has-text("Answer locked")');
  await answer(cat, 0, 2, { last: true });
  await ann.page.waitForSelector('.result-right:has-text("+1000")');
  await cat.page.waitForSelector('.result-wrong');
  assert.equal((await ann.page.textContent('.correct-answer')).trim(), 'Paris');
  await host.page.waitForSelector('.reveal .correct-answer:has-text("Paris")');

  await host.page.click('button[data-action="scoreboard"]');
  await bob.page.waitForSelector('.scoreboard .board-row.me');
  assert.match(await bob.page.textContent('.my-score'), /1000/);

  // Question 2: Bob reloads before answering and resumes with the same identity and score.
  await host.page.click('button[data-action="next"]');
  await bob.page.waitForSelector('.question-card[data-index="1"]');
  await bob.page.reload();
  await bob.page.waitForSelector('.question-card[data-index="1"] button[data-choice="1"]:not([disabled])');
  await eventually(async () => /Your score: 1000\b/.test(await bob.page.textContent('.my-score')), { what: "Bob's score after the reload" });
  await host.page.waitForFunction(() => [...document.querySelectorAll('.player-list li')].filter((li) => !li.classList.contains('away')).length === 3);
  assert.equal(await host.page.locator('.player-list li').count(), 3, 'Bob came back as himself, not as a fourth player');
  await answer(ann, 1, 1);
  await answer(bob, 1, 1);
  await answer(cat, 1, 1, { last: true });
  // A second right answer in a row earns the streak bonus: +10% (docs/API.md).
  await bob.page.waitForSelector('.result-right:has-text("+1100")');
  await bob.page.waitForSelector('.streak:has-text("Streak: 2 in a row (+100 streak bonus)")');
  await host.page.click('button[data-action="scoreboard"]');
  await bob.page.waitForSelector('.scoreboard');
  assert.match(await bob.page.textContent('.my-score'), /2100/);

  // Question 3: only Ann is right.
  await host.page.click('button[data-action="next"]');
  await ann.page.waitForSelector('.question-card[data-index="2"]');
  await answer(ann, 2, 0);
  await answer(bob, 2, 1);
  await answer(cat, 2, 1, { last: true });
  await host.page.waitForSelector('.reveal .correct-answer:has-text("Oslo")');

  // After the last reveal "next" finishes the game.
  await host.page.click('button[data-action="next"]');
  for (const p of [host, ann, bob, cat]) await p.page.waitForSelector('.podium');
  const podium = await host.page.$$eval('.podium .step', (els) => els.map((e) => ({ rank: e.dataset.rank, name: e.querySelector('.name').textContent, score: e.querySelector('.score').textContent })));
  const byRank = Object.fromEntries(podium.map((s) => [s.rank, s]));
  assert.equal(byRank['1'].name, 'Ann');
  assert.equal(byRank['1'].score, '3300 pts'); // 1000 + 1100 + 1200: three in a row
  assert.equal(byRank['2'].name, 'Bob');
  assert.equal(byRank['2'].score, '2100 pts');
  assert.equal(byRank['3'].name, 'Cat');
  assert.equal(byRank['3'].score, '1000 pts');
  assert.match(await bob.page.textContent('.my-rank'), /#2 with 2100/);
  await screenshot(ann.page, 'podium');
  await screenshot(host.page, 'host-podium');

  // The final standings link to the quiz's board; guests never appear on boards, so they are
  // not offered the link, and their board page does not ask where they stand.
  assert.equal(await ann.page.locator('a.quiz-board-link').count(), 0, 'no board link for a guest');
  const meCalls = [];
  ann.page.on('request', (r) => { if (/\/leaderboards\/.*\/me/.test(r.url())) meCalls.push(r.url()); });
  await ann.page.goto(`${BASE}/leaderboards/quiz:${quiz.id}`);
  await ann.page.waitForSelector('#me-h ~ p:has-text("Guests are not on the leaderboards")');
  assert.deepEqual(meCalls, [], 'a guest never asks for its own rank');
  await host.page.click('a.quiz-board-link');
  await host.page.waitForSelector('h1:has-text("Leaderboards")');
  assert.equal(new URL(host.page.url()).pathname, `/leaderboards/quiz:${quiz.id}`);
  await host.page.waitForSelector('ol.board li.muted:has-text("No scores yet.")');
  await eventually(async () => (await host.page.inputValue('#board-quiz')) === quiz.id, { what: 'the quiz picked on the board' });
  assertClean(host, ann, bob, cat);
});

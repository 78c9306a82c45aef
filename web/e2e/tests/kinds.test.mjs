// Every question kind in a real game on phones: true/false, several answers (checkboxes and a
// submit), a poll, a number (slider and typed), putting items in order (arrows and dragging).
// The reveal tells each player their streak; the host's screen shows the answer statistics as a
// bar chart whose numbers are text; every screen passes axe-core and has big touch targets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, person, account, signIn, createQuiz, assertClean, call, checkA11y, screenshots, joinAsGuest } from '../lib.mjs';

const PHONE = { width: 390, height: 844 };

/** Fails when a visible control of the question card is smaller than a 44 px touch target. */
async function assertTouchTargets(page, index) {
  const small = await page.$$eval(`.question-card[data-index="${index}"] button, .question-card[data-index="${index}"] .multi-choice, .question-card[data-index="${index}"] input`, (els) => els
    .filter((el) => el.offsetParent !== null && !(el.type === 'checkbox' && el.closest('.multi-choice')))
    .map((el) => ({ what: `${el.tagName.toLowerCase()}.${el.className} ${el.textContent.trim().slice(0, 20)}`, w: el.getBoundingClientRect().width, h: el.getBoundingClientRect().height }))
    .filter((r) => r.w < 44 || r.h < 44));
  assert.deepEqual(small, [], `touch targets under 44 px on question ${index}`);
}

/** The counts of the host's chart for question index, and which rows are marked right. */
async function chart(page, index) {
  await page.waitForSelector(`.reveal[data-index="${index}"] .chart-table`);
  return page.$$eval(`.reveal[data-index="${index}"] .chart-row`, (rows) => rows.map((r) => ({
    label: r.querySelector('.chart-label span:not(.chart-swatch):not(.chart-mark)').textContent,
    n: Number(r.querySelector('.chart-n').textContent), right: r.classList.contains('chart-right'),
  })));
}

test('players play every question kind on phones; the host sees the statistics', { timeout: 180000 }, async (t) => {
  const hostAcc = await account('khost');
  const quiz = await createQuiz(hostAcc, {
    title: 'Every kind', mode: 'casual', scoring: 'flat',
    questions: [
      { text: 'The Sun is a star.', kind: 'truefalse', answer: true, timeLimitSec: 60 },
      { text: 'Which are colours?', kind: 'multi', choices: ['Red', 'Blue', 'Banana', 'Green'], answer: [0, 1, 3], timeLimitSec: 60 },
      { text: 'Cats or dogs?', kind: 'poll', choices: ['Cats', 'Dogs', 'Neither'], timeLimitSec: 60 },
      { text: 'How many keys has a piano?', kind: 'number', answer: 88, tolerance: 2, min: 0, max: 120, step: 1, timeLimitSec: 60 },
      { text: 'Smallest first', kind: 'order', choices: ['One', 'Two', 'Three', 'Four'], timeLimitSec: 60 },
    ],
  });
  const game = await call('POST', 'games', { quizId: quiz.id }, hostAcc.token);
  const host = await person(t, 'host');
  const ann = await person(t, 'ann', { viewport: PHONE });
  const bob = await person(t, 'bob', { viewport: PHONE });
  await signIn(host.page, hostAcc);
  await host.page.goto(`${BASE}/host/${game.code}`);
  await host.page.waitForSelector('.join-code');
  await joinAsGuest(ann, game.code, 'Ann');
  await joinAsGuest(bob, game.code, 'Bob');
  await host.page.waitForFunction(() => document.querySelectorAll('.player-list li').length === 2);
  await host.page.click('button[data-action="start"]');

  // 1. True or false: two big buttons. Ann is right, Bob is not.
  const q0 = '.question-card[data-index="0"]';
  await ann.page.waitForSelector(`${q0} button[data-choice="0"]:has-text("True")`);
  await bob.page.waitForSelector(`${q0} button[data-choice="1"]:has-text("False")`);
  assert.match(await ann.page.textContent(`${q0} .q-meta`), /True or false/);
  await assertTouchTargets(ann.page, 0);
  await checkA11y(ann.page, 'player true/false question');
  await screenshots(ann.page, 'player-truefalse');
  await ann.page.click(`${q0} button[data-choice="0"]`);
  await ann.page.waitForSelector(`${q0} .locked:has-text("Answer locked: True")`);
  await bob.page.click(`${q0} button[data-choice="1"]`);
  await ann.page.waitForSelector('.reveal[data-index="0"] .result-right');
  await bob.page.waitForSelector('.reveal[data-index="0"] .result-wrong');
  assert.equal((await ann.page.textContent('.reveal[data-index="0"] .correct-answer')).trim(), 'True');
  await ann.page.waitForSelector('.reveal[data-index="0"] .streak[data-streak="1"]:has-text("Streak: 1")');
  await bob.page.waitForSelector('.reveal[data-index="0"] .streak[data-streak="0"]');
  assert.deepEqual(await chart(host.page, 0), [{ label: 'True', n: 1, right: true }, { label: 'False', n: 1, right: false }]);
  assert.match(await host.page.textContent('.reveal[data-index="0"] .chart-caption'), /\(2 · 50% right\)/);
  await checkA11y(host.page, 'host reveal with the chart');
  await screenshots(host.page, 'host-reveal-chart');
  await host.page.click('button[data-action="next"]');

  // 2. Several right answers: tick boxes, then submit (nothing is sent before).
  const q1 = '.question-card[data-index="1"]';
  await ann.page.waitForSelector(`${q1} .multi-choice`);
  assert.equal(await ann.page.isDisabled(`${q1} button[type=submit]`), true, 'nothing ticked: nothing to submit');
  await assertTouchTargets(ann.page, 1);
  for (const i of [0, 1, 3]) await ann.page.click(`${q1} .multi-choice:has(input[data-choice="${i}"])`);
  await ann.page.click(`${q1} .multi-choice:has(input[data-choice="1"])`); // untick…
  await ann.page.click(`${q1} .multi-choice:has(input[data-choice="1"])`); // …and tick again
  await checkA11y(ann.page, 'player multi question');
  await screenshots(ann.page, 'player-multi');
  await ann.page.click(`${q1} button[type=submit]`);
  await ann.page.waitForSelector(`${q1} .locked:has-text("Answer locked: Red, Blue, Green")`);
  assert.equal(await ann.page.isDisabled(`${q1} input[data-choice="2"]`), true, 'locked after submitting');
  await bob.page.waitForSelector(`${q1} .multi-choice`);
  await bob.page.click(`${q1} .multi-choice:has(input[data-choice="0"])`);
  await bob.page.click(`${q1} button[type=submit]`);
  await ann.page.waitForSelector('.reveal[data-index="1"] .result-right');
  await bob.page.waitForSelector('.reveal[data-index="1"] .result-wrong');
  assert.equal((await bob.page.textContent('.reveal[data-index="1"] .correct-answer')).trim(), 'Red, Blue, Green');
  await ann.page.waitForSelector('.reveal[data-index="1"] .streak[data-streak="2"]');
  assert.deepEqual((await chart(host.page, 1)).map((r) => [r.n, r.right]), [[2, true], [1, true], [0, false], [1, true]]);
  await host.page.click('button[data-action="next"]');

  // 3. A poll: no right answer, no points, the votes are the result; the streak carries over.
  const q2 = '.question-card[data-index="2"]';
  await ann.page.waitForSelector(`${q2} button[data-choice="0"]`);
  assert.match(await ann.page.textContent(`${q2} .q-meta`), /Poll/);
  await ann.page.click(`${q2} button[data-choice="0"]`);
  await bob.page.waitForSelector(`${q2} button[data-choice="0"]`);
  await bob.page.keyboard.press('1'); // the number keys vote too
  await ann.page.waitForSelector('.reveal[data-index="2"] .result-poll:has-text("Thanks for voting")');
  assert.equal(await ann.page.locator('.reveal[data-index="2"] .correct-answer').count(), 0, 'a poll has no right answer');
  assert.deepEqual((await chart(host.page, 2)).map((r) => [r.label, r.n, r.right]), [['Cats', 2, false], ['Dogs', 0, false], ['Neither', 0, false]]);
  assert.match(await host.page.textContent('.reveal[data-index="2"] .chart-caption'), /^Votes \(2\)/);
  await host.page.click('button[data-action="next"]');

  // 4. A number: Ann types one within the tolerance, Bob drags the slider to the far end.
  const q3 = '.question-card[data-index="3"]';
  await ann.page.waitForSelector(`${q3} input.number-slider`);
  assert.deepEqual(await ann.page.$eval(`${q3} input.number-slider`, (s) => [s.min, s.max, s.step]), ['0', '120', '1']);
  await assertTouchTargets(ann.page, 3);
  await checkA11y(ann.page, 'player number question');
  await screenshots(ann.page, 'player-number');
  await ann.page.fill(`${q3} input.number-input`, '500');
  await ann.page.click(`${q3} button[type=submit]`);
  await ann.page.waitForSelector(`${q3} .field-error:has-text("from 0 to 120")`);
  await ann.page.fill(`${q3} input.number-input`, '87');
  assert.equal(await ann.page.inputValue(`${q3} input.number-slider`), '87', 'the slider follows the typed number');
  await ann.page.click(`${q3} button[type=submit]`);
  await ann.page.waitForSelector(`${q3} .locked:has-text("Answer locked: 87")`);
  await bob.page.waitForSelector(`${q3} input.number-slider`);
  await bob.page.focus(`${q3} input.number-slider`);
  await bob.page.keyboard.press('End');
  assert.equal(await bob.page.inputValue(`${q3} input.number-input`), '120', 'the typed box follows the slider');
  await bob.page.click(`${q3} button[type=submit]`);
  await ann.page.waitForSelector('.reveal[data-index="3"] .result-right');
  await bob.page.waitForSelector('.reveal[data-index="3"] .result-wrong');
  assert.match(await ann.page.textContent('.reveal[data-index="3"] .correct-answer'), /^88/);
  await ann.page.waitForSelector('.reveal[data-index="3"] .streak[data-streak="3"]');
  await host.page.waitForSelector('.reveal[data-index="3"] .chart[data-kind="number"]');
  const hist = await chart(host.page, 3);
  assert.equal(hist.reduce((a, r) => a + r.n, 0), 2, 'the histogram counts both answers');
  assert.ok(hist.some((r) => r.right && r.n >= 1), 'the bin of the right answer is marked');
  await host.page.click('button[data-action="next"]');

  // 5. Order: the items come shuffled; Ann sorts them with the arrow buttons, Bob drags one.
  const q4 = '.question-card[data-index="4"]';
  await ann.page.waitForSelector(`${q4} .order-item`);
  await assertTouchTargets(ann.page, 4);
  const items = async (p) => p.page.$$eval(`${q4} .order-item .order-text`, (els) => els.map((e) => e.textContent));
  const shown = await items(ann);
  assert.deepEqual([...shown].sort(), ['Four', 'One', 'Three', 'Two']);
  assert.deepEqual(await items(bob), shown, 'everyone sees the same order');
  const target = ['One', 'Two', 'Three', 'Four'];
  for (let k = 0; k < target.length; k++) {
    for (let pos = (await items(ann)).indexOf(target[k]); pos > k; pos--) await ann.page.click(`${q4} button[aria-label="Move ${target[k]} up"]`);
  }
  assert.deepEqual(await items(ann), target);
  await checkA11y(ann.page, 'player order question');
  await screenshots(ann.page, 'player-order');
  await ann.page.click(`${q4} button[type=submit]`);
  await ann.page.waitForSelector(`${q4} .locked:has-text("Answer locked: One → Two → Three → Four")`);
  await bob.page.locator(`${q4} .order-item[data-pos="0"]`).dragTo(bob.page.locator(`${q4} .order-item[data-pos="3"]`));
  const dragged = [...shown.slice(1), shown[0]];
  await bob.page.waitForFunction(([sel, want]) => [...document.querySelectorAll(sel)].map((e) => e.textContent).join('|') === want, [`${q4} .order-item .order-text`, dragged.join('|')]);
  await bob.page.click(`${q4} button[type=submit]`);
  await ann.page.waitForSelector('.reveal[data-index="4"] .result-right');
  assert.equal((await ann.page.textContent('.reveal[data-index="4"] .correct-answer')).trim(), 'One → Two → Three → Four');
  await ann.page.waitForSelector('.reveal[data-index="4"] .streak[data-streak="4"]');
  await checkA11y(ann.page, 'player reveal with a streak');
  await screenshots(ann.page, 'player-reveal-streak');
  await host.page.waitForSelector('.reveal[data-index="4"] .chart-table');
  assertClean(host, ann, bob);
});

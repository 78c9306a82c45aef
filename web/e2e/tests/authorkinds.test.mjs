// The quiz editor authors every new question kind: true/false, several right answers, a number
// with its tolerance and slider range, an order, a poll. A per-field 422 lands next to its field;
// once fixed the quiz saves as written and opens again with the same fields.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, person, account, signIn, assertClean, call, checkA11y, screenshots } from '../lib.mjs';

test('the editor authors each new kind and shows its per-field errors', { timeout: 90000 }, async (t) => {
  const acc = await account('kauthor');
  const ed = await person(t, 'editor');
  const page = ed.page;
  await signIn(page, acc);
  await page.goto(`${BASE}/author/new`);
  await page.waitForSelector('form.author');
  await page.fill('input[name=title]', 'All the kinds');

  const addQuestion = async (i, kind, text) => {
    if (i > 0) await page.click('button:has-text("Add question")');
    await page.selectOption(`select[name="questions[${i}].kind"]`, kind);
    await page.fill(`textarea[name="questions[${i}].text"]`, text);
  };
  // 0. True or false: the statement is false.
  await addQuestion(0, 'truefalse', 'The Moon is a planet.');
  assert.equal(await page.locator('input[name^="questions[0].choices"]').count(), 0, 'true/false has no choices to write');
  await page.check('input[id="questions[0].answer-false"]');
  // 1. Several right answers: the first and the third.
  await addQuestion(1, 'multi', 'Which are even?');
  for (const [j, c] of ['2', '3', '4'].entries()) await page.fill(`input[name="questions[1].choices[${j}]"]`, c);
  await page.check('input[id="questions[1].answer-2"]');
  // 2. A number, with a range the wrong way round.
  await addQuestion(2, 'number', 'Degrees in a right angle?');
  await page.fill('input[name="questions[2].answer"]', '90');
  await page.fill('input[name="questions[2].tolerance"]', '1');
  await page.fill('input[name="questions[2].min"]', '100');
  await page.fill('input[name="questions[2].max"]', '10');
  await page.fill('input[name="questions[2].step"]', '5');
  // 3. An order, written in the right order; "Down" moves an item.
  await addQuestion(3, 'order', 'Oldest first');
  for (const [j, c] of ['Bronze Age', 'Rome', 'Iron Age'].entries()) await page.fill(`input[name="questions[3].choices[${j}]"]`, c);
  await page.click('button[aria-label="Move item 2 down"]');
  assert.equal(await page.inputValue('input[name="questions[3].choices[2]"]'), 'Rome');
  // 4. A poll: no right answer to pick.
  await addQuestion(4, 'poll', 'Best season?');
  await page.fill('input[name="questions[4].choices[0]"]', 'Summer');
  await page.fill('input[name="questions[4].choices[1]"]', 'Winter');
  assert.equal(await page.locator('.question-edit[data-index="4"] input[type=radio], .question-edit[data-index="4"] input[type=checkbox]').count(), 0);
  await checkA11y(page, 'the editor with every kind');
  await screenshots(page, 'author-kinds');

  await page.click('button:has-text("Create quiz")');
  const err = page.locator('[data-error-for="questions[2].max"]');
  await err.waitFor({ state: 'visible' });
  assert.match(await err.textContent(), /greater than min/);
  assert.equal(await page.getAttribute('input[name="questions[2].max"]', 'aria-invalid'), 'true');
  assert.equal(await page.locator('.question-edit[data-index="2"] [data-error-for="questions[2].max"]').count(), 1, 'the error sits in its question');
  await checkA11y(page, 'the editor with a number error');

  await page.fill('input[name="questions[2].min"]', '0');
  await page.fill('input[name="questions[2].max"]', '180');
  await page.click('button:has-text("Create quiz")');
  await page.waitForURL(/\/author\/(?!new)[^/]+$/);
  const id = new URL(page.url()).pathname.split('/').pop();
  const quiz = await call('GET', `quizzes/${id}`, undefined, acc.token);
  const qs = quiz.questions;
  assert.deepEqual(qs.map((q) => q.kind), ['truefalse', 'multi', 'number', 'order', 'poll']);
  assert.ok(qs[0].answer === 1 || qs[0].answer === false, `true/false saved as false: ${JSON.stringify(qs[0].answer)}`);
  assert.deepEqual(qs[1].answer, [0, 2]);
  assert.deepEqual([qs[2].answer, qs[2].tolerance, qs[2].min, qs[2].max, qs[2].step], [90, 1, 0, 180, 5]);
  assert.deepEqual(qs[3].choices, ['Bronze Age', 'Iron Age', 'Rome']);
  assert.deepEqual(qs[4].choices, ['Summer', 'Winter']);
  assert.ok(qs[4].answer === undefined || qs[4].answer === null, 'a poll has no answer');

  // Opened again, the editor shows what was saved.
  await page.reload();
  await page.waitForSelector('select[name="questions[4].kind"]');
  assert.equal(await page.isChecked('input[id="questions[0].answer-false"]'), true);
  assert.deepEqual([await page.isChecked('input[id="questions[1].answer-0"]'), await page.isChecked('input[id="questions[1].answer-1"]'), await page.isChecked('input[id="questions[1].answer-2"]')], [true, false, true]);
  assert.equal(await page.inputValue('input[name="questions[2].max"]'), '180');
  assert.equal(await page.inputValue('input[name="questions[3].choices[1]"]'), 'Iron Age');
  assertClean(ed);
});

// The quiz editor shows the server's validation errors next to their fields, and saves once fixed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, person, unique, assertClean, call } from '../lib.mjs';

test('the author form shows server validation errors next to their fields', { timeout: 60000 }, async (t) => {
  const ed = await person(t, 'editor');
  const page = ed.page;

  // Sign up through the form.
  const username = unique('author').toLowerCase();
  await page.goto(`${BASE}/login?next=/author/new`);
  await page.fill('form[aria-labelledby="register-h"] input[name=username]', username);
  await page.fill('form[aria-labelledby="register-h"] input[name=password]', 'a long enough password');
  await page.click('form[aria-labelledby="register-h"] button[type=submit]');
  await page.waitForSelector('form.author');

  // Competitive mode shows a round field per question.
  await page.selectOption('select[name=mode]', 'competitive');
  await page.waitForSelector('input[name="questions[0].group"]');

  // An empty title, an empty question text and two equal choices.
  await page.fill('textarea[name="questions[0].text"]', '');
  await page.fill('input[name="questions[0].choices[0]"]', 'Same');
  await page.fill('input[name="questions[0].choices[1]"]', 'same');
  await page.click('button:has-text("Add choice")');
  await page.fill('input[name="questions[0].choices[2]"]', 'Other');
  await page.click('button:has-text("Add question")');
  await page.selectOption('select[name="questions[1].kind"]', 'open');
  await page.fill('textarea[name="questions[1].text"]', 'Open question');
  await page.fill('input[name="questions[1].timeLimitSec"]', '500');
  await page.click('button:has-text("Create quiz")');

  const err = (key) => page.locator(`[data-error-for="${key}"]`);
  await err('title').waitFor({ state: 'visible' });
  assert.match(await err('title').textContent(), /1–120/);
  assert.match(await err('questions[0].text').textContent(), /1–500/);
  assert.match(await err('questions[0].choices[1]').textContent(), /distinct/);
  assert.match(await err('questions[1].answer').textContent(), /answer/);
  assert.match(await err('questions[1].timeLimitSec').textContent(), /5–120/);
  assert.equal(await page.getAttribute('input[name=title]', 'aria-invalid'), 'true');
  assert.ok(await page.locator('.error-summary').isVisible());
  // The error sits inside the same question's fieldset as its field.
  assert.equal(await page.locator('.question-edit[data-index="0"] [data-error-for="questions[0].choices[1]"]').count(), 1);

  // The summary has the focus and links each problem to its field; the linked field and its
  // question's heading are not hidden under the sticky save bar.
  assert.equal(await page.evaluate(() => document.activeElement.classList.contains('error-summary')), true);
  const link = page.locator('.error-summary a[data-error-link="questions[1].timeLimitSec"]');
  assert.match(await link.textContent(), /Question 2 · Time limit \(seconds\): .*5–120/);
  for (const key of ['questions[1].timeLimitSec', 'questions[0].text', 'title']) {
    await page.click(`.error-summary a[data-error-link="${key}"]`);
    const clear = await page.evaluate((name) => {
      const el = document.activeElement;
      if (el.getAttribute('name') !== name) return `focus is on ${el.getAttribute('name') || el.tagName}`;
      const r = el.getBoundingClientRect();
      const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
      if (hit !== el) return `the field is covered by ${hit && hit.className}`;
      const legend = el.closest('.question-edit') && el.closest('.question-edit').querySelector('legend');
      const bar = document.querySelector('.sticky-actions').getBoundingClientRect();
      if (legend && legend.getBoundingClientRect().bottom > bar.top) return 'the question heading is under the save bar';
      return 'ok';
    }, key);
    assert.equal(clear, 'ok', key);
  }

  // Fix everything and save.
  await page.fill('input[name=title]', 'Fixed quiz');
  await page.fill('textarea[name="questions[0].text"]', 'Pick one');
  await page.fill('input[name="questions[0].choices[1]"]', 'Different');
  await page.check('input[name="questions[0].answer"][value="2"]');
  await page.fill('input[name="questions[1].answer"]', 'Zürich');
  await page.fill('textarea[name="questions[1].alternatives"]', 'Zurich\nZuerich');
  await page.fill('input[name="questions[1].timeLimitSec"]', '30');
  await page.click('button:has-text("Create quiz")');
  await page.waitForSelector('h1:has-text("Edit “Fixed quiz”")');
  assert.equal(await page.locator('[data-error-for]:visible').count(), 0);

  const id = page.url().split('/').pop();
  const token = await page.evaluate(() => localStorage.getItem('trivium.token'));
  const saved = await call('GET', `quizzes/${id}`, undefined, token);
  assert.equal(saved.mode, 'competitive');
  assert.equal(saved.questions[0].answer, 2);
  assert.deepEqual(saved.questions[0].choices, ['Same', 'Different', 'Other']);
  assert.equal(saved.questions[1].answer, 'Zürich');
  assert.deepEqual(saved.questions[1].alternatives, ['Zurich', 'Zuerich']);
  assert.equal(saved.questions[1].group, 1);
  assertClean(ed);
});

// A question picture: the author picks it in the editor, sees it moderated and accepted, saves
// the quiz, and the player sees the picture with the question.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, person, account, signIn, call, face, assertClean } from '../lib.mjs';

test('an author attaches a picture to a question and the player sees it', { timeout: 90000 }, async (t) => {
  const acc = await account('pic');
  const p = await person(t, 'pic', { viewport: { width: 1100, height: 900 } });
  await signIn(p.page, acc);
  await p.page.goto(`${BASE}/author/new`);
  await p.page.waitForSelector('form.author');
  await p.page.fill('input[name=title]', 'Pictures');
  await p.page.selectOption('select[name=mode]', 'single');
  await p.page.fill('textarea[name="questions[0].text"]', 'What colour is the disc?');
  await p.page.fill('input[name="questions[0].choices[0]"]', 'Yellow');
  await p.page.fill('input[name="questions[0].choices[1]"]', 'Green');

  const pick = p.page.locator('input[name="questions[0].image"]');
  await pick.setInputFiles({ name: 'a.gif', mimeType: 'image/gif', buffer: Buffer.from('GIF89a') });
  await p.page.waitForSelector('[data-error-for="questions[0].imageId"]:has-text("JPEG, PNG or WebP")');
  await pick.setInputFiles({ name: 'disc.png', mimeType: 'image/png', buffer: face });
  await p.page.waitForSelector('.q-picture-status[data-status="accepted"]', { timeout: 30000 });
  const thumb = await p.page.getAttribute('.q-picture .q-thumb', 'src');
  assert.ok(thumb.startsWith(`${BASE}/questions/`), `thumbnail ${thumb} is on the CDN path`);

  await p.page.click('button:has-text("Create quiz")');
  await p.page.waitForURL(/\/author\/(?!new)[^/]+$/);
  const id = new URL(p.page.url()).pathname.split('/').pop();
  const quiz = await call('GET', `quizzes/${id}`, undefined, acc.token);
  assert.ok(quiz.questions[0].imageId, 'the saved question has its imageId');

  await p.page.goto(`${BASE}/solo/${quiz.id}`);
  await p.page.waitForSelector('.question-card[data-index="0"] .q-image img');
  const src = await p.page.getAttribute('.q-image img', 'src');
  assert.ok(src.startsWith(`${BASE}/questions/`), `question image ${src} is on the CDN path`);
  assertClean(p);
});

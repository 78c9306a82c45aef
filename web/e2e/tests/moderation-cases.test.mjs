// Issue 17 end to end in the browser: a player reports a quiz from the quiz list, a moderator
// opens the case in the console (snapshot, reports), hides the quiz with a reason; the owner
// reads why in the inbox and the quiz is gone from the listings. Also a reported chat message
// disappears from the other players' chat when a moderator deletes it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, person, account, signIn, assertClean, call, grantRole, createQuiz, choice, eventually, screenshot } from '../lib.mjs';

test('a reported quiz is hidden from the console and its owner is told why', { timeout: 90000 }, async (t) => {
  const owner = await account('qowner');
  const title = `Offensive quiz ${Date.now().toString(36)}`;
  const quiz = await createQuiz(owner, { title, mode: 'casual', public: true, questions: [choice('2+2?', ['3', '4'], 1)] });

  const reporterAcc = await account('qreporter');
  const r = await person(t, 'reporter');
  await signIn(r.page, reporterAcc);
  await r.page.goto(`${BASE}/solo`);
  const entry = r.page.locator('li.card', { has: r.page.locator(`h2:text-is("${title}")`) });
  await entry.locator('button.report').click();
  await r.page.locator('dialog button:has-text("Report quiz")').click();
  await r.page.waitForSelector('.toast:has-text("Quiz reported")');

  const modAcc = await account('qmod');
  await grantRole(modAcc, 'moderator');
  const m = await person(t, 'moderator', { viewport: { width: 1280, height: 900 } });
  await signIn(m.page, modAcc);
  await m.page.goto(`${BASE}/moderation`);
  await m.page.selectOption('select[name=kind]', 'quiz');
  const card = m.page.locator('.case[data-kind="quiz"]', { has: m.page.locator(`.snapshot h3:text-is("${title}")`) });
  await card.waitFor();
  await card.locator('button[data-action="details"]').click();
  await card.locator('.reports li:has-text("reported from the quiz list")').waitFor();
  await screenshot(m.page, 'moderator-quiz-case');
  await card.locator('textarea[name=reason]').fill('insults in every question');
  await card.locator('button[data-action="hide_quiz"]').click();
  await card.waitFor({ state: 'detached' });

  // The audit log shows the action with its reason.
  await m.page.click('nav button[data-view="audit"]');
  await m.page.locator('table.audit tr:has-text("hide_quiz"):has-text("insults in every question")').waitFor();

  // The owner reads the reason in the inbox; the quiz is gone from the listings.
  const o = await person(t, 'owner');
  await signIn(o.page, owner);
  await o.page.goto(`${BASE}/inbox`);
  await o.page.locator('.inbox .note:has-text("A moderator hid your quiz"):has-text("insults in every question")').waitFor({ timeout: 15000 });
  const list = await call('GET', 'quizzes');
  assert.ok(!list.items.some((q) => q.id === quiz.id), 'the hidden quiz is still listed');
  // (Browsers may keep the public GET /quizzes page for its max-age of a minute, so the reporter's
  // open list is not what this checks: the server's listing is.)
  assertClean(r, m, o);
});

test('a deleted chat message disappears from every player\'s chat', { timeout: 90000 }, async (t) => {
  const host = await account('chost');
  const quiz = await createQuiz(host, { title: 'Chat quiz', mode: 'casual', questions: [choice('2+2?', ['3', '4'], 1)] });
  const game = await call('POST', 'games', { quizId: quiz.id }, host.token);
  const aAcc = await account('ca');
  const bAcc = await account('cb');
  const a = await person(t, 'author');
  const b = await person(t, 'reader');
  await signIn(a.page, aAcc);
  await signIn(b.page, bAcc);
  await a.page.goto(`${BASE}/play/${game.code}`);
  await b.page.goto(`${BASE}/play/${game.code}`);
  await a.page.waitForSelector('input[name=chat]');
  await b.page.waitForSelector('input[name=chat]');
  await a.page.fill('input[name=chat]', 'a rude remark');
  await a.page.press('input[name=chat]', 'Enter');
  const msg = b.page.locator('.chat-log li:has-text("a rude remark")');
  await msg.waitFor();
  await msg.locator('button.report').click();
  await b.page.locator('dialog button:has-text("Report message")').click();
  await b.page.waitForSelector('.toast:has-text("Message reported")');

  const modAcc = await account('cmod');
  await grantRole(modAcc, 'moderator');
  const page = await eventually(async () => {
    const p = await call('GET', 'moderation/cases?kind=chat', undefined, modAcc.token);
    return p.items.find((c) => c.snapshot && c.snapshot.text === 'a rude remark');
  }, { what: 'the chat case' });
  await call('POST', `moderation/cases/${page.id}/actions`, { action: 'delete_chat', reason: 'rude' }, modAcc.token);
  await a.page.locator('.chat-log li:has-text("a rude remark")').waitFor({ state: 'detached' });
  await msg.waitFor({ state: 'detached' });
  assertClean(a, b);
});

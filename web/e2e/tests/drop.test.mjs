// A dropped WebSocket (not a reload) reconnects by itself with a fresh ticket and resumes the game.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, person, account, signIn, createQuiz, choice, assertClean, call, eventually } from '../lib.mjs';

test('a player whose connection drops mid-question reconnects and still scores', { timeout: 60000 }, async (t) => {
  const hostAcc = await account('dhost');
  const quiz = await createQuiz(hostAcc, { title: 'Drop', mode: 'casual', scoring: 'flat', questions: [choice('1 + 1?', ['2', '3'], 0)] });
  const game = await call('POST', 'games', { quizId: quiz.id }, hostAcc.token);
  const host = await person(t, 'host');
  const pl = await person(t, 'dora', { viewport: { width: 375, height: 700 } });

  // Every socket of the player's page goes through the test, which can cut it.
  const sockets = [];
  await pl.page.routeWebSocket(/\/ws\?ticket=/, (ws) => {
    const server = ws.connectToServer();
    sockets.push({ ws, server });
  });

  await signIn(host.page, hostAcc);
  await host.page.goto(`${BASE}/host/${game.code}`);
  await host.page.waitForSelector('.join-code');
  await pl.page.goto(`${BASE}/join/${game.code}`);
  await pl.page.fill('input[name=nickname]', 'Dora');
  await pl.page.click('button:has-text("Join as guest")');
  await pl.page.waitForSelector('.lobby');
  await host.page.click('button[data-action="start"]');
  await pl.page.waitForSelector('.question-card[data-index="0"]');
  assert.equal(sockets.length, 1);

  // Cut the connection: the client notices, reconnects with a new ticket and resumes.
  sockets[0].server.close({ code: 1011, reason: 'cut by the test' });
  sockets[0].ws.close({ code: 1006, reason: 'cut by the test' });
  await eventually(() => sockets.length >= 2, { timeout: 20000, what: 'a new socket' });
  await pl.page.waitForFunction(() => document.getElementById('conn').dataset.state === 'open', null, { timeout: 20000 });
  await host.page.waitForSelector('.player-list li:not(.away)');
  assert.equal(await host.page.locator('.player-list li').count(), 1, 'the same player came back');

  await pl.page.click('.question-card[data-index="0"] button[data-choice="0"]');
  await pl.page.waitForSelector('.result-right:has-text("+1000")');
  assertClean(host, pl);
});

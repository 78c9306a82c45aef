// The client's connection state: a banner while the socket is lost, reconnects with backoff by
// itself, a clear end when the game is gone; unknown codes get a plain page; a late answer says so.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, person, account, signIn, createQuiz, choice, assertClean, call, eventually, screenshots } from '../lib.mjs';

async function setup(t, prefix, questions = [choice('1 + 1?', ['2', '3'], 0)]) {
  const hostAcc = await account(prefix);
  const quiz = await createQuiz(hostAcc, { title: 'Conn', mode: 'casual', scoring: 'flat', questions });
  const game = await call('POST', 'games', { quizId: quiz.id }, hostAcc.token);
  const host = await person(t, 'host');
  const pl = await person(t, 'pat', { viewport: { width: 390, height: 844 } });
  await signIn(host.page, hostAcc);
  await host.page.goto(`${BASE}/host/${game.code}`);
  await host.page.waitForSelector('.join-code');
  return { host, pl, game };
}

async function joinAsGuest(p, code, nickname) {
  await p.page.goto(`${BASE}/join/${code}`);
  await p.page.fill('input[name=nickname]', nickname);
  await p.page.click('button:has-text("Join as guest")');
  await p.page.waitForSelector('.lobby');
}

test('a lost connection shows a reconnecting banner, retries by itself and resumes', { timeout: 60000 }, async (t) => {
  const { host, pl, game } = await setup(t, 'chost');
  const sockets = [];
  let refuse = false;
  await pl.page.routeWebSocket(/\/ws\?ticket=/, (ws) => {
    if (refuse) { sockets.push({ refused: true }); ws.close({ code: 1006, reason: 'network down (test)' }); return; }
    sockets.push({ ws, server: ws.connectToServer() });
  });
  await joinAsGuest(pl, game.code, 'Pat');
  assert.equal(await pl.page.isVisible('#conn'), false, 'no banner while connected');

  refuse = true;
  sockets[0].server.close({ code: 1011, reason: 'cut by the test' });
  sockets[0].ws.close({ code: 1006, reason: 'cut by the test' });
  await pl.page.waitForSelector('#conn[data-state="reconnecting"]:has-text("Reconnecting")');
  assert.match(await pl.page.textContent('#conn'), /Connection lost/);
  // It keeps trying by itself, further apart each time.
  await eventually(() => sockets.filter((s) => s.refused).length >= 2, { timeout: 20000, what: 'two automatic retries' });
  await pl.page.waitForSelector('#conn:has-text("Next try in")');
  await screenshots(pl.page, 'reconnecting');

  // The network is back: "Try now" reconnects at once and the game goes on.
  refuse = false;
  await pl.page.click('#conn button:has-text("Try now")');
  await pl.page.waitForSelector('#conn[data-state="open"]', { state: 'attached' });
  assert.equal(await pl.page.isVisible('#conn'), false, 'the banner goes once connected');
  await host.page.click('button[data-action="start"]');
  await pl.page.click('.question-card[data-index="0"] button[data-choice="0"]');
  await pl.page.waitForSelector('.result-right:has-text("+1000")');
  assertClean(host, pl);
});

test('a game that is gone when the client reconnects ends with a clear page', { timeout: 60000 }, async (t) => {
  const { host, pl, game } = await setup(t, 'ghost');
  const sockets = [];
  let lose = false;
  await pl.page.routeWebSocket(/\/ws\?ticket=/, (ws) => {
    const server = ws.connectToServer();
    sockets.push({ ws, server });
    // After the cut the server "lost" the game: the client's join names a code it does not have.
    ws.onMessage((m) => {
      const f = JSON.parse(m);
      if (lose && f.type === 'join') f.data = { code: 'ZZZZZZ' };
      server.send(JSON.stringify(f));
    });
  });
  await joinAsGuest(pl, game.code, 'Gus');
  lose = true;
  sockets[0].server.close({ code: 1001, reason: 'restart' });
  sockets[0].ws.close({ code: 1001, reason: 'restart' });
  await pl.page.waitForSelector('h1:has-text("This game is over")');
  assert.match(await pl.page.textContent('main'), new RegExp(`Game ${game.code} is not running any more`));
  assert.equal(await pl.page.locator('.chat, .stage, .my-score').count(), 0, 'no half-drawn game screen');
  await screenshots(pl.page, 'game-over-gone');
  await pl.page.click('a:has-text("Enter another code")');
  await pl.page.waitForSelector('input[name=code]');
  assert.equal(new URL(pl.page.url()).pathname, '/join');
  assertClean(host, pl);
});

test('an unknown game code gets a plain not-found page and makes no guest', { timeout: 30000 }, async (t) => {
  const pl = await person(t, 'nora', { viewport: { width: 390, height: 844 } });
  await pl.page.goto(`${BASE}/join/ZZZZZZ`);
  await pl.page.waitForSelector('h1:has-text("Game not found")');
  assert.equal(await pl.page.locator('input[name=nickname], .chat, .stage').count(), 0);
  assert.equal(await pl.page.evaluate(() => localStorage.getItem('trivium.token')), null, 'no guest was created');

  // The /join page (the host screen says "Join at HOST/join") has a code field; a wrong code is
  // refused there, still without a guest.
  await pl.page.goto(`${BASE}/join`);
  await pl.page.fill('input[name=code]', 'YYYYYY');
  await pl.page.fill('input[name=nickname]', 'Nora');
  await pl.page.click('button:has-text("Join as guest")');
  await pl.page.waitForSelector('.field-error:has-text("There is no game with the code YYYYYY")');
  assert.equal(await pl.page.evaluate(() => localStorage.getItem('trivium.token')), null, 'no guest was created');

  // Signed in, /play/CODE of an unknown game is the same plain page.
  const acc = await account('nora');
  await signIn(pl.page, acc);
  await pl.page.goto(`${BASE}/play/XXXXXX`);
  await pl.page.waitForSelector('h1:has-text("Game not found")');
  assert.equal(await pl.page.locator('.chat, .stage, .my-score').count(), 0);
  assertClean(pl);
});

test('an answer that arrives after the time is up is reported as too late', { timeout: 60000 }, async (t) => {
  const { host, pl, game } = await setup(t, 'lhost', [choice('2 + 2?', ['4', '5'], 0, { timeLimitSec: 5 })]);
  let hold = null;
  await pl.page.routeWebSocket(/\/ws\?ticket=/, (ws) => {
    const server = ws.connectToServer();
    // The answer is held back (a slow network) until the round has closed.
    ws.onMessage((m) => {
      if (JSON.parse(m).type === 'answer') { hold = () => server.send(m); return; }
      server.send(m);
    });
  });
  await joinAsGuest(pl, game.code, 'Lea');
  await host.page.click('button[data-action="start"]');
  await pl.page.click('.question-card[data-index="0"] button[data-choice="0"]');
  await eventually(() => hold, { what: 'the held answer' });
  await pl.page.waitForSelector('.reveal[data-index="0"]', { timeout: 15000 });
  hold();
  await pl.page.waitForSelector('.reveal[data-index="0"] .result-late:has-text("Too late")');
  assert.equal(await pl.page.locator('.result-none').count(), 0, 'not "No answer"');
  await pl.page.reload();
  await pl.page.waitForSelector('.reveal[data-index="0"] .result-late:has-text("Too late")');
  assertClean(host, pl);
});

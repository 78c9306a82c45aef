// Teams and game options from the host's screens, and the host report: the host creates a game
// with players choosing among two teams, locks the lobby (a newcomer is refused), the scoreboard
// and the podium rank the teams by the mean of their members' scores, and the report downloads
// from the podium (CSV, checked row by row) and from the game history (JSON).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { BASE, person, account, signIn, createQuiz, choice, assertClean, checkA11y, screenshots, eventually, joinAsGuest } from '../lib.mjs';

const PHONE = { width: 390, height: 844 };

/** Parses RFC 4180 CSV (quoted fields, doubled quotes, CRLF or LF). */
function parseCSV(text) {
  const rows = [];
  let row = [];
  let f = '';
  let q = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (q) {
      if (c === '"' && text[i + 1] === '"') { f += '"'; i++; } else if (c === '"') q = false; else f += c;
    } else if (c === '"') q = true;
    else if (c === ',') { row.push(f); f = ''; } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(f); rows.push(row); row = []; f = '';
    } else f += c;
  }
  if (f !== '' || row.length) { row.push(f); rows.push(row); }
  return rows;
}

async function download(page, selector) {
  const [dl] = await Promise.all([page.waitForEvent('download'), page.click(selector)]);
  const file = await dl.path();
  return { name: dl.suggestedFilename(), text: await readFile(file, 'utf8') };
}

test('options chosen when creating a game reach the lobby', { timeout: 60000 }, async (t) => {
  const hostAcc = await account('ohost');
  const quiz = await createQuiz(hostAcc, { title: 'Options quiz', mode: 'casual', questions: [choice('1 + 1?', ['2', '3'], 0)] });
  const host = await person(t, 'host');
  await signIn(host.page, hostAcc);
  await host.page.goto(`${BASE}/host`);
  await host.page.waitForSelector(`.quiz-item[data-quiz="${quiz.id}"] button`);
  await host.page.check('#new-shuffleChoices');
  await host.page.uncheck('#new-lateJoin');
  await host.page.selectOption('#new-teams', 'auto');
  await host.page.fill('#new-count', '3');
  await checkA11y(host.page, 'host picker with game options');
  await host.page.click(`.quiz-item[data-quiz="${quiz.id}"] button`);
  await host.page.waitForSelector('.lobby-host .game-options[data-teams="auto"]');
  assert.equal(await host.page.isChecked('#lobby-shuffleChoices'), true);
  assert.equal(await host.page.isChecked('#lobby-lateJoin'), false);
  assert.equal(await host.page.inputValue('#lobby-count'), '3');
  assert.equal(await host.page.locator('.lobby-teams .team-card').count(), 3);
  assertClean(host);
});

test('teams chosen by players, a locked lobby, team standings and the report downloads', { timeout: 180000 }, async (t) => {
  const hostAcc = await account('thost');
  const quiz = await createQuiz(hostAcc, {
    title: 'Team quiz', mode: 'casual', scoring: 'flat',
    questions: [choice('2 + 2?', ['4', '5'], 0), choice('3 + 3?', ['6', '7'], 0)],
  });
  const host = await person(t, 'host');
  const ann = await person(t, 'ann', { viewport: PHONE });
  const bob = await person(t, 'bob', { viewport: PHONE });
  const cat = await person(t, 'cat', { viewport: PHONE });
  const dan = await person(t, 'dan', { viewport: PHONE });

  // The host opens a game, then turns teams on in the lobby: players choose, two teams.
  await signIn(host.page, hostAcc);
  await host.page.goto(`${BASE}/host`);
  await host.page.click(`.quiz-item[data-quiz="${quiz.id}"] button`);
  await host.page.waitForSelector('.join-code');
  const code = (await host.page.textContent('.join-code')).trim();
  await host.page.selectOption('#lobby-teams', 'choose');
  await host.page.waitForSelector('.lobby-host .game-options[data-teams="choose"]'); // the server's `options` says so
  assert.equal(await host.page.inputValue('#lobby-count'), '2');
  await host.page.waitForSelector('.lobby-teams .team-card');

  for (const [p, name] of [[ann, 'Ann'], [bob, 'Bob'], [cat, 'Cat']]) await joinAsGuest(p, code, name);
  await ann.page.waitForSelector('.team-pick .team-button');
  assert.equal(await ann.page.locator('.team-pick .team-button').count(), 2);
  const teamIds = await ann.page.$$eval('.team-pick .team-button', (bs) => bs.map((b) => b.dataset.team));
  await checkA11y(ann.page, 'player lobby with teams to pick');
  await screenshots(ann.page, 'player-team-pick');
  const pick = async (p, id) => {
    await p.page.click(`.team-pick .team-button[data-team="${id}"]`);
    await p.page.waitForSelector(`.team-pick .team-button[data-team="${id}"][aria-pressed="true"]`);
  };
  await pick(ann, teamIds[0]);
  await pick(bob, teamIds[0]);
  await pick(cat, teamIds[1]);
  await host.page.waitForFunction(([a, b]) => {
    const n = (id) => (document.querySelector(`.team-card[data-team="${id}"] .team-members`) || { textContent: '' }).textContent;
    return /Ann/.test(n(a)) && /Bob/.test(n(a)) && /Cat/.test(n(b));
  }, teamIds);

  // Locking the lobby from the host's screen refuses a newcomer.
  await host.page.check('#lobby-lockLobby');
  await host.page.waitForSelector('.lobby-host .game-options[data-lock-lobby="true"]'); // the server's `options` says so
  await checkA11y(host.page, 'host lobby with options and teams');
  await screenshots(host.page, 'host-lobby-teams');
  await dan.page.goto(`${BASE}/join/${code}`);
  await dan.page.fill('input[name=nickname]', 'Dan');
  await dan.page.click('button:has-text("Join as guest")');
  await dan.page.waitForSelector('.join-refused[data-code="locked"]');
  await host.page.uncheck('#lobby-lockLobby');

  // Question 1: Ann and Cat right, Bob wrong. Teams: Cat's 1000 against the mean of 1000 and 0.
  await host.page.click('button[data-action="start"]');
  const answer = async (p, index, c) => {
    await p.page.waitForSelector(`.question-card[data-index="${index}"] button[data-choice="${c}"]`);
    await p.page.click(`.question-card[data-index="${index}"] button[data-choice="${c}"]`);
  };
  await answer(ann, 0, 0);
  await answer(bob, 0, 1);
  await answer(cat, 0, 0);
  await ann.page.waitForSelector('.reveal[data-index="0"] .result-right');
  await host.page.click('button[data-action="scoreboard"]');
  await host.page.waitForSelector('.team-board .team-row');
  const teams = await host.page.$$eval('.team-board .team-row', (rows) => rows.map((r) => ({ id: r.dataset.team, rank: r.querySelector('.rank').textContent, score: Number(r.querySelector('.score').textContent) })));
  assert.deepEqual(teams.map((x) => [x.id, x.rank, x.score]), [[teamIds[1], '1', 1000], [teamIds[0], '2', 500]]);
  // Each player's row carries the team.
  await bob.page.waitForSelector('.scoreboard .board-row.me .team-tag');
  assert.equal(await bob.page.getAttribute('.scoreboard .board-row.me .team-tag', 'data-team'), teamIds[0]);
  await checkA11y(bob.page, 'player scoreboard with teams');
  await screenshots(host.page, 'host-scoreboard-teams');

  // Question 2: everyone right; then the podium with the final team standings.
  await host.page.click('button[data-action="next"]');
  await answer(ann, 1, 0);
  await answer(bob, 1, 0);
  await answer(cat, 1, 0);
  await ann.page.waitForSelector('.reveal[data-index="1"] .result-right');
  await host.page.click('button[data-action="next"]');
  for (const p of [host, ann, bob, cat]) await p.page.waitForSelector('.podium');
  await host.page.waitForSelector('.final .team-board .team-row');
  assert.equal(await host.page.getAttribute('.final .team-board .team-row:first-child', 'data-team'), teamIds[1]);
  assert.match(await cat.page.textContent('.my-team'), /finished #1/);
  assert.match(await bob.page.textContent('.my-team'), /finished #2/);
  await checkA11y(host.page, 'host podium with teams and the report');
  await screenshots(host.page, 'host-podium-report');

  assertClean(host, ann, bob, cat, dan);
});

test('the host downloads the report from the podium (CSV) and from the game history (JSON)', { timeout: 120000 }, async (t) => {
  const hostAcc = await account('rhost');
  const quiz = await createQuiz(hostAcc, { title: 'Team quiz', mode: 'casual', scoring: 'flat', questions: [choice('2 + 2?', ['4', '5'], 0), choice('3 + 3?', ['6', '7'], 0)] });
  const host = await person(t, 'host');
  const ann = await person(t, 'ann', { viewport: PHONE });
  const bob = await person(t, 'bob', { viewport: PHONE });
  const cat = await person(t, 'cat', { viewport: PHONE });
  await signIn(host.page, hostAcc);
  await host.page.goto(`${BASE}/host`);
  await host.page.click(`.quiz-item[data-quiz="${quiz.id}"] button`);
  await host.page.waitForSelector('.join-code');
  const code = (await host.page.textContent('.join-code')).trim();
  await host.page.selectOption('#lobby-teams', 'auto');
  await host.page.waitForSelector('.lobby-host .game-options[data-teams="auto"]');
  for (const [p, name] of [[ann, 'Ann'], [cat, 'Cat'], [bob, 'Bob']]) await joinAsGuest(p, code, name);
  await host.page.waitForFunction(() => document.querySelectorAll('.player-list li').length === 3);
  await host.page.click('button[data-action="start"]');
  const answer = async (p, index, c) => {
    await p.page.waitForSelector(`.question-card[data-index="${index}"] button[data-choice="${c}"]`);
    await p.page.click(`.question-card[data-index="${index}"] button[data-choice="${c}"]`);
  };
  await answer(ann, 0, 0); await answer(bob, 0, 1); await answer(cat, 0, 0);
  await ann.page.waitForSelector('.reveal[data-index="0"] .result-right');
  await host.page.click('button[data-action="next"]');
  await answer(ann, 1, 0); await answer(bob, 1, 0); await answer(cat, 1, 0);
  await ann.page.waitForSelector('.reveal[data-index="1"] .result-right');
  await host.page.click('button[data-action="next"]');
  await host.page.waitForSelector('.podium');
  // The report from the podium, as CSV: a header and one row per player per question.
  const csv = await download(host.page, '.report button[data-format="csv"]');
  assert.match(csv.name, /\.csv$/);
  const rows = parseCSV(csv.text.trim());
  const head = rows[0];
  for (const col of ['displayName', 'team', 'questionIndex', 'answer', 'correct', 'timeMs', 'points', 'streak']) assert.ok(head.includes(col), `the CSV has a ${col} column: ${head.join(',')}`);
  const recs = rows.slice(1).map((r) => Object.fromEntries(head.map((k, i) => [k, r[i]])));
  assert.equal(recs.length, 6, 'three players × two questions');
  const rec = (name, qi) => recs.find((r) => r.displayName === name && Number(r.questionIndex) === qi);
  assert.equal(rec('Bob', 0).correct, 'false');
  assert.equal(Number(rec('Bob', 0).points), 0);
  assert.equal(rec('Ann', 0).correct, 'true');
  assert.equal(Number(rec('Ann', 0).points), 1000);
  assert.ok(Number(rec('Ann', 1).streak) === 2 && Number(rec('Bob', 1).streak) === 1, 'streaks in the report');
  assert.ok(rec('Ann', 0).team && rec('Ann', 0).team && rec('Bob', 0).team && rec('Cat', 0).team, 'teams in the report');

  // The host's game history lists the game with its downloads; the JSON report matches.
  await host.page.click('.report a[href="/games"]');
  await host.page.waitForSelector(`.game-item[data-code="${code}"]`);
  assert.match(await host.page.textContent(`.game-item[data-code="${code}"]`), /Team quiz/);
  await checkA11y(host.page, 'the game history');
  await screenshots(host.page, 'game-history');
  const json = await download(host.page, `.game-item[data-code="${code}"] button[data-format="json"]`);
  const rep = JSON.parse(json.text);
  assert.equal(rep.questions.length, 2);
  assert.equal(rep.answers.length, 6);
  assert.equal(rep.answers.filter((a) => a.correct).length, 5);
  assertClean(host, ann, bob, cat);
});

// The player's game screen: lobby, questions with a countdown, reveal, scoreboard, podium, chat.
import { h, add, mount, toast, answerText } from '../dom.js';
import { answerControls, questionImage, kindName, TAP_KINDS } from './kinds.js';
import { api, session } from '../api.js';
import { socket } from '../socket.js';
import { GameModel } from '../game.js';
import { joinForm } from './home.js';
import { startTicker, timer, revealBlock, scoreboard, podium, playerList, chatPanel, phaseLabel } from './gameui.js';

/** The plain page for a code that names no running game: no game screen, no guest made. */
export function gameNotFound(root, code, { ended = false } = {}) {
  mount(root, h('h1', { text: ended ? 'This game is over' : 'Game not found' }),
    h('section', { class: 'card narrow' },
      h('p', { text: ended ? `Game ${code} is not running any more: it ended, or the server no longer has it.`
        : `There is no game with the code ${code}. Check the code on the host's screen.` }),
      h('p', { class: 'row' }, h('a', { href: '/join', 'data-link': '', class: 'button primary', text: 'Enter another code' }),
        h('a', { href: '/', 'data-link': '', class: 'button', text: 'Home' }))));
  document.title = `Trivium — ${ended ? 'This game is over' : 'Game not found'}`;
}

/** Resolves false when the server says there is no such game (a network failure is not a no). */
export async function gameExists(code) {
  try {
    await api('GET', `games/${encodeURIComponent(code)}`);
    return true;
  } catch (e) {
    return e.status !== 404;
  }
}

export function render(root, params, ctx) {
  let code = (params[0] || '').toUpperCase();
  if (ctx.join && !code) {
    add(root, h('h1', { text: 'Join a game' }), h('section', { class: 'card narrow' }, joinForm(ctx)));
    return null;
  }
  if (ctx.join) {
    if (!session.player) {
      const box = h('section', { class: 'card narrow' }, h('p', { class: 'muted', text: 'Looking for the game…' }));
      add(root, h('h1', { text: `Join game ${code}` }), box);
      gameExists(code).then((ok) => {
        if (!root.contains(box)) return;
        if (!ok) { gameNotFound(root, code); return; }
        mount(box, joinForm(ctx, code),
          h('p', { class: 'muted' }, 'Have an account? ', h('a', { href: `/login?next=/join/${code}`, 'data-link': '', text: 'Sign in first' }), ' to keep your points.'));
      });
      return null;
    }
    history.replaceState(null, '', `/play/${code}`);
  }
  if (!code && socket.game) code = socket.game.code;
  if (!code || !session.player) {
    add(root, h('h1', { text: 'Join a game' }), h('section', { class: 'card narrow' }, joinForm(ctx)));
    return null;
  }
  if (!ctx.join) history.replaceState(null, '', `/play/${code}`);
  // A game this tab is in is drawn at once (a reload); any other code is looked up first, so an
  // unknown one gets a plain page instead of a half-drawn game screen.
  if (!(socket.game && socket.game.code === code) && !ctx.checked) {
    let stop = null;
    let gone = false;
    add(root, h('p', { class: 'muted', text: 'Looking for the game…' }));
    gameExists(code).then((ok) => {
      if (gone) return;
      if (!ok) { gameNotFound(root, code); return; }
      root.replaceChildren();
      stop = render(root, [code], { ...ctx, join: false, checked: true });
    });
    return () => { gone = true; if (stop) stop(); };
  }

  const model = new GameModel(code);
  const drafts = new Map(); // question index → what the player is composing (ticks, slider, order)
  const announce = h('p', { class: 'sr-only', 'aria-live': 'polite', id: 'announce' });
  const status = h('p', { class: 'phase', 'aria-live': 'polite' });
  const scoreEl = h('p', { class: 'my-score', 'aria-live': 'off' });
  // Not a live region: it holds the ticking countdown. What needs saying goes to `announce`.
  const stage = h('section', { class: 'stage', 'aria-label': 'Game' });
  const side = h('aside', { class: 'side' });
  const chat = chatPanel(model);
  add(root, h('div', { class: 'game-head' }, h('h1', {}, 'Game ', h('span', { class: 'code', text: code })), status, scoreEl),
    h('div', { class: 'game-layout' }, stage, side), announce);

  const drawSide = () => mount(side, playerList(model), chat);

  async function answer(q, value, label) {
    if (model.answered.has(q.index) || model.paused) return;
    model.noteAnswer(q.index, label, 'sent');
    draw();
    try {
      const ack = await socket.request('answer', { index: q.index, answer: value });
      model.noteAnswer(q.index, label, ack && ack.correct === false ? 'wrong-live' : 'locked');
    } catch (e) {
      if (e.code === 'already_answered') model.noteAnswer(q.index, label, 'locked');
      else if (e.code === 'too_late' || e.code === 'not_open') model.noteAnswer(q.index, label, 'late');
      else {
        model.forgetAnswer(q.index);
        toast('Answer not sent', e.message || '', 'error');
      }
    }
    draw();
  }

  function questionCard(q) {
    const a = model.answered.get(q.index);
    const deadline = model.deadlineOf(q.index);
    const over = deadline && Date.now() >= deadline;
    const locked = !!a || over || model.paused;
    if (!drafts.has(q.index)) drafts.set(q.index, {});
    const body = answerControls(q, { locked, chosen: a && a.answer, draft: drafts.get(q.index), announce, onAnswer: (value, label) => answer(q, value, label) });
    let note = null;
    if (a) {
      const what = a.answer ? `: ${a.answer}` : '';
      note = {
        sent: h('p', { class: 'locked', text: `Sending${what}…` }),
        locked: h('p', { class: 'locked', role: 'status', text: `Answer locked${what}. Waiting for the others…` }),
        'wrong-live': h('p', { class: 'locked result-wrong', role: 'status', text: `Wrong${what}. Someone else may still get it.` }),
        late: h('p', { class: 'locked result-wrong', role: 'status', text: `Too late${what}: your answer arrived after the time was up.` }),
      }[a.status] || null;
    } else if (over) {
      note = h('p', { class: 'locked', role: 'status', text: 'Time is up.' });
    }
    return h('article', { class: 'question-card', dataset: { index: String(q.index) }, 'aria-labelledby': `q${q.index}` },
      h('p', { class: 'q-meta', text: `Question ${q.index + 1}${model.mode === 'competitive' && q.group ? ` · round ${q.group}` : ''}${q.kind && q.kind !== 'choice' && q.kind !== 'open' ? ` · ${kindName(q.kind)}` : ''}` }),
      h('h2', { id: `q${q.index}`, class: 'q-text', text: q.text }), questionImage(q),
      timer(deadline, q.timeLimitMs, model.paused), body, note);
  }

  // Teams chosen by the players: one button per team in the lobby; the server answers with `teams`.
  function teamPicker() {
    const t = model.options && model.options.teams;
    if (!model.teams.length && !(t && t.mode)) return null;
    const mine = model.teamOf(model.you.playerId);
    const choose = t && t.mode === 'choose';
    if (!choose) {
      return h('p', { class: 'my-team', role: 'status', text: mine ? `You are in team ${mine.name}.` : 'Teams are made when the game starts.' });
    }
    return h('section', { class: 'team-pick', 'aria-labelledby': 'tp-h' },
      h('h2', { id: 'tp-h', text: 'Pick your team' }),
      h('div', { class: 'team-buttons', role: 'group', 'aria-label': 'Teams' }, model.teams.map((tm, i) => h('button', {
        type: 'button', class: `big team-button team-${i % 8}${mine === tm ? ' chosen' : ''}`, 'aria-pressed': mine === tm ? 'true' : 'false', dataset: { team: String(tm.id) },
        onclick: async () => {
          try { await socket.request('team', { team: tm.id }); } catch (e) { toast('Team not changed', e.message || '', 'error'); }
        },
      }, h('span', { text: tm.name }), h('span', { class: 'team-count', text: `${tm.members.length}` }), h('span', { class: 'sr-only', text: ` player${tm.members.length === 1 ? '' : 's'}` })))),
      h('p', { class: 'my-team', role: 'status', text: mine ? `You are in team ${mine.name}.` : 'You are not in a team yet.' }));
  }

  function draw() {
    status.textContent = phaseLabel(model);
    scoreEl.textContent = `Your score: ${model.you.score}`;
    const p = model.phase;
    if (p === 'connecting') {
      mount(stage, h('p', { class: 'muted', text: 'Connecting to the game…' }));
    } else if (p === 'lobby') {
      mount(stage, h('div', { class: 'lobby' }, h('h2', { text: "You're in!" }), h('p', { text: 'The game starts when the host is ready. Watch the big screen.' }), teamPicker()));
    } else if (p === 'question') {
      mount(stage, model.questions.map(questionCard));
      const first = stage.querySelector('button.choice:not([disabled]), input.open-input:not([disabled]), .multi-choice input:not([disabled]), input.number-slider:not([disabled]), .order-move:not([disabled])');
      if (first && !stage.contains(document.activeElement)) first.focus({ preventScroll: true });
    } else if (p === 'reveal') {
      const rs = [...model.reveals.values()].sort((a, b) => a.index - b.index);
      const said = rs.map((r) => revealBlock(null, r, { mine: model.answered.get(r.index) }).querySelector('.result')).filter(Boolean).map((el) => el.textContent).join(' ');
      if (said && announce.textContent !== said) announce.textContent = said;
      mount(stage, rs.length ? rs.map((r) => revealBlock(model.questions.find((q) => q.index === r.index) || null, r, { mine: model.answered.get(r.index) }))
        : h('div', { class: 'card waiting' }, h('h2', { text: 'The answer is on the big screen' }), h('p', { text: 'The next question comes when the host is ready.' })));
    } else if (p === 'buzz') {
      const b = model.buzz || {};
      const q = model.questions.find((x) => x.index === b.index);
      const me = b.winner && b.winner.id === model.you.playerId;
      mount(stage, h('div', { class: 'buzz' },
        h('p', { class: 'buzz-winner', text: me ? 'You got it first!' : `${b.winner ? model.nameOf(b.winner.id, b.winner.displayName) : 'Someone'} got it first!` }),
        h('p', { class: 'reveal-answer' }, 'Answer: ', h('strong', { class: 'correct-answer', text: answerText(q, b.correctAnswer) }))),
      model.entries.length ? scoreboard(model) : null);
    } else if (p === 'scoreboard') {
      mount(stage, scoreboard(model));
    } else if (p === 'finished') {
      mount(stage, podium(model), h('p', {}, h('a', { href: '/', 'data-link': '', class: 'button', text: 'Play again' })));
    }
  }

  const onFrame = (ev) => {
    const f = ev.detail;
    if (f.type === 'state' && f.data && f.data.you && f.data.you.host) {
      ctx.go(`/host/${code}`, { replace: true });
      return;
    }
    if (model.apply(f)) {
      if (f.type === 'state') drawSide();
    }
  };
  const onJoinFailed = (ev) => {
    const e = ev.detail || {};
    socket.game = null;
    // The game is gone (ended and forgotten, or never existed): a plain page, not a game screen.
    if (e.code === 'not_found') { gameNotFound(root, code, { ended: true }); return; }
    const msg = e.code === 'locked' ? 'This game is not letting new players in: the host locked it, or it has started and takes no late joiners.' : e.message || 'Could not join.';
    mount(stage, h('div', { class: 'card' }, h('p', { class: 'field-error join-refused', role: 'alert', dataset: { code: e.code || '' }, text: msg }), joinForm(ctx)));
  };
  const onChange = (ev) => {
    if (ev.detail === 'players') drawSide();
    else if (ev.detail === 'teams' || ev.detail === 'options') { drawSide(); if (model.phase === 'lobby') draw(); }
    else if (ev.detail === 'all') draw();
  };
  const onKey = (ev) => {
    if (model.phase !== 'question' || ev.altKey || ev.ctrlKey || ev.metaKey) return;
    if (ev.target && (ev.target.tagName === 'INPUT' || ev.target.tagName === 'TEXTAREA')) return;
    const n = Number(ev.key);
    if (!(n >= 1 && n <= 9)) return;
    const q = model.questions.find((x) => TAP_KINDS.has(x.kind) && Array.isArray(x.choices) && !model.answered.has(x.index));
    if (q && q.choices[n - 1] !== undefined && Date.now() < model.deadlineOf(q.index)) {
      ev.preventDefault();
      answer(q, n - 1, q.choices[n - 1]);
    }
  };
  const onTimeUp = () => { if (model.phase === 'question') draw(); };

  model.addEventListener('change', onChange);
  socket.addEventListener('frame', onFrame);
  socket.addEventListener('joinfailed', onJoinFailed);
  document.addEventListener('keydown', onKey);
  stage.addEventListener('timeup', onTimeUp);
  const stopTicker = startTicker(stage, announce);
  draw();
  drawSide();
  socket.join(code);

  return () => {
    stopTicker();
    socket.removeEventListener('frame', onFrame);
    socket.removeEventListener('joinfailed', onJoinFailed);
    document.removeEventListener('keydown', onKey);
  };
}

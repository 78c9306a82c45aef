// The host's screen, made for a projector: pick a quiz, show the join code and QR code, drive
// the game, follow answer progress, show reveals, scoreboards and the podium.
import { h, add, mount, toast, answerText, confirmDialog } from '../dom.js';
import { api, listAll, session } from '../api.js';
import { socket } from '../socket.js';
import { GameModel } from '../game.js';
import { qrCanvas } from '../qr.js';
import { startTicker, timer, revealBlock, scoreboard, podium, playerList, chatPanel, phaseLabel } from './gameui.js';
import { hostQuestionBody, questionImage, kindName } from './kinds.js';
import { optionsForm, changedOptions, normalOptions } from './options.js';
import { reportButtons } from './history.js';

/** Options as sent to the server: every field, `teams: null` when off (a patch; null turns teams off). */
function wireOptions(o) {
  return normalOptions(o);
}

export function render(root, params, ctx) {
  const code = (params[0] || '').toUpperCase();
  if (!code) return picker(root, ctx);
  return screen(root, code, ctx);
}

function picker(root, ctx) {
  const list = h('div', { class: 'quiz-list', 'aria-live': 'polite' }, h('p', { class: 'muted', text: 'Loading quizzes…' }));
  const opts = optionsForm({}, { idPrefix: 'new', legend: 'Options for the game' });
  add(root, h('div', { class: 'row' }, h('h1', { text: 'Host a game' }), h('a', { href: '/games', 'data-link': '', class: 'button', text: 'Your past games and reports' })),
    h('p', { class: 'lead', text: 'Pick a quiz. Players join on their phones with the code shown on the next screen.' }), opts.el, list);
  const ctl = new AbortController();
  (async () => {
    try {
      const [mine, pub] = await Promise.all([listAll('quizzes?owner=me'), listAll('quizzes')]);
      const seen = new Set();
      const all = [...mine, ...pub].filter((q) => q.mode !== 'single' && !seen.has(q.id) && seen.add(q.id));
      if (!all.length) {
        mount(list, h('p', {}, 'No multiplayer quizzes yet. ', h('a', { href: '/author/new', 'data-link': '', text: 'Create one' }), '.'));
        return;
      }
      const me = session.player && session.player.id;
      mount(list, h('ul', { class: 'cards' }, all.map((q) => h('li', { class: 'card quiz-item', dataset: { quiz: q.id } },
        h('h2', { text: q.title }),
        h('p', { class: 'muted', text: `${q.mode} · ${q.scoring} · ${(q.questions || []).length} questions${q.ownerId === me ? ' · yours' : ''}` }),
        q.description ? h('p', { text: q.description }) : null,
        h('button', { type: 'button', class: 'primary', 'aria-label': `Host this quiz: ${q.title}`, text: 'Host this quiz', onclick: async (ev) => {
          ev.target.disabled = true;
          try {
            const o = opts.get();
            const g = await api('POST', 'games', changedOptions(o) ? { quizId: q.id, options: wireOptions(o) } : { quizId: q.id });
            ctx.go(`/host/${g.code}`);
          } catch (e) {
            ev.target.disabled = false;
            toast('Could not create the game', e.message, 'error');
          }
        } })))));
    } catch (e) {
      if (e.name !== 'AbortError') mount(list, h('p', { class: 'field-error', role: 'alert', text: e.message }));
    }
  })();
  return () => ctl.abort();
}

function screen(root, code, ctx) {
  const model = new GameModel(code);
  const joinURL = `${location.origin}/join/${code}`;
  const announce = h('p', { class: 'sr-only', 'aria-live': 'polite' });
  const status = h('p', { class: 'phase', 'aria-live': 'polite' });
  const stage = h('section', { class: 'stage host-stage', 'aria-label': 'Game' });
  const controls = h('div', { class: 'host-controls', role: 'toolbar', 'aria-label': 'Game controls' });
  const side = h('aside', { class: 'side' });
  const progress = h('div', { class: 'progress', 'aria-live': 'polite' });
  let qr;
  try { qr = qrCanvas(joinURL, 360); qr.setAttribute('role', 'img'); qr.setAttribute('aria-label', `QR code for ${joinURL}`); qr.className = 'qr'; } catch { qr = null; }
  const joinBox = h('section', { class: 'join-box', 'aria-labelledby': 'jb-h' },
    h('h2', { id: 'jb-h', class: 'sr-only', text: 'How to join' }),
    h('p', { class: 'join-how' }, 'Join at ', h('strong', { class: 'join-url', text: `${location.host}/join` }), ' with code'),
    h('p', { class: 'join-code', 'aria-label': `Game code ${code.split('').join(' ')}`, text: code }), qr);
  // The lobby's options: every change is sent at once; the server's `options` broadcast is the truth.
  const lobbyOpts = optionsForm({}, { idPrefix: 'lobby', legend: 'Game options', onChange: async (o) => {
    try {
      await socket.request('options', wireOptions(o));
    } catch (e) {
      toast('Options not changed', e.message || '', 'error');
      lobbyOpts.set(model.options);
    }
  } });
  const teamsBox = h('section', { class: 'lobby-teams', 'aria-labelledby': 'lt-h' });
  const drawTeams = () => {
    if (!model.teams.length) { mount(teamsBox); teamsBox.hidden = true; return; }
    teamsBox.hidden = false;
    mount(teamsBox, h('h2', { id: 'lt-h', text: 'Teams' }), h('ul', { class: 'team-list' }, model.teams.map((t, i) => h('li', { class: `team-card team-${i % 8}`, dataset: { team: String(t.id) } },
      h('strong', { text: `${t.name} (${t.members.length})` }),
      h('span', { class: 'team-members', text: t.members.map((id) => model.nameOf(id, '?')).join(', ') || 'nobody yet' })))));
  };
  const lobbyBox = h('div', { class: 'lobby-host' }, joinBox, lobbyOpts.el, teamsBox);
  root.classList.add('projector');
  add(root, h('div', { class: 'game-head' }, h('h1', {}, 'Hosting ', h('span', { class: 'code', text: code })), status, controls),
    h('div', { class: 'game-layout' }, h('div', {}, stage, progress), side), announce);

  const send = async (type) => {
    try {
      await socket.request(type, {});
    } catch (e) {
      toast(`Could not ${type}`, e.message || '', 'error');
    }
  };
  // Ending a game and starting one nobody joined cannot be taken back: ask first.
  const ask = async (type) => {
    if (type === 'end' && !(await confirmDialog('End the game now for everyone? The final standings are shown at once.', { ok: 'End game', cancel: 'Keep playing', danger: true }))) return;
    if (type === 'start' && model.players.size === 0 && !(await confirmDialog('Nobody has joined yet. Start anyway?', { ok: 'Start anyway', cancel: 'Wait for players' }))) return;
    send(type);
  };
  const btn = (type, label, primary) => h('button', { type: 'button', class: primary ? 'primary big' : 'big', dataset: { action: type }, text: label, onclick: () => ask(type) });

  function drawControls() {
    const p = model.phase;
    const b = [];
    if (p === 'lobby') b.push(btn('start', 'Start game', true));
    if (p === 'question') b.push(btn('reveal', 'Reveal answer', true));
    if (p === 'reveal') b.push(btn('scoreboard', 'Show scoreboard', true), btn('next', 'Next question'));
    if (p === 'scoreboard' || p === 'buzz') b.push(btn('next', 'Next question', true));
    if (p !== 'finished' && p !== 'connecting') b.push(btn('end', 'End game'));
    if (p === 'finished') b.push(h('button', { type: 'button', class: 'primary big', text: 'New game', onclick: () => { socket.leave(); ctx.go('/host'); } }));
    mount(controls, b);
  }

  function drawProgress() {
    if (model.phase !== 'question') { mount(progress); return; }
    mount(progress, model.questions.map((q) => {
      const pr = model.progress.get(q.index) || { answered: 0, total: [...model.players.values()].filter((p) => p.connected !== false).length };
      const bar = h('span', { class: 'progress-fill' });
      bar.style.width = `${pr.total ? (pr.answered / pr.total) * 100 : 0}%`;
      return h('p', { class: 'progress-line', dataset: { index: String(q.index) } },
        h('span', { class: 'progress-track' }, bar), h('span', { class: 'progress-text', text: `${pr.answered} / ${pr.total} answered` }));
    }));
  }

  function draw() {
    status.textContent = model.phase === 'lobby' ? `Lobby: ${model.players.size} joined` : phaseLabel(model);
    drawControls();
    drawProgress();
    const p = model.phase;
    if (p === 'connecting') mount(stage, h('p', { class: 'muted', text: 'Connecting…' }));
    else if (p === 'lobby') { lobbyOpts.set(model.options); drawTeams(); if (!stage.contains(lobbyBox)) mount(stage, lobbyBox); }
    else if (p === 'question') {
      mount(stage, model.questions.map((q) => h('article', { class: 'question-card', dataset: { index: String(q.index) } },
        h('p', { class: 'q-meta', text: `Question ${q.index + 1}${q.kind && q.kind !== 'choice' && q.kind !== 'open' ? ` · ${kindName(q.kind)}` : ''}` }), h('h2', { class: 'q-text', text: q.text }),
        questionImage(q), timer(model.deadlineOf(q.index), q.timeLimitMs, model.paused), hostQuestionBody(q))));
    } else if (p === 'reveal') {
      const rs = [...model.reveals.values()].sort((a, b) => a.index - b.index);
      mount(stage, rs.length ? rs.map((r) => revealBlock(model.questions.find((q) => q.index === r.index) || null, r, { you: false }))
        : h('div', { class: 'card waiting' }, h('h2', { text: 'Answer shown' }), h('p', { text: 'Show the scoreboard or ask the next question.' })));
    } else if (p === 'buzz') {
      const bz = model.buzz || {};
      const q = model.questions.find((x) => x.index === bz.index);
      mount(stage, h('div', { class: 'buzz' }, h('p', { class: 'buzz-winner', text: `${bz.winner ? model.nameOf(bz.winner.id, bz.winner.displayName) : 'Someone'} got it first!` }),
        h('p', { class: 'reveal-answer' }, 'Answer: ', h('strong', { class: 'correct-answer', text: answerText(q, bz.correctAnswer) }))),
      model.entries.length ? scoreboard(model) : null);
    } else if (p === 'scoreboard') mount(stage, scoreboard(model));
    else if (p === 'finished') {
      mount(stage, podium(model), model.gameId ? h('section', { class: 'card report', 'aria-labelledby': 'rep-h' },
        h('h2', { id: 'rep-h', text: 'Game report' }),
        h('p', { class: 'muted', text: 'Every player’s answer, time, points, streak and team for every question, and each question’s statistics.' }),
        reportButtons(model.gameId, { name: code }), h('p', {}, h('a', { href: '/games', 'data-link': '', text: 'All your games' }))) : null);
    }
  }

  const chat = chatPanel(model);
  const drawSide = () => mount(side, model.phase === 'lobby' ? null : h('p', { class: 'join-mini' }, 'Join: ', h('strong', { text: code })), playerList(model), chat);
  const onFrame = (ev) => {
    const f = ev.detail;
    if (f.type === 'state' && f.data && f.data.you && !f.data.you.host) {
      ctx.go(`/play/${code}`, { replace: true });
      return;
    }
    model.apply(f);
  };
  const onChange = (ev) => {
    if (ev.detail === 'players') { drawSide(); drawProgress(); if (model.phase === 'lobby') drawTeams(); if (model.phase === 'lobby') status.textContent = `Lobby: ${model.players.size} joined`; } else if (ev.detail === 'progress') drawProgress();
    else if (ev.detail === 'all') { draw(); drawSide(); } else if (ev.detail === 'options' || ev.detail === 'teams') {
      if (model.phase === 'lobby') { lobbyOpts.set(model.options); drawTeams(); }
      drawSide();
    }
  };
  const onJoinFailed = (ev) => {
    socket.game = null;
    mount(stage, h('p', { class: 'field-error', role: 'alert', text: (ev.detail && ev.detail.message) || 'Could not open the game.' }),
      h('p', {}, h('a', { href: '/host', 'data-link': '', text: 'Host another game' })));
  };
  model.addEventListener('change', onChange);
  socket.addEventListener('frame', onFrame);
  socket.addEventListener('joinfailed', onJoinFailed);
  const stopTicker = startTicker(stage, announce);
  draw();
  drawSide();
  socket.join(code);
  return () => {
    root.classList.remove('projector');
    stopTicker();
    socket.removeEventListener('frame', onFrame);
    socket.removeEventListener('joinfailed', onJoinFailed);
  };
}

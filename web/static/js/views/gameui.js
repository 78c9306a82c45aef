// UI pieces shared by the player and host screens.
import { h, mount, avatar, toast, confirmDialog } from '../dom.js';
import { correctText, statsChart, questionImage } from './kinds.js';
import { api, session } from '../api.js';
import { socket } from '../socket.js';

/** Reports a player's avatar to the moderators (registered players only, as the API requires). */
async function reportAvatar(model, p) {
  const name = model.nameOf(p.id, p.displayName);
  if (!(await confirmDialog(`Report ${name}'s avatar to the moderators as inappropriate?`, { ok: 'Report avatar', cancel: 'Cancel', danger: true }))) return;
  try {
    await api('POST', `players/${encodeURIComponent(p.id)}/report`, { reason: `reported from game ${model.code}` });
    toast('Avatar reported', 'Thank you: a moderator will look at it.');
  } catch (e) {
    toast('Not reported', e.status === 404 ? `${name} has no avatar any more.` : e.message, 'error');
  }
}

async function reportChat(model, m) {
  const name = m.from ? model.nameOf(m.from.id, m.from.displayName) : '?';
  if (!(await confirmDialog(`Report this message from ${name} to the moderators?`, { ok: 'Report message', cancel: 'Cancel', danger: true }))) return;
  try {
    await api('POST', 'reports', { kind: 'chat', targetId: `${model.code}/${m.id}`, reason: `chat in game ${model.code}` });
    toast('Message reported', 'Thank you: a moderator will look at it.');
  } catch (e) {
    toast('Not reported', e.status === 409 ? 'You already reported this message.' : e.message, 'error');
  }
}

/**
 * Keeps every countdown under root current: [data-deadline] (local ms) and [data-limit] (ms).
 * Announces the time left at a few points through the polite live region `announce`.
 */
export function startTicker(root, announce) {
  const said = new Set();
  const id = setInterval(() => {
    for (const t of root.querySelectorAll('[data-deadline]')) {
      const deadline = Number(t.dataset.deadline);
      const limit = Number(t.dataset.limit) || 1;
      if (t.dataset.paused === '1') continue;
      const left = Math.max(0, deadline - Date.now());
      const fill = t.querySelector('.timer-fill');
      if (fill) fill.style.width = `${Math.min(100, (left / limit) * 100)}%`;
      t.classList.toggle('timer-low', left < 5000);
      const secs = Math.ceil(left / 1000);
      const label = t.querySelector('.timer-secs');
      if (label && label.textContent !== String(secs)) label.textContent = String(secs);
      t.setAttribute('aria-valuenow', String(secs));
      const key = `${t.dataset.deadline}:${secs}`;
      if (announce && (secs === 10 || secs === 5 || secs === 0) && !said.has(key)) {
        said.add(key);
        announce.textContent = secs === 0 ? 'Time is up' : `${secs} seconds left`;
      }
      if (left === 0 && !t.dataset.over) {
        t.dataset.over = '1';
        t.dispatchEvent(new CustomEvent('timeup', { bubbles: true }));
      }
    }
  }, 100);
  return () => clearInterval(id);
}

/** A countdown bar for a question. */
export function timer(deadline, limitMs, paused = false) {
  return h('div', { class: 'timer', role: 'progressbar', 'aria-label': 'Time left in seconds', 'aria-valuemin': 0,
    'aria-valuemax': Math.round(limitMs / 1000), dataset: { deadline: String(deadline), limit: String(limitMs), paused: paused ? '1' : '0' } },
  h('div', { class: 'timer-track' }, h('div', { class: 'timer-fill' })),
  h('span', { class: 'timer-secs', 'aria-hidden': 'true', text: String(Math.max(0, Math.ceil((deadline - Date.now()) / 1000))) }));
}

/**
 * What the reveal says about one question: the question, the right answer, counts, and (for a
 * player) the result. q may be unknown (a resume without the round): the block then says less
 * rather than showing a bare index. mine is the player's own answer as this tab knows it.
 */
export function revealBlock(q, r, { you = true, mine = null } = {}) {
  const kind = r.kind || (q && q.kind);
  const right = correctText(q, r);
  const chart = statsChart(q, r);
  let result = null;
  let streak = null;
  if (you && r.you) {
    const late = r.you.late || (!r.you.answered && mine && mine.status === 'late');
    if (kind === 'poll') result = h('p', { class: 'result result-poll', text: r.you.answered ? 'Thanks for voting!' : 'You did not vote.' });
    else if (r.you.correct) result = h('p', { class: 'result result-right', text: `Correct! +${r.you.points} points` });
    else if (late) result = h('p', { class: 'result result-late', text: 'Too late: your answer arrived after the time was up. 0 points' });
    else if (r.you.answered) result = h('p', { class: 'result result-wrong', text: 'Not this time: 0 points' });
    else result = h('p', { class: 'result result-none', text: 'No answer: 0 points' });
    if (typeof r.you.streak === 'number' && kind !== 'poll') {
      const n = r.you.streak;
      const bonus = r.you.streakBonus ? ` (+${r.you.streakBonus} streak bonus)` : '';
      streak = n > 0
        ? h('p', { class: 'streak', dataset: { streak: String(n) }, text: `🔥 Streak: ${n} in a row${bonus}` })
        : h('p', { class: 'streak streak-none', dataset: { streak: '0' }, text: 'Streak: 0' });
    }
  }
  const yours = you && mine && mine.answer !== null && mine.answer !== undefined && mine.answer !== ''
    ? h('p', { class: 'your-answer', text: `Your ${kind === 'poll' ? 'vote' : 'answer'}: ${mine.answer}` }) : null;
  return h('div', { class: 'reveal', dataset: { index: String(r.index), kind: kind || '' } },
    q ? h('h2', { class: 'reveal-q', text: q.text }) : h('h2', { class: 'reveal-q', text: `Question ${r.index + 1}` }),
    questionImage(q),
    right ? h('p', { class: 'reveal-answer' }, 'Answer: ', h('strong', { class: 'correct-answer', text: right })) : null,
    kind === 'poll' ? h('p', { class: 'reveal-answer', text: 'A poll: no right answer, no points.' }) : null,
    result, streak, yours, chart);
}

/** A small label with the team a player is in (nothing without teams). */
export function teamTag(model, playerId) {
  const t = model.teamOf(playerId);
  return t ? h('span', { class: `team-tag team-${teamIndex(model, t)}`, dataset: { team: String(t.id) }, text: t.name }) : null;
}

function teamIndex(model, t) {
  const i = model.teams.findIndex((x) => x.id === t.id);
  return (i < 0 ? 0 : i) % 8;
}

/** The teams ranked by score (mean of their members' scores, as the server computes it). */
export function teamBoard(model, { title = 'Teams' } = {}) {
  if (!model.teams.length) return null;
  const ranked = [...model.teams].sort((a, b) => (a.rank && b.rank ? a.rank - b.rank : (b.score || 0) - (a.score || 0)));
  return h('section', { class: 'team-standings', 'aria-labelledby': 'tb-h' },
    h('h2', { id: 'tb-h', text: title }),
    h('ol', { class: 'board team-board' }, ranked.map((t, i) => h('li', { class: `board-row team-row${model.teamOf(model.you.playerId) === t ? ' me' : ''}`, dataset: { team: String(t.id) } },
      h('span', { class: 'rank', text: String(t.rank || i + 1) }),
      h('span', { class: `team-swatch team-${teamIndex(model, t)}`, 'aria-hidden': 'true' }),
      h('span', { class: 'name', text: t.name }),
      h('span', { class: 'muted team-size', text: `${t.members.length} player${t.members.length === 1 ? '' : 's'}` }),
      h('span', { class: 'score', text: String(t.score || 0) })))));
}

/** The scoreboard with points gained and rank changes (and the teams, when there are teams). */
export function scoreboard(model, { title = 'Scoreboard' } = {}) {
  return h('div', { class: 'boards' }, teamBoard(model), h('section', { class: 'scoreboard', 'aria-labelledby': 'sb-h' },
    h('h2', { id: 'sb-h', text: model.teams.length ? 'Players' : title }),
    h('ol', { class: 'board' }, model.entries.map((e) => {
      const ch = model.rankChange(e);
      const move = ch > 0 ? h('span', { class: 'move up', 'aria-label': `up ${ch}`, text: `▲${ch}` })
        : ch < 0 ? h('span', { class: 'move down', 'aria-label': `down ${-ch}`, text: `▼${-ch}` })
          : h('span', { class: 'move same', 'aria-label': 'no change', text: '–' });
      return h('li', { class: `board-row${e.playerId === model.you.playerId ? ' me' : ''}`, dataset: { player: e.playerId } },
        h('span', { class: 'rank', text: String(e.rank) }), avatar(e.thumbnailUrl, e.displayName),
        h('span', { class: 'name' }, h('span', { text: model.nameOf(e.playerId, e.displayName) }), teamTag(model, e.playerId)),
        e.delta ? h('span', { class: 'delta', text: `+${e.delta}` }) : h('span', { class: 'delta' }),
        h('span', { class: 'score', text: String(e.score) }), move);
    }))));
}

/** The final podium (top three) and the full standings. */
export function podium(model) {
  const top = model.final.slice(0, 3);
  const order = [top[1], top[0], top[2]].filter(Boolean);
  const me = model.final.find((e) => e.playerId === model.you.playerId);
  return h('section', { class: 'final', 'aria-labelledby': 'final-h' },
    h('h2', { id: 'final-h', text: 'Final results' }),
    h('ol', { class: 'podium', 'aria-label': 'Podium' }, order.map((e) => h('li', { class: `step step-${e.rank}`, dataset: { rank: String(e.rank) } },
      avatar(e.thumbnailUrl, e.displayName, 'md'),
      h('span', { class: 'name', text: model.nameOf(e.playerId, e.displayName) }), teamTag(model, e.playerId),
      h('span', { class: 'score', text: `${e.score} pts` }),
      h('span', { class: 'place', text: ['', '1st', '2nd', '3rd'][e.rank] || `#${e.rank}` })))),
    me ? h('p', { class: 'my-rank', text: `You finished #${me.rank} with ${me.score} points.` }) : null,
    myTeamLine(model),
    teamBoard(model, { title: 'Final team standings' }),
    model.final.length > 3 ? h('ol', { class: 'board', start: 4 }, model.final.slice(3).map((e) => h('li', { class: 'board-row' },
      h('span', { class: 'rank', text: String(e.rank) }), h('span', { class: 'name' }, h('span', { text: model.nameOf(e.playerId, e.displayName) }), teamTag(model, e.playerId)), h('span', { class: 'score', text: String(e.score) })))) : null,
    model.quizId && session.isAccount ? h('p', {}, h('a', { href: `/leaderboards/quiz:${encodeURIComponent(model.quizId)}`, 'data-link': '', class: 'quiz-board-link', text: 'See the leaderboard for this quiz' })) : null);
}

function myTeamLine(model) {
  const t = model.teamOf(model.you.playerId);
  if (!t || model.you.host) return null;
  const ranked = [...model.teams].sort((a, b) => (a.rank && b.rank ? a.rank - b.rank : (b.score || 0) - (a.score || 0)));
  const rank = t.rank || ranked.indexOf(t) + 1;
  return h('p', { class: 'my-team', text: `Your team ${t.name} finished #${rank} with ${t.score || 0} points.` });
}

/** The players in the game. */
export function playerList(model) {
  const ps = [...model.players.values()];
  return h('section', { class: 'players', 'aria-labelledby': 'pl-h' },
    h('h2', { id: 'pl-h', text: `Players (${ps.length})` }),
    h('ul', { class: 'player-list' }, ps.map((p) => h('li', { class: p.connected === false ? 'away' : '', dataset: { player: p.id } },
      avatar(p.thumbnailUrl, p.displayName), h('span', { class: 'name', text: model.nameOf(p.id, p.displayName) }), teamTag(model, p.id),
      p.connected === false ? h('span', { class: 'muted', text: ' (away)' }) : null,
      // Guests cannot report (the API needs an account), and nobody reports their own image.
      p.thumbnailUrl && session.isAccount && p.id !== model.you.playerId
        ? h('button', { type: 'button', class: 'link report', 'aria-label': `Report ${model.nameOf(p.id, p.displayName)}'s avatar`, text: 'Report', onclick: () => reportAvatar(model, p) }) : null))));
}

/** The chat panel; messages are rendered with textContent only. */
export function chatPanel(model) {
  const log = h('ol', { class: 'chat-log', 'aria-live': 'polite', 'aria-label': 'Chat messages' });
  const draw = () => {
    mount(log, model.chat.map((m) => h('li', { dataset: m.id ? { chatId: m.id } : {} },
      h('strong', { text: `${m.from ? model.nameOf(m.from.id, m.from.displayName) : '?'}: ` }), h('span', { class: 'chat-text', text: m.text }),
      m.id && m.from && m.from.id !== model.you.playerId && session.player
        ? h('button', { type: 'button', class: 'link report', 'aria-label': `Report this message from ${model.nameOf(m.from.id, m.from.displayName)}`, text: 'Report', onclick: () => reportChat(model, m) }) : null)));
    log.scrollTop = log.scrollHeight;
  };
  draw();
  model.addEventListener('change', (ev) => { if (ev.detail === 'chat' || ev.detail === 'all') draw(); });
  const input = h('input', { name: 'chat', maxlength: 280, autocomplete: 'off', 'aria-label': 'Chat message' });
  const form = h('form', { class: 'chat-form', onsubmit: async (ev) => {
    ev.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    try {
      await socket.request('chat', { text });
      input.value = '';
    } catch (e) {
      toast('Message not sent', e.message || '', 'error');
    }
  } }, input, h('button', { type: 'submit', text: 'Send' }));
  return h('section', { class: 'chat', 'aria-labelledby': 'chat-h' }, h('h2', { id: 'chat-h', text: 'Chat' }), log, form);
}

/** Human name of a phase. */
export function phaseLabel(model) {
  if (model.paused) return 'Paused: waiting for the host';
  return { connecting: 'Connecting…', lobby: 'Waiting for the host to start', question: 'Question', reveal: 'Answer', buzz: 'Answer', scoreboard: 'Scoreboard', finished: 'Game over' }[model.phase] || model.phase;
}

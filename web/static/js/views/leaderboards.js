// Leaderboards: global, weekly, per quiz, with paging and "around me".
import { h, add, mount, avatar } from '../dom.js';
import { api, session, listAll } from '../api.js';

export function render(root, params = []) {
  const tabs = h('div', { class: 'tabs', role: 'tablist', 'aria-label': 'Boards' });
  const quizPick = h('select', { id: 'board-quiz', 'aria-label': 'Quiz', hidden: true });
  const table = h('ol', { class: 'board', 'aria-live': 'polite' });
  const more = h('button', { type: 'button', text: 'More', hidden: true });
  const meBox = h('section', { class: 'card', 'aria-labelledby': 'me-h' });
  const err = h('p', { class: 'field-error', role: 'alert', hidden: true });
  // /leaderboards/quiz:{id} opens one quiz's board (the link under a game's final standings).
  const initial = decodeURIComponent(params[0] || '');
  let board = /^(global|weekly|quiz:.+)$/.test(initial) ? initial : 'global';
  let next = '';
  // Board names are `global`, `weekly` or `quiz:{id}`: the colon must stay a colon in the path.
  const boardPath = (b) => b.split(':').map(encodeURIComponent).join(':');

  const row = (e, meId) => h('li', { class: `board-row${e.playerId === meId ? ' me' : ''}` },
    h('span', { class: 'rank', text: String(e.rank) }), avatar(e.thumbnailUrl, e.displayName),
    h('span', { class: 'name', text: e.displayName }), h('span', { class: 'score', text: String(e.score) }));

  async function load(reset) {
    err.hidden = true;
    if (reset) { mount(table); next = ''; }
    const me = session.player && session.player.id;
    try {
      const q = `leaderboards/${boardPath(board)}?limit=20${next ? `&cursor=${encodeURIComponent(next)}` : ''}`;
      const b = board;
      const page = await api('GET', q);
      if (b !== board) return;
      table.append(...(page.entries || []).map((e) => row(e, me)));
      if (!table.children.length) table.append(h('li', { class: 'muted', text: 'No scores yet.' }));
      next = page.next || '';
      more.hidden = !next;
    } catch (e) { err.hidden = false; err.textContent = e.message; }
    if (reset) loadMe();
  }

  async function loadMe() {
    if (!session.player) { mount(meBox); return; }
    if (session.player.guest) {
      // Guests never appear on boards: asking the server where they stand would only be a 404.
      mount(meBox, h('h2', { id: 'me-h', text: 'You' }), h('p', {}, 'Guests are not on the leaderboards. ',
        h('a', { href: '/login', 'data-link': '', text: 'Sign up' }), ' to keep your points.'));
      return;
    }
    const b = board;
    try {
      const r = await api('GET', `leaderboards/${boardPath(b)}/me?around=3`);
      if (b !== board) return;
      meBox.dataset.board = b;
      mount(meBox, h('h2', { id: 'me-h', text: `You: #${r.rank} · ${r.score} points` }),
        h('ol', { class: 'board' }, (r.entries || []).map((e) => row(e, session.player.id))));
    } catch (e) {
      if (b !== board) return;
      meBox.dataset.board = b;
      mount(meBox, h('h2', { id: 'me-h', text: 'You' }), h('p', { class: 'muted', text: e.status === 404 ? 'No score on this board yet.' : e.message }));
    }
  }

  const initialTab = board.startsWith('quiz:') ? 'quiz' : board;
  const tab = (id, label) => h('button', { type: 'button', role: 'tab', id: `tab-${id}`, 'aria-selected': id === initialTab ? 'true' : 'false', text: label, onclick: (ev) => {
    for (const t of tabs.children) t.setAttribute('aria-selected', t === ev.currentTarget ? 'true' : 'false');
    quizPick.hidden = id !== 'quiz';
    board = id === 'quiz' ? (quizPick.value ? `quiz:${quizPick.value}` : '') : id;
    if (board) load(true); else mount(table, h('li', { class: 'muted', text: 'Pick a quiz.' }));
  } });
  tabs.append(tab('global', 'All time'), tab('weekly', 'This week'), tab('quiz', 'By quiz'));
  quizPick.addEventListener('change', () => { board = `quiz:${quizPick.value}`; load(true); });
  more.addEventListener('click', () => load(false));
  Promise.all([session.isAccount ? listAll('quizzes?owner=me') : [], listAll('quizzes')]).then(([mine, pub]) => {
    const seen = new Set();
    const qs = [...mine, ...pub].filter((q) => !seen.has(q.id) && seen.add(q.id));
    mount(quizPick, h('option', { value: '', text: 'Choose a quiz…' }), qs.map((q) => h('option', { value: q.id, text: q.title })));
    if (board.startsWith('quiz:')) {
      const id = board.slice(5);
      // A private quiz is not in the lists; the board is still readable from the game's link.
      if (!qs.some((q) => q.id === id)) quizPick.append(h('option', { value: id, text: 'This game’s quiz' }));
      quizPick.value = id;
    }
  }).catch(() => {});
  quizPick.hidden = !board.startsWith('quiz:');

  add(root, h('h1', { text: 'Leaderboards' }), tabs, quizPick, h('div', { class: 'grid2' },
    h('section', { class: 'card', 'aria-label': 'Top players' }, table, more, err), meBox));
  load(true);
  return null;
}

// Landing page: join a game by code, or go host, create, play solo.
import { h, add, field, setError } from '../dom.js';
import { api, session, authenticate } from '../api.js';
import { socket } from '../socket.js';

/** A join form: a code, and a nickname when not signed in (a guest account is made for it). */
export function joinForm(ctx, code = '') {
  const err = h('p', { class: 'field-error', role: 'alert', hidden: true });
  const codeIn = field('Game code', h('input', { name: 'code', value: code, autocomplete: 'off', autocapitalize: 'characters', maxlength: 8, class: 'code-input', required: true, spellcheck: 'false' }));
  const nick = session.player ? null : field('Nickname', h('input', { name: 'nickname', autocomplete: 'nickname', maxlength: 24, required: true }));
  const btn = h('button', { type: 'submit', class: 'primary big', text: session.player ? 'Join game' : 'Join as guest' });
  const form = h('form', { class: 'join-form', novalidate: true, onsubmit: async (ev) => {
    ev.preventDefault();
    setError(err, '');
    const c = codeIn.input.value.trim().toUpperCase();
    if (!/^[A-Z0-9]{4,8}$/.test(c)) { setError(err, 'Enter the code shown on the host screen.'); return; }
    if (nick && !nick.input.value.trim()) { setError(err, 'Enter a nickname: it is how the others will see you.'); nick.input.focus(); return; }
    btn.disabled = true;
    try {
      // Look the game up first: a mistyped code must not leave a guest account behind.
      const info = await api('GET', `games/${encodeURIComponent(c)}`).catch((e) => { if (e.status === 404) return null; throw e; });
      if (!info) { setError(err, `There is no game with the code ${c}. Check the code on the host's screen.`); return; }
      if (info.phase === 'finished') { setError(err, `Game ${c} is already over.`); return; }
      if (!session.player) await authenticate('guest', { nickname: nick.input.value.trim() });
      socket.join(c);
      ctx.go(`/play/${c}`, { replace: ctx.join });
    } catch (e) {
      const fe = e.errors || {};
      setError(err, fe.nickname ? `Nickname: ${fe.nickname}` : e.message);
    } finally {
      btn.disabled = false;
    }
  } }, codeIn.wrap, nick && nick.wrap, err, btn);
  return form;
}

export function render(root, _params, ctx) {
  const p = session.player;
  add(root, 
    h('section', { class: 'hero' },
      h('h1', { text: 'Trivium' }),
      h('p', { class: 'lead', text: 'Live trivia with friends: join with a code, host a game on the big screen, or write your own quiz.' })),
    h('div', { class: 'grid2' },
      h('section', { class: 'card', 'aria-labelledby': 'join-h' }, h('h2', { id: 'join-h', text: 'Join a game' }), joinForm(ctx)),
      h('section', { class: 'card', 'aria-labelledby': 'more-h' }, h('h2', { id: 'more-h', text: 'More' }),
        h('ul', { class: 'links' },
          p && !p.guest ? [
            h('li', {}, h('a', { href: '/host', 'data-link': '', text: 'Host a game' })),
            h('li', {}, h('a', { href: '/author', 'data-link': '', text: 'Create a quiz' })),
            h('li', {}, h('a', { href: '/solo', 'data-link': '', text: 'Play a quiz alone' })),
          ] : h('li', {}, h('a', { href: '/login', 'data-link': '', text: 'Sign in or sign up to host and create quizzes' })),
          h('li', {}, h('a', { href: '/leaderboards', 'data-link': '', text: 'Leaderboards' }))))));
}

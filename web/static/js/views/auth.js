// Sign in, sign up, or play as a guest.
import { h, add, field, setError } from '../dom.js';
import { authenticate } from '../api.js';

function nextPath() {
  const n = new URLSearchParams(location.search).get('next') || '/';
  return n.startsWith('/') && !n.startsWith('//') ? n : '/';
}

function authForm(kind, title, fields, submitText, ctx) {
  const inputs = {};
  const summary = h('p', { class: 'field-error', role: 'alert', hidden: true });
  const parts = fields.map(([name, label, attrs]) => {
    const f = field(label, h('input', { name, ...attrs }), { key: name });
    inputs[name] = f;
    return f.wrap;
  });
  const btn = h('button', { type: 'submit', class: 'primary', text: submitText });
  return h('form', { class: 'card auth-form', novalidate: true, 'aria-labelledby': `${kind}-h`, onsubmit: async (ev) => {
    ev.preventDefault();
    setError(summary, '');
    Object.values(inputs).forEach((f) => setError(f.error, ''));
    const body = {};
    for (const [name, f] of Object.entries(inputs)) body[name] = f.input.value;
    btn.disabled = true;
    try {
      await authenticate(kind, body);
      ctx.go(nextPath(), { replace: true });
    } catch (e) {
      let shown = false;
      for (const [k, msg] of Object.entries(e.errors || {})) {
        if (inputs[k]) { setError(inputs[k].error, msg); shown = true; }
      }
      if (!shown) setError(summary, e.status === 401 ? 'Wrong username or password.' : e.status === 429 ? 'Too many attempts; wait a moment and try again.' : e.message);
    } finally {
      btn.disabled = false;
    }
  } }, h('h2', { id: `${kind}-h`, text: title }), parts, summary, btn);
}

export function render(root, _params, ctx) {
  add(root, 
    h('h1', { text: 'Sign in' }),
    ctx.reason ? h('p', { class: 'notice', text: ctx.reason }) : null,
    h('div', { class: 'grid3' },
      authForm('login', 'Log in', [
        ['username', 'Username', { autocomplete: 'username', required: true }],
        ['password', 'Password', { type: 'password', autocomplete: 'current-password', required: true }],
      ], 'Log in', ctx),
      authForm('register', 'Sign up', [
        ['username', 'Username (3–24 of a–z, 0–9, _)', { autocomplete: 'username', required: true, pattern: '[a-z0-9_]{3,24}' }],
        ['password', 'Password (10 characters or more)', { type: 'password', autocomplete: 'new-password', required: true, minlength: 10 }],
      ], 'Create account', ctx),
      authForm('guest', 'Play as a guest', [
        ['nickname', 'Nickname', { autocomplete: 'nickname', required: true, maxlength: 24 }],
      ], 'Continue as guest', ctx)));
}

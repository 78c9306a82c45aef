// Tiny DOM helpers. Everything user-supplied goes through textContent: no innerHTML anywhere, so
// chat lines, nicknames and quiz texts can never become markup.

/**
 * h('button', {class: 'big', onclick: fn, 'aria-label': 'x'}, 'text', child) builds an element.
 * on* keys become event listeners (never attributes: the CSP forbids inline handlers); `style`
 * takes an object applied through the CSSOM, which the CSP allows.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k === 'style') Object.assign(el.style, v);
    else if (k === 'value') el.value = v;
    else if (k === 'checked') el.checked = !!v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Appends children to el, skipping null, undefined and false (Element.append would print "null"). */
export function add(el, ...children) {
  append(el, children);
  return el;
}

/** Replaces the children of el. */
export function mount(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

let fieldSeq = 0;
/** A labelled form field; returns {wrap, input, error}. The error element is where a 422's message goes. */
export function field(label, input, { key, hint } = {}) {
  const id = input.id || `f${++fieldSeq}`;
  input.id = id;
  const error = h('p', { class: 'field-error', id: `${id}-err`, role: 'alert', hidden: true });
  if (key) error.dataset.errorFor = key;
  input.setAttribute('aria-describedby', error.id);
  const wrap = h('div', { class: 'field' }, h('label', { for: id, text: label }), input,
    hint ? h('p', { class: 'hint', text: hint }) : null, error);
  return { wrap, input, error };
}

/** Shows a message in an error element (or hides it with an empty message). */
export function setError(errorEl, msg) {
  errorEl.textContent = msg || '';
  errorEl.hidden = !msg;
  const input = errorEl.id ? document.getElementById(errorEl.id.replace(/-err$/, '')) : null;
  if (input) {
    if (msg) input.setAttribute('aria-invalid', 'true');
    else input.removeAttribute('aria-invalid');
  }
}

/** A toast in the aria-live region; it goes away by itself. */
export function toast(title, body = '', kind = 'info') {
  const box = document.getElementById('toasts');
  if (!box) return;
  const t = h('div', { class: `toast toast-${kind}`, role: kind === 'error' ? 'alert' : 'status' },
    h('strong', { text: title }), body ? h('span', { text: body }) : null,
    h('button', { class: 'toast-close', type: 'button', 'aria-label': 'Dismiss', onclick: () => t.remove() }, '×'));
  box.append(t);
  setTimeout(() => t.remove(), kind === 'error' ? 8000 : 6000);
}

/** Formats an RFC 3339 time for people. */
export function when(s) {
  if (!s) return '';
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? '' : d.toLocaleString();
}

/** The visible text of a correct answer: the choice text for a choice question. */
export function answerText(q, a) {
  if (a === null || a === undefined) return '';
  if (typeof a === 'number' && q && Array.isArray(q.choices)) return q.choices[a] ?? String(a);
  return String(a);
}

const AVATAR_PX = { sm: 32, md: 64, lg: 128 };

/**
 * An avatar image, or a coloured initial when there is none or the image fails to load (a broken
 * image would show its alt text inside the circle). src is a URL (the 64 px thumbnail) or
 * {url, thumbnailUrl} (256 px and 64 px): the image that is sharp at the display size and this
 * screen's pixel ratio is picked, the thumbnail when it is enough.
 */
export function avatar(src, name, size = 'sm', { alt = '' } = {}) {
  const thumb = typeof src === 'string' ? src : (src && src.thumbnailUrl) || '';
  const full = typeof src === 'string' ? '' : (src && src.url) || '';
  const initial = () => h('span', { class: `avatar avatar-${size} avatar-initial`, 'aria-hidden': alt ? null : 'true', role: alt ? 'img' : null, 'aria-label': alt || null,
    text: (name || '?').trim().charAt(0).toUpperCase() || '?' });
  if (!thumb && !full) return initial();
  const need = (AVATAR_PX[size] || 64) * (globalThis.devicePixelRatio || 1);
  const url = full && (need > 64 || !thumb) ? full : thumb;
  const img = h('img', { class: `avatar avatar-${size}`, src: url, alt, width: AVATAR_PX[size], height: AVATAR_PX[size], dataset: { src: url === full ? 'full' : 'thumb' } });
  img.addEventListener('error', () => img.replaceWith(initial()), { once: true });
  return img;
}

/**
 * Asks a yes/no question in a modal <dialog> (focus is trapped and Escape cancels, as browsers do
 * for modal dialogs); resolves true when confirmed.
 */
export function confirmDialog(message, { ok = 'OK', cancel = 'Cancel', danger = false } = {}) {
  return new Promise((resolve) => {
    const dlg = h('dialog', { class: 'confirm', 'aria-labelledby': 'confirm-msg' });
    const done = (v) => { dlg.close(); dlg.remove(); resolve(v); };
    const no = h('button', { type: 'button', text: cancel, onclick: () => done(false) });
    const yes = h('button', { type: 'button', class: danger ? 'danger' : 'primary', dataset: { confirm: 'yes' }, text: ok, onclick: () => done(true) });
    dlg.append(h('p', { id: 'confirm-msg', text: message }), h('div', { class: 'row' }, yes, no));
    dlg.addEventListener('cancel', (ev) => { ev.preventDefault(); done(false); });
    document.body.append(dlg);
    dlg.showModal();
    no.focus();
  });
}

// Question kinds on screen: the controls a player answers each kind with, the text of an answer,
// the question's picture and the answer statistics chart (a table of bars, so the numbers are
// there as text for everyone). Controls keep what the player is composing in a `draft` object
// the caller keeps per question, so a redraw (another question of the round arriving, a
// reconnect) does not lose ticked boxes, the slider or the order being built.
import { h, answerText } from '../dom.js';

/** Kinds answered with one tap on one of the choices. */
export const TAP_KINDS = new Set(['choice', 'truefalse', 'poll']);

const KIND_NAMES = { choice: 'Multiple choice', open: 'Open answer', truefalse: 'True or false', multi: 'Several right answers', poll: 'Poll', number: 'Number', order: 'Put in order' };
export const kindName = (k) => KIND_NAMES[k] || k;

/** The question's picture, when it has one. */
export function questionImage(q) {
  if (!q || !q.imageUrl) return null;
  return h('figure', { class: 'q-image' }, h('img', { src: q.imageUrl, alt: q.imageAlt || `Picture for the question: ${q.text}`, decoding: 'async' }));
}

/** Number settings of a number question: {min, max, step} (step 0: any value), with sane fallbacks. */
export function numberRange(q) {
  const n = (q && q.number) || {};
  const min = Number.isFinite(n.min) ? n.min : 0;
  const max = Number.isFinite(n.max) && n.max > min ? n.max : min + 100;
  const step = Number.isFinite(n.step) && n.step > 0 ? n.step : 0;
  return { min, max, step };
}

function snap(v, { min, max, step }) {
  if (!step) return Math.min(max, Math.max(min, v));
  const s = Math.round((v - min) / step) * step + min;
  // Round away binary noise from decimal steps (0.1 × 3).
  const d = (String(step).split('.')[1] || '').length;
  return Math.min(max, Math.max(min, Number(s.toFixed(d))));
}

/** A number for people: no binary noise (79.99999999 → 80). */
const num = (x) => String(Number(Number(x).toPrecision(6)));

/** The text of an answer as a player gives it (for "Your answer: …"). */
export function answerLabel(q, value) {
  if (value === null || value === undefined) return '';
  const kind = q && q.kind;
  const choices = (q && q.choices) || [];
  if (kind === 'order' && Array.isArray(value)) return value.map((i) => choices[i] ?? String(i)).join(' → ');
  if (Array.isArray(value)) return value.map((i) => choices[i] ?? String(i)).join(', ');
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (kind === 'number') return num(value);
  return answerText(q, value);
}

/** The text of the right answer in a reveal; '' when there is none (a poll) or it is unknown. */
export function correctText(q, r) {
  const kind = r.kind || (q && q.kind);
  if (kind === 'poll') return '';
  const a = r.correctAnswer;
  if (a === null || a === undefined) return '';
  // Without the question a bare choice index means nothing to a person.
  if (!q && typeof a === 'number' && kind !== 'number') return '';
  if (!q && Array.isArray(a)) return '';
  let t = answerLabel(q || { kind }, a);
  if (kind === 'number' && typeof r.tolerance === 'number' && r.tolerance > 0) t += ` (± ${r.tolerance})`;
  return t;
}

function choiceButtons(q, { locked, chosen, onAnswer }) {
  return h('div', { class: `choices${q.kind === 'truefalse' ? ' tf' : ''}`, role: 'group', 'aria-label': q.kind === 'poll' ? 'Your vote' : 'Answers' }, q.choices.map((c, i) => h('button', {
    type: 'button', class: `choice c${i % 4}${chosen === c ? ' chosen' : ''}`, disabled: locked,
    'aria-keyshortcuts': i < 9 ? String(i + 1) : null, dataset: { choice: String(i) },
    onclick: () => onAnswer(i, c),
  }, h('span', { class: 'key', 'aria-hidden': 'true', text: i < 9 ? String(i + 1) : '' }), h('span', { class: 'choice-text', text: c }))));
}

function multiForm(q, { locked, draft, onAnswer }) {
  draft.picks = draft.picks || [];
  const submit = h('button', { type: 'submit', class: 'primary big', disabled: locked || !draft.picks.length, text: 'Submit answer' });
  const boxes = q.choices.map((c, i) => {
    const box = h('input', { type: 'checkbox', name: `multi-${q.index}`, value: String(i), checked: draft.picks.includes(i), disabled: locked, dataset: { choice: String(i) } });
    box.addEventListener('change', () => {
      draft.picks = box.checked ? [...new Set([...draft.picks, i])].sort((a, b) => a - b) : draft.picks.filter((x) => x !== i);
      submit.disabled = locked || !draft.picks.length;
      lab.classList.toggle('chosen', box.checked);
    });
    const lab = h('label', { class: `choice multi-choice c${i % 4}${draft.picks.includes(i) ? ' chosen' : ''}` }, box, h('span', { class: 'choice-text', text: c }));
    return lab;
  });
  return h('form', { class: 'multi-form', onsubmit: (ev) => {
    ev.preventDefault();
    if (draft.picks.length) onAnswer([...draft.picks], answerLabel(q, draft.picks));
  } }, h('fieldset', { class: 'plain' }, h('legend', { class: 'hint', text: 'Tick every right answer, then submit.' }), h('div', { class: 'choices' }, boxes)), submit);
}

function numberForm(q, { locked, draft, onAnswer }) {
  const r = numberRange(q);
  if (typeof draft.value !== 'number') draft.value = snap((r.min + r.max) / 2, r);
  const step = r.step || 'any';
  const slider = h('input', { type: 'range', name: `number-${q.index}`, class: 'number-slider', min: r.min, max: r.max, step, value: draft.value, disabled: locked, 'aria-label': 'Your answer (slider)' });
  const box = h('input', { type: 'number', name: 'answer', class: 'number-input', min: r.min, max: r.max, step, value: draft.value, inputmode: 'decimal', disabled: locked, 'aria-label': 'Your answer' });
  const err = h('p', { class: 'field-error', role: 'alert', hidden: true });
  slider.addEventListener('input', () => { draft.value = Number(slider.value); box.value = slider.value; err.hidden = true; });
  box.addEventListener('input', () => {
    const v = Number(box.value);
    if (box.value !== '' && Number.isFinite(v)) { draft.value = v; slider.value = String(v); }
  });
  return h('form', { class: 'number-form', novalidate: true, onsubmit: (ev) => {
    ev.preventDefault();
    const v = Number(box.value);
    if (box.value === '' || !Number.isFinite(v) || v < r.min || v > r.max) {
      err.textContent = `Give a number from ${r.min} to ${r.max}.`;
      err.hidden = false;
      box.focus();
      return;
    }
    draft.value = v;
    onAnswer(v, String(v));
  } }, h('div', { class: 'number-row' }, h('span', { class: 'number-end', 'aria-hidden': 'true', text: String(r.min) }), slider, h('span', { class: 'number-end', 'aria-hidden': 'true', text: String(r.max) })),
  h('div', { class: 'row' }, box, h('button', { type: 'submit', class: 'primary big', disabled: locked, text: 'Submit answer' })), err);
}

function orderForm(q, { locked, draft, onAnswer, announce }) {
  if (!Array.isArray(draft.order) || draft.order.length !== q.choices.length) draft.order = q.choices.map((_, i) => i);
  const list = h('ol', { class: 'order-list', 'aria-label': 'Items in your order, first at the top' });
  let dragFrom = -1;
  const move = (from, to, focusDir) => {
    if (to < 0 || to >= draft.order.length || from === to) return;
    const [x] = draft.order.splice(from, 1);
    draft.order.splice(to, 0, x);
    draw();
    if (announce) announce.textContent = `${q.choices[x]} moved to position ${to + 1} of ${draft.order.length}`;
    if (focusDir) {
      const btn = list.querySelector(`li[data-pos="${to}"] button[data-move="${focusDir}"]:not([disabled])`) || list.querySelector(`li[data-pos="${to}"] button:not([disabled])`);
      if (btn) btn.focus();
    }
  };
  function draw() {
    list.replaceChildren(...draft.order.map((ci, pos) => {
      const text = q.choices[ci];
      const li = h('li', { class: 'order-item', draggable: locked ? null : 'true', dataset: { pos: String(pos), choice: String(ci) } },
        h('span', { class: 'order-pos', 'aria-hidden': 'true', text: String(pos + 1) }),
        h('span', { class: 'order-text', text }),
        h('button', { type: 'button', class: 'order-move', dataset: { move: 'up' }, disabled: locked || pos === 0, 'aria-label': `Move ${text} up`, text: '▲', onclick: () => move(pos, pos - 1, 'up') }),
        h('button', { type: 'button', class: 'order-move', dataset: { move: 'down' }, disabled: locked || pos === draft.order.length - 1, 'aria-label': `Move ${text} down`, text: '▼', onclick: () => move(pos, pos + 1, 'down') }));
      if (!locked) {
        li.addEventListener('dragstart', (ev) => { dragFrom = pos; li.classList.add('dragging'); ev.dataTransfer.effectAllowed = 'move'; ev.dataTransfer.setData('text/plain', String(pos)); });
        li.addEventListener('dragend', () => { li.classList.remove('dragging'); dragFrom = -1; });
        li.addEventListener('dragover', (ev) => { ev.preventDefault(); ev.dataTransfer.dropEffect = 'move'; });
        li.addEventListener('drop', (ev) => {
          ev.preventDefault();
          const from = dragFrom >= 0 ? dragFrom : Number(ev.dataTransfer.getData('text/plain'));
          if (Number.isInteger(from)) move(from, pos);
        });
      }
      return li;
    }));
  }
  draw();
  return h('form', { class: 'order-form', onsubmit: (ev) => { ev.preventDefault(); onAnswer([...draft.order], answerLabel(q, draft.order)); } },
    h('p', { class: 'hint', text: 'Drag the items, or use the arrows, to put them in the right order (first at the top).' }), list,
    h('button', { type: 'submit', class: 'primary big', disabled: locked, text: 'Submit order' }));
}

function openForm(q, { locked, onAnswer }) {
  const input = h('input', { name: 'answer', class: 'open-input', autocomplete: 'off', maxlength: 200, disabled: locked, 'aria-label': 'Your answer' });
  return h('form', { class: 'open-form', onsubmit: (ev) => { ev.preventDefault(); if (input.value.trim()) onAnswer(input.value, input.value); } },
    input, h('button', { type: 'submit', class: 'primary big', disabled: locked, text: 'Submit' }));
}

/**
 * The controls to answer q. opts: {locked, chosen (the label of the answer given), draft,
 * onAnswer(value, label), announce (a polite live region)}.
 */
export function answerControls(q, opts) {
  const o = { draft: {}, ...opts };
  if (TAP_KINDS.has(q.kind) && Array.isArray(q.choices)) return choiceButtons(q, o);
  if (q.kind === 'multi') return multiForm(q, o);
  if (q.kind === 'number') return numberForm(q, o);
  if (q.kind === 'order') return orderForm(q, o);
  return openForm(q, o);
}

/** What the host's screen shows under an open question: the choices, or how players answer. */
export function hostQuestionBody(q) {
  if (Array.isArray(q.choices) && q.choices.length && q.kind !== 'order') {
    return h('ol', { class: 'choices host-choices' }, q.choices.map((c, i) => h('li', { class: `choice c${i % 4}` },
      h('span', { class: 'key', text: String(i + 1) }), h('span', { class: 'choice-text', text: c }))));
  }
  if (q.kind === 'order') {
    return h('div', {}, h('p', { class: 'muted', text: 'Players put these in order:' }),
      h('ul', { class: 'order-list host-order' }, q.choices.map((c) => h('li', { class: 'order-item' }, h('span', { class: 'order-text', text: c })))));
  }
  if (q.kind === 'number') {
    const r = numberRange(q);
    return h('p', { class: 'muted', text: `Players pick a number from ${r.min} to ${r.max}.` });
  }
  return h('p', { class: 'muted', text: 'Players type their answer.' });
}

/** Rows of the statistics chart for a reveal: [{label, n, right}] or null. */
export function statsRows(q, r) {
  const kind = r.kind || (q && q.kind);
  const st = r.stats || {};
  const counts = Array.isArray(st.counts) ? st.counts : Array.isArray(r.counts) ? r.counts : null;
  if (counts) {
    const a = r.correctAnswer;
    const right = (i) => kind !== 'poll' && (Array.isArray(a) ? (kind === 'multi' && a.includes(i)) : a === i || (typeof a === 'boolean' && Number(!a) === i));
    return counts.map((n, i) => ({ label: q && q.choices && q.choices[i] !== undefined ? q.choices[i] : `Choice ${i + 1}`, n: n || 0, right: right(i) }));
  }
  if (Array.isArray(st.histogram)) {
    const c = typeof r.correctAnswer === 'number' ? r.correctAnswer : null;
    const tol = typeof r.tolerance === 'number' ? r.tolerance : 0;
    return st.histogram.map((b) => ({
      label: b.from === b.to ? num(b.from) : `${num(b.from)} – ${num(b.to)}`, n: b.count || 0,
      right: c !== null && b.from <= c + tol && b.to >= c - tol,
    }));
  }
  const cw = typeof st.correct === 'number' ? st : (r.counts && typeof r.counts === 'object' && typeof r.counts.correct === 'number' ? r.counts : null);
  if (cw) return [{ label: 'Right', n: cw.correct || 0, right: true }, { label: 'Wrong', n: cw.wrong || 0, right: false }, { label: 'No answer', n: cw.none || 0, right: false }];
  return null;
}

/** The answer statistics as a bar chart: a table whose bars are drawn beside the numbers. */
export function statsChart(q, r) {
  const rows = statsRows(q, r);
  if (!rows || !rows.length) return null;
  const kind = r.kind || (q && q.kind);
  const max = Math.max(1, ...rows.map((x) => x.n));
  const total = rows.reduce((a, x) => a + x.n, 0);
  const acc = typeof r.accuracy === 'number' ? ` · ${Math.round(r.accuracy * 100)}% right` : '';
  const caption = `${kind === 'poll' ? 'Votes' : kind === 'number' ? 'Answers given' : 'How everybody answered'} (${total}${acc})`;
  const numbers = kind === 'number';
  return h('figure', { class: 'chart', dataset: { kind: kind || '' } },
    h('table', { class: 'chart-table' },
      h('caption', { class: 'chart-caption', text: caption }),
      h('thead', { class: 'sr-only' }, h('tr', {}, h('th', { scope: 'col', text: numbers ? 'Range' : 'Answer' }), h('th', { scope: 'col', text: 'Share' }), h('th', { scope: 'col', text: 'Count' }))),
      h('tbody', {}, rows.map((x, i) => {
        const bar = h('span', { class: 'chart-bar', 'aria-hidden': 'true' });
        bar.style.width = `${(x.n / max) * 100}%`;
        return h('tr', { class: `chart-row${x.right ? ' chart-right' : ''}`, dataset: { row: String(i), count: String(x.n) } },
          h('th', { scope: 'row', class: 'chart-label' }, numbers ? null : h('span', { class: `chart-swatch c${i % 4}`, 'aria-hidden': 'true' }), h('span', { text: x.label }), x.right ? h('span', { class: 'chart-mark', text: numbers ? ' (right)' : ' ✓ right' }) : null),
          h('td', { class: 'chart-bar-cell' }, bar, h('span', { class: 'sr-only', text: `${total ? Math.round((x.n / total) * 100) : 0}%` })),
          h('td', { class: 'chart-n', text: String(x.n) }));
      }))));
}

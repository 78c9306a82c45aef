// The game options form (shuffle questions and choices, lock the lobby, late joiners, teams), used
// when a host creates a game and in the lobby (where each change is sent as an `options` command).
import { h, field } from '../dom.js';

export const DEFAULT_OPTIONS = { shuffleQuestions: false, shuffleChoices: false, lockLobby: false, lateJoin: true, teams: null };

const CHECKS = [
  ['shuffleQuestions', 'Shuffle the questions'],
  ['shuffleChoices', 'Shuffle the choices'],
  ['lockLobby', 'Lock the lobby (nobody new can join)'],
  ['lateJoin', 'Let players join after the start'],
];

/** Normalises options from the server or the form: every field present, teams null when off. */
export function normalOptions(o) {
  const x = { ...DEFAULT_OPTIONS, ...(o || {}) };
  const t = x.teams;
  x.teams = t && (t.mode === 'auto' || t.mode === 'choose') ? { mode: t.mode, count: Math.min(8, Math.max(2, Number(t.count) || 2)) } : null;
  for (const [k] of CHECKS) x[k] = !!x[k];
  return x;
}

/** Whether o differs from the defaults (a create request without changes sends no options). */
export function changedOptions(o) {
  const n = normalOptions(o);
  return CHECKS.some(([k]) => n[k] !== DEFAULT_OPTIONS[k]) || !!n.teams;
}

/**
 * The form. onChange(options) is called after every change. Returns {el, get(), set(options)};
 * set() updates the inputs in place (focus and the field being used are kept).
 */
export function optionsForm(initial, { idPrefix = 'opt', onChange = () => {}, legend = 'Game options' } = {}) {
  const boxes = {};
  const checks = CHECKS.map(([k, label]) => {
    const box = h('input', { type: 'checkbox', name: k, id: `${idPrefix}-${k}` });
    box.addEventListener('change', () => onChange(get()));
    boxes[k] = box;
    return h('div', { class: 'field check' }, box, h('label', { for: box.id, text: label }));
  });
  const mode = field('Teams', h('select', { name: 'teamsMode', id: `${idPrefix}-teams` },
    h('option', { value: '', text: 'No teams' }), h('option', { value: 'auto', text: 'Teams, balanced automatically' }), h('option', { value: 'choose', text: 'Teams, players choose' })));
  const count = field('Number of teams', h('input', { type: 'number', name: 'teamsCount', id: `${idPrefix}-count`, min: 2, max: 8, value: 2, inputmode: 'numeric' }));
  mode.input.addEventListener('change', () => { count.wrap.hidden = !mode.input.value; onChange(get()); });
  count.input.addEventListener('change', () => onChange(get()));
  function get() {
    const o = {};
    for (const [k] of CHECKS) o[k] = boxes[k].checked;
    o.teams = mode.input.value ? { mode: mode.input.value, count: Math.min(8, Math.max(2, Number(count.input.value) || 2)) } : null;
    return o;
  }
  function set(opts) {
    const n = normalOptions(opts);
    for (const [k] of CHECKS) boxes[k].checked = n[k];
    mode.input.value = n.teams ? n.teams.mode : '';
    if (document.activeElement !== count.input) count.input.value = String(n.teams ? n.teams.count : 2);
    count.wrap.hidden = !n.teams;
    // What was last set (from the server, in the lobby), for tests and styles to follow.
    el.dataset.lockLobby = String(n.lockLobby);
    el.dataset.teams = n.teams ? n.teams.mode : '';
  }
  const el = h('fieldset', { class: 'card game-options' }, h('legend', { text: legend }), h('div', { class: 'grid2' }, h('div', {}, checks), h('div', {}, mode.wrap, count.wrap)));
  set(initial);
  return { el, get, set };
}

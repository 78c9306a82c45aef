// Single player over HTTP: POST /quizzes/{id}/plays, then POST /plays/{id}/answers per question.
import { h, add, mount, toast, confirmDialog } from '../dom.js';
import { api, listAll, session } from '../api.js';
import { startTicker, timer } from './gameui.js';
import { answerControls, questionImage, correctText, kindName, numberRange, TAP_KINDS } from './kinds.js';

/** A well-formed answer for a question whose time ran out (it scores 0; it moves the run on). */
function timeUpAnswer(q) {
  if (TAP_KINDS.has(q.kind)) return 0;
  if (q.kind === 'multi') return [0];
  if (q.kind === 'number') return numberRange(q).min;
  if (q.kind === 'order') return (q.choices || []).map((_, i) => i);
  return '';
}

async function reportQuiz(q) {
  if (!(await confirmDialog(`Report the quiz "${q.title}" to the moderators?`, { ok: 'Report quiz', cancel: 'Cancel', danger: true }))) return;
  try {
    await api('POST', 'reports', { kind: 'quiz', targetId: q.id, reason: 'reported from the quiz list' });
    toast('Quiz reported', 'Thank you: a moderator will look at it.');
  } catch (e) {
    toast('Not reported', e.status === 409 ? 'You already reported this quiz.' : e.message, 'error');
  }
}

export function render(root, params, ctx) {
  const id = params[0];
  if (!id) {
    const box = h('div', { 'aria-live': 'polite' }, h('p', { class: 'muted', text: 'Loading quizzes…' }));
    add(root, h('h1', { text: 'Play alone' }), box);
    Promise.all([listAll('quizzes?owner=me'), listAll('quizzes')]).then(([mine, pub]) => {
      const seen = new Set();
      const all = [...mine, ...pub].filter((q) => !seen.has(q.id) && seen.add(q.id));
      if (!all.length) { mount(box, h('p', { text: 'No quizzes to play yet.' })); return; }
      mount(box, h('ul', { class: 'cards' }, all.map((q) => h('li', { class: 'card' }, h('h2', { text: q.title }),
        h('p', { class: 'muted', text: `${(q.questions || []).length} questions · ${q.scoring}` }),
        h('a', { href: `/solo/${q.id}`, 'data-link': '', class: 'button primary', text: 'Play', 'aria-label': `Play ${q.title}` }),
        session.player && q.ownerId && q.ownerId !== session.player.id
          ? h('button', { type: 'button', class: 'link report', text: 'Report', 'aria-label': `Report ${q.title}`, onclick: () => reportQuiz(q) }) : null))));
    }).catch((e) => mount(box, h('p', { class: 'field-error', role: 'alert', text: e.message })));
    return null;
  }

  const stage = h('section', { class: 'stage', 'aria-label': 'Game' }, h('p', { class: 'muted', text: 'Starting…' }));
  const announce = h('p', { class: 'sr-only', 'aria-live': 'polite' });
  const scoreEl = h('p', { class: 'my-score' });
  add(root, h('div', { class: 'game-head' }, h('h1', { text: 'Solo play' }), scoreEl), stage, announce);
  const stopTicker = startTicker(stage, announce);
  let playId = '';
  let current = null;
  let busy = false;
  let score = 0;

  function ask(q) {
    current = { q, deadline: Date.now() + q.timeLimitMs };
    scoreEl.textContent = `Score: ${score}`;
    const body = answerControls(q, { locked: false, draft: {}, announce, onAnswer: (value) => submit(value) });
    mount(stage, h('article', { class: 'question-card', dataset: { index: String(q.index) } },
      h('p', { class: 'q-meta', text: `Question ${q.index + 1}${q.kind && q.kind !== 'choice' && q.kind !== 'open' ? ` · ${kindName(q.kind)}` : ''}` }), h('h2', { class: 'q-text', text: q.text }),
      questionImage(q), timer(current.deadline, q.timeLimitMs), body));
    const first = stage.querySelector('button.choice, input.open-input, .multi-choice input, input.number-slider, .order-move:not([disabled])');
    if (first) first.focus();
  }

  async function submit(answer) {
    if (busy || !current) return;
    busy = true;
    const q = current.q;
    for (const b of stage.querySelectorAll('button, input')) b.disabled = true;
    try {
      const r = await api('POST', `plays/${playId}/answers`, { index: q.index, answer });
      score = r.score;
      scoreEl.textContent = `Score: ${score}`;
      current = null;
      const verdict = r.tooLate ? 'Too late: 0 points' : r.correct ? `Correct! +${r.points} points` : 'Not this time: 0 points';
      const next = h('button', { type: 'button', class: 'primary big', text: r.finished ? 'See result' : 'Next question', onclick: () => {
        if (r.finished) finish(); else ask(r.next);
      } });
      announce.textContent = verdict;
      mount(stage, h('div', { class: 'reveal' }, h('h2', { class: 'reveal-q', text: q.text }),
        h('p', { class: `result ${r.correct ? 'result-right' : 'result-wrong'}`, text: verdict }),
        q.kind === 'poll' ? null : h('p', { class: 'reveal-answer' }, 'Answer: ', h('strong', { class: 'correct-answer', text: correctText(q, { ...r, kind: q.kind }) })),
        typeof r.streak === 'number' && r.streak > 0 ? h('p', { class: 'streak', text: `🔥 Streak: ${r.streak} in a row` }) : null, next));
      next.focus();
    } catch (e) {
      toast('Answer not sent', e.message, 'error');
      for (const b of stage.querySelectorAll('button, input')) b.disabled = false;
    } finally {
      busy = false;
    }
  }

  function finish() {
    mount(stage, h('div', { class: 'final' }, h('h2', { text: 'Finished!' }), h('p', { class: 'my-rank', text: `Your score: ${score}` }),
      h('div', { class: 'row' }, h('a', { href: `/solo/${id}`, class: 'button primary', 'data-link': '', text: 'Play again', onclick: (ev) => { ev.preventDefault(); ctx.go(`/solo/${id}`, { replace: true }); } }),
        h('a', { href: '/leaderboards', 'data-link': '', class: 'button', text: 'Leaderboards' }))));
  }

  // When time runs out the answer is still sent (it scores 0) so the run moves on.
  const onTimeUp = () => {
    if (!current) return;
    submit(timeUpAnswer(current.q));
  };
  stage.addEventListener('timeup', onTimeUp);
  const onKey = (ev) => {
    if (!current || !TAP_KINDS.has(current.q.kind) || !Array.isArray(current.q.choices) || ev.altKey || ev.ctrlKey || ev.metaKey) return;
    if (ev.target && (ev.target.tagName === 'INPUT' || ev.target.tagName === 'TEXTAREA')) return;
    const n = Number(ev.key);
    if (n >= 1 && n <= Math.min(9, current.q.choices.length)) { ev.preventDefault(); submit(n - 1); }
  };
  document.addEventListener('keydown', onKey);

  api('POST', `quizzes/${encodeURIComponent(id)}/plays`).then((r) => { playId = r.playId; ask(r.question); })
    .catch((e) => mount(stage, h('p', { class: 'field-error', role: 'alert', text: e.message })));
  return () => { stopTicker(); document.removeEventListener('keydown', onKey); };
}

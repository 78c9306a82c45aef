// Quiz authoring: every mode and question kind; the server's 422 `errors` map is shown next to the
// matching field (keys like `title`, `questions[0].text`, `questions[1].choices[2]`).
import { h, add, mount, field, setError, toast } from '../dom.js';
import { api, listAll } from '../api.js';
import { acceptTypes, uploadProblem, isFinal } from '../uploads.js';

const MODES = [['casual', 'Casual: host asks, reveals, scoreboard after every question'], ['competitive', 'Competitive: rounds (groups) of questions'],
  ['live', 'Live: first right answer wins the question'], ['single', 'Single player: play alone at your own pace']];

const KINDS = [['choice', 'Multiple choice (one right answer)'], ['multi', 'Several right answers'], ['truefalse', 'True or false'],
  ['open', 'Open answer (typed)'], ['number', 'Number (a slider)'], ['order', 'Put in order'], ['poll', 'Poll (no right answer, no points)']];
// How many choices each kind takes: [min, max].
const CHOICE_LIMITS = { choice: [2, 4], multi: [2, 10], poll: [2, 10], order: [2, 6] };

// Question pictures go through the avatars' presigned upload and moderation
// (POST /question-images/uploads); a quiz with a picture that is not accepted yet saves but
// cannot be hosted. The limits and final statuses are the server's (uploads.js).
const IMAGE_STATUS_TEXT = {
  uploading: 'Uploading the picture…', awaiting_upload: 'Waiting for the picture to be uploaded.',
  processing: 'Checking the picture…', in_review: 'A moderator is reviewing the picture; the quiz can be hosted once it is accepted.',
  accepted: 'Picture accepted.', rejected: 'The picture was not accepted', failed: 'The picture could not be processed',
};
// What the editor knows of each picture: {status, reason, url}, by upload id; the ids polled.
const imageStatus = new Map();
const imagesFollowed = new Set();

/** Shows picture id's status and thumbnail in every element of root marked with it. */
function paintImage(id, root = document) {
  const st = imageStatus.get(id);
  for (const el of root.querySelectorAll(`[data-image-status="${CSS.escape(id)}"]`)) {
    el.dataset.status = st ? st.status : '';
    el.textContent = st ? (IMAGE_STATUS_TEXT[st.status] || st.status) + (st.reason && ['rejected', 'failed'].includes(st.status) ? `: ${st.reason}` : '') : '';
  }
  for (const el of root.querySelectorAll(`[data-image-thumb="${CSS.escape(id)}"]`)) {
    mount(el, st && st.url ? h('img', { class: 'q-thumb', src: st.url, alt: 'Picture of the question' }) : null);
  }
}

function setImage(id, st) {
  imageStatus.set(id, st);
  paintImage(id);
}

/** Polls picture id's status until it is final (slowing down while nothing changes). */
async function followImage(id, delay = 1000) {
  if (delay === 1000) {
    if (imagesFollowed.has(id)) return;
    imagesFollowed.add(id);
  }
  try {
    const u = await api('GET', `question-images/uploads/${encodeURIComponent(id)}`);
    setImage(id, { status: u.status, reason: u.reason, url: u.image ? u.image.thumbnailUrl : '' });
    if (isFinal(u.status)) { imagesFollowed.delete(id); return; }
  } catch (e) {
    if (e.status === 404) { setImage(id, { status: 'failed', reason: 'this picture is not one of your uploads' }); imagesFollowed.delete(id); return; }
  }
  setTimeout(() => followImage(id, Math.min(delay * 1.5, 10000)), delay);
}

function blankQuestion(kind = 'choice') {
  const q = { text: '', kind, choices: [], answer: '', alternatives: [], group: 1, timeLimitSec: 20 };
  return { ...q, ...kindDefaults(kind, q) };
}

/** The fields a question gets when it becomes kind (choice texts are kept between choice kinds). */
function kindDefaults(kind, old = {}) {
  const texts = (old.choices || []).filter((c) => typeof c === 'string');
  const lim = CHOICE_LIMITS[kind];
  const choices = lim ? texts.slice(0, lim[1]) : [];
  while (lim && choices.length < Math.max(lim[0], kind === 'choice' || kind === 'poll' ? 2 : 3)) choices.push('');
  switch (kind) {
    case 'choice': return { choices, answer: 0, alternatives: [] };
    case 'multi': return { choices, answer: [0], alternatives: [] };
    case 'poll': return { choices, answer: undefined, alternatives: [] };
    case 'order': return { choices, answer: undefined, alternatives: [] };
    case 'truefalse': return { choices: [], answer: true, alternatives: [] };
    case 'number': return { choices: [], answer: 0, tolerance: 0, min: 0, max: 100, step: 1, alternatives: [] };
    default: return { choices: [], answer: '', alternatives: old.alternatives || [] };
  }
}

/** A question as the server gives it, made editable (a true/false answer may come as an index). */
function fromServer(x) {
  const q = { ...blankQuestion(x.kind), ...x, choices: x.choices || [], alternatives: x.alternatives || [], group: x.group || 1 };
  if (q.kind === 'truefalse') { q.answer = x.answer === true || x.answer === 0; q.choices = []; }
  if (q.kind === 'multi' && !Array.isArray(q.answer)) q.answer = typeof q.answer === 'number' ? [q.answer] : [];
  if (q.kind === 'number') {
    for (const k of ['answer', 'tolerance', 'min', 'max', 'step']) if (x[k] !== undefined && x[k] !== null) q[k] = x[k];
    if (x.number && typeof x.number === 'object') Object.assign(q, { min: x.number.min ?? q.min, max: x.number.max ?? q.max, step: x.number.step ?? q.step });
  }
  return q;
}

export function render(root, params, ctx) {
  const id = params[0];
  if (!id) return list(root, ctx);
  const holder = h('div', {}, h('p', { class: 'muted', text: 'Loading…' }));
  add(root, holder);
  if (id === 'new') {
    editor(holder, null, ctx);
    return null;
  }
  api('GET', `quizzes/${encodeURIComponent(id)}`).then((q) => editor(holder, q, ctx))
    .catch((e) => mount(holder, h('p', { class: 'field-error', role: 'alert', text: e.message })));
  return null;
}

function list(root, ctx) {
  const box = h('div', { 'aria-live': 'polite' }, h('p', { class: 'muted', text: 'Loading your quizzes…' }));
  add(root, h('div', { class: 'row' }, h('h1', { text: 'Your quizzes' }), h('a', { href: '/author/new', 'data-link': '', class: 'button primary', text: 'New quiz' })), box);
  // What is for sale is shown on each quiz; the marketplace being unreachable hides only that.
  Promise.all([listAll('quizzes?owner=me'), listAll('marketplace/listings?seller=me').catch(() => [])]).then(([items, listings]) => {
    if (!items.length) { mount(box, h('p', { text: 'No quizzes yet: create your first one.' })); return; }
    const listed = new Map(listings.map((l) => [l.quizId, l]));
    const sale = (q) => {
      const l = listed.get(q.id);
      return l ? h('p', { class: 'for-sale', text: `Listed for ${l.price} coins · ${l.sold} sold` }) : null;
    };
    mount(box, h('ul', { class: 'cards' }, items.map((q) => h('li', { class: 'card', dataset: { quiz: q.id } },
      h('h2', { text: q.title }), h('p', { class: 'muted', text: `${q.mode} · ${q.scoring} · ${q.public ? 'public' : 'private'} · ${(q.questions || []).length} questions` }), sale(q),
      h('div', { class: 'row' },
        h('a', { href: `/author/${q.id}`, 'data-link': '', class: 'button', text: 'Edit' }),
        q.mode === 'single' ? h('a', { href: `/solo/${q.id}`, 'data-link': '', class: 'button', text: 'Play' })
          : h('a', { href: '/host', 'data-link': '', class: 'button', text: 'Host' }),
        h('button', { type: 'button', class: 'danger', text: 'Delete', onclick: async () => {
          if (!confirm(`Delete “${q.title}”?`)) return;
          try { await api('DELETE', `quizzes/${q.id}`); ctx.go('/author', { replace: true }); } catch (e) { toast('Not deleted', e.message, 'error'); }
        } }))))));
  }).catch((e) => mount(box, h('p', { class: 'field-error', role: 'alert', text: e.message })));
  return null;
}

function editor(holder, quiz, ctx) {
  const q = quiz ? structuredClone(quiz) : { title: '', description: '', mode: 'casual', scoring: 'speed', public: false, questions: [blankQuestion()] };
  q.questions = (q.questions || []).map(fromServer);
  const errorsBox = h('div', { class: 'error-summary', role: 'alert', tabindex: '-1', 'aria-labelledby': 'errors-h', hidden: true });
  const form = h('form', { class: 'author', novalidate: true });
  const qBox = h('div', { class: 'questions' });

  const title = field('Title', h('input', { name: 'title', value: q.title, maxlength: 120, required: true }), { key: 'title' });
  title.input.addEventListener('input', () => { q.title = title.input.value; });
  const desc = field('Description', h('textarea', { name: 'description', rows: 2, maxlength: 1000 }), { key: 'description' });
  desc.input.value = q.description || '';
  desc.input.addEventListener('input', () => { q.description = desc.input.value; });
  const mode = field('Mode', h('select', { name: 'mode' }, MODES.map(([v, l]) => h('option', { value: v, text: l }))), { key: 'mode' });
  mode.input.value = q.mode;
  mode.input.addEventListener('change', () => { q.mode = mode.input.value; drawQuestions(); });
  const scoring = field('Scoring', h('select', { name: 'scoring' },
    h('option', { value: 'speed', text: 'Speed: up to 1000 points, fewer the longer you take' }), h('option', { value: 'flat', text: 'Flat: 1000 points per right answer' })), { key: 'scoring' });
  scoring.input.value = q.scoring;
  scoring.input.addEventListener('change', () => { q.scoring = scoring.input.value; });
  const pub = h('input', { type: 'checkbox', name: 'public', id: 'quiz-public', checked: q.public });
  pub.addEventListener('change', () => { q.public = pub.checked; });
  const questionsErr = h('p', { class: 'field-error', role: 'alert', hidden: true, dataset: { errorFor: 'questions' } });

  function questionEditor(qq, i) {
    const p = `questions[${i}]`;
    const text = field(`Question ${i + 1}`, h('textarea', { name: `${p}.text`, rows: 2, maxlength: 500 }), { key: `${p}.text` });
    text.input.value = qq.text;
    text.input.addEventListener('input', () => { qq.text = text.input.value; });
    const kind = field('Kind', h('select', { name: `${p}.kind` }, KINDS.map(([v, l]) => h('option', { value: v, text: l }))), { key: `${p}.kind` });
    kind.input.value = qq.kind;
    kind.input.addEventListener('change', () => {
      Object.assign(qq, kindDefaults(kind.input.value, qq), { kind: kind.input.value });
      drawQuestions();
      const again = qBox.querySelector(`[name="${CSS.escape(`${p}.kind`)}"]`);
      if (again) again.focus();
    });
    const time = field('Time limit (seconds)', h('input', { type: 'number', name: `${p}.timeLimitSec`, min: 5, max: 120, value: qq.timeLimitSec, inputmode: 'numeric' }), { key: `${p}.timeLimitSec` });
    time.input.addEventListener('input', () => { qq.timeLimitSec = Number(time.input.value) || 0; });
    let group = null;
    if (q.mode === 'competitive') {
      group = field('Round (group)', h('input', { type: 'number', name: `${p}.group`, min: 1, value: qq.group, inputmode: 'numeric' }), { key: `${p}.group` });
      group.input.addEventListener('input', () => { qq.group = Number(group.input.value) || 0; });
    }
    const kindBody = kindEditor(qq, i, p);
    const picture = pictureEditor(qq, i, p);
    const tools = h('div', { class: 'row' },
      i > 0 ? h('button', { type: 'button', text: 'Move up', 'aria-label': `Move up question ${i + 1}`, onclick: () => { q.questions.splice(i - 1, 0, q.questions.splice(i, 1)[0]); drawQuestions(); } }) : null,
      q.questions.length > 1 ? h('button', { type: 'button', class: 'danger', text: 'Remove question', 'aria-label': `Remove question ${i + 1}`, onclick: () => { q.questions.splice(i, 1); drawQuestions(); } }) : null);
    return h('fieldset', { class: 'card question-edit', dataset: { index: String(i) } }, h('legend', { text: `Question ${i + 1}` }),
      text.wrap, h('div', { class: 'grid3' }, kind.wrap, time.wrap, group && group.wrap), picture, kindBody, tools);
  }

  // A question's picture: pick a file (uploaded and moderated at once), see its status and a
  // thumbnail once accepted, or remove it.
  function pictureEditor(qq, i, p) {
    const err = h('p', { class: 'field-error', role: 'alert', hidden: true, dataset: { errorFor: `${p}.imageId` } });
    const input = h('input', { type: 'file', name: `${p}.image`, accept: acceptTypes, id: `${p}.image`,
      'aria-label': `Picture for question ${i + 1}` });
    input.addEventListener('change', async () => {
      setError(err, '');
      const f = input.files && input.files[0];
      if (!f) return;
      const problem = uploadProblem(f);
      if (problem) { setError(err, problem); return; }
      try {
        const up = await api('POST', 'question-images/uploads', { contentType: f.type, contentLength: f.size });
        imageStatus.set(up.uploadId, { status: 'uploading' });
        qq.imageId = up.uploadId;
        drawQuestions();
        const headers = {};
        for (const [k, v] of Object.entries(up.headers || {})) if (!['content-length', 'host'].includes(k.toLowerCase())) headers[k] = v;
        const res = await fetch(up.url, { method: up.method || 'PUT', headers, body: f });
        if (!res.ok) throw new Error(`The upload was refused (HTTP ${res.status}).`);
        setImage(up.uploadId, { status: 'processing' });
        // Stores that cannot announce the upload themselves (S3) learn of it from this call.
        try { await api('POST', `question-images/uploads/${encodeURIComponent(up.uploadId)}/complete`); } catch { /* polling follows it */ }
        followImage(up.uploadId);
      } catch (e) {
        setError(err, e.message || 'The upload failed.');
      }
    });
    if (!qq.imageId) return h('div', { class: 'field q-picture' }, h('label', { for: input.id, text: 'Picture (optional)' }), input, err);
    const id = qq.imageId;
    const statusEl = h('p', { class: 'upload-status q-picture-status', role: 'status', 'aria-live': 'polite', dataset: { imageStatus: id } });
    const thumb = h('div', { class: 'preview', dataset: { imageThumb: id } });
    const remove = h('button', { type: 'button', class: 'link', 'aria-label': `Remove the picture of question ${i + 1}`, text: 'Remove picture',
      onclick: () => { delete qq.imageId; drawQuestions(); } });
    const st = imageStatus.get(id);
    if (!st || !(st.status === 'uploading' || isFinal(st.status))) followImage(id);
    const box = h('div', { class: 'field q-picture' }, h('label', { for: input.id, text: 'Replace the picture (optional)' }),
      input, h('div', { class: 'row' }, thumb, statusEl, remove), err);
    paintImage(id, box);
    return box;
  }

  // The fields of one kind: choices  // The fields of one kind: choices (with the right one(s) ticked, or in the right order),
  // true/false, the typed answer and its alternatives, or the number, its tolerance and range.
  function kindEditor(qq, i, p) {
    const errFor = (key) => h('p', { class: 'field-error', role: 'alert', hidden: true, dataset: { errorFor: key } });
    if (qq.kind === 'truefalse') {
      const radios = [true, false].map((v) => {
        const r = h('input', { type: 'radio', name: `${p}.answer`, id: `${p}.answer-${v}`, value: String(v), checked: qq.answer === v });
        r.addEventListener('change', () => { qq.answer = v; });
        return h('div', { class: 'field check' }, r, h('label', { for: r.id, text: v ? 'True' : 'False' }));
      });
      return h('fieldset', { class: 'choices-edit' }, h('legend', { text: 'The statement is' }), radios, errFor(`${p}.answer`));
    }
    if (qq.kind === 'number') {
      const num = (label, k, hint, opts = {}) => {
        const f = field(label, h('input', { type: 'number', name: `${p}.${k}`, value: qq[k] ?? '', step: 'any', inputmode: 'decimal', ...opts }), { key: `${p}.${k}`, hint });
        f.input.addEventListener('input', () => { qq[k] = f.input.value === '' ? undefined : Number(f.input.value); });
        return f.wrap;
      };
      return h('fieldset', { class: 'choices-edit' }, h('legend', { text: 'The number' }),
        h('div', { class: 'grid3' }, num('Right answer', 'answer'), num('Tolerance (±)', 'tolerance', 'Answers this close also count as right.', { min: 0 }),
          num('Slider minimum', 'min'), num('Slider maximum', 'max'), num('Slider step', 'step', 'Optional: how far one slider notch moves.', { min: 0 })),
        errFor(`${p}.number`));
    }
    if (!CHOICE_LIMITS[qq.kind]) {
      const ans = field('Right answer', h('input', { name: `${p}.answer`, value: typeof qq.answer === 'string' ? qq.answer : '', maxlength: 200 }), { key: `${p}.answer` });
      ans.input.addEventListener('input', () => { qq.answer = ans.input.value; });
      const alts = field('Also accept (one per line)', h('textarea', { name: `${p}.alternatives`, rows: 2 }), { key: `${p}.alternatives`, hint: 'Matching ignores case, accents and extra spaces.' });
      alts.input.value = qq.alternatives.join('\n');
      alts.input.addEventListener('input', () => { qq.alternatives = alts.input.value.split('\n').map((s) => s.trim()).filter(Boolean); });
      return h('div', {}, ans.wrap, alts.wrap);
    }
    const [minC, maxC] = CHOICE_LIMITS[qq.kind];
    const rows = qq.choices.map((c, j) => {
      const input = h('input', { name: `${p}.choices[${j}]`, value: c, maxlength: 200, 'aria-label': `${qq.kind === 'order' ? 'Item' : 'Choice'} ${j + 1} of question ${i + 1}` });
      const err = h('p', { class: 'field-error', role: 'alert', hidden: true, id: `${input.name}-err`, dataset: { errorFor: `${p}.choices[${j}]` } });
      input.id = input.name;
      input.setAttribute('aria-describedby', err.id);
      input.addEventListener('input', () => { qq.choices[j] = input.value; });
      let pick = null;
      if (qq.kind === 'choice') {
        const radio = h('input', { type: 'radio', name: `${p}.answer`, id: `${p}.answer-${j}`, value: String(j), checked: qq.answer === j, 'aria-label': `Choice ${j + 1} is the right answer` });
        radio.addEventListener('change', () => { qq.answer = j; });
        pick = h('label', { class: 'right-pick' }, radio, h('span', { class: 'sr-only', text: 'Right answer' }));
      } else if (qq.kind === 'multi') {
        const box = h('input', { type: 'checkbox', name: `${p}.answer`, id: `${p}.answer-${j}`, value: String(j), checked: qq.answer.includes(j), 'aria-label': `Choice ${j + 1} is a right answer` });
        box.addEventListener('change', () => { qq.answer = box.checked ? [...new Set([...qq.answer, j])].sort((a, b) => a - b) : qq.answer.filter((x) => x !== j); });
        pick = h('label', { class: 'right-pick' }, box, h('span', { class: 'sr-only', text: 'Right answer' }));
      } else if (qq.kind === 'order') {
        pick = h('span', { class: 'order-pos', 'aria-hidden': 'true', text: String(j + 1) });
      } else {
        pick = h('span', { 'aria-hidden': 'true' });
      }
      const moveItem = (to) => {
        qq.choices.splice(to, 0, qq.choices.splice(j, 1)[0]);
        drawQuestions();
        const again = qBox.querySelector(`[name="${CSS.escape(`${p}.choices[${to}]`)}"]`);
        if (again) again.focus();
      };
      const remove = qq.choices.length > minC ? h('button', { type: 'button', class: 'link', 'aria-label': `Remove ${qq.kind === 'order' ? 'item' : 'choice'} ${j + 1}`, text: 'Remove', onclick: () => {
        qq.choices.splice(j, 1);
        if (qq.kind === 'choice') { if (qq.answer >= qq.choices.length) qq.answer = 0; else if (qq.answer > j) qq.answer--; }
        if (qq.kind === 'multi') qq.answer = qq.answer.filter((x) => x !== j).map((x) => (x > j ? x - 1 : x));
        drawQuestions();
      } }) : null;
      const tools = qq.kind === 'order' ? h('span', { class: 'row' },
        j > 0 ? h('button', { type: 'button', class: 'link', 'aria-label': `Move item ${j + 1} up`, text: 'Up', onclick: () => moveItem(j - 1) }) : null,
        j < qq.choices.length - 1 ? h('button', { type: 'button', class: 'link', 'aria-label': `Move item ${j + 1} down`, text: 'Down', onclick: () => moveItem(j + 1) }) : null, remove) : remove;
      return h('li', { class: 'choice-row' }, pick, input, tools, err);
    });
    const legend = { choice: 'Choices (pick the right one)', multi: 'Choices (tick every right one)', poll: 'Choices (a poll has no right answer)', order: 'Items, in the right order (players see them shuffled)' }[qq.kind];
    return h('fieldset', { class: 'choices-edit' }, h('legend', { text: legend }), h('ol', {}, rows),
      qq.choices.length < maxC ? h('button', { type: 'button', text: qq.kind === 'order' ? 'Add item' : 'Add choice', onclick: () => { qq.choices.push(''); drawQuestions(); } }) : null,
      errFor(`${p}.choices`), qq.kind === 'choice' || qq.kind === 'multi' ? errFor(`${p}.answer`) : null);
  }

  function drawQuestions() {
    mount(qBox, q.questions.map(questionEditor),
      h('button', { type: 'button', text: 'Add question', onclick: () => {
        const last = q.questions[q.questions.length - 1];
        const nq = blankQuestion();
        if (last) { nq.group = last.group || 1; nq.timeLimitSec = last.timeLimitSec || 20; }
        q.questions.push(nq);
        drawQuestions();
        const t = qBox.querySelectorAll('.question-edit textarea');
        if (t.length) t[q.questions.length - 1 < t.length ? t.length - 1 : 0].focus();
      } }));
  }

  function body() {
    return {
      title: q.title, description: q.description, mode: q.mode, scoring: q.scoring, public: q.public,
      questions: q.questions.map((x) => {
        const out = { text: x.text, kind: x.kind, timeLimitSec: x.timeLimitSec };
        if (x.kind === 'choice' || x.kind === 'multi') { out.choices = x.choices; out.answer = x.answer; } else if (x.kind === 'poll' || x.kind === 'order') out.choices = x.choices;
        else if (x.kind === 'truefalse') out.answer = x.answer;
        else if (x.kind === 'number') {
          for (const k of ['answer', 'tolerance', 'min', 'max', 'step']) if (typeof x[k] === 'number' && Number.isFinite(x[k])) out[k] = x[k];
        } else { out.answer = x.answer; if (x.alternatives.length) out.alternatives = x.alternatives; }
        if (x.imageId) out.imageId = x.imageId;
        if (q.mode === 'competitive') out.group = x.group;
        return out;
      }),
    };
  }

  function showErrors(errs) {
    for (const el of form.querySelectorAll('[data-error-for]')) setError(el, '');
    const unplaced = [];
    for (const [key, msg] of Object.entries(errs)) {
      let el = form.querySelector(`[data-error-for="${CSS.escape(key)}"]`);
      let text = msg;
      if (!el) {
        // An item of a list edited as one field (alternatives[2]) goes next to that field.
        const m = key.match(/^(.*)\[(\d+)\]$/);
        if (m) { el = form.querySelector(`[data-error-for="${CSS.escape(m[1])}"]`); text = `Item ${Number(m[2]) + 1}: ${msg}`; }
      }
      if (el) {
        setError(el, el.hidden ? text : `${el.textContent} · ${text}`);
      } else unplaced.push(`${key}: ${msg}`);
    }
    const n = Object.keys(errs).length;
    // The summary links every problem to its field (the first one of a list), so each is one
    // click or Enter away; the scroll padding keeps the field clear of the sticky save bar.
    mount(errorsBox, h('h2', { id: 'errors-h', text: n ? `Please fix ${n} problem${n > 1 ? 's' : ''}` : '' }),
      n ? h('ul', {}, Object.entries(errs).map(([key, msg]) => {
        const target = fieldFor(key);
        const text = `${target ? labelOf(target, key) : key}: ${msg}`;
        return h('li', {}, target ? h('a', { href: `#${target.id}`, dataset: { errorLink: key }, text, onclick: (ev) => {
          ev.preventDefault();
          target.focus({ preventScroll: true });
          target.scrollIntoView({ block: 'center' });
        } }) : h('span', { text }));
      })) : null);
    errorsBox.hidden = !n;
    if (n) {
      errorsBox.focus({ preventScroll: true });
      errorsBox.scrollIntoView({ block: 'start' });
    }
  }

  // The input a server error key names: `questions[1].text`, or the first input of a group
  // (`questions[0].choices` → its first choice, `questions` → the first question's text).
  function fieldFor(key) {
    const esc = CSS.escape(key);
    const el = form.querySelector(`[name="${esc}"]`) || form.querySelector(`[name^="${esc}["]`) || form.querySelector(`[name^="${esc}."]`);
    if (el && !el.id) el.id = `f-${key.replace(/[^A-Za-z0-9]+/g, '-')}`;
    return el;
  }

  function labelOf(el, key) {
    const l = el.id && form.querySelector(`label[for="${CSS.escape(el.id)}"]`);
    const m = key.match(/^questions\[(\d+)\]/);
    const where = m && !(l && /^Question \d+$/.test(l.textContent)) ? `Question ${Number(m[1]) + 1} · ` : '';
    return where + ((l && l.textContent) || el.getAttribute('aria-label') || key);
  }

  const save = h('button', { type: 'submit', class: 'primary big', text: quiz ? 'Save changes' : 'Create quiz' });
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    save.disabled = true;
    try {
      const res = quiz ? await api('PUT', `quizzes/${quiz.id}`, body()) : await api('POST', 'quizzes', body());
      showErrors({});
      toast(quiz ? 'Quiz saved' : 'Quiz created', res.title);
      ctx.go(`/author/${res.id || quiz.id}`, { replace: true });
    } catch (e) {
      if (e.status === 422 && Object.keys(e.errors).length) showErrors(e.errors);
      else { showErrors({}); errorsBox.hidden = false; mount(errorsBox, h('h2', { id: 'errors-h', text: e.message })); errorsBox.focus(); }
    } finally {
      save.disabled = false;
    }
  });

  mount(form, errorsBox, h('div', { class: 'card' }, title.wrap, desc.wrap, h('div', { class: 'grid2' }, mode.wrap, scoring.wrap),
    h('div', { class: 'field check' }, pub, h('label', { for: 'quiz-public', text: 'Public: anyone can play or host it' }))),
  h('h2', { text: 'Questions' }), questionsErr, qBox, h('div', { class: 'row sticky-actions' }, save, h('a', { href: '/author', 'data-link': '', text: 'Back to your quizzes' })));
  drawQuestions();
  mount(holder, h('h1', { text: quiz ? `Edit “${quiz.title}”` : 'New quiz' }), form);
}

// Moderator console: the case queue (filters: status, content kind) with each case's content
// snapshot, reports and history; approve or reject a flagged upload, or act on a report (hide a
// quiz, delete a chat message, reset a name or avatar, mute, suspend, dismiss) with a reason;
// the audit log; and, for admins, the dead letters with redrive.
import { h, add, mount, field, toast, when } from '../dom.js';
import { api, session } from '../api.js';

const KINDS = [['', 'All kinds'], ['avatar', 'Avatars'], ['question_image', 'Question images'], ['quiz', 'Quizzes'],
  ['chat', 'Chat'], ['player_name', 'Names'], ['player_avatar', 'Reported avatars']];

// The actions that fit a content kind, besides mute, suspend and dismiss which fit every case.
const ACTIONS = { quiz: [['hide_quiz', 'Hide quiz']], chat: [['delete_chat', 'Delete message']],
  player_name: [['reset_name', 'Reset name']], player_avatar: [['reset_avatar', 'Reset avatar']] };
const TIMED = new Set(['mute', 'suspend']);

function snapshotView(c) {
  const s = c.snapshot || {};
  const box = h('div', { class: 'snapshot', 'aria-label': 'Reported content as it was' });
  switch (c.contentKind) {
    case 'quiz': {
      const q = s.quiz || s;
      add(box, h('h3', { text: q.title || '(untitled quiz)' }), q.description ? h('p', { text: q.description }) : null,
        h('ol', {}, (q.questions || []).map((x) => h('li', { text: `${x.text} — ${(x.choices || []).join(' / ')}` }))));
      break;
    }
    case 'chat':
      add(box, h('blockquote', { class: 'chat-text', text: s.text || '' }),
        h('p', { class: 'muted', text: `${s.authorName || s.authorId || '?'} in game ${s.code || '?'}${s.at ? ` · ${when(s.at)}` : ''}` }));
      break;
    case 'player_name':
      add(box, h('p', {}, 'Display name: ', h('strong', { text: s.displayName || '' })));
      break;
    case 'player_avatar':
      add(box, h('p', { text: `Avatar of ${s.displayName || c.player.id}` }));
      break;
    default:
      return null;
  }
  if (Array.isArray(s.hits) && s.hits.length) box.append(h('p', { class: 'muted', text: `Screen: ${s.hits.map((x) => `${x.field} (${x.rule})`).join(', ')}` }));
  return box;
}

function detailsView(full) {
  return h('div', { class: 'case-details' },
    h('h3', { text: `Reports (${(full.reports || []).length})` }),
    h('ul', { class: 'reports' }, (full.reports || []).map((r) => h('li', { text: `${when(r.createdAt)} · ${r.reporterId}: ${r.reason}` }))),
    h('h3', { text: 'History' }),
    (full.history || []).length
      ? h('ul', { class: 'history' }, full.history.map((a) => h('li', { text: `${when(a.createdAt)} · ${a.action} by ${a.moderatorId}: ${a.reason}${a.detail ? ` (${a.detail})` : ''}` })))
      : h('p', { class: 'muted history', text: 'No action yet.' }));
}

function casesView(root) {
  const list = h('div', { 'aria-live': 'polite' });
  let status = 'pending';
  let kind = '';
  let next = '';
  const more = h('button', { type: 'button', text: 'More', hidden: true, onclick: () => load(false) });

  const empty = () => { if (!list.querySelector('.case')) mount(list, h('p', { class: 'muted', text: 'Nothing waiting for review.' })); };

  function caseCard(c) {
    const who = (c.player && (c.player.displayName || c.player.username || c.player.id)) || 'unknown player';
    const own = c.player && session.player && c.player.id === session.player.id;
    const details = h('div', { class: 'details-slot' });
    const label = { upload: 'Flagged upload', report: 'Reported by a player', screen: 'Flagged by the text screen' }[c.kind] || c.kind;
    let actions = null;
    if (status === 'pending' && !own && c.kind === 'upload') {
      const noteField = field('Note (kept with the decision)', h('textarea', { name: 'note', rows: 2, maxlength: 500 }));
      const decide = async (decision, btn) => {
        btn.disabled = true;
        try {
          await api('POST', `moderation/cases/${encodeURIComponent(c.id)}/decision`, { decision, note: noteField.input.value });
          toast(decision === 'approve' ? 'Approved' : 'Rejected', who);
          card.remove();
          empty();
        } catch (e) {
          btn.disabled = false;
          toast('Decision not saved', e.status === 409 ? 'Someone already decided this case.' : e.message, 'error');
        }
      };
      actions = h('div', { class: 'case-actions' }, noteField.wrap, h('div', { class: 'row' },
        h('button', { type: 'button', class: 'primary', text: 'Approve', dataset: { action: 'approve' }, onclick: (ev) => decide('approve', ev.currentTarget) }),
        h('button', { type: 'button', class: 'danger', text: 'Reject', dataset: { action: 'reject' }, onclick: (ev) => decide('reject', ev.currentTarget) })));
    } else if (status === 'pending' && !own) {
      const reasonField = field('Reason (recorded in the audit log and told to the player)', h('textarea', { name: 'reason', rows: 2, maxlength: 1000, required: true }));
      const hoursField = field('Hours (mute, suspend)', h('input', { name: 'hours', type: 'number', min: 1, max: 8760, value: 24 }));
      const act = async (action, btn) => {
        const reason = reasonField.input.value.trim();
        if (!reason) { toast('Say why', 'A reason is required for every action.', 'error'); reasonField.input.focus(); return; }
        btn.disabled = true;
        const body = { action, reason };
        if (TIMED.has(action)) body.durationHours = Number(hoursField.input.value);
        try {
          await api('POST', `moderation/cases/${encodeURIComponent(c.id)}/actions`, body);
          toast('Done', `${action.replace('_', ' ')}: ${who}`);
          card.remove();
          empty();
        } catch (e) {
          btn.disabled = false;
          toast('Action not saved', e.status === 409 ? 'Someone already decided this case.' : e.message, 'error');
        }
      };
      const buttons = [...(ACTIONS[c.contentKind] || []), ['mute', 'Mute in chat'], ['suspend', 'Suspend'], ['dismiss', 'Dismiss']];
      actions = h('div', { class: 'case-actions' }, reasonField.wrap, hoursField.wrap, h('div', { class: 'row' },
        buttons.map(([a, text]) => h('button', { type: 'button', class: a === 'dismiss' ? '' : 'danger', text, dataset: { action: a }, onclick: (ev) => act(a, ev.currentTarget) }))));
    }
    const card = h('article', { class: 'card case', dataset: { case: c.id, kind: c.contentKind || '' }, 'aria-label': `Case of ${who}` },
      h('div', { class: 'case-body' },
        c.imageUrl ? h('img', { class: 'case-img', src: c.imageUrl, alt: `Uploaded image of ${who}` }) : null,
        h('div', {},
          h('h2', { text: who }),
          h('p', { class: 'muted', text: [label, c.contentKind, when(c.createdAt), c.reason].filter(Boolean).join(' · ') }),
          snapshotView(c),
          (c.labels || []).length || c.kind === 'upload' ? h('table', { class: 'labels' }, h('caption', { text: 'Detected labels' }),
            h('thead', {}, h('tr', {}, h('th', { scope: 'col', text: 'Label' }), h('th', { scope: 'col', text: 'Confidence' }))),
            h('tbody', {}, (c.labels || []).length ? c.labels.map((l) => h('tr', {}, h('td', { text: l.name }), h('td', { text: `${Math.round(l.confidence)}%` })))
              : h('tr', {}, h('td', { colspan: 2, text: 'none' })))) : null,
          c.decision ? h('p', { class: 'decision', text: `Decision: ${c.decision.decision || c.decision}${c.decision.note ? ` — ${c.decision.note}` : ''}${c.decision.decidedAt ? ` (${when(c.decision.decidedAt)})` : ''}` }) : null,
          h('button', { type: 'button', class: 'link', text: 'Reports and history', dataset: { action: 'details' }, onclick: async () => {
            try { mount(details, detailsView(await api('GET', `moderation/cases/${encodeURIComponent(c.id)}`))); } catch (e) { toast('Case not loaded', e.message, 'error'); }
          } }),
          details)),
      status === 'pending' && own ? h('p', { class: 'notice own-case', text: 'This is about your own content: another moderator must decide it.' }) : null,
      actions);
    return card;
  }

  async function load(reset) {
    if (reset) { next = ''; mount(list, h('p', { class: 'muted', text: 'Loading…' })); }
    try {
      const q = `status=${status}${kind ? `&kind=${kind}` : ''}${next ? `&cursor=${encodeURIComponent(next)}` : ''}`;
      const page = await api('GET', `moderation/cases?${q}`);
      if (reset) mount(list);
      list.append(...(page.items || []).map(caseCard));
      if (!list.children.length) list.append(h('p', { class: 'muted', text: status === 'pending' ? 'Nothing waiting for review.' : 'No decisions yet.' }));
      next = page.next || '';
      more.hidden = !next;
    } catch (e) {
      mount(list, h('p', { class: 'field-error', role: 'alert', text: e.message }));
    }
  }

  const tabs = h('div', { class: 'tabs', role: 'tablist', 'aria-label': 'Cases' });
  for (const [id, text] of [['pending', 'Pending'], ['decided', 'Decided']]) {
    tabs.append(h('button', { type: 'button', role: 'tab', 'aria-selected': id === status ? 'true' : 'false', text, onclick: (ev) => {
      status = id;
      for (const t of tabs.children) t.setAttribute('aria-selected', t === ev.currentTarget ? 'true' : 'false');
      load(true);
    } }));
  }
  const kindField = field('Content', h('select', { name: 'kind', onchange: (ev) => { kind = ev.currentTarget.value; load(true); } },
    KINDS.map(([v, text]) => h('option', { value: v, text }))));
  add(root, h('div', { class: 'row' }, tabs, kindField.wrap), list, more);
  load(true);
}

function auditView(root) {
  const body = h('tbody');
  let next = '';
  const more = h('button', { type: 'button', text: 'More', hidden: true, onclick: () => load() });
  async function load() {
    try {
      const page = await api('GET', `moderation/audit${next ? `?cursor=${encodeURIComponent(next)}` : ''}`);
      body.append(...(page.items || []).map((a) => h('tr', { dataset: { case: a.caseId } }, h('td', { text: when(a.createdAt) }), h('td', { text: a.moderatorId }),
        h('td', { text: a.action }), h('td', { text: `${a.contentKind} ${a.targetId}` }), h('td', { text: a.reason }), h('td', { text: a.detail || '' }))));
      if (!body.children.length) body.append(h('tr', {}, h('td', { colspan: 6, text: 'No action yet.' })));
      next = page.next || '';
      more.hidden = !next;
    } catch (e) {
      add(root, h('p', { class: 'field-error', role: 'alert', text: e.message }));
    }
  }
  add(root, h('table', { class: 'audit' }, h('caption', { text: 'Audit log, newest first' }),
    h('thead', {}, h('tr', {}, ['When', 'Moderator', 'Action', 'Content', 'Reason', 'Detail'].map((t) => h('th', { scope: 'col', text: t })))), body), more);
  load();
}

function deadLettersView(root) {
  const list = h('div', { 'aria-live': 'polite' });
  async function load() {
    try {
      const page = await api('GET', 'admin/dead-letters');
      mount(list, ...(page.items || []).map((d) => h('article', { class: 'card dead-letter', dataset: { seq: String(d.seq) } },
        h('p', {}, h('strong', { text: `${d.subject} → ${d.consumer}` }), ` #${d.seq}`),
        h('p', { class: 'muted', text: d.error || '' }),
        h('button', { type: 'button', class: 'primary', text: 'Redrive', dataset: { action: 'redrive' }, onclick: async (ev) => {
          ev.currentTarget.disabled = true;
          try {
            await api('POST', `admin/dead-letters/${encodeURIComponent(d.seq)}/redrive`);
            toast('Redriven', d.subject);
            load();
          } catch (e) {
            toast('Not redriven', e.message, 'error');
            ev.currentTarget.disabled = false;
          }
        } }))));
      if (!list.children.length) list.append(h('p', { class: 'muted', text: 'No dead letters.' }));
    } catch (e) {
      mount(list, h('p', { class: 'field-error', role: 'alert', text: e.message }));
    }
  }
  add(root, list);
  load();
}

export function render(root) {
  const views = [['cases', 'Cases', casesView], ['audit', 'Audit log', auditView]];
  if (session.player && session.player.role === 'admin') views.push(['dead-letters', 'Dead letters', deadLettersView]);
  const page = h('div', { class: 'moderation-page' });
  const nav = h('nav', { class: 'row', 'aria-label': 'Moderation pages' });
  const show = (id) => {
    for (const b of nav.children) b.setAttribute('aria-current', b.dataset.view === id ? 'page' : 'false');
    mount(page);
    views.find((v) => v[0] === id)[2](page);
  };
  for (const [id, text] of views) nav.append(h('button', { type: 'button', class: 'link', text, dataset: { view: id }, onclick: () => show(id) }));
  add(root, h('h1', { text: 'Moderation' }), nav, page);
  show('cases');
  return null;
}

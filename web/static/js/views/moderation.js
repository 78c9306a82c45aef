// Moderator console: pending avatar cases with image, labels and confidences; approve or reject
// with a note; the decided history.
import { h, add, mount, field, toast, when } from '../dom.js';
import { api, session } from '../api.js';

export function render(root) {
  const list = h('div', { 'aria-live': 'polite' });
  let status = 'pending';
  let next = '';
  const more = h('button', { type: 'button', text: 'More', hidden: true, onclick: () => load(false) });

  function caseCard(c) {
    const noteField = field('Note (kept with the decision)', h('textarea', { name: 'note', rows: 2, maxlength: 500 }));
    const note = noteField.input;
    const decide = async (decision, btn) => {
      btn.disabled = true;
      try {
        await api('POST', `moderation/cases/${encodeURIComponent(c.id)}/decision`, { decision, note: note.value });
        toast(decision === 'approve' ? 'Approved' : 'Rejected', (c.player && c.player.displayName) || '');
        card.remove();
        if (!list.querySelector('.case')) mount(list, h('p', { class: 'muted', text: 'Nothing waiting for review.' }));
      } catch (e) {
        btn.disabled = false;
        toast('Decision not saved', e.status === 409 ? 'Someone already decided this case.' : e.message, 'error');
      }
    };
    const who = (c.player && (c.player.displayName || c.player.id)) || 'unknown player';
    const card = h('article', { class: 'card case', dataset: { case: c.id }, 'aria-label': `Case of ${who}` },
      h('div', { class: 'case-body' },
        c.imageUrl ? h('img', { class: 'case-img', src: c.imageUrl, alt: `Uploaded avatar of ${who}` }) : h('p', { class: 'muted', text: 'No image' }),
        h('div', {},
          h('h2', { text: who }),
          h('p', { class: 'muted', text: [c.kind === 'report' ? 'Reported by a player' : c.kind === 'upload' ? 'Flagged upload' : '', when(c.createdAt), c.reason].filter(Boolean).join(' · ') }),
          h('table', { class: 'labels' }, h('caption', { text: 'Detected labels' }),
            h('thead', {}, h('tr', {}, h('th', { scope: 'col', text: 'Label' }), h('th', { scope: 'col', text: 'Confidence' }))),
            h('tbody', {}, (c.labels || []).length ? c.labels.map((l) => h('tr', {}, h('td', { text: l.name }), h('td', { text: `${Math.round(l.confidence)}%` })))
              : h('tr', {}, h('td', { colspan: 2, text: 'none' })))),
          c.decision ? h('p', { class: 'decision', text: `Decision: ${c.decision.decision || c.decision}${c.decision.note ? ` — ${c.decision.note}` : ''}${c.decision.decidedAt ? ` (${when(c.decision.decidedAt)})` : ''}` }) : null)),
      status === 'pending' && c.player && session.player && c.player.id === session.player.id
        ? h('p', { class: 'notice own-case', text: 'This is your own avatar: another moderator must decide it.' }) : null,
      status === 'pending' && !(c.player && session.player && c.player.id === session.player.id) ? h('div', { class: 'case-actions' }, noteField.wrap,
        h('div', { class: 'row' },
          h('button', { type: 'button', class: 'primary', text: 'Approve', dataset: { action: 'approve' }, onclick: (ev) => decide('approve', ev.currentTarget) }),
          h('button', { type: 'button', class: 'danger', text: 'Reject', dataset: { action: 'reject' }, onclick: (ev) => decide('reject', ev.currentTarget) }))) : null);
    return card;
  }

  async function load(reset) {
    if (reset) { next = ''; mount(list, h('p', { class: 'muted', text: 'Loading…' })); }
    try {
      const page = await api('GET', `moderation/cases?status=${status}${next ? `&cursor=${encodeURIComponent(next)}` : ''}`);
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
  for (const [id, label] of [['pending', 'Pending'], ['decided', 'Decided']]) {
    tabs.append(h('button', { type: 'button', role: 'tab', 'aria-selected': id === status ? 'true' : 'false', text: label, onclick: (ev) => {
      status = id;
      for (const t of tabs.children) t.setAttribute('aria-selected', t === ev.currentTarget ? 'true' : 'false');
      load(true);
    } }));
  }
  add(root, h('h1', { text: 'Moderation' }), tabs, list, more);
  load(true);
  return null;
}

// Notifications inbox (GET /api/v1/notifications); new in-band notifications appear at once.
import { h, add, mount, when } from '../dom.js';
import { api, events } from '../api.js';

export function render(root) {
  const list = h('ul', { class: 'inbox', 'aria-live': 'polite' });
  const more = h('button', { type: 'button', text: 'More', hidden: true });
  let next = '';
  const item = (n) => h('li', { class: `card note${n.readAt ? '' : ' unread'}` },
    h('strong', { text: n.title }), n.body ? h('p', { text: n.body }) : null, h('p', { class: 'muted', text: when(n.createdAt) || 'just now' }));
  async function load(reset) {
    try {
      const page = await api('GET', `notifications${next ? `?cursor=${encodeURIComponent(next)}` : ''}`);
      if (reset) mount(list);
      list.append(...(page.items || []).map(item));
      if (!list.children.length) list.append(h('li', { class: 'muted', text: 'No notifications yet.' }));
      next = page.next || '';
      more.hidden = !next;
      // Opening the inbox reads what it shows (the unread marks stay for this visit).
      if (reset && (page.items || []).some((n) => !n.readAt)) api('POST', 'notifications/read-all').catch(() => {});
    } catch (e) {
      mount(list, h('li', { class: 'field-error', role: 'alert', text: e.message }));
    }
  }
  more.addEventListener('click', () => load(false));
  const onNote = (ev) => {
    const empty = list.querySelector('.muted:only-child');
    if (empty) empty.remove();
    list.prepend(item(ev.detail || {}));
  };
  events.addEventListener('notification', onNote);
  add(root, h('h1', { text: 'Notifications' }), list, more);
  load(true);
  return () => events.removeEventListener('notification', onNote);
}

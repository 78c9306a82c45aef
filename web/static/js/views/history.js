// The host's game history (GET /api/v1/me/games) and the game report downloads
// (GET /api/v1/games/{id}/report as JSON or CSV). A download is fetched with the session's token
// (a plain link would not carry it) and handed to the browser as a file.
import { h, add, mount, toast, when } from '../dom.js';
import { api, session } from '../api.js';

/** Fetches the report of a game in format 'json' or 'csv' and saves it as a file. */
export async function downloadReport(gameId, format, name = gameId) {
  const res = await fetch(`/api/v1/games/${encodeURIComponent(gameId)}/report?format=${format}`, {
    headers: { Accept: format === 'csv' ? 'text/csv' : 'application/json', Authorization: `Bearer ${session.token}` },
  });
  if (!res.ok) {
    let msg = `HTTP ${res.status}`;
    try { const p = await res.json(); msg = p.detail || p.title || msg; } catch { /* not a problem document */ }
    throw new Error(msg);
  }
  const blob = await res.blob();
  const url = URL.createObjectURL(blob);
  const a = h('a', { href: url, download: `trivium-report-${name}.${format}`, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}

/** The two download buttons of a game's report. */
export function reportButtons(gameId, { label = '', name } = {}) {
  const btn = (format, text) => h('button', { type: 'button', class: 'report-download', dataset: { format }, 'aria-label': label ? `${text} of ${label}` : null, text, onclick: async (ev) => {
    ev.currentTarget.disabled = true;
    const b = ev.currentTarget;
    try { await downloadReport(gameId, format, name || gameId); } catch (e) { toast('Report not downloaded', e.message, 'error'); } finally { b.disabled = false; }
  } });
  return h('div', { class: 'row report-links' }, btn('csv', 'Download report (CSV)'), btn('json', 'Download report (JSON)'));
}

export function render(root) {
  const box = h('div', { 'aria-live': 'polite' }, h('p', { class: 'muted', text: 'Loading your games…' }));
  const more = h('div', {});
  add(root, h('div', { class: 'row' }, h('h1', { text: 'Your games' }), h('a', { href: '/host', 'data-link': '', class: 'button primary', text: 'Host a game' })),
    h('p', { class: 'lead', text: 'The games you hosted, newest first, with their reports.' }), box, more);
  const ctl = new AbortController();
  const list = h('ul', { class: 'cards game-history' });
  const load = async (cursor) => {
    try {
      const page = await api('GET', `me/games?limit=20${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, undefined, { signal: ctl.signal });
      const items = page.items || [];
      if (!cursor && !items.length) { mount(box, h('p', {}, 'You have not hosted a game yet. ', h('a', { href: '/host', 'data-link': '', text: 'Host one' }), '.')); return; }
      if (!cursor) mount(box, list);
      for (const g of items) {
        const title = g.title || g.code;
        list.append(h('li', { class: 'card game-item', dataset: { game: g.gameId, code: g.code } },
          h('h2', { text: title }),
          h('p', { class: 'muted', text: `${g.code} · ${g.mode || ''} · ${g.phase || ''} · ${g.players ?? 0} player${g.players === 1 ? '' : 's'}` }),
          h('p', { class: 'muted', text: `Created ${when(g.createdAt)}${g.finishedAt ? ` · finished ${when(g.finishedAt)}` : ''}` }),
          reportButtons(g.gameId, { label: `${title} (${g.code})`, name: g.code })));
      }
      mount(more, page.next ? h('button', { type: 'button', text: 'Show older games', onclick: () => load(page.next) }) : null);
    } catch (e) {
      if (e.name !== 'AbortError') mount(box, h('p', { class: 'field-error', role: 'alert', text: e.message }));
    }
  };
  load('');
  return () => ctl.abort();
}

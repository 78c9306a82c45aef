// The level and XP bar (GET /api/v1/me/progress), shown on the profile and the wallet.
import { h, mount } from '../dom.js';
import { api } from '../api.js';

/** A card that loads and shows the signed-in player's level, XP bar and games played. */
export function levelCard() {
  const body = h('div', { 'aria-live': 'polite' }, h('p', { class: 'muted', text: 'Loading your level…' }));
  const card = h('section', { class: 'card level-card', 'aria-labelledby': 'level-h' }, h('h2', { id: 'level-h', text: 'Level' }), body);
  api('GET', 'me/progress').then((p) => {
    const pct = p.nextLevelXp > 0 ? Math.min(100, Math.round((p.levelXp / p.nextLevelXp) * 100)) : 100;
    mount(body,
      h('p', { class: 'level-line' }, h('strong', { class: 'level-num', id: 'level-num', text: `Level ${p.level}` }),
        h('span', { class: 'muted', text: ` · ${p.xp} XP in all · ${p.gamesPlayed} games played` })),
      h('div', { class: 'xp-track', role: 'progressbar', 'aria-label': 'XP towards the next level', 'aria-valuemin': 0,
        'aria-valuemax': p.nextLevelXp, 'aria-valuenow': p.levelXp, id: 'xp-bar' },
      h('div', { class: 'xp-fill', style: { width: `${pct}%` } })),
      h('p', { class: 'muted', id: 'xp-text', text: `${p.levelXp} / ${p.nextLevelXp} XP to level ${p.level + 1}` }));
  }).catch((e) => mount(body, h('p', { class: 'field-error', role: 'alert', text: e.message })));
  return card;
}

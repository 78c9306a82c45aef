// Wallet: the coin balance and the ledger's history (GET /api/v1/me/wallet, newest first).
import { h, add, mount, when } from '../dom.js';
import { api } from '../api.js';
import { levelCard } from './level.js';

const KINDS = {
  grant: 'Granted by an admin', game_reward: 'Game reward', play_reward: 'Solo reward', host_reward: 'Hosting reward',
  purchase: 'Bought a quiz', refund: 'Refund', sale: 'Sold a quiz', fee: 'Marketplace fee',
};

export function render(root) {
  const balance = h('p', { class: 'balance', id: 'balance', 'aria-live': 'polite', text: '…' });
  const list = h('ol', { class: 'ledger', id: 'ledger' });
  const more = h('button', { type: 'button', text: 'Older entries', hidden: true });
  let next = '';
  const row = (e) => h('li', { class: 'ledger-row', dataset: { kind: e.kind } },
    h('span', { class: `amount ${e.amount < 0 ? 'minus' : 'plus'}`, text: `${e.amount > 0 ? '+' : ''}${e.amount}` }),
    h('span', { class: 'what' }, h('strong', { text: KINDS[e.kind] || e.kind }), e.reason ? h('span', { class: 'muted', text: ` · ${e.reason}` }) : null),
    h('span', { class: 'muted after', text: `→ ${e.balance}` }),
    h('span', { class: 'muted', text: when(e.createdAt) }));
  async function load(reset) {
    try {
      const w = await api('GET', `me/wallet?limit=20${next && !reset ? `&cursor=${encodeURIComponent(next)}` : ''}`);
      balance.textContent = `${w.balance} coins`;
      if (reset) mount(list);
      list.append(...w.entries.map(row));
      if (!list.children.length) list.append(h('li', { class: 'muted', text: 'No coins yet: finish games to earn some.' }));
      next = w.next || '';
      more.hidden = !next;
    } catch (e) {
      mount(list, h('li', { class: 'field-error', role: 'alert', text: e.message }));
    }
  }
  more.addEventListener('click', () => load(false));
  add(root, h('h1', { text: 'Wallet' }),
    h('div', { class: 'grid2' },
      h('section', { class: 'card', 'aria-labelledby': 'bal-h' }, h('h2', { id: 'bal-h', text: 'Balance' }), balance,
        h('p', {}, h('a', { href: '/market', 'data-link': '', text: 'Spend coins in the marketplace' }))),
      levelCard()),
    h('section', { class: 'card', 'aria-labelledby': 'hist-h' }, h('h2', { id: 'hist-h', text: 'History' }), list, more));
  load(true);
  return null;
}

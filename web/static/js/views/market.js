// Marketplace: browse and search listings, buy one (a purchase saga the page follows to its
// outcome), host what you bought, and sell your own private multiplayer quizzes.
import { h, add, mount, field, setError, toast } from '../dom.js';
import { api, session, listAll } from '../api.js';

const REASONS = {
  insufficient_funds: 'you do not have enough coins', listing_gone: 'the listing was withdrawn',
  own_listing: 'this is your own listing', processing_failed: 'it could not be processed; your coins are back',
};

export function render(root, params, ctx) {
  if (params[0] === 'sell') return sell(root, ctx);
  return browse(root, ctx);
}

function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
}

function browse(root, ctx) {
  const me = session.player;
  const q = h('input', { type: 'search', name: 'q', id: 'market-q', maxlength: 100, placeholder: 'Search titles' });
  const list = h('ul', { class: 'cards market', id: 'listings', 'aria-live': 'polite' });
  const more = h('button', { type: 'button', text: 'More listings', hidden: true });
  const balance = h('span', { class: 'muted', id: 'market-balance' });
  let next = '';
  let timers = [];
  // One key per listing until its purchase finishes, so a retried click is the same purchase.
  const keys = new Map();

  async function drawBalance() {
    if (!session.isAccount) return;
    try { balance.textContent = `You have ${(await api('GET', 'me/wallet?limit=1')).balance} coins.`; } catch { /* shown elsewhere */ }
  }

  function follow(id, status) {
    const poll = async (delay) => {
      try {
        const p = await api('GET', `purchases/${encodeURIComponent(id)}`);
        if (p.status === 'pending') { timers.push(setTimeout(() => poll(Math.min(delay * 1.5, 3000)), delay)); return; }
        keys.delete(p.listingId);
        status.dataset.status = p.status;
        if (p.status === 'completed') {
          mount(status, h('strong', { text: 'Bought! ' }), h('a', { href: '/market/sell', 'data-link': '', text: 'Host it from your licences' }));
        } else {
          status.textContent = `Not bought: ${REASONS[p.reason] || p.reason}.`;
        }
        drawBalance();
      } catch (e) { status.textContent = e.message; }
    };
    status.dataset.status = 'pending';
    status.textContent = 'Buying…';
    poll(200);
  }

  const card = (l) => {
    const status = h('p', { class: 'purchase-status', role: 'status', 'aria-live': 'polite' });
    const buy = h('button', { type: 'button', class: 'primary', text: `Buy for ${l.price} coins` });
    buy.addEventListener('click', async () => {
      buy.disabled = true;
      if (!keys.has(l.id)) keys.set(l.id, newKey());
      try {
        const p = await api('POST', 'purchases', { listingId: l.id }, { headers: { 'Idempotency-Key': keys.get(l.id) } });
        follow(p.id, status);
      } catch (e) { status.textContent = e.message; }
      buy.disabled = false;
    });
    const own = me && l.sellerId === me.id;
    return h('li', { class: 'card listing', dataset: { listing: l.id } },
      h('h2', { text: l.title }),
      h('p', { class: 'muted', text: `${l.plays ? `${l.plays} games per licence` : 'Unlimited games'} · ${l.sold} sold` }),
      h('p', { class: 'price', text: `${l.price} coins` }),
      session.isAccount && !own ? buy : h('p', { class: 'muted', text: own ? 'Your listing' : 'Sign in with an account to buy.' }),
      status);
  };

  async function load(reset) {
    try {
      const query = q.value.trim();
      const page = await api('GET', `marketplace/listings?limit=20${query ? `&q=${encodeURIComponent(query)}` : ''}${next && !reset ? `&cursor=${encodeURIComponent(next)}` : ''}`);
      if (reset) mount(list);
      list.append(...page.items.map(card));
      if (!list.children.length) list.append(h('li', { class: 'muted', text: query ? 'Nothing matches that search.' : 'Nothing is for sale yet.' }));
      next = page.next || '';
      more.hidden = !next;
    } catch (e) {
      mount(list, h('li', { class: 'field-error', role: 'alert', text: e.message }));
    }
  }
  const search = h('form', { class: 'row', role: 'search', onsubmit: (ev) => { ev.preventDefault(); next = ''; load(true); } },
    h('label', { for: 'market-q', class: 'sr-only', text: 'Search listings' }), q, h('button', { type: 'submit', text: 'Search' }));
  more.addEventListener('click', () => load(false));
  add(root, h('div', { class: 'row' }, h('h1', { text: 'Marketplace' }),
    session.isAccount ? h('a', { href: '/market/sell', 'data-link': '', class: 'button', text: 'Sell and host' }) : null),
  h('p', { class: 'lead', text: 'Buy a licence to host another author’s quiz with your friends.' }), balance, search, list, more);
  drawBalance();
  load(true);
  return () => timers.forEach(clearTimeout);
}

function sell(root, ctx) {
  if (!session.isAccount) {
    add(root, h('h1', { text: 'Sell and host' }), h('p', { text: 'This needs an account.' }));
    return null;
  }
  const quizSel = field('Quiz', h('select', { name: 'quizId' }), { key: 'quizId', hint: 'Only your private multiplayer quizzes can be sold.' });
  const price = field('Price in coins', h('input', { name: 'price', type: 'number', min: 1, max: 100000, step: 1, value: 10, required: true }), { key: 'price' });
  const plays = field('Games per licence (0 = unlimited)', h('input', { name: 'plays', type: 'number', min: 0, max: 10000, step: 1, value: 0 }), { key: 'plays' });
  const errs = { quizId: quizSel.error, price: price.error, plays: plays.error };
  const submit = h('button', { type: 'submit', class: 'primary', text: 'List it' });
  const mine = h('ul', { class: 'cards', id: 'my-listings', 'aria-live': 'polite' });
  const licences = h('ul', { class: 'cards', id: 'my-licences', 'aria-live': 'polite' });

  async function drawMine() {
    try {
      const [quizzes, listings] = await Promise.all([listAll('quizzes?owner=me'), listAll('marketplace/listings?seller=me')]);
      const listed = new Set(listings.map((l) => l.quizId));
      const sellable = quizzes.filter((qz) => !qz.public && qz.mode !== 'single' && !listed.has(qz.id));
      mount(quizSel.input, sellable.length ? sellable.map((qz) => h('option', { value: qz.id, text: qz.title }))
        : h('option', { value: '', text: 'No private multiplayer quiz left to sell' }));
      mount(mine, listings.length ? listings.map((l) => h('li', { class: 'card listing', dataset: { listing: l.id } },
        h('h2', { text: l.title }), h('p', { class: 'muted', text: `${l.price} coins · ${l.plays || 'unlimited'} games · ${l.sold} sold` }),
        h('button', { type: 'button', class: 'danger', text: 'Withdraw', onclick: async () => {
          try { await api('DELETE', `marketplace/listings/${l.id}`); drawMine(); } catch (e) { toast('Not withdrawn', e.message, 'error'); }
        } }))) : h('li', { class: 'muted', text: 'Nothing listed yet.' }));
    } catch (e) { mount(mine, h('li', { class: 'field-error', role: 'alert', text: e.message })); }
  }

  async function drawLicences() {
    try {
      const { items } = await api('GET', 'me/licences');
      const cards = await Promise.all(items.map(async (lic) => {
        let title = 'A bought quiz';
        try { title = (await api('GET', `quizzes/${lic.quizId}`)).title; } catch { /* deleted by its author */ }
        const left = lic.plays ? lic.plays - lic.used : Infinity;
        const hostBtn = h('button', { type: 'button', class: 'primary', text: 'Host', disabled: left <= 0 });
        hostBtn.addEventListener('click', async () => {
          hostBtn.disabled = true;
          try { const g = await api('POST', 'games', { quizId: lic.quizId }); ctx.go(`/host/${g.code}`); } catch (e) { toast('Cannot host', e.message, 'error'); hostBtn.disabled = false; }
        });
        return h('li', { class: 'card licence', dataset: { quiz: lic.quizId } }, h('h2', { text: title }),
          h('p', { class: 'muted', text: lic.plays ? `${left} of ${lic.plays} games left` : 'Unlimited games' }), hostBtn);
      }));
      mount(licences, cards.length ? cards : h('li', { class: 'muted', text: 'No licences yet.' }));
    } catch (e) { mount(licences, h('li', { class: 'field-error', role: 'alert', text: e.message })); }
  }

  const form = h('form', { class: 'card', novalidate: true, 'aria-labelledby': 'sell-h', onsubmit: async (ev) => {
    ev.preventDefault();
    Object.values(errs).forEach((el) => setError(el, ''));
    submit.disabled = true;
    try {
      const body = { quizId: quizSel.input.value, price: Number(price.input.value), plays: Number(plays.input.value || 0) };
      const l = await api('POST', 'marketplace/listings', body);
      toast('Listed', `“${l.title}” is for sale.`);
      drawMine();
    } catch (e) {
      const fields = e.errors || {};
      if (!Object.keys(fields).length) setError(errs.quizId, e.message);
      for (const [k, msg] of Object.entries(fields)) if (errs[k]) setError(errs[k], msg);
    } finally { submit.disabled = false; }
  } }, h('h2', { id: 'sell-h', text: 'Sell a quiz' }), quizSel.wrap, price.wrap, plays.wrap,
  h('p', { class: 'hint', text: 'The marketplace keeps 10% of the price.' }), submit);

  add(root, h('h1', { text: 'Sell and host' }), h('div', { class: 'grid2' }, form,
    h('section', { class: 'card', 'aria-labelledby': 'lic-h' }, h('h2', { id: 'lic-h', text: 'Your licences' }), licences)),
  h('section', { 'aria-labelledby': 'mine-h' }, h('h2', { id: 'mine-h', text: 'Your listings' }), mine),
  h('p', {}, h('a', { href: '/market', 'data-link': '', text: 'Back to the marketplace' })));
  drawMine();
  drawLicences();
  return null;
}

// Boot, navigation and the routes of the single-page app (history routing; the server answers
// every route path with index.html).
import { h, mount, toast } from './dom.js';
import { session, events, refreshMe, api } from './api.js';
import { socket } from './socket.js';
import { unsubscribePush } from './push.js';
import * as home from './views/home.js';
import * as auth from './views/auth.js';
import * as play from './views/play.js';
import * as host from './views/host.js';
import * as author from './views/author.js';
import * as solo from './views/solo.js';
import * as profile from './views/profile.js';
import * as boards from './views/leaderboards.js';
import * as moderation from './views/moderation.js';
import * as inbox from './views/inbox.js';
import * as wallet from './views/wallet.js';
import * as market from './views/market.js';
import * as gamesView from './views/history.js';

const routes = [
  [/^\/$/, home, {}],
  [/^\/login$/, auth, {}],
  [/^\/join(?:\/([A-Za-z0-9]{4,8}))?$/, play, { join: true }],
  [/^\/play(?:\/([A-Za-z0-9]{4,8}))?$/, play, {}],
  [/^\/host(?:\/([A-Za-z0-9]{4,8}))?$/, host, { account: true }],
  [/^\/games$/, gamesView, { account: true }],
  [/^\/author(?:\/([^/]+))?$/, author, { account: true }],
  [/^\/solo(?:\/([^/]+))?$/, solo, { signedIn: true }],
  [/^\/profile$/, profile, { account: true }],
  [/^\/leaderboards(?:\/([^/]+))?$/, boards, {}],
  [/^\/moderation$/, moderation, { staff: true }],
  [/^\/inbox$/, inbox, { account: true }],
  [/^\/wallet$/, wallet, { account: true }],
  [/^\/market(?:\/(sell))?$/, market, {}],
];

const main = document.getElementById('main');
let cleanup = null;

/** Navigates within the app. */
export function go(path, { replace = false } = {}) {
  if (replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  render();
}

function render() {
  if (cleanup) { try { cleanup(); } catch { /* a view failing to clean up must not block the next */ } }
  cleanup = null;
  const path = location.pathname.replace(/\/+$/, '') || '/';
  let match = null;
  for (const [re, view, opts] of routes) {
    const m = path.match(re);
    if (m) { match = { view, opts, params: m.slice(1) }; break; }
  }
  renderNav();
  if (!match) {
    mount(main, h('section', { class: 'card' }, h('h1', { text: 'Not found' }), h('p', {}, h('a', { href: '/', 'data-link': '', text: 'Go home' }))));
    return;
  }
  const { view, opts, params } = match;
  const p = session.player;
  const needsSignIn = (opts.signedIn && !p) || (opts.account && (!p || p.guest)) || (opts.staff && !session.isStaff);
  if (needsSignIn && !opts.join) {
    if (opts.staff && p) {
      mount(main, h('section', { class: 'card' }, h('h1', { text: 'Moderators only' }), h('p', { text: 'Your account has no access to the moderator console.' })));
      return;
    }
    history.replaceState(null, '', `/login?next=${encodeURIComponent(location.pathname)}`);
    renderNav();
    cleanup = auth.render(main, [], { go, reason: opts.account ? 'This needs an account (guests can only play games).' : '' });
    return;
  }
  main.replaceChildren();
  cleanup = view.render(main, params, { go, ...opts }) || null;
  document.title = `Trivium — ${(main.querySelector('h1') || { textContent: '' }).textContent || 'trivia'}`;
  // Move focus to the new content for keyboard and screen-reader users, but not on first load.
  if (rendered) main.focus({ preventScroll: true });
  rendered = true;
}
let rendered = false;

function renderNav() {
  const nav = document.getElementById('nav');
  const p = session.player;
  const link = (href, text) => h('li', {}, h('a', { href, 'data-link': '', text, 'aria-current': location.pathname.startsWith(href) && href !== '/' ? 'page' : null }));
  const items = [link('/play', 'Play')];
  if (p && !p.guest) items.push(link('/host', 'Host'), link('/author', 'Create'), link('/solo', 'Solo'));
  items.push(link('/leaderboards', 'Leaderboards'), link('/market', 'Market'));
  if (p && !p.guest) items.push(link('/wallet', 'Wallet'), link('/inbox', 'Inbox'), link('/profile', 'Profile'));
  if (session.isStaff) items.push(link('/moderation', 'Moderation'));
  if (p) {
    items.push(h('li', { class: 'who' }, h('span', { text: p.displayName || p.username }),
      h('button', { type: 'button', class: 'link', onclick: logout, text: 'Log out' })));
  } else {
    items.push(link('/login', 'Sign in'));
  }
  mount(nav, items);
}

async function logout() {
  try { await unsubscribePush(); } catch { /* best effort: the server drops dead subscriptions */ }
  try { await api('POST', 'auth/logout'); } catch { /* the token is forgotten either way */ }
  socket.stop();
  session.clear();
  go('/');
}

// Same-origin links navigate inside the app.
document.addEventListener('click', (ev) => {
  const a = ev.target.closest && ev.target.closest('a[data-link]');
  if (!a || ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
  ev.preventDefault();
  go(a.getAttribute('href'));
});
addEventListener('popstate', render);

events.addEventListener('auth', (ev) => {
  renderNav();
  if (ev.detail && session.token) socket.start();
});
events.addEventListener('notification', (ev) => {
  const n = ev.detail || {};
  // A push already showed a system notification; the in-band copy is the one to toast.
  if (n.viaPush) return;
  toast(n.title || 'Notification', n.body || '');
});

// The connection banner: shown while the socket is lost (with the time to the next attempt and
// a way to try at once) or taken over by another tab; hidden while connected.
const conn = document.getElementById('conn');
let connTick = 0;
function drawConn() {
  const st = socket.status;
  conn.dataset.state = st;
  clearInterval(connTick);
  connTick = 0;
  if (st === 'reconnecting') {
    const secs = () => Math.max(0, Math.ceil((socket.retryAt - Date.now()) / 1000));
    const when = h('span', { class: 'conn-when' });
    const tick = () => { when.textContent = socket.retryAt && secs() > 0 ? ` Next try in ${secs()} s.` : ''; };
    tick();
    connTick = setInterval(tick, 1000);
    mount(conn, h('strong', { text: navigator.onLine === false ? 'You are offline. ' : 'Connection lost. ' }),
      h('span', { text: 'Reconnecting…' }), when,
      h('button', { type: 'button', class: 'link', text: 'Try now', onclick: () => socket.nudge() }));
    conn.hidden = false;
  } else if (st === 'replaced') {
    mount(conn, h('strong', { text: 'This game is open in another tab or device. ' }),
      h('button', { type: 'button', class: 'link', text: 'Use it here', onclick: () => socket.takeOver() }));
    conn.hidden = false;
  } else {
    mount(conn);
    conn.hidden = true;
  }
}
socket.addEventListener('status', drawConn);
addEventListener('offline', drawConn);

if ('serviceWorker' in navigator) {
  navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch(() => {});
  // The service worker forwards pushes so open pages (the profile) update live.
  navigator.serviceWorker.addEventListener('message', (ev) => {
    if (ev.data && ev.data.kind === 'push') events.dispatchEvent(new CustomEvent('notification', { detail: { ...ev.data.payload, viaPush: true } }));
  });
  navigator.serviceWorker.startMessages();
}

if (session.token) {
  socket.start();
  // The remembered player may be stale (a role granted since): show the truth once it is known.
  const before = session.player && session.player.role;
  refreshMe().then((p) => { if (p && p.role !== before) render(); }).catch(() => {});
}
render();

// HTTP client for /api/v1 and the signed-in session.

const TOKEN_KEY = 'trivium.token';
const PLAYER_KEY = 'trivium.player';

/** An API failure carrying the RFC 9457 problem document. */
export class ApiError extends Error {
  constructor(status, problem) {
    super((problem && (problem.detail || problem.title)) || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
    this.errors = (problem && problem.errors) || {};
    this.retryAfter = 0;
  }
}

/** App-wide events: 'auth' (player changed), 'notification' (in-band or from the service worker). */
export const events = new EventTarget();

export const session = {
  get token() { return localStorage.getItem(TOKEN_KEY) || ''; },
  get player() {
    try { return JSON.parse(localStorage.getItem(PLAYER_KEY) || 'null'); } catch { return null; }
  },
  set(token, player) {
    if (token) localStorage.setItem(TOKEN_KEY, token);
    if (player) localStorage.setItem(PLAYER_KEY, JSON.stringify(player));
    events.dispatchEvent(new CustomEvent('auth', { detail: player }));
  },
  clear() {
    localStorage.removeItem(TOKEN_KEY);
    localStorage.removeItem(PLAYER_KEY);
    events.dispatchEvent(new CustomEvent('auth', { detail: null }));
  },
  get isStaff() {
    const p = this.player;
    return !!p && (p.role === 'moderator' || p.role === 'admin');
  },
  get isAccount() {
    const p = this.player;
    return !!p && !p.guest;
  },
};

/** Calls the API; resolves with the JSON answer (null for 204) or throws ApiError. */
export async function api(method, path, body, { signal, headers: extra } = {}) {
  const headers = { Accept: 'application/json, application/problem+json', ...(extra || {}) };
  if (session.token) headers.Authorization = `Bearer ${session.token}`;
  const init = { method, headers, signal };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path.startsWith('/') ? path : `/api/v1/${path}`, init);
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, { title: 'Network error', detail: 'The server cannot be reached. Check your connection.' });
  }
  if (res.status === 204) return null;
  const text = await res.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = { detail: text }; }
  }
  if (!res.ok) {
    const err = new ApiError(res.status, data);
    err.retryAfter = Number(res.headers.get('Retry-After')) || 0;
    // A revoked or expired token is useless: forget it so the UI offers a sign-in.
    if (res.status === 401 && session.token && !path.includes('auth/login')) session.clear();
    throw err;
  }
  return data;
}

/** Signs in with one of register, login or guest, and remembers the session. */
export async function authenticate(kind, body) {
  const res = await api('POST', `auth/${kind}`, body);
  session.set(res.token, res.player);
  return res.player;
}

/** Refreshes the remembered player (role, avatar…) from /me. */
export async function refreshMe() {
  if (!session.token) return null;
  const p = await api('GET', 'me');
  session.set(null, p);
  return p;
}

/** Reads every page of a list endpoint up to max items. */
export async function listAll(path, max = 200) {
  const out = [];
  let cursor = '';
  do {
    const sep = path.includes('?') ? '&' : '?';
    const page = await api('GET', cursor ? `${path}${sep}cursor=${encodeURIComponent(cursor)}` : path);
    out.push(...(page.items || []));
    cursor = page.next || '';
  } while (cursor && out.length < max);
  return out;
}

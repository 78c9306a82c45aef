// The tab's one WebSocket: game frames and in-band notifications. It reconnects by itself with
// exponential backoff and jitter and resumes the game it was in (resumeToken + lastSeq in
// sessionStorage, so a reload resumes too). A resume asks the server to replay the events since
// the current round began (replayFrom), not only those missed: the state frame alone does not
// hold a closed round's questions, reveals or scoreboard, so a reload during a reveal would
// otherwise have nothing to draw.
import { api, session, events } from './api.js';

const GAME_KEY = 'trivium.game';
const PING_MS = 25000;
const CLOSE_REPLACED = 4001;
const CLOSE_GOING_AWAY = 1001; // the server is shutting down (a restart): come back quickly
const BACKOFF_BASE_MS = 500;
const BACKOFF_MAX_MS = 15000;
// How long a (re)join waits for the first pong, so that countdowns start from a known clock.
const CLOCK_WAIT_MS = 1500;

/**
 * The delay before reconnect attempt n (0-based): exponential, capped, with "equal jitter"
 * (half fixed, half random) so that a whole room dropped at once does not come back in step.
 */
export function backoffDelay(n, random = Math.random) {
  const base = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** n);
  return base / 2 + random() * base / 2;
}

/** Server clock estimate: serverNow() ≈ the server's Date.now(). */
export const clock = {
  offset: 0, // server − local, ms
  rtt: Infinity,
  known: false,
  serverNow() { return Date.now() + this.offset; },
  /** Local time (ms) at which a server-side Unix ms deadline falls. */
  localDeadline(deadline, arrivedAt, timeLimitMs) {
    // Prefer the ping/pong estimate; without one assume the frame left the server when the
    // question opened, i.e. the time left is at most the full limit from arrival.
    let local = this.known ? deadline - this.offset : arrivedAt + timeLimitMs;
    if (timeLimitMs && local > arrivedAt + timeLimitMs) local = arrivedAt + timeLimitMs;
    return local;
  },
};

class GameSocket extends EventTarget {
  constructor() {
    super();
    this.ws = null;
    this.want = false; // should a connection be open
    this.attempt = 0;
    this.timer = 0;
    this.pingTimer = 0;
    this.refSeq = 0;
    this.pending = new Map(); // ref → {resolve, reject, timer}
    this.status = 'idle';
    this.connecting = false;
    this.retryAt = 0; // local ms of the next reconnect attempt while status is 'reconnecting'
    this.everOpen = false;
  }

  /** The game this tab is in: {code, resumeToken, lastSeq} or null. */
  get game() {
    try { return JSON.parse(sessionStorage.getItem(GAME_KEY) || 'null'); } catch { return null; }
  }

  set game(g) {
    if (g) sessionStorage.setItem(GAME_KEY, JSON.stringify(g));
    else sessionStorage.removeItem(GAME_KEY);
  }

  /**
   * Status: idle (no socket wanted), connecting (first connection), open, reconnecting (lost,
   * next attempt at retryAt), replaced (another tab took over).
   */
  setStatus(s) {
    this.status = s;
    this.dispatchEvent(new CustomEvent('status', { detail: s }));
  }

  /** Opens the socket if signed in and not open yet. */
  start() {
    this.want = true;
    if (!this.ws && !this.timer && !this.connecting) this.connect();
  }

  /** Closes for good (sign-out); forgets the game. */
  stop() {
    this.want = false;
    this.game = null;
    clearTimeout(this.timer);
    this.timer = 0;
    if (this.ws) this.ws.close(1000, 'bye');
    this.ws = null;
    this.setStatus('idle');
  }

  async connect() {
    this.timer = 0;
    if (!this.want || !session.token || this.connecting) return;
    this.setStatus(this.everOpen || this.attempt > 0 ? 'reconnecting' : 'connecting');
    // Set until the WebSocket exists, so that concurrent start() calls make one socket, not several.
    this.connecting = true;
    let ticket;
    try {
      ticket = (await api('POST', 'ws-tickets')).ticket;
    } catch (e) {
      this.connecting = false;
      if (e.status === 401) { this.want = false; this.setStatus('idle'); return; }
      this.retry();
      return;
    }
    this.connecting = false;
    if (!this.want || this.ws) return;
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(`${proto}//${location.host}/ws?ticket=${encodeURIComponent(ticket)}`, 'trivium.v1');
    this.ws = ws;
    ws.addEventListener('open', () => {
      this.attempt = 0;
      this.everOpen = true;
      this.retryAt = 0;
      this.setStatus('open');
      const first = this.ping();
      clearInterval(this.pingTimer);
      this.pingTimer = setInterval(() => this.ping(), PING_MS);
      // Join once the clock is known (or after a short wait), so a resumed countdown shows the
      // time really left rather than the full limit.
      const wait = new Promise((resolve) => setTimeout(resolve, CLOCK_WAIT_MS));
      Promise.race([first, wait]).then(() => {
        const g = this.game;
        if (this.ws === ws && ws.readyState === WebSocket.OPEN && g && g.code && ws.joined !== g.code) this.sendJoin(g);
      });
    });
    ws.addEventListener('message', (ev) => this.onMessage(ev.data));
    ws.addEventListener('close', (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      clearInterval(this.pingTimer);
      for (const [, p] of this.pending) { clearTimeout(p.timer); p.reject({ code: 'disconnected', message: 'connection lost' }); }
      this.pending.clear();
      if (ev.code === CLOSE_REPLACED) {
        // Another tab or device of this player took over the game; fighting back would loop.
        this.want = false;
        this.setStatus('replaced');
        return;
      }
      // A server restart closes with 1001: the game survives it, so come back at once.
      if (ev.code === CLOSE_GOING_AWAY) this.attempt = 0;
      this.retry();
    });
  }

  retry() {
    if (!this.want || this.timer) return;
    const delay = backoffDelay(this.attempt);
    this.attempt++;
    this.retryAt = Date.now() + delay;
    this.timer = setTimeout(() => this.connect(), delay);
    this.setStatus('reconnecting');
  }

  /** Reconnects now instead of waiting for the backoff (the network came back). */
  nudge() {
    if (!this.want || this.ws || this.connecting) return;
    clearTimeout(this.timer);
    this.timer = 0;
    this.attempt = 0;
    this.connect();
  }

  /** Takes the game back after another tab or device of this player replaced this one. */
  takeOver() {
    if (this.status !== 'replaced') return;
    this.attempt = 0;
    this.start();
  }

  /** Measures the clock offset; resolves when the pong arrived (or the ping failed). */
  ping() {
    const sent = Date.now();
    return this.request('ping', {}).then((d) => {
      const now = Date.now();
      const rtt = now - sent;
      if (d && d.at && rtt <= this.rttBest()) {
        clock.offset = d.at - (sent + now) / 2;
        clock.rtt = rtt;
        clock.known = true;
      }
    }).catch(() => {});
  }

  rttBest() { return clock.rtt === Infinity ? Infinity : clock.rtt * 1.5 + 20; }

  sendJoin(g) {
    const data = { code: g.code };
    if (g.resumeToken) data.resume = g.resumeToken;
    let since = typeof g.lastSeq === 'number' && g.lastSeq > 0 ? g.lastSeq : null;
    if (since !== null && typeof g.replayFrom === 'number' && g.replayFrom >= 0 && g.replayFrom < since) since = g.replayFrom;
    if (since !== null) data.lastSeq = since;
    if (this.ws) this.ws.joined = g.code;
    this.request('join', data).catch((err) => {
      if (err.code === 'resume_expired') {
        // Re-joining with the same account still reconnects; only a new guest starts afresh.
        const again = { code: g.code, lastSeq: g.lastSeq, replayFrom: g.replayFrom };
        this.game = again;
        this.sendJoin({ ...again, resumeToken: '' });
        return;
      }
      if (err.code === 'disconnected') return;
      this.dispatchEvent(new CustomEvent('joinfailed', { detail: err }));
    });
  }

  /** Joins a game (remembered for reconnects and reloads). */
  join(code) {
    code = code.trim().toUpperCase();
    const g = this.game;
    if (!g || g.code !== code) this.game = { code };
    this.start();
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.sendJoin(this.game);
  }

  /** Leaves the current game. */
  leave() {
    if (this.game && this.ws && this.ws.readyState === WebSocket.OPEN) this.send('leave', {});
    this.game = null;
  }

  send(type, data = {}, ref = '') {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(ref ? { type, ref, data } : { type, data }));
    return true;
  }

  /** Sends a frame and waits for its ack (resolves with data) or error (rejects with {code, message}). */
  request(type, data = {}, timeoutMs = 10000) {
    const ref = `r${++this.refSeq}`;
    return new Promise((resolve, reject) => {
      if (!this.send(type, data, ref)) {
        reject({ code: 'disconnected', message: 'not connected — reconnecting…' });
        return;
      }
      const timer = setTimeout(() => {
        this.pending.delete(ref);
        reject({ code: 'timeout', message: 'the server did not answer' });
      }, timeoutMs);
      this.pending.set(ref, { resolve, reject, timer });
    });
  }

  onMessage(raw) {
    let f;
    try { f = JSON.parse(raw); } catch { return; }
    if (!f || typeof f.type !== 'string') return;
    const g = this.game;
    if (g && typeof f.seq === 'number') {
      if (f.seq > (g.lastSeq || 0)) g.lastSeq = f.seq;
      // The first question of a round marks where a resume should replay from; the round ends
      // with its reveal (or buzz), so the next question starts a new one.
      if (f.type === 'question' && !g.inRound) { g.replayFrom = f.seq - 1; g.inRound = true; }
      if (f.type === 'reveal' || f.type === 'buzz') g.inRound = false;
      this.game = g;
    }
    if (f.type === 'state' && f.data) {
      const cur = this.game || {};
      const same = !cur.code || !f.data.code || cur.code === f.data.code;
      this.game = {
        code: f.data.code || cur.code,
        resumeToken: f.data.resumeToken || cur.resumeToken,
        lastSeq: Math.max(same ? cur.lastSeq || 0 : 0, f.data.seq || 0),
        replayFrom: same && f.data.phase !== 'lobby' ? cur.replayFrom : undefined,
        inRound: same && f.data.phase === 'question' ? cur.inRound : false,
      };
    }
    const p = f.ref ? this.pending.get(f.ref) : null;
    if (p && (f.type === 'ack' || f.type === 'error' || f.type === 'pong' || f.type === 'state')) {
      this.pending.delete(f.ref);
      clearTimeout(p.timer);
      if (f.type === 'error') p.reject(f.data || {});
      else p.resolve(f.data);
    }
    if (f.type === 'notification') events.dispatchEvent(new CustomEvent('notification', { detail: f.data }));
    this.dispatchEvent(new CustomEvent('frame', { detail: f }));
  }
}

/** The one socket of this tab. */
export const socket = new GameSocket();

addEventListener('online', () => socket.nudge());
// A phone that slept kept its timers frozen: try at once when the page is looked at again.
document.addEventListener('visibilitychange', () => { if (document.visibilityState === 'visible') socket.nudge(); });

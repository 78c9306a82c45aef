// The client's model of one multiplayer game, fed by WebSocket frames. Views (player and host)
// render from it. Frames replayed after a resume (seq ≤ the state's seq) are already reflected
// in the state, so they refresh what is shown but never add points twice.
import { clock } from './socket.js';

export class GameModel extends EventTarget {
  constructor(code) {
    super();
    this.code = code;
    this.gameId = '';
    this.mode = '';
    this.phase = 'connecting';
    this.players = new Map();
    this.questions = []; // the open round: one question, or a competitive group
    this.arrived = new Map(); // question index → local deadline ms
    this.answered = new Map(); // question index → {answer, status: 'sent'|'locked'|'wrong'|'late'}
    this.reveals = new Map(); // question index → reveal data
    this.buzz = null;
    this.progress = new Map(); // question index → {answered, total}
    this.entries = []; // last scoreboard
    this.rankBefore = new Map(); // playerId → rank on the scoreboard before the last one
    this.final = [];
    this.chat = [];
    this.you = { playerId: '', host: false, score: 0 };
    this.paused = false;
    this.stateSeq = 0;
    this.error = null;
  }

  emit(what) { this.dispatchEvent(new CustomEvent('change', { detail: what })); }

  /** Applies one server frame; returns true when it was a game frame. */
  apply(f) {
    const d = f.data || {};
    const fresh = !(typeof f.seq === 'number' && f.seq <= this.stateSeq);
    switch (f.type) {
      case 'state': this.applyState(d); this.emit('all'); return true;
      case 'player_joined': {
        const p = d.player || {};
        const old = this.players.get(p.id) || { score: 0 };
        this.players.set(p.id, { ...old, ...p, connected: true });
        this.emit('players');
        return true;
      }
      case 'player_left': {
        const p = this.players.get((d.player || {}).id);
        if (p) p.connected = false;
        this.emit('players');
        return true;
      }
      case 'question': {
        if (this.phase !== 'question' || this.questions.some((q) => q.index === d.index)) {
          // A new round starts: forget the previous one's questions and reveals.
          if (this.phase !== 'question') { this.questions = []; this.reveals.clear(); this.buzz = null; }
        }
        this.questions = this.questions.filter((q) => q.index !== d.index).concat([d]).sort((a, b) => a.index - b.index);
        if (fresh || !this.arrived.has(d.index)) this.arrived.set(d.index, clock.localDeadline(d.deadline, Date.now(), d.timeLimitMs));
        this.phase = 'question';
        this.paused = false;
        this.emit('all');
        return true;
      }
      case 'progress':
        this.progress.set(d.index, { answered: d.answered, total: d.total });
        this.emit('progress');
        return true;
      case 'reveal': {
        this.reveals.set(d.index, d);
        if (d.you && fresh) this.you.score += d.you.points || 0;
        const a = this.answered.get(d.index);
        if (a && d.you) a.status = d.you.correct ? 'right' : 'wrong';
        this.phase = 'reveal';
        this.emit('all');
        return true;
      }
      case 'buzz':
        this.buzz = d;
        this.phase = 'buzz';
        this.emit('all');
        return true;
      case 'scoreboard':
        this.setEntries(d.entries || []);
        if (this.phase !== 'buzz') this.phase = 'scoreboard';
        this.emit('all');
        return true;
      case 'finished':
        this.final = d.entries || [];
        this.setEntries(this.final);
        this.phase = 'finished';
        this.emit('all');
        return true;
      case 'chat':
        this.chat.push(d);
        if (this.chat.length > 200) this.chat.shift();
        this.emit('chat');
        return true;
      case 'paused':
        this.paused = true;
        this.emit('all');
        return true;
      case 'resumed':
        this.paused = false;
        if (d.deadline) {
          for (const q of this.questions) this.arrived.set(q.index, clock.localDeadline(d.deadline, Date.now(), q.timeLimitMs));
        }
        this.emit('all');
        return true;
      default:
        return false;
    }
  }

  applyState(s) {
    this.gameId = s.gameId;
    this.quizId = s.quizId || '';
    this.code = s.code || this.code;
    this.mode = s.mode;
    this.phase = s.phase;
    this.stateSeq = s.seq || 0;
    this.players = new Map((s.players || []).map((p) => [p.id, p]));
    this.you = { playerId: s.you.playerId, host: !!s.you.host, score: s.you.score || 0 };
    this.paused = !!s.paused;
    const qs = (s.questions && s.questions.length) ? s.questions : (s.question ? [s.question] : []);
    this.questions = qs;
    const now = Date.now();
    for (const q of qs) {
      // A paused game states the frozen time left instead of a meaningful deadline.
      const local = s.paused && s.remainingMs ? now + s.remainingMs : clock.localDeadline(q.deadline, now, q.timeLimitMs);
      this.arrived.set(q.index, local);
    }
    const idx = new Set(s.you.answeredIndexes || (s.you.answered ? qs.map((q) => q.index) : []));
    for (const i of idx) if (!this.answered.has(i)) this.answered.set(i, { answer: null, status: 'locked' });
    if (s.phase === 'finished') {
      this.final = s.entries || [];
      this.setEntries(this.final);
    }
  }

  setEntries(entries) {
    if (this.entries.length) this.rankBefore = new Map(this.entries.map((e) => [e.playerId, e.rank]));
    this.entries = entries;
    const me = entries.find((e) => e.playerId === this.you.playerId);
    if (me) this.you.score = me.score;
    for (const e of entries) {
      const p = this.players.get(e.playerId);
      if (p) p.score = e.score;
    }
  }

  /** Rank change of a player since the previous scoreboard: positive = moved up. */
  rankChange(e) {
    const before = this.rankBefore.get(e.playerId);
    return before ? before - e.rank : 0;
  }

  deadlineOf(index) { return this.arrived.get(index) || 0; }
}

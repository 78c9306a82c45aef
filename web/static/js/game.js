// The client's model of one multiplayer game, fed by WebSocket frames. Views (player and host)
// render from it. Frames replayed after a resume (seq ≤ the state's seq) are already reflected
// in the state, so they refresh what is shown but never add points twice.
//
// What the state frame does not carry (the player's own answer texts, a refused late answer, the
// chat so far) is kept in sessionStorage for the tab, so a reload shows it again. Fields a newer
// server may add to state (round, reveals, buzz, chat, entries outside finished) are used when
// present.
import { clock } from './socket.js';

const CACHE_KEY = 'trivium.gamecache';
const CHAT_KEEP = 50;

function loadCache(code) {
  try {
    const c = JSON.parse(sessionStorage.getItem(CACHE_KEY) || 'null');
    if (c && c.code === code) return { code, answers: c.answers || {}, chat: Array.isArray(c.chat) ? c.chat : [] };
  } catch { /* a corrupt cache is as good as none */ }
  return { code, answers: {}, chat: [] };
}

/** Name folding for telling players apart: case, accents and spacing do not count. */
export function foldName(s) {
  return String(s || '').normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase().replace(/\s+/g, ' ').trim();
}

const chatKey = (m) => `${m.at}|${m.from && m.from.id}|${m.text}`;

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
    this.options = {}; // game options: shuffleQuestions, shuffleChoices, lockLobby, lateJoin, teams {mode, count}
    this.teams = []; // [{id, name, members: [playerId], score}], ranked on the scoreboard and once finished
    this.chat = [];
    this.you = { playerId: '', host: false, score: 0 };
    this.paused = false;
    this.stateSeq = 0;
    this.error = null;
    this.cache = loadCache(code);
    for (const m of this.cache.chat) this.addChat(m, false);
  }

  emit(what) { this.dispatchEvent(new CustomEvent('change', { detail: what })); }

  save() {
    try {
      this.cache.chat = this.chat.slice(-CHAT_KEEP);
      sessionStorage.setItem(CACHE_KEY, JSON.stringify(this.cache));
    } catch { /* storage full or disabled: only a reload loses it */ }
  }

  /** Records the player's own answer (and its fate) so a reload still shows it. */
  noteAnswer(index, answer, status) {
    const a = { answer, status };
    this.answered.set(index, a);
    this.cache.answers[index] = a;
    this.save();
  }

  forgetAnswer(index) {
    this.answered.delete(index);
    delete this.cache.answers[index];
    this.save();
  }

  addChat(m, persist = true) {
    if (!m || typeof m.text !== 'string') return false;
    this.chatSeen = this.chatSeen || new Set();
    const k = chatKey(m);
    if (this.chatSeen.has(k)) return false;
    this.chatSeen.add(k);
    this.chat.push(m);
    if (this.chat.length > 200) this.chatSeen.delete(chatKey(this.chat.shift()));
    if (persist) this.save();
    return true;
  }

  /** Removes a message a moderator deleted (by its server id); true when it was shown. */
  deleteChat(id) {
    const i = this.chat.findIndex((m) => m.id && m.id === id);
    if (i < 0) return false;
    this.chatSeen.delete(chatKey(this.chat[i]));
    this.chat.splice(i, 1);
    this.save();
    return true;
  }

  /**
   * The name to show for a player: its display name, with " (2)", " (3)"… added when an earlier
   * player of this game has the same name (case and accents aside), so two "Bob"s can be told apart.
   */
  nameOf(id, fallback = '') {
    if (!this.names || this.namesOf !== this.players) this.computeNames();
    return this.names.get(id) || fallback || (this.players.get(id) || {}).displayName || '?';
  }

  computeNames() {
    const seen = new Map();
    this.names = new Map();
    for (const p of this.players.values()) {
      const k = foldName(p.displayName);
      const n = (seen.get(k) || 0) + 1;
      seen.set(k, n);
      this.names.set(p.id, n > 1 ? `${p.displayName} (${n})` : p.displayName);
    }
    this.namesOf = this.players;
    this.namesSize = this.players.size;
  }

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
        this.names = null;
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
        if (d.you && d.you.late) this.noteAnswer(d.index, a ? a.answer : null, 'late');
        else if (a && d.you && !(a.status === 'late' && !d.you.answered)) a.status = d.you.correct ? 'right' : 'wrong';
        this.phase = 'reveal';
        this.emit('all');
        return true;
      }
      case 'buzz':
        this.buzz = d;
        this.phase = 'buzz';
        this.emit('all');
        return true;
      case 'options':
        this.options = d.options && typeof d.options === 'object' ? d.options : d;
        this.emit('options');
        return true;
      case 'teams':
        this.setTeams(Array.isArray(d) ? d : d.teams);
        this.emit('teams');
        return true;
      case 'scoreboard':
        if (Array.isArray(d.teams)) this.setTeams(d.teams);
        this.setEntries(d.entries || []);
        if (this.phase !== 'buzz') this.phase = 'scoreboard';
        this.emit('all');
        return true;
      case 'finished':
        if (Array.isArray(d.teams)) this.setTeams(d.teams);
        this.final = d.entries || [];
        this.setEntries(this.final);
        this.phase = 'finished';
        this.emit('all');
        return true;
      case 'chat':
        if (this.addChat(d)) this.emit('chat');
        return true;
      case 'chat_deleted':
        if (this.deleteChat(d.id)) this.emit('chat');
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
    const you = s.you || {};
    this.gameId = s.gameId;
    this.quizId = s.quizId || '';
    this.code = s.code || this.code;
    this.mode = s.mode;
    this.phase = s.phase;
    this.stateSeq = s.seq || 0;
    this.players = new Map((s.players || []).map((p) => [p.id, p]));
    this.names = null;
    this.you = { playerId: you.playerId, host: !!you.host, score: you.score || 0 };
    this.paused = !!s.paused;
    if (s.options && typeof s.options === 'object') this.options = s.options;
    if (Array.isArray(s.teams)) this.setTeams(s.teams);
    const open = (s.questions && s.questions.length) ? s.questions : (s.question ? [s.question] : []);
    const now = Date.now();
    if (s.phase === 'question' || open.length) {
      this.questions = open;
      for (const q of open) {
        // A paused game states the frozen time left instead of a meaningful deadline.
        const local = s.paused && s.remainingMs ? now + s.remainingMs : clock.localDeadline(q.deadline, now, q.timeLimitMs);
        this.arrived.set(q.index, local);
      }
    } else if (Array.isArray(s.round) && s.round.length) {
      // A server that states the closed round's questions (reveal, scoreboard).
      this.questions = s.round;
    } else if (s.phase === 'lobby') {
      this.questions = [];
    }
    // Otherwise keep what this tab already knows of the round: a reconnect during a reveal must
    // not lose the question the reveal is about. Replayed frames refresh it after the state.
    if (Array.isArray(s.reveals)) {
      for (const r of s.reveals) if (r && typeof r.index === 'number') this.reveals.set(r.index, r);
    }
    if (s.buzz && typeof s.buzz === 'object') this.buzz = s.buzz;
    const idx = new Set(you.answeredIndexes || (you.answered ? open.map((q) => q.index) : []));
    for (const [k, a] of Object.entries(this.cache.answers)) {
      const i = Number(k);
      // An answer still being sent when the page went away either arrived (the state says so)
      // or did not, and may be given again while the question is open.
      if (a.status === 'sent') {
        if (idx.has(i)) a.status = 'locked';
        else if (open.some((q) => q.index === i)) { this.forgetAnswer(i); continue; }
      }
      if (!this.answered.has(i) || this.answered.get(i).answer === null) this.answered.set(i, { ...a });
    }
    for (const i of idx) if (!this.answered.has(i)) this.answered.set(i, { answer: null, status: 'locked' });
    if (Array.isArray(s.chat)) for (const m of s.chat) this.addChat(m, false);
    this.save();
    if (s.phase === 'finished') {
      this.final = s.entries || [];
      this.setEntries(this.final);
    } else if (Array.isArray(s.entries) && s.entries.length) {
      this.setEntries(s.entries);
    } else if (s.phase === 'scoreboard' && !this.entries.length) {
      this.setEntries(this.standingsFromPlayers());
    }
  }

  setTeams(teams) {
    if (!Array.isArray(teams)) return;
    this.teams = teams.filter((t) => t && t.id !== undefined).map((t) => ({ ...t, members: Array.isArray(t.members) ? t.members : [] }));
  }

  /** The team a player is in (from the teams' members, or the player's or entry's `team`), or null. */
  teamOf(playerId) {
    const byMember = this.teams.find((t) => t.members.includes(playerId));
    if (byMember) return byMember;
    const p = this.players.get(playerId);
    const e = this.entries.find((x) => x.playerId === playerId);
    const id = (e && e.team) || (p && p.team);
    return id !== undefined && id !== null && id !== '' ? this.teams.find((t) => t.id === id) || null : null;
  }

  /** Whether teams are on in this game. */
  get teamsOn() {
    const t = this.options && this.options.teams;
    return !!(t && (t.mode === 'auto' || t.mode === 'choose')) || this.teams.length > 0;
  }

  /** Standings worked out from the players' scores, for a scoreboard the state did not carry. */
  standingsFromPlayers() {
    const ps = [...this.players.values()].sort((a, b) => (b.score || 0) - (a.score || 0));
    return ps.map((p, i) => ({ playerId: p.id, displayName: p.displayName, thumbnailUrl: p.thumbnailUrl || '', score: p.score || 0, rank: i + 1, delta: 0 }));
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

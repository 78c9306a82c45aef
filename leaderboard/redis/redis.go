// Package redis is the scale-out leaderboard engine on Redis sorted sets (go-redis v9).
//
// Order is kept exactly, with no float64 rounding: every member of a board's sorted set has score
// 0 and Redis orders equal scores by member bytes, so the member itself spells the position:
//
//	member = 19 digits of (9999999999999999999 - score) + 19 digits of reachedAt Unix ms + playerID
//
// Both numbers are zero-padded decimal, so byte order is numeric order: higher score first, then
// earlier time, then player id. Any score in 0..MaxInt64 and any time from 1970 on fits. Rank is
// ZRANK (O(log n)); a page after a cursor is ZRANGE BYLEX (O(log n + k)).
//
// Per board, sharing one hash tag so the scripts also run on Redis Cluster:
//
//	{prefix}lb:{board}:z     sorted set of members
//	{prefix}lb:{board}:m     hash playerID → current member
//	{prefix}lb:{board}:seen  set of applied event keys (idempotency; never trimmed)
//	{prefix}lb:{board}:g:{playerID}  SumOfBests boards: hash group → best (19 digits of score
//	                                 + 19 digits of reachedAt ms), the player's best per quiz
//
// Updates run as one Lua script (EVALSHA), so best-score and idempotency checks are atomic. The
// script does its arithmetic on the digit strings because Redis's Lua numbers are float64. A
// SumOfBests update re-adds the player's bests (HGETALL of their hash), so it costs O(quizzes the
// player scored on in that board's period).
package redis

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/trivium-game/trivium/leaderboard"
	"github.com/trivium-game/trivium/services"
)

// DefaultPrefix starts every key unless configured otherwise.
const DefaultPrefix = "trivium:"

const digits = 19 // decimal digits of MaxInt64

// Config configures an Engine.
type Config struct {
	Client goredis.UniversalClient // required
	Prefix string                  // default DefaultPrefix; tests use their own so they never meet production keys
}

// Engine is a leaderboard.Engine on Redis.
type Engine struct {
	rdb    goredis.UniversalClient
	prefix string
}

var _ leaderboard.Engine = (*Engine)(nil)

// New returns an Engine.
func New(cfg Config) (*Engine, error) {
	if cfg.Client == nil {
		return nil, errors.New("redis leaderboard: Client is required")
	}
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultPrefix
	}
	return &Engine{rdb: cfg.Client, prefix: cfg.Prefix}, nil
}

func (e *Engine) keys(board string) []string {
	base := e.prefix + "lb:{" + board + "}:"
	return []string{base + "z", base + "m", base + "seen"}
}

// bestsKey is the hash of a player's best per group on a SumOfBests board; it shares the board's
// hash tag so the apply script may touch it on Redis Cluster.
func (e *Engine) bestsKey(board, playerID string) string {
	return e.prefix + "lb:{" + board + "}:g:" + playerID
}

// applyScript mirrors leaderboard.Combine and leaderboard.Total on digit strings.
// KEYS: z, m, seen, bests. ARGV: eventKey, playerID, mode ("sum"|"best"), points (19 digits),
// at (19 digits), group.
var applyScript = goredis.NewScript(`
local function flip(s)
  return (string.gsub(s, '%d', function(d) return string.char(105 - string.byte(d)) end))
end
local function add(a, b)
  local out, carry = {}, 0
  for i = 19, 1, -1 do
    local d = string.byte(a, i) + string.byte(b, i) - 96 + carry
    if d >= 10 then d = d - 10; carry = 1 else carry = 0 end
    out[i] = string.char(48 + d)
  end
  local s = table.concat(out)
  if carry == 1 or s > '9223372036854775807' then return nil end
  return s
end
local zero = string.rep('0', 19)
local function better(s, a, pts, at)
  if pts > s then return pts, at end
  if pts == s and at < a then return s, at end
  return s, a
end
if redis.call('SISMEMBER', KEYS[3], ARGV[1]) == 1 then return 0 end
local player, mode, pts, at, group = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local old = redis.call('HGET', KEYS[2], player)
local score, reached = pts, at
if mode == 'best' then
  if old then
    score, reached = better(flip(string.sub(old, 1, 19)), string.sub(old, 20, 38), pts, at)
  end
else
  local g = redis.call('HGET', KEYS[4], group)
  local gs, ga = pts, at
  if g then gs, ga = better(string.sub(g, 1, 19), string.sub(g, 20, 38), pts, at) end
  local all = redis.call('HGETALL', KEYS[4])
  local first = ga
  score, reached = zero, zero
  local function count(s, a)
    if a < first then first = a end
    if s == zero then return true end
    score = add(score, s)
    if not score then return false end
    if a > reached then reached = a end
    return true
  end
  if not count(gs, ga) then return redis.error_reply('leaderboard total would overflow') end
  for i = 1, #all, 2 do
    if all[i] ~= group then
      if not count(string.sub(all[i+1], 1, 19), string.sub(all[i+1], 20, 38)) then
        return redis.error_reply('leaderboard total would overflow')
      end
    end
  end
  if score == zero then reached = first end
  redis.call('HSET', KEYS[4], group, gs .. ga)
end
redis.call('SADD', KEYS[3], ARGV[1])
local member = flip(score) .. reached .. player
if member == old then return 0 end
if old then redis.call('ZREM', KEYS[1], old) end
redis.call('ZADD', KEYS[1], 0, member)
redis.call('HSET', KEYS[2], player, member)
return 1
`)

// aroundScript returns {first rank index (0-based), members...} around a player, or nil.
// KEYS: z, m. ARGV: playerID, n.
var aroundScript = goredis.NewScript(`
local m = redis.call('HGET', KEYS[2], ARGV[1])
if not m then return false end
local r = redis.call('ZRANK', KEYS[1], m)
local n = tonumber(ARGV[2])
local first = r - n
if first < 0 then first = 0 end
return {first, redis.call('ZRANGE', KEYS[1], first, r + n)}
`)

// Apply implements leaderboard.Engine.
func (e *Engine) Apply(ctx context.Context, u leaderboard.Update) (bool, error) {
	if err := leaderboard.CheckUpdate(u); err != nil {
		return false, err
	}
	mode := "sum"
	if u.Mode == leaderboard.Best {
		mode = "best"
	}
	keys := append(e.keys(u.Board), e.bestsKey(u.Board, u.PlayerID))
	n, err := applyScript.Run(ctx, e.rdb, keys, u.EventKey, u.PlayerID, mode, pad(u.Points), pad(u.At.UnixMilli()), u.Group).Int()
	if err != nil {
		return false, fmt.Errorf("redis apply to %s: %w", u.Board, err)
	}
	return n == 1, nil
}

// After implements leaderboard.Engine.
func (e *Engine) After(ctx context.Context, board string, after *leaderboard.Position, limit int) ([]leaderboard.Standing, error) {
	if limit <= 0 {
		return nil, nil
	}
	z := e.keys(board)[0]
	if after == nil {
		members, err := e.rdb.ZRange(ctx, z, 0, int64(limit-1)).Result()
		if err != nil {
			return nil, fmt.Errorf("redis range %s: %w", board, err)
		}
		return standings(members, 1)
	}
	m := member(*after)
	var count *goredis.IntCmd
	var page *goredis.StringSliceCmd
	// MULTI/EXEC: the count before the cursor and the page after it come from one snapshot.
	_, err := e.rdb.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		count = p.ZLexCount(ctx, z, "-", "["+m)
		page = p.ZRangeArgs(ctx, goredis.ZRangeArgs{Key: z, Start: "(" + m, Stop: "+", ByLex: true, Count: int64(limit)})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("redis range %s: %w", board, err)
	}
	return standings(page.Val(), int(count.Val())+1)
}

// Around implements leaderboard.Engine.
func (e *Engine) Around(ctx context.Context, board, playerID string, n int) ([]leaderboard.Standing, int, error) {
	res, err := aroundScript.Run(ctx, e.rdb, e.keys(board)[:2], playerID, n).Slice()
	if errors.Is(err, goredis.Nil) {
		return nil, 0, services.Errorf(services.ENotFound, "%s has no score on %s", playerID, board)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("redis around %s on %s: %w", playerID, board, err)
	}
	first, ok1 := res[0].(int64)
	raw, ok2 := res[1].([]any)
	if len(res) != 2 || !ok1 || !ok2 {
		return nil, 0, fmt.Errorf("redis around %s on %s: unexpected reply %v", playerID, board, res)
	}
	members := make([]string, len(raw))
	for i, v := range raw {
		members[i], _ = v.(string)
	}
	got, err := standings(members, int(first)+1)
	if err != nil {
		return nil, 0, err
	}
	for i, s := range got {
		if s.PlayerID == playerID {
			return got, i, nil
		}
	}
	return nil, 0, fmt.Errorf("redis around %s on %s: player missing from its own window", playerID, board)
}

func standings(members []string, rank int) ([]leaderboard.Standing, error) {
	out := make([]leaderboard.Standing, len(members))
	for i, m := range members {
		p, err := parseMember(m)
		if err != nil {
			return nil, err
		}
		out[i] = leaderboard.Standing{Rank: rank + i, Position: p}
	}
	return out, nil
}

func pad(v int64) string { return fmt.Sprintf("%0*d", digits, v) }

// flip maps each digit d to 9-d, turning ascending byte order into descending numeric order.
func flip(s string) string {
	return strings.Map(func(r rune) rune { return '0' + '9' - r }, s)
}

func member(p leaderboard.Position) string {
	return flip(pad(p.Score)) + pad(p.ReachedAt.UnixMilli()) + p.PlayerID
}

func parseMember(m string) (leaderboard.Position, error) {
	if len(m) <= 2*digits {
		return leaderboard.Position{}, fmt.Errorf("redis leaderboard: malformed member %q", m)
	}
	score, err1 := strconv.ParseInt(flip(m[:digits]), 10, 64)
	at, err2 := strconv.ParseInt(m[digits:2*digits], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return leaderboard.Position{}, fmt.Errorf("redis leaderboard: malformed member %q: %w", m, err)
	}
	return leaderboard.Position{Score: score, ReachedAt: time.UnixMilli(at).UTC(), PlayerID: m[2*digits:]}, nil
}

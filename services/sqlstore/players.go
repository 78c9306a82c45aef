package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/trivium-game/trivium/services"
)

var _ services.PlayerStore = (*DB)(nil)

const playerCols = `id, COALESCE(username, ''), display_name, guest, role, password_hash, avatar_key, avatar_thumb_key, created_at, suspended_until, muted_until`

func scanPlayer(row interface{ Scan(...any) error }) (*services.Player, error) {
	var p services.Player
	var guest int
	var created, suspended, muted int64
	if err := row.Scan(&p.ID, &p.Username, &p.DisplayName, &guest, &p.Role, &p.PasswordHash,
		&p.Avatar.Key, &p.Avatar.ThumbKey, &created, &suspended, &muted); err != nil {
		return nil, err
	}
	p.Guest, p.CreatedAt, p.SuspendedUntil, p.MutedUntil = guest == 1, fromMS(created), fromMS(suspended), fromMS(muted)
	p.Avatar.Status = services.AvatarNone
	if p.Avatar.Key != "" {
		p.Avatar.Status = services.AvatarAccepted
	}
	return &p, nil
}

// CreatePlayer inserts p; EConflict when the username is taken.
func (d *DB) CreatePlayer(ctx context.Context, p *services.Player) error {
	if p.ID == "" {
		p.ID = services.NewID()
	}
	if p.CreatedAt.IsZero() {
		p.CreatedAt = d.now().UTC()
	}
	if p.Role == "" {
		p.Role = services.RolePlayer
	}
	var username any
	if p.Username != "" {
		username = p.Username
	}
	_, err := d.db.ExecContext(ctx, `INSERT INTO players (id, username, display_name, guest, role, password_hash, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, p.ID, username, p.DisplayName, b2i(p.Guest), p.Role, p.PasswordHash, ms(p.CreatedAt))
	if isUnique(err) {
		return services.Errorf(services.EConflict, "username %q is taken", p.Username)
	}
	if err != nil {
		return fmt.Errorf("create player: %w", err)
	}
	p.Avatar.Status = services.AvatarNone
	return nil
}

// PlayerByID loads a player.
func (d *DB) PlayerByID(ctx context.Context, id string) (*services.Player, error) {
	p, gen, ok := d.players.get(id)
	if ok {
		return p, nil
	}
	p, err := scanPlayer(d.queryRow(ctx, `SELECT `+playerCols+` FROM players WHERE id = $1`, id))
	if err != nil {
		return nil, notFound(err, "player")
	}
	d.players.put(p, gen)
	return p, nil
}

// PlayersByID loads several players at once; missing ids are left out.
func (d *DB) PlayersByID(ctx context.Context, ids []string) (map[string]*services.Player, error) {
	out := make(map[string]*services.Player, len(ids))
	for _, id := range ids {
		p, err := d.PlayerByID(ctx, id)
		if services.ErrorCode(err) == services.ENotFound {
			continue
		}
		if err != nil {
			return nil, err
		}
		out[id] = p
	}
	return out, nil
}

// PlayerByUsername loads an account by username.
func (d *DB) PlayerByUsername(ctx context.Context, username string) (*services.Player, error) {
	p, err := scanPlayer(d.db.QueryRowContext(ctx, `SELECT `+playerCols+` FROM players WHERE username = $1`, username))
	return p, notFound(err, "player")
}

func (d *DB) updateOne(ctx context.Context, what, q string, args ...any) error {
	res, err := d.db.ExecContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return services.Errorf(services.ENotFound, "%s: not found", what)
	}
	return nil
}

// UpdateDisplayName sets a player's display name.
func (d *DB) UpdateDisplayName(ctx context.Context, id, name string) error {
	defer d.players.forget(id)
	return d.updateOne(ctx, "player", `UPDATE players SET display_name = $1 WHERE id = $2`, name, id)
}

// SetRole grants a role to an account.
func (d *DB) SetRole(ctx context.Context, username, role string) error {
	defer d.players.forget("") // by username: rare enough to clear them all
	return d.updateOne(ctx, "player", `UPDATE players SET role = $1 WHERE username = $2 AND guest = 0`, role, username)
}

// SetAvatar sets the accepted avatar keys of a player.
func (d *DB) SetAvatar(ctx context.Context, playerID string, a services.Avatar) error {
	defer d.players.forget(playerID)
	return d.updateOne(ctx, "player", `UPDATE players SET avatar_key = $1, avatar_thumb_key = $2 WHERE id = $3`,
		a.Key, a.ThumbKey, playerID)
}

// AvatarKeyInUse reports whether a player other than exceptPlayerID has key as their avatar or
// its thumbnail, so an image is not deleted from under them.
func (d *DB) AvatarKeyInUse(ctx context.Context, key, exceptPlayerID string) (bool, error) {
	var one int
	err := d.db.QueryRowContext(ctx, `SELECT 1 FROM players WHERE (avatar_key = $1 OR avatar_thumb_key = $1) AND id <> $2 LIMIT 1`,
		key, exceptPlayerID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("avatar key in use: %w", err)
	}
	return true, nil
}

// CreateSession records an issued token.
func (d *DB) CreateSession(ctx context.Context, s services.Session) error {
	_, err := d.db.ExecContext(ctx, `INSERT INTO sessions (id, player_id, expires_at, revoked) VALUES ($1, $2, $3, 0)`,
		s.ID, s.PlayerID, ms(s.ExpiresAt))
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// SessionByID loads a session.
func (d *DB) SessionByID(ctx context.Context, id string) (*services.Session, error) {
	var s services.Session
	var exp int64
	var revoked int
	err := d.queryRow(ctx, `SELECT id, player_id, expires_at, revoked FROM sessions WHERE id = $1`, id).
		Scan(&s.ID, &s.PlayerID, &exp, &revoked)
	if err != nil {
		return nil, notFound(err, "session")
	}
	s.ExpiresAt, s.Revoked = fromMS(exp), revoked == 1
	return &s, nil
}

// RevokeSession revokes a token.
func (d *DB) RevokeSession(ctx context.Context, id string) error {
	return d.updateOne(ctx, "session", `UPDATE sessions SET revoked = 1 WHERE id = $1`, id)
}

// CreateTicket stores a single-use WebSocket ticket.
func (d *DB) CreateTicket(ctx context.Context, t services.Ticket) error {
	_, err := d.db.ExecContext(ctx, `INSERT INTO ws_tickets (id, player_id, session_id, expires_at) VALUES ($1, $2, $3, $4)`,
		t.ID, t.PlayerID, t.SessionID, ms(t.ExpiresAt))
	if err != nil {
		return fmt.Errorf("create ticket: %w", err)
	}
	// Expired tickets are swept opportunistically so the table stays small.
	_, _ = d.db.ExecContext(ctx, `DELETE FROM ws_tickets WHERE expires_at < $1`, ms(d.now())-60_000)
	return nil
}

// UseTicket consumes a ticket: it works once, on any node sharing the database.
func (d *DB) UseTicket(ctx context.Context, id string) (*services.Ticket, error) {
	var t services.Ticket
	var exp int64
	err := d.db.QueryRowContext(ctx, `DELETE FROM ws_tickets WHERE id = $1 RETURNING id, player_id, session_id, expires_at`, id).
		Scan(&t.ID, &t.PlayerID, &t.SessionID, &exp)
	if err == sql.ErrNoRows {
		return nil, services.Errorf(services.EUnauthenticated, "unknown or used ticket")
	}
	if err != nil {
		return nil, fmt.Errorf("use ticket: %w", err)
	}
	t.ExpiresAt = fromMS(exp)
	return &t, nil
}

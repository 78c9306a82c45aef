package sqltest_test

import (
	"context"
	"testing"

	"github.com/trivium-game/trivium/services/sqlstore"
	"github.com/trivium-game/trivium/services/sqlstore/sqltest"
)

// TestEveryDriverEnforcesForeignKeys: SQLite only does with the foreign_keys pragma on every
// connection of the pool, and a test database without it would pass what production refuses.
func TestEveryDriverEnforcesForeignKeys(t *testing.T) {
	ran := map[string]bool{}
	sqltest.Run(t, nil, func(t *testing.T, db *sqlstore.DB) {
		ran[string(db.Dialect())] = true
		ctx := context.Background()
		// Each of several connections held at once: the pragma must be on every one of the pool's.
		for i := range 4 {
			c, err := db.SQL().Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := c.ExecContext(ctx, `INSERT INTO sessions (id, player_id, expires_at) VALUES ($1, 'nobody', 0)`, i); err == nil {
				t.Fatalf("connection #%d accepted a session of a missing player", i)
			}
		}
	})
	if !ran["sqlite"] || !ran["postgres"] {
		t.Fatalf("Run ran on %v, want sqlite and postgres", ran)
	}
}

package sqlite

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
)

// A burst of concurrent queries must not close the pool's connections when it ends (the next
// burst would reopen them): every connection the pool opens may stay idle.
func TestABurstOfQueriesKeepsThePoolsConnectionsOpen(t *testing.T) {
	db, err := OpenPool(filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	for range 3 {
		var wg sync.WaitGroup
		conns := make(chan struct{}, maxConns)
		for range maxConns {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, err := db.Conn(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				conns <- struct{}{}
				// Hold every connection until all are taken, so the burst really needs maxConns.
				for len(conns) < maxConns {
					if err := c.PingContext(ctx); err != nil {
						t.Error(err)
						break
					}
				}
				c.Close()
			}()
		}
		wg.Wait()
	}
	st := db.Stats()
	if st.MaxIdleClosed != 0 || st.OpenConnections != maxConns {
		t.Fatalf("after three bursts: %d connections closed for lack of idle room, %d open; want 0 and %d",
			st.MaxIdleClosed, st.OpenConnections, maxConns)
	}
}

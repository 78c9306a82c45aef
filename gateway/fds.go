package gateway

import (
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// FDGuard keeps file descriptors in reserve so the server stays reachable at its descriptor
// limit. Long-lived WebSockets are what fill the table, so they stop first: an upgrade is
// refused (503 busy) once fewer than Reserve descriptors are free. Past half the reserve the
// listener sheds every new connection with a plain 503 instead of letting accept fail
// (EMFILE), which would leave clients hanging in the backlog while the server backs off.
// Between the two thresholds ordinary HTTP — /healthz, /readyz, the API — still answers.
type FDGuard struct {
	limit   int
	reserve int
	conns   atomic.Int64 // connections accepted through Listener and not yet closed
	// count returns the process's open descriptors (nil: only connections are counted).
	count func() (int, bool)

	mu       sync.Mutex
	sampled  time.Time
	others   int // descriptors that are not our connections, at the last sample
	shedding atomic.Int32
}

// NewFDGuard guards a descriptor limit (RLIMIT_NOFILE). reserve ≤ 0 takes a tenth of the
// limit, at least 32.
func NewFDGuard(limit, reserve int) *FDGuard {
	if reserve <= 0 {
		reserve = max(32, limit/10)
	}
	return &FDGuard{limit: limit, reserve: min(reserve, limit/2), count: procFDs}
}

// procFDs counts /proc/self/fd (Linux); elsewhere it reports false and only connections count.
func procFDs() (int, bool) {
	d, err := os.Open("/proc/self/fd")
	if err != nil {
		return 0, false
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return 0, false
	}
	return len(names) - 1, true // minus the directory being read
}

// Limit and Reserve are the guarded limit and the descriptors kept free.
func (g *FDGuard) Limit() int   { return g.limit }
func (g *FDGuard) Reserve() int { return g.reserve }

// open estimates the descriptors in use: the other descriptors as last sampled (at most every
// 100 ms: reading /proc costs more than an accept) plus the connections open now.
func (g *FDGuard) open() int {
	conns := int(g.conns.Load())
	if g.mu.TryLock() {
		if time.Since(g.sampled) > 100*time.Millisecond {
			if n, ok := g.count(); ok {
				g.others = max(0, n-int(g.conns.Load()))
			}
			g.sampled = time.Now()
		}
		g.mu.Unlock()
	}
	g.mu.Lock()
	others := g.others
	g.mu.Unlock()
	return others + conns
}

// free is how many descriptors are left.
func (g *FDGuard) free() int { return g.limit - g.open() }

// allowLongLived says whether a WebSocket may take a descriptor for a long time.
func (g *FDGuard) allowLongLived() bool { return g == nil || g.free() > g.reserve }

// Listener wraps ln so that its connections are counted and, near the limit, shed.
func (g *FDGuard) Listener(ln net.Listener) net.Listener { return &guardedListener{Listener: ln, g: g} }

type guardedListener struct {
	net.Listener
	g *FDGuard
}

// shedResponse is written to connections accepted in the last half of the reserve.
var shedResponse = func() []byte {
	body := `{"type":"https://trivium.dev/problems/busy","title":"Service Unavailable","status":503,"detail":"too many connections; try again shortly","code":"busy"}` + "\n"
	return []byte("HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/problem+json\r\nRetry-After: 1\r\n" +
		"Connection: close\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body)
}()

func (l *guardedListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		l.g.conns.Add(1)
		gc := &guardedConn{Conn: c, g: l.g}
		if l.g.free() > l.g.reserve/2 {
			return gc, nil
		}
		l.shed(gc)
	}
}

// shed answers 503 and closes. A few sheds linger to read the request, so the client gets the
// answer rather than a reset; the rest close at once so shedding never holds descriptors.
func (l *guardedListener) shed(c *guardedConn) {
	if l.g.shedding.Add(1) > 8 {
		l.g.shedding.Add(-1)
		_ = c.SetWriteDeadline(time.Now().Add(10 * time.Millisecond))
		_, _ = c.Write(shedResponse)
		_ = c.Close()
		return
	}
	go func() {
		defer l.g.shedding.Add(-1)
		_ = c.SetDeadline(time.Now().Add(time.Second))
		_, _ = c.Write(shedResponse)
		if tc, ok := c.Conn.(interface{ CloseWrite() error }); ok {
			_ = tc.CloseWrite()
		}
		var buf [4096]byte
		for {
			if _, err := c.Read(buf[:]); err != nil {
				break
			}
		}
		_ = c.Close()
	}()
}

type guardedConn struct {
	net.Conn
	g      *FDGuard
	closed atomic.Bool
}

func (c *guardedConn) Close() error {
	if c.closed.CompareAndSwap(false, true) {
		c.g.conns.Add(-1)
	}
	return c.Conn.Close()
}

// Command floor is the benchmarks' floor: the least a WebSocket trivia server can do, written the
// plain way with gorilla/websocket, so the load generator can drive it exactly as it drives
// Trivium and every Trivium figure can be read as a ratio to it on the same machine in the same
// minute (a noisy shared machine makes absolute figures hard to compare).
//
// It speaks just enough of Trivium's protocol for bench/loadgen: register, guest, quiz and game
// creation answer with made-up ids (no database, no hashing); a socket's bearer token is its
// player; "join" answers a tiny state frame; the host's "next" broadcasts one question frame (the
// same bytes to every player); "answer" is acked; when every player has answered, a reveal is
// broadcast. Nothing is durable, nothing is validated beyond JSON decoding, there are no limits.
// Each connection has a reader goroutine and a writer goroutine with a 1,024-frame channel, one
// write system call per frame: gorilla's chat-example shape.
//
//	TRIVIUM_ADDR=127.0.0.1:0 go run ./bench/floor
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	_ "net/http/pprof" // the load generator's GC trigger (heap?gc=1) on TRIVIUM_PPROF_ADDR
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

type room struct {
	mu       sync.Mutex
	host     string
	conns    map[*client]bool // players, host excluded
	question int
	answered int
	seq      int64
}

type server struct {
	mu    sync.Mutex
	rooms map[string]*room
	ids   atomic.Int64
}

type client struct {
	ws     *websocket.Conn
	player string
	send   chan []byte
	room   *room
}

func (s *server) id(prefix string) string { return fmt.Sprintf("%s%d", prefix, s.ids.Add(1)) }

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func bearer(r *http.Request) string {
	return strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
}

func (s *server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	account := func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		p := s.id("p")
		writeJSON(w, map[string]any{"token": p, "player": map[string]string{"id": p}})
	}
	mux.HandleFunc("POST /api/v1/auth/register", account)
	mux.HandleFunc("POST /api/v1/auth/guest", account)
	mux.HandleFunc("POST /api/v1/quizzes", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		writeJSON(w, map[string]string{"id": s.id("q")})
	})
	mux.HandleFunc("POST /api/v1/games", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		code := s.id("G")
		s.mu.Lock()
		s.rooms[code] = &room{host: bearer(r), conns: map[*client]bool{}}
		s.mu.Unlock()
		writeJSON(w, map[string]string{"code": code})
	})
	up := websocket.Upgrader{Subprotocols: []string{"trivium.v1"}, ReadBufferSize: 1024, WriteBufferSize: 1024}
	mux.HandleFunc("GET /ws", func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		c := &client{ws: ws, player: bearer(r), send: make(chan []byte, 1024)}
		go c.writer()
		s.reader(c)
	})
	return mux
}

func (c *client) writer() {
	for f := range c.send {
		if c.ws.WriteMessage(websocket.TextMessage, f) != nil {
			break
		}
	}
	c.ws.Close()
}

// push queues a frame; a full queue drops it (the floor has no slow-consumer policy to speak of).
func (c *client) push(f []byte) {
	select {
	case c.send <- f:
	default:
	}
}

type inFrame struct {
	Type string          `json:"type"`
	Ref  string          `json:"ref"`
	Data json.RawMessage `json:"data"`
}

func (s *server) reader(c *client) {
	defer func() {
		if r := c.room; r != nil {
			r.mu.Lock()
			delete(r.conns, c)
			r.mu.Unlock()
		}
		close(c.send)
	}()
	for {
		_, b, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		var f inFrame
		if json.Unmarshal(b, &f) != nil {
			continue
		}
		switch f.Type {
		case "join":
			var d struct{ Code string }
			_ = json.Unmarshal(f.Data, &d)
			s.mu.Lock()
			r := s.rooms[d.Code]
			s.mu.Unlock()
			if r == nil {
				continue
			}
			c.room = r
			r.mu.Lock()
			if c.player != r.host {
				r.conns[c] = true
			} else {
				r.conns[c] = false // the host gets broadcasts too, but does not answer
			}
			r.mu.Unlock()
			c.push([]byte(`{"type":"state","ref":` + strconv.Quote(f.Ref) + `,"data":{}}`))
		case "next":
			r := c.room
			if r == nil {
				continue
			}
			r.mu.Lock()
			r.question++
			r.answered = 0
			r.seq++
			now := time.Now().UnixMilli()
			q := []byte(fmt.Sprintf(`{"type":"question","seq":%d,"data":{"index":%d,"text":"Question?","choices":["a","b","c","d"],"deadline":%d,"timeLimitMs":120000}}`,
				r.seq, r.question-1, now+120000))
			r.broadcastLocked(q)
			r.mu.Unlock()
		case "reveal":
			if r := c.room; r != nil {
				r.mu.Lock()
				r.revealLocked()
				r.mu.Unlock()
			}
		case "answer":
			r := c.room
			if r == nil {
				continue
			}
			c.push([]byte(`{"type":"ack","ref":` + strconv.Quote(f.Ref) + `,"data":{"correct":false}}`))
			r.mu.Lock()
			r.answered++
			if r.answered == r.players() {
				r.revealLocked()
			}
			r.mu.Unlock()
		}
	}
}

func (r *room) players() int {
	n := 0
	for _, p := range r.conns {
		if p {
			n++
		}
	}
	return n
}

func (r *room) revealLocked() {
	r.seq++
	r.broadcastLocked([]byte(fmt.Sprintf(`{"type":"reveal","seq":%d,"data":{"index":%d,"answer":0}}`, r.seq, r.question-1)))
}

func (r *room) broadcastLocked(f []byte) {
	for c := range r.conns {
		c.push(f)
	}
}

func main() {
	addr := os.Getenv("TRIVIUM_ADDR")
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	if p := os.Getenv("TRIVIUM_PPROF_ADDR"); p != "" {
		go func() { _ = http.ListenAndServe(p, nil) }()
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(1)
	}
	s := &server{rooms: map[string]*room{}}
	fmt.Printf("Trivium is up: open http://%s/\n", ln.Addr())
	srv := &http.Server{Handler: s.routes(), ReadHeaderTimeout: 10 * time.Second}
	if err := srv.Serve(ln); err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(1)
	}
}

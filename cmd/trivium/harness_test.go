package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/trivium-game/trivium/internal/testwait"
	"github.com/trivium-game/trivium/services/accounts"
)

// syncBuffer is a goroutine-safe writer whose content tests can poll.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var upRE = regexp.MustCompile(`Trivium is up: open (http://\S+)/`)

// server is a real trivium serve started through run with port 0 and a temp dir.
type server struct {
	URL    string
	Data   string
	stderr *syncBuffer
	stop   context.CancelFunc
	done   chan error
}

func startServer(t testing.TB, env map[string]string) *server {
	t.Helper()
	data := env["TRIVIUM_DATA"]
	if data == "" {
		data = t.TempDir()
	}
	base := map[string]string{"TRIVIUM_ADDR": "127.0.0.1:0", "TRIVIUM_DATA": data, "TRIVIUM_LOG_LEVEL": "warn"}
	for k, v := range env {
		base[k] = v
	}
	ctx, cancel := context.WithCancel(context.Background())
	out, errOut := &syncBuffer{}, &syncBuffer{}
	s := &server{Data: data, stderr: errOut, stop: cancel, done: make(chan error, 1)}
	go func() { s.done <- run(ctx, []string{"serve"}, func(k string) string { return base[k] }, out, errOut) }()
	testwait.For(t, "the server to print its URL", 30*time.Second, func() bool {
		select {
		case err := <-s.done:
			t.Fatalf("server exited early: %v\n%s", err, errOut.String())
		default:
		}
		m := upRE.FindStringSubmatch(out.String())
		if m != nil {
			s.URL = m[1]
		}
		return m != nil
	})
	testwait.For(t, "/readyz", 10*time.Second, func() bool {
		resp, err := http.Get(s.URL + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	t.Cleanup(func() { s.Stop(t) })
	return s
}

// Stop shuts the server down gracefully and fails the test if it returned an error.
func (s *server) Stop(t testing.TB) {
	if s.stop == nil {
		return
	}
	s.stop()
	s.stop = nil
	select {
	case err := <-s.done:
		if err != nil {
			t.Errorf("server returned %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Errorf("server did not stop in 20s")
	}
}

type apiResp struct {
	Status int
	Body   []byte
	Header http.Header
}

func (r apiResp) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// call makes an API request with an optional bearer token and JSON body.
func call(t testing.TB, method, url, token string, body any, hdr ...string) apiResp {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return apiResp{Status: resp.StatusCode, Body: b, Header: resp.Header}
}

// awaitRole waits until the running server lets token GET url (refused with 403 until then): a
// role granted by the CLI, another process, shows once the server's cached player expires
// (accounts.DefaultCacheTTL).
func awaitRole(t testing.TB, url, token string) {
	t.Helper()
	testwait.For(t, "the granted role", 4*accounts.DefaultCacheTTL, every(100*time.Millisecond, func() bool {
		return call(t, "GET", url, token, nil).Status != 403
	}))
}

// every paces a condition that calls the API: it asks at most once per d (false in between), so
// a wait of seconds stays under the per-address rate limit.
func every(d time.Duration, cond func() bool) func() bool {
	var last time.Time
	return func() bool {
		if time.Since(last) < d {
			return false
		}
		last = time.Now()
		return cond()
	}
}

func expect(t testing.TB, r apiResp, status int) apiResp {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	return r
}

type account struct {
	Token  string
	ID     string
	Name   string
	client *wsClient
}

func register(t testing.TB, s *server, name string) *account {
	t.Helper()
	var out struct {
		Token  string
		Player struct{ ID, DisplayName string }
	}
	expect(t, call(t, "POST", s.URL+"/api/v1/auth/register", "", map[string]string{"username": name, "password": "correct horse battery"}), 201).decode(t, &out)
	return &account{Token: out.Token, ID: out.Player.ID, Name: name}
}

func guest(t testing.TB, s *server, nick string) *account {
	t.Helper()
	var out struct {
		Token  string
		Player struct {
			ID    string
			Guest bool
		}
	}
	expect(t, call(t, "POST", s.URL+"/api/v1/auth/guest", "", map[string]string{"nickname": nick}), 201).decode(t, &out)
	if !out.Player.Guest {
		t.Fatalf("guest player not marked guest")
	}
	return &account{Token: out.Token, ID: out.Player.ID, Name: nick}
}

// frame is a received WebSocket message.
type frame struct {
	Type string          `json:"type"`
	Ref  string          `json:"ref"`
	Seq  int64           `json:"seq"`
	Data json.RawMessage `json:"data"`
}

// wsClient reads frames in the background into a log that tests wait on.
type wsClient struct {
	t      testing.TB
	ws     *websocket.Conn
	mu     sync.Mutex
	frames []frame
	closed error
	next   int // read cursor for expectNext
	ref    int
	wmu    sync.Mutex
}

func dial(t testing.TB, s *server, a *account) *wsClient {
	t.Helper()
	return dialAt(t, s, a, s.URL)
}

// dialAt takes a ticket from s and opens the socket at base (a gateway behind s, say), with s's
// origin.
func dialAt(t testing.TB, s *server, a *account, base string) *wsClient {
	t.Helper()
	var tk struct{ Ticket string }
	expect(t, call(t, "POST", s.URL+"/api/v1/ws-tickets", a.Token, nil), 201).decode(t, &tk)
	d := websocket.Dialer{Subprotocols: []string{"trivium.v1"}}
	ws, resp, err := d.Dial(strings.Replace(base, "http", "ws", 1)+"/ws?ticket="+tk.Ticket, http.Header{"Origin": {s.URL}})
	if err != nil {
		t.Fatalf("dial: %v (%v)", err, resp)
	}
	if ws.Subprotocol() != "trivium.v1" {
		t.Fatalf("subprotocol %q", ws.Subprotocol())
	}
	c := &wsClient{t: t, ws: ws}
	go func() {
		for {
			var f frame
			if err := ws.ReadJSON(&f); err != nil {
				c.mu.Lock()
				c.closed = err
				c.mu.Unlock()
				return
			}
			c.mu.Lock()
			c.frames = append(c.frames, f)
			c.mu.Unlock()
		}
	}()
	t.Cleanup(func() { ws.Close() })
	a.client = c
	return c
}

func (c *wsClient) send(typ string, data any) string {
	c.t.Helper()
	ref, err := c.trySend(typ, data)
	if err != nil {
		c.t.Fatalf("send %s: %v", typ, err)
	}
	return ref
}

// trySend is send for a socket that may be gone (its gateway killed).
func (c *wsClient) trySend(typ string, data any) (string, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.ref++
	ref := fmt.Sprintf("r%d", c.ref)
	return ref, c.ws.WriteJSON(map[string]any{"type": typ, "ref": ref, "data": data})
}

// waitFrame waits for the first frame after the cursor matching typ (and ref when set) and moves
// the cursor past it.
func (c *wsClient) waitFrame(typ, ref string) frame {
	c.t.Helper()
	var got frame
	testwait.For(c.t, "frame "+typ+" "+ref, 15*time.Second, func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		for i := c.next; i < len(c.frames); i++ {
			f := c.frames[i]
			if f.Type == typ && (ref == "" || f.Ref == ref) {
				got, c.next = f, i+1
				return true
			}
		}
		if c.closed != nil {
			c.t.Fatalf("connection closed while waiting for %s: %v", typ, c.closed)
		}
		return false
	})
	return got
}

// reply waits for the ack or error answering ref.
func (c *wsClient) reply(ref string) frame {
	c.t.Helper()
	var got frame
	testwait.For(c.t, "reply to "+ref, 15*time.Second, func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, f := range c.frames {
			if f.Ref == ref && (f.Type == "ack" || f.Type == "error" || f.Type == "state") {
				got = f
				return true
			}
		}
		return false
	})
	return got
}

func (c *wsClient) closeErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// replyOrClosed waits for the ack, error or state answering ref; false when the socket closed
// (or timeout passed) first.
func (c *wsClient) replyOrClosed(ref string, timeout time.Duration) (frame, bool) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	poll := time.NewTicker(5 * time.Millisecond)
	defer poll.Stop()
	for {
		c.mu.Lock()
		for _, f := range c.frames {
			if f.Ref == ref && (f.Type == "ack" || f.Type == "error" || f.Type == "state") {
				c.mu.Unlock()
				return f, true
			}
		}
		closed := c.closed != nil
		c.mu.Unlock()
		if closed {
			return frame{}, false
		}
		select {
		case <-deadline.C:
			return frame{}, false
		case <-poll.C:
		}
	}
}

// lastState decodes the newest state frame into v; false when there is none.
func (c *wsClient) lastState(v any) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := len(c.frames) - 1; i >= 0; i-- {
		if c.frames[i].Type == "state" {
			return json.Unmarshal(c.frames[i].Data, v) == nil
		}
	}
	return false
}

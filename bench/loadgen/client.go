package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

var httpClient = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 256}}

func post(ctx context.Context, url, token string, body any, out any) error {
	b, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(ctx, "POST", url, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		return fmt.Errorf("POST %s: %d %s", url, resp.StatusCode, data)
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

type auth struct {
	Token  string
	Player struct{ ID string }
}

// setupHost registers a host account and a public casual quiz of n questions.
func setupHost(ctx context.Context, url string, i, questions int, mode string) (tok, quizID string, err error) {
	var a auth
	name := fmt.Sprintf("bench_host_%d_%d", time.Now().UnixNano()%1e9, i)
	if err := post(ctx, url+"/api/v1/auth/register", "", map[string]string{"username": name, "password": "bench password 123"}, &a); err != nil {
		return "", "", err
	}
	qs := make([]map[string]any, questions)
	for j := range qs {
		qs[j] = map[string]any{"text": fmt.Sprintf("Question %d?", j), "kind": "choice", "choices": []string{"a", "b", "c", "d"}, "answer": j % 4, "timeLimitSec": 120}
	}
	var q struct{ ID string }
	if err := post(ctx, url+"/api/v1/quizzes", a.Token, map[string]any{"title": "Bench", "mode": mode, "scoring": "speed", "public": true, "questions": qs}, &q); err != nil {
		return "", "", err
	}
	return a.Token, q.ID, nil
}

func createGame(ctx context.Context, url, token, quizID string) (string, error) {
	var g struct{ Code string }
	err := post(ctx, url+"/api/v1/games", token, map[string]string{"quizId": quizID}, &g)
	return g.Code, err
}

// frame is the part of a server frame the bots read.
type frame struct {
	Type string          `json:"type"`
	Ref  string          `json:"ref"`
	Data json.RawMessage `json:"data"`
}

// bot is one WebSocket client. Its reader calls onFrame for every frame, with the receive time.
type bot struct {
	ws      *websocket.Conn
	wmu     sync.Mutex
	ref     atomic.Int64
	onFrame func(f frame, at time.Time)
	closed  chan struct{}
}

// dialBot opens a socket from the given loopback source address (to spread ephemeral ports).
func dialBot(ctx context.Context, url, token, source string, onFrame func(frame, time.Time)) (*bot, error) {
	d := websocket.Dialer{
		Subprotocols: []string{"trivium.v1"}, HandshakeTimeout: 2 * time.Minute,
		ReadBufferSize: 512, WriteBufferSize: 512,
		NetDialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(source)}, Timeout: 30 * time.Second}).DialContext,
	}
	ws, _, err := d.DialContext(ctx, strings.Replace(url, "http", "ws", 1)+"/ws", http.Header{"Authorization": {"Bearer " + token}})
	if err != nil {
		return nil, err
	}
	b := &bot{ws: ws, onFrame: onFrame, closed: make(chan struct{})}
	go b.read()
	return b, nil
}

func (b *bot) read() {
	defer close(b.closed)
	for {
		_, data, err := b.ws.ReadMessage()
		if err != nil {
			return
		}
		at := time.Now()
		var f frame
		if json.Unmarshal(data, &f) == nil && b.onFrame != nil {
			b.onFrame(f, at)
		}
	}
}

// send writes a frame and returns its ref.
func (b *bot) send(typ string, data any) (string, error) {
	return b.sendRef(typ, data, nil)
}

// sendRef is send calling before(ref) ahead of the write, so that whoever waits for the reply
// has recorded it before the reply can arrive.
func (b *bot) sendRef(typ string, data any, before func(ref string)) (string, error) {
	ref := fmt.Sprint(b.ref.Add(1))
	if before != nil {
		before(ref)
	}
	msg, _ := json.Marshal(map[string]any{"type": typ, "ref": ref, "data": data})
	b.wmu.Lock()
	defer b.wmu.Unlock()
	_ = b.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return ref, b.ws.WriteMessage(websocket.TextMessage, msg)
}

func (b *bot) close() { b.ws.Close() }

// sourceFor spreads connection i over 127.0.0.base…127.0.0.(base+n-1).
func sourceFor(i, base, n int) string { return fmt.Sprintf("127.0.0.%d", base+i%n) }

// guests creates n guest tokens concurrently.
func guests(ctx context.Context, url string, n, concurrency int) ([]string, error) {
	toks := make([]string, n)
	errs := make(chan error, 1)
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				var a auth
				if err := post(ctx, url+"/api/v1/auth/guest", "", map[string]string{"nickname": fmt.Sprint("p", i)}, &a); err != nil {
					select {
					case errs <- err:
					default:
					}
					return
				}
				toks[i] = a.Token
			}
		}()
	}
	wg.Wait()
	select {
	case err := <-errs:
		return nil, err
	default:
		return toks, nil
	}
}

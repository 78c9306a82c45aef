package main

import (
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/trivium-game/trivium/internal/testwait"
)

// parallel fires n copies of req at once and returns every answer.
func parallel(t *testing.T, n int, req func(i int) apiResp) []apiResp {
	t.Helper()
	out := make([]apiResp, n)
	var start, wg sync.WaitGroup
	start.Add(1)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start.Wait()
			out[i] = req(i)
		}()
	}
	start.Done()
	wg.Wait()
	return out
}

// byStatus counts answers per status and checks that every refusal is a problem document with
// the wanted code and a Retry-After.
func byStatus(t *testing.T, rs []apiResp, refusal int, code string) map[int]int {
	t.Helper()
	n := map[int]int{}
	for _, r := range rs {
		n[r.Status]++
		if r.Status != refusal {
			continue
		}
		var p problemDoc
		if err := json.Unmarshal(r.Body, &p); err != nil || p.Code != code || r.Header.Get("Retry-After") == "" ||
			r.Header.Get("Content-Type") != "application/problem+json" {
			t.Fatalf("refusal %d: %s (Retry-After %q), want problem code %s with Retry-After", r.Status, r.Body, r.Header.Get("Retry-After"), code)
		}
	}
	return n
}

func TestARegistrationFloodFromOneAddressIsLimitedToTheAuthBurst(t *testing.T) {
	// The hashing queue may wait long here: this test is about the address limit, and on a loaded
	// machine (or under -race) five hashes can take longer than the default 2 s wait (503 busy).
	s := startServer(t, map[string]string{"TRIVIUM_AUTH_BURST": "5", "TRIVIUM_AUTH_RATE": "0.1", "TRIVIUM_HASH_WAIT": "60s"})
	rs := parallel(t, 40, func(i int) apiResp {
		return call(t, "POST", s.URL+"/api/v1/auth/register", "", map[string]string{"username": fmt.Sprintf("flood%d", i), "password": "correct horse battery"})
	})
	n := byStatus(t, rs, 429, "rate_limited")
	if n[201] != 5 || n[429] != 35 {
		t.Fatalf("answers %v, want 5×201 and 35×429", n)
	}
	// The rest of the API is limited separately.
	expect(t, call(t, "GET", s.URL+"/api/v1/quizzes", "", nil), 200)
}

func TestPasswordHashesPastTheQueueAreRefusedWith503AndRetryAfter(t *testing.T) {
	s := startServer(t, map[string]string{"TRIVIUM_AUTH_BURST": "1000", "TRIVIUM_HASH_CONCURRENCY": "1", "TRIVIUM_HASH_QUEUE": "1"})
	rs := parallel(t, 40, func(i int) apiResp {
		return call(t, "POST", s.URL+"/api/v1/auth/register", "", map[string]string{"username": fmt.Sprintf("queue%d", i), "password": "correct horse battery"})
	})
	n := byStatus(t, rs, 503, "busy")
	if n[201] < 1 || n[503] < 1 || n[201]+n[503] != 40 {
		t.Fatalf("answers %v, want some 201 and the rest 503 busy", n)
	}
}

func TestAClassroomBehindOneNATLogsInAndAGuesserDoesNotLockTheOwnerOut(t *testing.T) {
	// Behind one appending proxy: X-Forwarded-For is "whatever the client sent, client".
	s := startServer(t, map[string]string{"TRIVIUM_TRUST_PROXY": "1"})
	const class = 30
	for i := range class {
		expect(t, call(t, "POST", s.URL+"/api/v1/auth/register", "", map[string]string{"username": fmt.Sprintf("pupil%02d", i), "password": "correct horse battery"},
			"X-Forwarded-For", fmt.Sprintf("198.51.100.%d", i)), 201)
	}
	login := func(name, password, xff string) apiResp {
		return call(t, "POST", s.URL+"/api/v1/auth/login", "", map[string]string{"username": name, "password": password}, "X-Forwarded-For", xff)
	}
	for i := range class {
		expect(t, login(fmt.Sprintf("pupil%02d", i), "correct horse battery", "192.0.2.1"), 200)
	}
	// A stranger guesses pupil07's password from address A, rotating a spoofed first hop.
	for i := range 5 {
		expect(t, login("pupil07", "a guess", fmt.Sprintf("10.%d.0.1, 203.0.113.66", i)), 401)
	}
	r := expect(t, login("pupil07", "another guess", "10.99.0.1, 203.0.113.66"), 429)
	if r.Header.Get("Retry-After") == "" {
		t.Fatal("429 without Retry-After")
	}
	// The owner on address B is not locked out.
	expect(t, login("pupil07", "correct horse battery", "192.0.2.99"), 200)
}

func TestSocketsPastThePerPlayerAndPerAddressCapsAreRefusedWith429(t *testing.T) {
	s := startServer(t, map[string]string{"TRIVIUM_WS_PER_ACCOUNT": "3", "TRIVIUM_WS_PER_ADDRESS": "5"})
	a := guest(t, s, "Hoarder")
	var open []*wsClient
	for range 3 {
		open = append(open, dial(t, s, &account{Token: a.Token}))
	}
	refused := func(tok string) problemDoc {
		t.Helper()
		var tk struct{ Ticket string }
		expect(t, call(t, "POST", s.URL+"/api/v1/ws-tickets", tok, nil), 201).decode(t, &tk)
		d := websocket.Dialer{Subprotocols: []string{"trivium.v1"}}
		ws, resp, err := d.Dial(strings.Replace(s.URL, "http", "ws", 1)+"/ws?ticket="+tk.Ticket, nil)
		if err == nil {
			ws.Close()
			t.Fatal("upgrade past the cap was accepted")
		}
		if resp == nil || resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("upgrade past the cap: %v %v, want 429 with Retry-After", err, resp)
		}
		var p problemDoc
		if err := json.NewDecoder(resp.Body).Decode(&p); err != nil || p.Code != "rate_limited" {
			t.Fatalf("refusal body: %v %+v", err, p)
		}
		return p
	}
	if p := refused(a.Token); !strings.Contains(p.Detail, "per player") {
		t.Fatalf("per-player refusal: %+v", p)
	}
	// Another player from the same address may open two more; the sixth socket is refused.
	b := guest(t, s, "Sibling")
	dial(t, s, &account{Token: b.Token})
	dial(t, s, &account{Token: b.Token})
	if p := refused(b.Token); !strings.Contains(p.Detail, "per address") {
		t.Fatalf("per-address refusal: %+v", p)
	}
	// Closing a socket frees its slot.
	open[0].ws.Close()
	testwait.For(t, "a freed slot", 10*time.Second, func() bool {
		var tk struct{ Ticket string }
		expect(t, call(t, "POST", s.URL+"/api/v1/ws-tickets", a.Token, nil), 201).decode(t, &tk)
		ws, _, err := websocket.DefaultDialer.Dial(strings.Replace(s.URL, "http", "ws", 1)+"/ws?ticket="+tk.Ticket, nil)
		if err == nil {
			ws.Close()
		}
		return err == nil
	})
}

func TestAPingFloodIsClosedWithPolicyViolation(t *testing.T) {
	s := startServer(t, nil)
	c := dial(t, s, guest(t, s, "Pinger"))
	for range 500 {
		if c.ws.WriteControl(websocket.PingMessage, []byte("x"), time.Now().Add(time.Second)) != nil {
			break
		}
	}
	testwait.For(t, "the flood to be closed", 10*time.Second, func() bool { return c.closeErr() != nil })
	if !websocket.IsCloseError(c.closeErr(), websocket.ClosePolicyViolation) {
		t.Fatalf("ping flood closed with %v, want 1008", c.closeErr())
	}
}

func TestLogoutClosesTheSessionsSocketsAndOnlyThose(t *testing.T) {
	s := startServer(t, nil)
	a := register(t, s, "leaving")
	phone := dial(t, s, &account{Token: a.Token})
	var other struct{ Token string }
	expect(t, call(t, "POST", s.URL+"/api/v1/auth/login", "", map[string]string{"username": "leaving", "password": "correct horse battery"}), 200).decode(t, &other)
	laptop := dial(t, s, &account{Token: other.Token})
	expect(t, call(t, "POST", s.URL+"/api/v1/auth/logout", a.Token, nil), 204)
	testwait.For(t, "the logged-out socket to close", 10*time.Second, func() bool { return phone.closeErr() != nil })
	if !websocket.IsCloseError(phone.closeErr(), 4401) {
		t.Fatalf("closed with %v, want 4401 session revoked", phone.closeErr())
	}
	// The other session's socket still works.
	laptop.waitFrame("pong", laptop.send("ping", struct{}{}))
}

func TestChatAndNicknamesLoseInvisibleAndReorderingCharacters(t *testing.T) {
	s := startServer(t, nil)
	host := register(t, s, "cleanhost")
	code := createGame(t, s, host, createQuiz(t, s, host, "casual", []map[string]any{
		{"text": "2+2?", "kind": "choice", "choices": []string{"3", "4"}, "answer": 1},
	}))
	if r := call(t, "POST", s.URL+"/api/v1/auth/guest", "", map[string]string{"nickname": "evil\u202Eeman"}); r.Status != 422 {
		t.Fatalf("nickname with a bidi override: %d %s, want 422", r.Status, r.Body)
	}
	p := guest(t, s, "Pat")
	joinAll(t, s, code, host, p)
	ref := p.client.send("chat", map[string]string{"text": "hi\u202E\u200B there\x1b[2J\U000E0041"})
	p.client.reply(ref)
	f := host.client.waitFrame("chat", "")
	var d struct{ Text string }
	if err := json.Unmarshal(f.Data, &d); err != nil || d.Text != "hi there[2J" {
		t.Fatalf("chat text %q (%v), want %q", d.Text, err, "hi there[2J")
	}
}

func TestMetricsAreOffThePublicAddressUnlessATokenIsGiven(t *testing.T) {
	admin := freeAddr(t)
	s := startServer(t, map[string]string{"TRIVIUM_PPROF_ADDR": admin})
	expect(t, call(t, "GET", s.URL+"/metrics", "", nil), 404)
	r := expect(t, call(t, "GET", "http://"+admin+"/metrics", "", nil), 200)
	if !strings.Contains(string(r.Body), "trivium_ws_connections") {
		t.Fatalf("admin /metrics: %.200s", r.Body)
	}
	tok := startServer(t, map[string]string{"TRIVIUM_METRICS_TOKEN": "s3cret"})
	expect(t, call(t, "GET", tok.URL+"/metrics", "", nil), 401)
	expect(t, call(t, "GET", tok.URL+"/metrics", "wrong", nil), 401)
	expect(t, call(t, "GET", tok.URL+"/metrics", "s3cret", nil), 200)
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

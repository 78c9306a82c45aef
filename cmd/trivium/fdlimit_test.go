//go:build linux

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/trivium-game/trivium/internal/testwait"
)

// TestMain lets a test start this binary as a real `trivium serve` in a child process with
// process-wide settings a test cannot change in its own process (the descriptor limit).
func TestMain(m *testing.M) {
	if os.Getenv("TRIVIUM_TEST_CHILD") == "serve" {
		os.Exit(childServe())
	}
	os.Exit(m.Run())
}

func childServe() int {
	soft, _ := strconv.ParseUint(os.Getenv("TRIVIUM_TEST_NOFILE_SOFT"), 10, 64)
	hard, _ := strconv.ParseUint(os.Getenv("TRIVIUM_TEST_NOFILE_HARD"), 10, 64)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: soft, Max: hard}); err != nil {
		fmt.Fprintln(os.Stderr, "setrlimit:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	if err := run(ctx, []string{"serve"}, os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "trivium:", err)
		return 1
	}
	return 0
}

func TestAtTheDescriptorLimitSocketsAreRefusedAndHealthStillAnswers(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "TRIVIUM_TEST_CHILD=serve", "TRIVIUM_TEST_NOFILE_SOFT=128", "TRIVIUM_TEST_NOFILE_HARD=256",
		"TRIVIUM_ADDR=127.0.0.1:0", "TRIVIUM_DATA="+t.TempDir(), "TRIVIUM_LOG_LEVEL=info", "TRIVIUM_SEED=0",
		"TRIVIUM_WS_PER_ACCOUNT=100000", "TRIVIUM_WS_PER_ADDRESS=100000")
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stdout := &syncBuffer{}
	exited := make(chan error, 1)
	go func() { _, _ = io.Copy(stdout, out); exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			t.Error("the server did not stop on SIGTERM")
		}
	})
	var url string
	testwait.For(t, "the child server's URL", 30*time.Second, func() bool {
		if m := upRE.FindStringSubmatch(stdout.String()); m != nil {
			url = m[1]
		}
		return url != ""
	})
	// It raised its soft limit (128) to the hard one (256) and guards that.
	if !strings.Contains(stderr.String(), `"msg":"descriptor limit","limit":256`) {
		t.Fatalf("no descriptor limit of 256 in the log:\n%s", stderr.String())
	}
	get := func(path string) int {
		c := &http.Client{Timeout: 5 * time.Second}
		resp, err := c.Get(url + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	g := guest(t, &server{URL: url}, "Hoarder")

	// One token opens sockets until the server refuses: 503 busy, well before the limit.
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	wsURL := strings.Replace(url, "http", "ws", 1) + "/ws"
	var socks []*websocket.Conn
	t.Cleanup(func() {
		for _, s := range socks {
			s.Close()
		}
	})
	for {
		ws, resp, err := d.Dial(wsURL, http.Header{"Authorization": {"Bearer " + g.Token}})
		if err == nil {
			socks = append(socks, ws)
			if len(socks) > 256 {
				t.Fatal("more sockets than descriptors were accepted")
			}
			continue
		}
		if resp == nil {
			t.Fatalf("socket %d: %v (no HTTP answer: the server ran out of descriptors)", len(socks)+1, err)
		}
		var p problemDoc
		_ = json.NewDecoder(resp.Body).Decode(&p)
		if resp.StatusCode != 503 || p.Code != "busy" || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("socket %d refused with %d %+v, want 503 busy with Retry-After", len(socks)+1, resp.StatusCode, p)
		}
		break
	}
	if len(socks) < 100 {
		t.Fatalf("only %d sockets before the reserve", len(socks))
	}
	t.Logf("%d sockets accepted under a limit of 256", len(socks))
	for _, path := range []string{"/healthz", "/readyz", "/api/v1/quizzes"} {
		if st := get(path); st != 200 {
			t.Fatalf("%s with the socket table full: %d", path, st)
		}
	}
	expect(t, call(t, "POST", url+"/api/v1/auth/guest", "", map[string]string{"nickname": "Latecomer"}), 201)

	// Plain connections past half the reserve are shed with a 503, never left hanging.
	var held []net.Conn
	t.Cleanup(func() {
		for _, c := range held {
			c.Close()
		}
	})
	addr := strings.TrimPrefix(url, "http://")
	shed := false
	for !shed {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
		if len(held) > 256 {
			t.Fatal("no connection was shed")
		}
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("connection %d got no answer: %v", len(held), err)
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		switch resp.StatusCode {
		case 200:
		case 503:
			if !strings.Contains(string(body), `"code":"busy"`) || resp.Header.Get("Retry-After") == "" {
				t.Fatalf("shed answer: %s", body)
			}
			shed = true
		default:
			t.Fatalf("connection %d: %d %s", len(held), resp.StatusCode, body)
		}
	}
	// Once connections close, everything answers again.
	for _, c := range held {
		c.Close()
	}
	held = nil
	for _, s := range socks[:len(socks)/2] {
		s.Close()
	}
	socks = socks[len(socks)/2:]
	testwait.For(t, "health after the load went", 10*time.Second, func() bool { return get("/healthz") == 200 })
	testwait.For(t, "a socket after half were closed", 10*time.Second, func() bool {
		ws, _, err := d.Dial(wsURL, http.Header{"Authorization": {"Bearer " + g.Token}})
		if err == nil {
			socks = append(socks, ws)
		}
		return err == nil
	})
}

package main

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/trivium-game/trivium/gateway"
	"github.com/trivium-game/trivium/moderation"
)

func parseEnv(t *testing.T, env map[string]string, args ...string) (*Config, error) {
	t.Helper()
	c, _, err := parseServe(args, func(k string) string { return env[k] }, &bytes.Buffer{})
	return c, err
}

// serve reads its settings once, into types: the defaults of the options table, an environment
// variable over a default and a flag over both.
func TestServeSettingsAreTypedOnceFromTheOptionsTable(t *testing.T) {
	c, err := parseEnv(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := Config{Addr: "127.0.0.1:8080", Data: "./data", Bus: "embedded", Secrets: "file", Leaderboard: "memory",
		Roles: roles{"all": true}, Moderation: "local", ModerationPolicy: moderation.Policy{ReviewAt: 50, RejectAt: 90},
		ImageLimits: moderation.Limits{MaxDecodedBytes: 96 << 20, MaxJPEGScans: 100}, ImageStepBudget: 10 * time.Second,
		GameLog: true, GameLogRetention: 168 * time.Hour, MaxGamesPerHost: 5, GameLease: 10 * time.Second,
		MaxAttempts: 6, RetryBackoff: []time.Duration{100 * time.Millisecond, 500 * time.Millisecond, 2 * time.Second, 10 * time.Second, 30 * time.Second},
		LogFormat: "json", APIRate: 50, APIBurst: 200, AuthRate: 1, AuthBurst: 30, HashQueue: 32, HashWait: 2 * time.Second,
		WSPerAccount: 10, WSPerAddress: 200, Seed: true, PushContact: "mailto:admin@localhost", ShutdownTimeout: 10 * time.Second}
	if !reflect.DeepEqual(*c, want) {
		t.Fatalf("defaults:\n got %+v\nwant %+v", *c, want)
	}

	c, err = parseEnv(t, map[string]string{"TRIVIUM_ROLES": "gateway, notifier", "TRIVIUM_API_RATE": "2.5", "TRIVIUM_TRUST_PROXY": "1",
		"TRIVIUM_ALLOWED_ORIGINS": "https://a.example, https://b.example", "TRIVIUM_HASH_WAIT": "3s", "TRIVIUM_WS_PER_ACCOUNT": "4"},
		"--ws-per-account", "7", "--log-level", "debug")
	if err != nil {
		t.Fatal(err)
	}
	proxies, _ := gateway.ParseTrustedProxies("1")
	if !c.Roles.on("gateway") || !c.Roles.on("notifier") || c.Roles.on("api") || c.APIRate != 2.5 || !reflect.DeepEqual(c.TrustProxy, proxies) ||
		!reflect.DeepEqual(c.AllowedOrigins, []string{"https://a.example", "https://b.example"}) || c.HashWait != 3*time.Second ||
		c.WSPerAccount != 7 || c.LogLevel.String() != "DEBUG" {
		t.Fatalf("configured: %+v", *c)
	}
}

// A value serve cannot use stops it before anything is opened, with a message naming the setting.
func TestServeRefusesEachUnusableSettingNamingIt(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		name string
	}{
		{map[string]string{"TRIVIUM_LOG_LEVEL": "chatty"}, "TRIVIUM_LOG_LEVEL"},
		{map[string]string{"TRIVIUM_ROLES": ","}, "TRIVIUM_ROLES"},
		{map[string]string{"TRIVIUM_ROLES": "api,gateway"}, "TRIVIUM_LEADERBOARD"},
		{map[string]string{"TRIVIUM_API_RATE": "0"}, "TRIVIUM_API_RATE"},
		{map[string]string{"TRIVIUM_AUTH_BURST": "many"}, "TRIVIUM_AUTH_BURST"},
		{map[string]string{"TRIVIUM_WS_PER_ADDRESS": "0"}, "TRIVIUM_WS_PER_ADDRESS"},
		{map[string]string{"TRIVIUM_FD_RESERVE": "-1"}, "TRIVIUM_FD_RESERVE"},
		{map[string]string{"TRIVIUM_HASH_WAIT": "0s"}, "TRIVIUM_HASH_WAIT"},
		{map[string]string{"TRIVIUM_TRUST_PROXY": "somewhere"}, "TRIVIUM_TRUST_PROXY"},
		{map[string]string{"TRIVIUM_SHUTDOWN_TIMEOUT": "soon"}, "TRIVIUM_SHUTDOWN_TIMEOUT"},
		{map[string]string{"TRIVIUM_MAX_GAMES_PER_HOST": "0"}, "TRIVIUM_MAX_GAMES_PER_HOST"},
		{map[string]string{"TRIVIUM_GAME_LOG_RETENTION": "5m"}, "TRIVIUM_GAME_LOG_RETENTION"},
		{map[string]string{"TRIVIUM_GAME_LEASE": "100ms"}, "TRIVIUM_GAME_LEASE"},
		{map[string]string{"TRIVIUM_GAME_LOG": "0", "TRIVIUM_BUS": "nats://127.0.0.1:4222"}, "TRIVIUM_GAME_LOG"},
		{map[string]string{"TRIVIUM_IMAGE_WORKERS": "-2"}, "TRIVIUM_IMAGE_WORKERS"},
		{map[string]string{"TRIVIUM_MODERATION_REVIEW_AT": "95"}, "TRIVIUM_MODERATION_REVIEW_AT"},
		{map[string]string{"TRIVIUM_MAX_ATTEMPTS": "0"}, "TRIVIUM_MAX_ATTEMPTS"},
		{map[string]string{"TRIVIUM_RETRY_BACKOFF": "fast"}, "TRIVIUM_RETRY_BACKOFF"},
		{map[string]string{"TRIVIUM_PUSH_CONTACT": "admin"}, "TRIVIUM_PUSH_CONTACT"},
	} {
		if _, err := parseEnv(t, tc.env); err == nil || !strings.Contains(err.Error(), tc.name) {
			t.Errorf("%v: err %v, want a refusal naming %s", tc.env, err, tc.name)
		}
	}
	// Without the gateway role no game runs here, so the game log's rule does not apply.
	if _, err := parseEnv(t, map[string]string{"TRIVIUM_GAME_LOG": "0", "TRIVIUM_BUS": "nats://127.0.0.1:4222", "TRIVIUM_ROLES": "moderation"}); err != nil {
		t.Errorf("a moderation process without the game log: %v", err)
	}
}

// Components start in order and stop in reverse; when one fails to start, the ones already
// running are stopped and the rest never start.
func TestComponentsStartInOrderAndStopInReverse(t *testing.T) {
	var trail []string
	part := func(name string, startErr error) component {
		return component{name: name,
			start: func(context.Context) error { trail = append(trail, "start "+name); return startErr },
			stop:  func(context.Context) error { trail = append(trail, "stop "+name); return nil },
		}
	}
	log := newLogger(0, "json", &bytes.Buffer{})
	ctx, cancel := context.WithCancel(context.Background())
	ready := false
	err := runComponents(ctx, log, time.Second, nil, func() { ready = true; cancel() }, part("a", nil), part("b", nil), part("c", nil))
	if want := []string{"start a", "start b", "start c", "stop c", "stop b", "stop a"}; err != nil || !ready || !reflect.DeepEqual(trail, want) {
		t.Fatalf("err %v ready %v trail %v, want %v", err, ready, trail, want)
	}

	trail, ready = nil, false
	boom := errors.New("boom")
	err = runComponents(context.Background(), log, time.Second, nil, func() { ready = true }, part("a", nil), part("b", boom), part("c", nil))
	if want := []string{"start a", "start b", "stop a"}; !errors.Is(err, boom) || !strings.Contains(err.Error(), "b:") || ready || !reflect.DeepEqual(trail, want) {
		t.Fatalf("err %v ready %v trail %v, want %v", err, ready, trail, want)
	}

	// A part that fails while running ends the server with its error.
	trail = nil
	failed := make(chan error, 1)
	failed <- boom
	err = runComponents(context.Background(), log, time.Second, failed, func() {}, part("a", nil))
	if want := []string{"start a", "stop a"}; !errors.Is(err, boom) || !reflect.DeepEqual(trail, want) {
		t.Fatalf("err %v trail %v, want %v", err, trail, want)
	}
}

// A worker runs until its component stops, and stop waits for it to return.
func TestAWorkerRunsUntilItsComponentStops(t *testing.T) {
	returned := make(chan struct{})
	w := worker(newLogger(0, "json", &bytes.Buffer{}), "w", func(ctx context.Context) error {
		<-ctx.Done()
		close(returned)
		return nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	if err := w.start(ctx); err != nil {
		t.Fatal(err)
	}
	cancel() // the start context ending (serve told to stop) is not the worker's stop
	select {
	case <-returned:
		t.Fatal("the worker stopped with the start context; it must run until stop")
	default:
	}
	if err := w.stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-returned:
	default:
		t.Fatal("stop returned before the worker did")
	}
}

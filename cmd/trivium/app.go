package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	awsssm "github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/trivium-game/trivium/services"
	"github.com/trivium-game/trivium/services/natsbus"
	"github.com/trivium-game/trivium/services/postgres"
	"github.com/trivium-game/trivium/services/secrets"
	ssmstore "github.com/trivium-game/trivium/services/secrets/ssm"
	"github.com/trivium-game/trivium/services/sqlite"
	"github.com/trivium-game/trivium/services/sqlstore"
)

// app is the opened backing services: the one place drivers are chosen from URLs.
type app struct {
	s       settings
	log     *slog.Logger
	db      *sqlstore.DB
	bus     *natsbus.Bus
	secrets secrets.Store
	closers []func() error
}

func (a *app) close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		if err := a.closers[i](); err != nil {
			a.log.Warn("close", "err", err)
		}
	}
}

func newLogger(s settings, w io.Writer) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(s["log-level"])); err != nil {
		return nil, fmt.Errorf("TRIVIUM_LOG_LEVEL: %w (use debug, info, warn or error)", err)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	if s["log-format"] == "text" {
		return slog.New(slog.NewTextHandler(w, opts)), nil
	}
	return slog.New(slog.NewJSONHandler(w, opts)), nil
}

// open opens storage (and the bus when withBus) as the settings say.
func open(ctx context.Context, s settings, log *slog.Logger, withBus bool) (*app, error) {
	a := &app{s: s, log: log}
	var err error
	data := s["data"]
	if err := os.MkdirAll(data, 0o700); err != nil {
		return nil, fmt.Errorf("data dir %s: %w", data, err)
	}
	if a.secrets, err = openSecrets(ctx, s, data); err != nil {
		return nil, err
	}
	dbURL := s["db"]
	if dbURL == "" {
		dbURL = "sqlite:" + filepath.Join(data, "trivium.db")
	}
	switch {
	case strings.HasPrefix(dbURL, "sqlite:"):
		a.db, err = sqlite.Open(ctx, strings.TrimPrefix(dbURL, "sqlite:"), time.Now)
	case strings.HasPrefix(dbURL, "postgres://"), strings.HasPrefix(dbURL, "postgresql://"):
		a.db, err = postgres.Open(ctx, dbURL, time.Now)
	default:
		err = fmt.Errorf("TRIVIUM_DB %q: use sqlite:PATH or postgres://…", dbURL)
	}
	if err != nil {
		return nil, err
	}
	a.closers = append(a.closers, a.db.Close)
	if !withBus {
		return a, nil
	}
	busURL := s["bus"]
	cfg := natsbus.Config{Logger: log}
	switch {
	case busURL == "embedded":
		// One process at a time may own the embedded JetStream store: two would corrupt it.
		var unlock func() error
		if unlock, err = lockDir(filepath.Join(data, "nats.lock")); err != nil {
			break
		}
		a.closers = append(a.closers, unlock)
		a.bus, err = natsbus.OpenEmbedded(ctx, filepath.Join(data, "nats"), cfg)
	case strings.HasPrefix(busURL, "nats://"):
		a.bus, err = natsbus.Open(ctx, busURL, cfg)
	default:
		err = fmt.Errorf("TRIVIUM_BUS %q: use embedded or nats://host:port", busURL)
	}
	if err != nil {
		a.close()
		return nil, err
	}
	a.closers = append(a.closers, a.bus.Close)
	return a, nil
}

// withApp parses settings, opens storage and the bus, runs fn and closes everything.
func withApp(ctx context.Context, name string, args []string, getenv func(string) string, stderr io.Writer, fn func(*app, []string) error) error {
	s, rest, err := parseSettings(name, args, getenv, stderr)
	if err != nil {
		return err
	}
	log, err := newLogger(s, stderr)
	if err != nil {
		return err
	}
	a, err := open(ctx, s, log, name == "dlq")
	if err != nil {
		return err
	}
	defer a.close()
	return fn(a, rest)
}

func usersCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	return withApp(ctx, "users", args, getenv, stderr, func(a *app, rest []string) error {
		if len(rest) != 3 || rest[0] != "role" {
			return fmt.Errorf("usage: trivium users role NAME ROLE")
		}
		role := rest[2]
		if role != services.RolePlayer && role != services.RoleModerator && role != services.RoleAdmin {
			return fmt.Errorf("role %q: use player, moderator or admin", role)
		}
		if err := a.db.SetRole(ctx, rest[1], role); err != nil {
			return fmt.Errorf("users role %s: %w", rest[1], err)
		}
		fmt.Fprintf(stdout, "%s is now %s\n", rest[1], role)
		return nil
	})
}

func dlqCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: trivium dlq list | trivium dlq redrive SEQ")
	}
	sub := args[0]
	return withApp(ctx, "dlq", args[1:], getenv, stderr, func(a *app, rest []string) error {
		switch sub {
		case "list":
			dls, err := a.bus.DeadLetters(ctx, 1000)
			if err != nil {
				return err
			}
			for _, d := range dls {
				fmt.Fprintf(stdout, "%d\t%s\t%s\t%s\tattempts=%d\t%s\t%s\n", d.Seq, d.At.Format(time.RFC3339), d.Consumer, d.Subject, d.Attempts, d.MsgID, d.Error)
			}
			fmt.Fprintf(stdout, "%d dead letter(s)\n", len(dls))
			return nil
		case "redrive":
			if len(rest) != 1 {
				return fmt.Errorf("usage: trivium dlq redrive SEQ")
			}
			var seq uint64
			if _, err := fmt.Sscan(rest[0], &seq); err != nil {
				return fmt.Errorf("SEQ must be a number")
			}
			if err := a.bus.Redrive(ctx, seq); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "redriven %d\n", seq)
			return nil
		default:
			return fmt.Errorf("usage: trivium dlq list | trivium dlq redrive SEQ")
		}
	})
}

// openSecrets opens TRIVIUM_SECRETS: file (default), env (injected, read-only) or ssm:///prefix/.
func openSecrets(ctx context.Context, s settings, data string) (secrets.Store, error) {
	v := s["secrets"]
	switch {
	case v == "" || v == "file":
		return secrets.FileStore{Dir: filepath.Join(data, "secrets")}, nil
	case v == "env":
		return secrets.EnvStore{Getenv: os.Getenv}, nil
	case strings.HasPrefix(v, "ssm://"):
		u, err := url.Parse(v)
		if err != nil {
			return nil, fmt.Errorf("TRIVIUM_SECRETS: %w", err)
		}
		cfg, err := awsconfig.LoadDefaultConfig(ctx)
		if err != nil {
			return nil, fmt.Errorf("TRIVIUM_SECRETS: aws config: %w", err)
		}
		return ssmstore.New(awsssm.NewFromConfig(cfg), ssmstore.Config{Prefix: u.Path, KMSKeyID: u.Query().Get("kms_key")})
	default:
		return nil, fmt.Errorf("TRIVIUM_SECRETS %q: use file, env or ssm:///prefix/?kms_key=…", v)
	}
}

// lockDir takes an exclusive advisory lock on path for the life of the process (released on
// exit even after a crash), so a second process cannot open the same embedded store.
func lockDir(path string) (unlock func() error, err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("another trivium process is using the embedded bus in %s (%w): stop it first, "+
			"or use the running server's admin API (GET /api/v1/admin/dead-letters)", filepath.Dir(path), err)
	}
	return f.Close, nil
}

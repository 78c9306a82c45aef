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

	awsssm "github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/trivium-game/trivium/services"
	"github.com/trivium-game/trivium/services/awsconfig"
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

// logLevel reads TRIVIUM_LOG_LEVEL.
func logLevel(s settings) (lvl slog.Level, err error) {
	if err := lvl.UnmarshalText([]byte(s["log-level"])); err != nil {
		return lvl, fmt.Errorf("TRIVIUM_LOG_LEVEL: %w (use debug, info, warn or error)", err)
	}
	return lvl, nil
}

// newLogger logs at lvl in format (TRIVIUM_LOG_FORMAT: json, or text).
func newLogger(lvl slog.Level, format string, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: lvl}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// need says what a command opens. Only serve and migrate may create a database: any other
// command pointed at the wrong data directory would otherwise make an empty one there and report
// "not found" about data that lives elsewhere.
type need struct {
	db, bus, secrets, create bool
}

var needServe = need{db: true, bus: true, secrets: true, create: true}

// open opens storage, the bus and secrets as the settings say, as far as n asks.
func open(ctx context.Context, s settings, log *slog.Logger, n need) (*app, error) {
	a := &app{s: s, log: log}
	var err error
	data := s["data"]
	if n.create || (n.secrets && (s["secrets"] == "" || s["secrets"] == "file")) {
		if err := os.MkdirAll(data, 0o700); err != nil {
			return nil, fmt.Errorf("data dir %s: %w", data, err)
		}
	}
	if n.secrets {
		if a.secrets, err = openSecrets(ctx, s, data); err != nil {
			return nil, err
		}
	}
	if !n.db {
		return a.openBus(ctx, n)
	}
	dbURL := s["db"]
	if dbURL == "" {
		dbURL = "sqlite:" + filepath.Join(data, "trivium.db")
	}
	switch {
	case strings.HasPrefix(dbURL, "sqlite:"):
		path := strings.TrimPrefix(dbURL, "sqlite:")
		if !n.create {
			if _, statErr := os.Stat(path); statErr != nil {
				return nil, fmt.Errorf("no database at %s (data directory %s): give this command the server's --data or TRIVIUM_DATA "+
					"(or --db / TRIVIUM_DB); only 'trivium serve' and 'trivium migrate' create a database", path, absPath(data))
			}
		}
		a.db, err = sqlite.Open(ctx, path, time.Now)
	case strings.HasPrefix(dbURL, "postgres://"), strings.HasPrefix(dbURL, "postgresql://"):
		a.db, err = postgres.Open(ctx, dbURL, time.Now)
	default:
		err = fmt.Errorf("TRIVIUM_DB %q: use sqlite:PATH or postgres://…", dbURL)
	}
	if err != nil {
		return nil, err
	}
	a.closers = append(a.closers, a.db.Close)
	return a.openBus(ctx, n)
}

func (a *app) openBus(ctx context.Context, n need) (*app, error) {
	if !n.bus {
		return a, nil
	}
	s, log, data := a.s, a.log, a.s["data"]
	var err error
	busURL := s["bus"]
	cfg := natsbus.Config{Logger: log}
	switch {
	case busURL == "embedded":
		if !n.create {
			if _, statErr := os.Stat(filepath.Join(data, "nats")); statErr != nil {
				err = fmt.Errorf("no embedded bus store in data directory %s: give this command the server's --data or TRIVIUM_DATA (or --bus nats://…)", absPath(data))
				break
			}
		}
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

// withApp parses a command's settings, opens what it needs, says on stderr which data it works
// on, runs fn and closes everything.
func withApp(ctx context.Context, name string, args []string, getenv func(string) string, stderr io.Writer, fn func(*app, []string) error) error {
	c := commands[name]
	s, rest, err := parseSettings(name, args, getenv, stderr)
	if err != nil {
		return err
	}
	lvl, err := logLevel(s)
	if err != nil {
		return err
	}
	log := newLogger(lvl, s["log-format"], stderr)
	a, err := open(ctx, s, log, c.need)
	if err != nil {
		return err
	}
	defer a.close()
	fmt.Fprintf(stderr, "trivium %s: %s\n", name, describeData(s, c.need))
	return fn(a, rest)
}

// describeData names the data a command works on, without any password in a database URL.
func describeData(s settings, n need) string {
	parts := []string{"data directory " + absPath(s["data"])}
	if n.db {
		db := s["db"]
		if db == "" {
			db = "sqlite:" + filepath.Join(absPath(s["data"]), "trivium.db")
		} else if u, err := url.Parse(db); err == nil && u.User != nil {
			u.User = url.User(u.User.Username())
			db = u.String()
		}
		parts = append(parts, "database "+db)
	}
	if n.bus {
		parts = append(parts, "bus "+s["bus"])
	}
	return strings.Join(parts, ", ")
}

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
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
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		if _, _, err := parseSettings("dlq", args, getenv, stderr); err != nil {
			return err // -h: the usage is printed
		}
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
		cfg, err := awsconfig.Load(ctx, awsconfig.Options{})
		if err != nil {
			return nil, fmt.Errorf("TRIVIUM_SECRETS: %w", err)
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

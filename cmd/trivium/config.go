package main

import (
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/trivium-game/trivium/moderation"
)

// option is one setting: a flag and a TRIVIUM_* environment variable with a named default.
type option struct {
	flag, env, def, help string
}

// options is every setting of `trivium serve`; the README's config table mirrors it.
var options = []option{
	{"addr", "TRIVIUM_ADDR", "127.0.0.1:8080", "listen address (port 0 picks a free port)"},
	{"data", "TRIVIUM_DATA", "./data", "data directory of the embedded default (database, bus, blobs, secrets)"},
	{"public-url", "TRIVIUM_PUBLIC_URL", "", "this server's origin as browsers see it; default http://ADDR"},
	{"allowed-origins", "TRIVIUM_ALLOWED_ORIGINS", "", "comma-separated origins for CORS and WebSocket checks; default: the public URL"},
	{"cdn-url", "TRIVIUM_CDN_URL", "", "base URL of public avatar and question images; default: the public URL"},
	{"db", "TRIVIUM_DB", "", "sqlite:PATH or postgres://…; default sqlite:DATA/trivium.db"},
	{"bus", "TRIVIUM_BUS", "embedded", "embedded (NATS JetStream in-process, stored in DATA/nats) or nats://host:port"},
	{"blob", "TRIVIUM_BLOB", "", "file:DIR or s3://bucket?endpoint=…&path_style=1; default file:DATA/blobs"},
	{"public-blob", "TRIVIUM_PUBLIC_BLOB", "", "a second blob store for keys under public/ (e.g. the CDN's bucket); default: TRIVIUM_BLOB"},
	{"upload-events", "TRIVIUM_UPLOAD_EVENTS", "", "complete uploads from the S3 API's object-created events: nats:SUBJECT (on the bus's server) or sqs://?queue=URL&region=… (moderation role)"},
	{"secrets", "TRIVIUM_SECRETS", "file", "file (0600 files in DATA/secrets), env (TRIVIUM_SECRET_* variables, read-only) or ssm:///prefix/"},
	{"leaderboard", "TRIVIUM_LEADERBOARD", "memory", "memory or redis://host:port/db"},
	{"moderation", "TRIVIUM_MODERATION", "local", "local, rekognition, or an http(s):// classifier URL"},
	{"moderation-review-at", "TRIVIUM_MODERATION_REVIEW_AT", "50", "label confidence (0–100) from which an avatar goes to human review"},
	{"moderation-reject-at", "TRIVIUM_MODERATION_REJECT_AT", "90", "label confidence (0–100) from which an avatar is rejected"},
	{"text-screen-file", "TRIVIUM_TEXT_SCREEN_FILE", "", "a word/regex list file (lines \"refuse PATTERN\" or \"flag PATTERN\") added to the shipped text screen for quiz text, display names and chat"},
	{"game-log", "TRIVIUM_GAME_LOG", "1", "1 keeps every game in a durable log on the bus (restored after a restart or failover); 0 keeps games in memory only"},
	{"game-log-retention", "TRIVIUM_GAME_LOG_RETENTION", "168h", "how long a game's log is kept after its last entry; a finished game's join code is not reused meanwhile"},
	{"max-games-per-host", "TRIVIUM_MAX_GAMES_PER_HOST", "5", "unfinished games one account may host at once (more: 429 rate_limited)"},
	{"game-lease", "TRIVIUM_GAME_LEASE", "10s", "with TRIVIUM_BUS=nats://: how long a game stays with a gateway that stopped answering before another one takes it over"},
	{"image-workers", "TRIVIUM_IMAGE_WORKERS", "0", "avatar image jobs (decode, local screening, thumbnails) run at once; 0 means one per core"},
	{"image-step-budget", "TRIVIUM_IMAGE_STEP_BUDGET", "10s", "time one avatar image job may take; past it the upload is rejected with a reason"},
	{"image-max-decoded-mib", "TRIVIUM_IMAGE_MAX_DECODED_MIB", "96", "memory (MiB) one avatar decode may take, computed from the image's header; larger images are refused"},
	{"image-max-jpeg-scans", "TRIVIUM_IMAGE_MAX_JPEG_SCANS", "100", "scans a JPEG avatar may have (libjpeg-turbo's default limit); more are refused"},
	{"roles", "TRIVIUM_ROLES", "all", "comma-separated roles to run: gateway,api,moderation,notifier,leaderboard or all"},
	{"max-attempts", "TRIVIUM_MAX_ATTEMPTS", "6", "deliveries of an event (avatar workflow, leaderboard, progression, purchases) before it is dead-lettered"},
	{"retry-backoff", "TRIVIUM_RETRY_BACKOFF", "100ms,500ms,2s,10s,30s", "delays between those attempts (±20% jitter; the last repeats)"},
	{"log-level", "TRIVIUM_LOG_LEVEL", "info", "debug, info, warn or error"},
	{"log-format", "TRIVIUM_LOG_FORMAT", "json", "json or text"},
	{"api-rate", "TRIVIUM_API_RATE", "50", "API requests per second per client address (IPv6: per /64); 429 past it"},
	{"api-burst", "TRIVIUM_API_BURST", "200", "API request burst per client address"},
	{"auth-rate", "TRIVIUM_AUTH_RATE", "1", "register, login and guest requests per second per client address, on top of the API limit; 429 past it"},
	{"auth-burst", "TRIVIUM_AUTH_BURST", "30", "register, login and guest burst per client address"},
	{"hash-concurrency", "TRIVIUM_HASH_CONCURRENCY", "0", "password hashes (argon2id, 19 MiB each) run at once; 0: one per core"},
	{"hash-queue", "TRIVIUM_HASH_QUEUE", "32", "registrations and logins that may wait for a hash slot; past it 503 busy with Retry-After"},
	{"hash-wait", "TRIVIUM_HASH_WAIT", "2s", "longest wait for a hash slot; past it 503 busy with Retry-After"},
	{"ws-per-account", "TRIVIUM_WS_PER_ACCOUNT", "10", "open WebSockets per player; past it the upgrade is 429"},
	{"ws-per-address", "TRIVIUM_WS_PER_ADDRESS", "200", "open WebSockets per client address (IPv6: per /64); past it the upgrade is 429"},
	{"fd-reserve", "TRIVIUM_FD_RESERVE", "0", "file descriptors kept for HTTP: WebSocket upgrades are 503 when fewer are free, new connections are shed with 503 below half; 0: a tenth of the limit (≥ 32)"},
	{"trust-proxy", "TRIVIUM_TRUST_PROXY", "0", "X-Forwarded-For: 0 ignores it; N trusts N proxies in front (1 behind nginx or an ALB); or the proxies' CIDRs (10.0.0.0/8,…): the client is the right-most hop they did not write"},
	{"seed", "TRIVIUM_SEED", "1", "1 to load sample quizzes on first start"},
	{"push-contact", "TRIVIUM_PUSH_CONTACT", "mailto:admin@localhost", "VAPID subject (mailto: or https:) push services may contact"},
	{"push-allow-private", "TRIVIUM_PUSH_ALLOW_PRIVATE", "0", "1 allows push endpoints on loopback/private addresses (tests only)"},
	{"pprof-addr", "TRIVIUM_PPROF_ADDR", "", "admin address serving Go's pprof profiles and /metrics (e.g. 127.0.0.1:6060); off when empty"},
	{"metrics-token", "TRIVIUM_METRICS_TOKEN", "", "serve /metrics on the public address too, to requests with Authorization: Bearer TOKEN; empty: /metrics is 404 there"},
	{"shutdown-timeout", "TRIVIUM_SHUTDOWN_TIMEOUT", "10s", "how long a graceful stop may take"},
}

// command is what a subcommand other than serve reads: its usage line, the options it takes as
// flags (every other setting keeps its environment value or default) and what it opens.
type command struct {
	usage string
	flags []string
	need  need
}

var logFlags = []string{"log-level", "log-format"}

var commands = map[string]command{
	"migrate":     {"trivium migrate [flags]", append([]string{"data", "db"}, logFlags...), need{db: true, create: true}},
	"users":       {"trivium users [flags] role NAME ROLE", append([]string{"data", "db"}, logFlags...), need{db: true}},
	"dlq":         {"trivium dlq list|redrive SEQ [flags]", append([]string{"data", "bus"}, logFlags...), need{bus: true}},
	"vapid":       {"trivium vapid init|rotate|show [flags]", append([]string{"data", "secrets"}, logFlags...), need{secrets: true}},
	"healthcheck": {"trivium healthcheck [flags]", []string{"addr"}, need{}},
}

// settings resolves flags over env over defaults.
type settings map[string]string

// parseSettings reads the settings of command name: serve takes every option as a flag, the
// other commands only their own, so that -h shows what matters to them.
func parseSettings(name string, args []string, getenv func(string) string, stderr io.Writer) (settings, []string, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	c, sub := commands[name]
	var own map[string]bool
	if sub {
		own = make(map[string]bool, len(c.flags))
		for _, f := range c.flags {
			own[f] = true
		}
		fs.Usage = func() {
			fmt.Fprintf(stderr, "usage: %s\n\nflags (each also a TRIVIUM_* environment variable):\n", c.usage)
			fs.PrintDefaults()
		}
	} else {
		fs.Usage = func() {
			fmt.Fprintf(stderr, "usage: trivium %s [flags]\n\nflags (each also a TRIVIUM_* environment variable):\n", name)
			fs.PrintDefaults()
		}
	}
	vals := make(map[string]*string, len(options))
	s := settings{}
	for _, o := range options {
		def := o.def
		if v := getenv(o.env); v != "" {
			def = v
		}
		if sub && !own[o.flag] {
			s[o.flag] = strings.TrimSpace(def)
			continue
		}
		vals[o.flag] = fs.String(o.flag, def, fmt.Sprintf("%s (env %s)", o.help, o.env))
	}
	if err := fs.Parse(args); err != nil {
		return nil, nil, err
	}
	for k, v := range vals {
		s[k] = strings.TrimSpace(*v)
	}
	return s, fs.Args(), nil
}

func (s settings) bool(k string) bool { return s[k] == "1" || strings.EqualFold(s[k], "true") }

func (s settings) list(k string) []string {
	var out []string
	for _, v := range strings.Split(s[k], ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// configTable prints the options as a Markdown table (used to keep the README honest).
func configTable(w io.Writer) {
	fmt.Fprintln(w, "| flag | environment | default | meaning |")
	fmt.Fprintln(w, "|---|---|---|---|")
	for _, o := range options {
		fmt.Fprintf(w, "| `--%s` | `%s` | `%s` | %s |\n", o.flag, o.env, o.def, o.help)
	}
}

// imagePolicy reads the TRIVIUM_IMAGE_* limits of the avatar workflow.
func (s settings) imagePolicy() (limits moderation.Limits, workers int, budget time.Duration, err error) {
	workers, err = strconv.Atoi(s["image-workers"])
	if err != nil || workers < 0 {
		return limits, 0, 0, fmt.Errorf("TRIVIUM_IMAGE_WORKERS %q: want a whole number ≥ 0 (0 means one per core)", s["image-workers"])
	}
	budget, err = time.ParseDuration(s["image-step-budget"])
	if err != nil || budget <= 0 {
		return limits, 0, 0, fmt.Errorf("TRIVIUM_IMAGE_STEP_BUDGET %q: want a duration such as 10s", s["image-step-budget"])
	}
	mib, err := strconv.Atoi(s["image-max-decoded-mib"])
	if err != nil || mib < 1 {
		return limits, 0, 0, fmt.Errorf("TRIVIUM_IMAGE_MAX_DECODED_MIB %q: want a whole number of MiB ≥ 1", s["image-max-decoded-mib"])
	}
	scans, err := strconv.Atoi(s["image-max-jpeg-scans"])
	if err != nil || scans < 1 {
		return limits, 0, 0, fmt.Errorf("TRIVIUM_IMAGE_MAX_JPEG_SCANS %q: want a whole number ≥ 1", s["image-max-jpeg-scans"])
	}
	limits.MaxDecodedBytes, limits.MaxJPEGScans = int64(mib)<<20, scans
	return limits, workers, budget, nil
}

// retryPolicy reads TRIVIUM_MAX_ATTEMPTS and TRIVIUM_RETRY_BACKOFF.
func (s settings) retryPolicy() (attempts int, backoff []time.Duration, err error) {
	attempts, err = strconv.Atoi(s["max-attempts"])
	if err != nil || attempts < 1 {
		return 0, nil, fmt.Errorf("TRIVIUM_MAX_ATTEMPTS %q: want a whole number ≥ 1", s["max-attempts"])
	}
	for _, v := range s.list("retry-backoff") {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return 0, nil, fmt.Errorf("TRIVIUM_RETRY_BACKOFF %q: want durations such as 100ms,2s", s["retry-backoff"])
		}
		backoff = append(backoff, d)
	}
	if len(backoff) == 0 {
		return 0, nil, fmt.Errorf("TRIVIUM_RETRY_BACKOFF is empty: want durations such as 100ms,2s")
	}
	return attempts, backoff, nil
}

// ints reads whole-number settings that must be > 0 (or ≥ 0 with zeroOK).
func (s settings) ints(zeroOK bool, keys ...string) (map[string]int, error) {
	out := make(map[string]int, len(keys))
	for _, k := range keys {
		n, err := strconv.Atoi(s[k])
		if err != nil || n < 0 || (n == 0 && !zeroOK) {
			want := "a whole number ≥ 1"
			if zeroOK {
				want = "a whole number ≥ 0"
			}
			return nil, fmt.Errorf("TRIVIUM_%s %q: want %s", strings.ToUpper(strings.ReplaceAll(k, "-", "_")), s[k], want)
		}
		out[k] = n
	}
	return out, nil
}

// Command loadgen drives a real trivium server over real WebSockets the way players do and
// reports what users feel (connected players, answers/s, ack and fan-out latency) next to what
// the server pays (RSS and CPU sampled from /proc).
//
//	go run ./bench/loadgen -scenario idle -players 20000
//	go run ./bench/loadgen -scenario fanout -players 1000
//	go run ./bench/loadgen -scenario answers -games 100 -players 5000
//	go run ./bench/loadgen -scenario startup
//
// By default it builds nothing and starts `bin/trivium serve` itself on a free port with a fresh
// data directory (-server), so the server's process can be measured; -url uses a running one.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

type options struct {
	scenario   string
	url        string
	server     string
	players    int
	games      int
	questions  int
	think      time.Duration
	sources    int
	timeout    time.Duration
	jsonOut    bool
	dialConcur int
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	var o options
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.StringVar(&o.scenario, "scenario", "idle", "idle, fanout, answers or startup")
	fs.StringVar(&o.url, "url", "", "use a running server at this URL instead of starting one")
	fs.StringVar(&o.server, "server", "bin/trivium", "trivium binary to start when -url is empty")
	fs.IntVar(&o.players, "players", 1000, "simulated players (total)")
	fs.IntVar(&o.games, "games", 1, "concurrent games (players are spread evenly; one host bot each)")
	fs.IntVar(&o.questions, "questions", 5, "questions asked per game (fanout, answers)")
	fs.DurationVar(&o.think, "think", 200*time.Millisecond, "mean think time before answering (answers)")
	fs.IntVar(&o.sources, "sources", 0, "loopback source addresses to spread connections over (0: one per 25,000 players)")
	fs.DurationVar(&o.timeout, "timeout", 5*time.Minute, "give up after this long")
	fs.BoolVar(&o.jsonOut, "json", false, "print the report as JSON")
	fs.IntVar(&o.dialConcur, "dial-concurrency", 64, "connections opened at once")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.sources == 0 {
		o.sources = 1 + o.players/25000
	}
	raiseFDLimit()
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()

	var rep *report
	var err error
	if o.scenario == "startup" {
		rep, err = startup(ctx, o)
	} else {
		var srv *server
		srv, err = connect(ctx, o)
		if err != nil {
			return err
		}
		defer srv.stop()
		switch o.scenario {
		case "idle":
			rep, err = idle(ctx, o, srv)
		case "fanout":
			rep, err = fanout(ctx, o, srv)
		case "answers":
			rep, err = answers(ctx, o, srv)
		default:
			return fmt.Errorf("unknown scenario %q", o.scenario)
		}
	}
	if err != nil {
		return err
	}
	if o.jsonOut {
		return json.NewEncoder(stdout).Encode(rep)
	}
	rep.print(stdout)
	return nil
}

// raiseFDLimit lifts the open-files limit — every player is a socket, twice over when the
// server runs here too (it inherits the limit): to 1,048,576 where allowed (root), else to the
// hard limit.
func raiseFDLimit() {
	want := syscall.Rlimit{Cur: 1 << 20, Max: 1 << 20}
	if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want) == nil {
		return
	}
	var l syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l) == nil && l.Cur < l.Max {
		l.Cur = l.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l)
	}
}

// Command trivium runs Trivium: every role in one process on embedded engines by default, or a
// subset of roles against external engines for scale-out.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return // -h printed the usage: asking for help is not a failure
		}
		fmt.Fprintln(os.Stderr, "trivium:", err)
		os.Exit(1)
	}
}

const usage = `usage: trivium <command> [flags]

commands:
  serve                      run the server
  migrate                    create the database or apply its migrations, and exit
  users role NAME ROLE       grant ROLE (player, moderator, admin) to the account NAME
  dlq list                   list dead-lettered events
  dlq redrive SEQ            republish a dead-lettered event
  vapid init|rotate|show     manage the Web Push VAPID key pair
  healthcheck                exit 0 when the server on TRIVIUM_ADDR is ready (container probes)
  config                     print the configuration table
  version                    print the version

Commands other than serve and migrate work on an existing server's data: give them the same
--data (TRIVIUM_DATA) or --db (TRIVIUM_DB) as the server. Every flag is also a TRIVIUM_*
environment variable; 'trivium COMMAND -h' lists the flags of one command.
`

// run is the whole program; tests call it with their own args, environment and outputs.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		// Starting a server (and creating ./data) is too much to do by accident.
		fmt.Fprint(stderr, usage)
		return errors.New("no command given: to start the server run 'trivium serve'")
	}
	cmd, args := args[0], args[1:]
	switch cmd {
	case "serve":
		return serve(ctx, args, getenv, stdout, stderr)
	case "migrate":
		return withApp(ctx, "migrate", args, getenv, stderr, func(a *app, rest []string) error {
			if len(rest) > 0 {
				return fmt.Errorf("usage: trivium migrate [flags]")
			}
			fmt.Fprintln(stdout, "migrations applied")
			return nil
		})
	case "users":
		return usersCmd(ctx, args, getenv, stdout, stderr)
	case "dlq":
		return dlqCmd(ctx, args, getenv, stdout, stderr)
	case "vapid":
		return vapidCmd(ctx, args, getenv, stdout, stderr)
	case "healthcheck":
		return healthcheck(ctx, args, getenv, stdout, stderr)
	case "config":
		configTable(stdout)
		return nil
	case "version":
		fmt.Fprintln(stdout, "trivium", version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", cmd)
	}
}

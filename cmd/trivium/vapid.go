package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/trivium-game/trivium/services/webpush"
)

func vapidCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		if _, _, err := parseSettings("vapid", args, getenv, stderr); err != nil {
			return err // -h: the usage is printed
		}
		return fmt.Errorf("usage: trivium vapid init|rotate|show")
	}
	sub := args[0]
	return withApp(ctx, "vapid", args[1:], getenv, stderr, func(a *app, _ []string) error {
		switch sub {
		case "init", "show":
			k, created, err := webpush.LoadOrCreateVAPID(ctx, a.secrets)
			if err != nil {
				return err
			}
			state := "existing"
			if created {
				state = "created"
			}
			fmt.Fprintf(stdout, "VAPID public key (%s): %s\n", state, k.Public)
		case "rotate":
			k, err := webpush.RotateVAPID(ctx, a.secrets)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "VAPID key rotated; new public key: %s\nclients resubscribe when they see the new key\n", k.Public)
		default:
			return fmt.Errorf("usage: trivium vapid init|rotate|show")
		}
		return nil
	})
}

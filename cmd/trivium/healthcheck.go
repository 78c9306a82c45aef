package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// healthcheckTimeout bounds one probe; container runtimes kill a check that takes longer anyway.
const healthcheckTimeout = 3 * time.Second

// healthcheck asks this machine's server whether it is ready (GET /readyz on TRIVIUM_ADDR). It
// exists because the distroless image has no shell and no curl for a container HEALTHCHECK.
func healthcheck(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	s, _, err := parseSettings("healthcheck", args, getenv, stderr)
	if err != nil {
		return err
	}
	u, err := readyzURL(s["addr"])
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, healthcheckTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: %s answered %d: %s", u, resp.StatusCode, body)
	}
	fmt.Fprintf(stdout, "ready: %s\n", u)
	return nil
}

// readyzURL turns a listen address into the URL to probe: a wildcard host (0.0.0.0, ::, empty)
// is reached on loopback.
func readyzURL(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("TRIVIUM_ADDR %q: %w", addr, err)
	}
	if port == "0" {
		return "", fmt.Errorf("TRIVIUM_ADDR %q: a random port cannot be probed", addr)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/readyz", nil
}

package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// The README's configuration table is `trivium config`'s output; a new or changed option must
// reach it.
func TestREADMEConfigTableMatchesTheOptions(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var table bytes.Buffer
	configTable(&table)
	for _, line := range strings.Split(strings.TrimSpace(table.String()), "\n") {
		if !bytes.Contains(readme, []byte(line)) {
			t.Errorf("README.md lacks the configuration row %q (paste `trivium config` into it)", line)
		}
	}
}

func TestSettingsComeFromFlagsOverEnvironmentOverDefaults(t *testing.T) {
	env := map[string]string{"TRIVIUM_ADDR": "127.0.0.1:9999", "TRIVIUM_LOG_LEVEL": "debug"}
	s, _, err := parseSettings("serve", []string{"--addr", "127.0.0.1:7777"}, func(k string) string { return env[k] }, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if s["addr"] != "127.0.0.1:7777" || s["log-level"] != "debug" || s["bus"] != "embedded" {
		t.Fatalf("settings %v", s)
	}
	if _, _, err := parseSettings("serve", []string{"--no-such-flag"}, func(string) string { return "" }, &bytes.Buffer{}); err == nil {
		t.Fatal("an unknown flag was accepted")
	}
}

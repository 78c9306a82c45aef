package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"
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

func TestImageLimitsAreReadFromTheEnvironmentAndBadValuesRefused(t *testing.T) {
	parse := func(env map[string]string) settings {
		s, _, err := parseSettings("serve", nil, func(k string) string { return env[k] }, &bytes.Buffer{})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	limits, workers, budget, err := parse(nil).imagePolicy()
	if err != nil || workers != 0 || budget != 10*time.Second || limits.MaxDecodedBytes != 96<<20 || limits.MaxJPEGScans != 100 {
		t.Fatalf("defaults: %+v %d %v %v", limits, workers, budget, err)
	}
	limits, workers, budget, err = parse(map[string]string{"TRIVIUM_IMAGE_WORKERS": "3", "TRIVIUM_IMAGE_STEP_BUDGET": "2s",
		"TRIVIUM_IMAGE_MAX_DECODED_MIB": "32", "TRIVIUM_IMAGE_MAX_JPEG_SCANS": "20"}).imagePolicy()
	if err != nil || workers != 3 || budget != 2*time.Second || limits.MaxDecodedBytes != 32<<20 || limits.MaxJPEGScans != 20 {
		t.Fatalf("configured: %+v %d %v %v", limits, workers, budget, err)
	}
	for env, val := range map[string]string{"TRIVIUM_IMAGE_WORKERS": "-1", "TRIVIUM_IMAGE_STEP_BUDGET": "0s",
		"TRIVIUM_IMAGE_MAX_DECODED_MIB": "lots", "TRIVIUM_IMAGE_MAX_JPEG_SCANS": "0"} {
		if _, _, _, err := parse(map[string]string{env: val}).imagePolicy(); err == nil || !strings.Contains(err.Error(), env) {
			t.Errorf("%s=%s: err %v, want a refusal naming the variable", env, val, err)
		}
	}
}

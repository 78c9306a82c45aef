package services_test

import (
	"regexp"
	"testing"

	"github.com/trivium-game/trivium/services"
)

func TestNewIDIsLowerCaseURLSafeAndUnique(t *testing.T) {
	shape := regexp.MustCompile(`^[a-z0-9_-]{22}$`)
	seen := map[string]bool{}
	for range 1000 {
		id := services.NewID()
		if !shape.MatchString(id) || seen[id] {
			t.Fatalf("id %q: want 22 lower-case url-safe characters, never repeated", id)
		}
		seen[id] = true
	}
}

func TestNewSecretKeepsEveryBitAndIsUnique(t *testing.T) {
	shape := regexp.MustCompile(`^[A-Za-z0-9_-]{24}$`)
	seen, upper := map[string]bool{}, false
	for range 1000 {
		s := services.NewSecret()
		if !shape.MatchString(s) || seen[s] {
			t.Fatalf("secret %q: want 24 url-safe characters, never repeated", s)
		}
		seen[s] = true
		upper = upper || regexp.MustCompile(`[A-Z]`).MatchString(s)
	}
	if !upper {
		t.Fatal("no secret has an upper-case letter: the case is lost")
	}
}

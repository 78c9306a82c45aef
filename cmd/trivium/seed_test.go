package main

import (
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/trivium-game/trivium/services"
)

// A sample quiz's description is the first thing a new user reads: a count it states ("five
// quick capitals", "two rounds") must be the quiz's own.
func TestSampleQuizDescriptionsStateTheirRealSize(t *testing.T) {
	var qz []services.Quiz
	if err := json.Unmarshal([]byte(sampleQuizzes), &qz); err != nil {
		t.Fatal(err)
	}
	words := map[string]int{"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
		"nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20}
	count := regexp.MustCompile(`(?i)\b(\d+|[a-z]+)\s+(?:[a-z]+\s+)?(capitals|questions|rounds)\b`)
	checked := 0
	for _, q := range qz {
		for _, m := range count.FindAllStringSubmatch(q.Description, -1) {
			n, ok := words[strings.ToLower(m[1])]
			if !ok {
				var err error
				if n, err = strconv.Atoi(m[1]); err != nil {
					continue
				}
			}
			want := len(q.Questions)
			if strings.EqualFold(m[2], "rounds") {
				groups := map[int]bool{}
				for _, qq := range q.Questions {
					groups[qq.Group] = true
				}
				want = len(groups)
			}
			checked++
			if n != want {
				t.Errorf("%q says %q but has %d %s", q.Title, m[0], want, m[2])
			}
		}
	}
	if checked == 0 {
		t.Fatal("no description states a count: the check checked nothing")
	}
}

func TestSampleQuizzesAreValidAndUseEveryKind(t *testing.T) {
	var qz []services.Quiz
	if err := json.Unmarshal([]byte(sampleQuizzes), &qz); err != nil {
		t.Fatal(err)
	}
	kinds := map[string]bool{}
	for _, q := range qz {
		q.Normalize()
		if err := q.Validate(); err != nil {
			t.Fatalf("sample %q: %v %v", q.Title, err, services.ErrorFields(err))
		}
		for _, qq := range q.Questions {
			kinds[qq.Kind] = true
		}
	}
	for _, k := range []string{services.KindChoice, services.KindOpen, services.KindTrueFalse, services.KindMulti,
		services.KindPoll, services.KindNumber, services.KindOrder} {
		if !kinds[k] {
			t.Errorf("no sample quiz has a %s question", k)
		}
	}
}

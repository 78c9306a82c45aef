package moderation

import (
	"math"
	"strings"
	"testing"
)

func TestPolicyDecidesByTheMostConfidentLabel(t *testing.T) {
	tests := []struct {
		name   string
		policy Policy
		labels []Label
		want   Decision
		reason string
	}{
		{"no labels", Policy{}, nil, DecisionAccepted, "no moderation labels"},
		{"below review", Policy{}, []Label{{"Suggestive", 49.99}}, DecisionAccepted, "Suggestive at 49.99% is below the review threshold of 50%"},
		{"review threshold is inclusive", Policy{}, []Label{{"Suggestive", 50}}, DecisionInReview, "Suggestive at 50% (reviewed from 50%)"},
		{"just under reject", Policy{}, []Label{{"Violence", 89.9}}, DecisionInReview, "Violence at 89.9% (reviewed from 50%)"},
		{"reject threshold is inclusive", Policy{}, []Label{{"Explicit Nudity", 90}}, DecisionRejected, "Explicit Nudity at 90% (rejected at 90%)"},
		{"the strongest label decides", Policy{}, []Label{{"Suggestive", 60}, {"Explicit Nudity", 95.5}, {"Drugs", 10}}, DecisionRejected, "Explicit Nudity at 95.5%"},
		{"ties name the alphabetically first", Policy{}, []Label{{"Weapons", 70}, {"Alcohol", 70}}, DecisionInReview, "Alcohol at 70%"},
		{"stricter thresholds", Policy{RejectAt: 60, ReviewAt: 20}, []Label{{"Suggestive", 61}}, DecisionRejected, "Suggestive at 61% (rejected at 60%)"},
		{"stricter review", Policy{RejectAt: 60, ReviewAt: 20}, []Label{{"Suggestive", 25}}, DecisionInReview, "Suggestive at 25% (reviewed from 20%)"},
		{"NaN goes to a human", Policy{}, []Label{{"Odd", math.NaN()}}, DecisionInReview, "Odd has an invalid confidence"},
		{"out of range goes to a human", Policy{}, []Label{{"Odd", 250}}, DecisionInReview, "Odd has an invalid confidence"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, reason := tc.policy.Decide(tc.labels)
			if got != tc.want {
				t.Fatalf("decision = %s (%s), want %s", got, reason, tc.want)
			}
			if !strings.Contains(reason, tc.reason) {
				t.Fatalf("reason = %q, want it to contain %q", reason, tc.reason)
			}
		})
	}
}

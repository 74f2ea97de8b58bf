package proxy

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestParkedInputsAreBoundedAndUnguessable(t *testing.T) {
	var parked parkedInputs
	pc := &pendingCall{tool: "t"}
	seen := map[string]bool{}
	for range maxParked {
		state, ok := parked.park(pc, &inputAsk{})
		if !ok {
			t.Fatalf("refused after %d parked calls, want %d", len(seen), maxParked)
		}
		if seen[state] || !strings.HasPrefix(state, parkedStatePrefix) || len(state) != len(parkedStatePrefix)+26 {
			t.Fatalf("state %q: repeated, or not the prefix and 128 random bits", state)
		}
		seen[state] = true
	}
	if _, ok := parked.park(pc, &inputAsk{}); ok {
		t.Errorf("parked a call beyond %d", maxParked)
	}
	for state := range seen {
		if _, ok := parked.take(state, "other"); ok {
			t.Fatal("a state was taken for another tool")
		}
		break
	}
	parked.drop(pc)
	if _, ok := parked.park(pc, &inputAsk{}); !ok {
		t.Error("the ended call's places were not freed")
	}
}

func TestDescribeInput(t *testing.T) {
	for _, tt := range []struct{ method, params, want string }{
		{"elicitation/create", `{"message":"Deploy?","requestedSchema":{"type":"object","properties":{"b":{},"a":{}}}}`, "Deploy? (fields: a, b)"},
		{"elicitation/create", `{"message":"Sure?"}`, "Sure?"},
		{"elicitation/create", `{"mode":"url","message":"Log in","url":"https://x.example/a"}`, "Log in (URL: https://x.example/a)"},
		{"elicitation/create", `{"message":"Log in","url":"https://x.example/a","elicitationId":"1"}`, "Log in (URL: https://x.example/a)"},
		{"elicitation/create", `{}`, "(no message)"},
		{"sampling/createMessage", `{}`, "a sampling/createMessage request"},
	} {
		if got := describeInput(tt.method, json.RawMessage(tt.params)); got != tt.want {
			t.Errorf("describeInput(%s, %s) = %q, want %q", tt.method, tt.params, got, tt.want)
		}
	}
}

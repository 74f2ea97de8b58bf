package httpheader

import (
	"strings"
	"testing"
)

func TestProblem(t *testing.T) {
	for _, tt := range []struct {
		name string
		ok   bool
	}{
		{"X-Asana-Token", true},
		{"x-api-key", true},
		{"X_Custom.Token~1", true},
		{"", false},
		{"X Asana", false},
		{"X-Asana:Token", false},
		{"X-Äsana", false},
		{"X-Asana\r\nEvil", false},
		{"Authorization", false},
		{"authorization", false},
		{"Proxy-Authorization", false},
		{"Cookie", false},
		{"Content-Type", false},
		{"Host", false},
		{"Connection", false},
		{"Transfer-Encoding", false},
		{"TE", false},
		{"Mcp-Session-Id", false},
		{"MCP-Protocol-Version", false},
		{"Mcp-Param-Token", false},
		{"mcp-anything", false},
		{"X-Amz-Security-Token", false},
	} {
		if got := Problem(tt.name) == ""; got != tt.ok {
			t.Errorf("Problem(%q) = %q, want ok=%v", tt.name, Problem(tt.name), tt.ok)
		}
	}
}

func TestValidValue(t *testing.T) {
	for _, tt := range []struct {
		v  string
		ok bool
	}{
		{"Bearer 2/120/1209:abc", true},
		{"a\tb", true},
		{"", false},
		{"Bearer x\r\nX-Evil: 1", false},
		{"tok\n", false},
		{" lead", false},
		{"trail ", false},
		{"caf\u00e9", false},
		{"nul\x00", false},
		{strings.Repeat("a", MaxValueSize), true},
		{strings.Repeat("a", MaxValueSize+1), false},
	} {
		if got := ValidValue(tt.v); got != tt.ok {
			t.Errorf("ValidValue(%q) = %v, want %v", tt.v, got, tt.ok)
		}
	}
}

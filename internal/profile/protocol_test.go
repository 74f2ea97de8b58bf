package profile

import (
	"errors"
	"strings"
	"testing"
)

func TestProtocolFromTheFileAndTheFlag(t *testing.T) {
	names := []AuthType{{Name: AuthNone}}
	for _, tc := range []struct {
		file string
		args []string
		want string
		at   string
	}{
		{want: ProtocolAuto},
		{file: "profiles:\n  default:\n    protocol: 2026-07-28\n", want: ProtocolStateless, at: "config.yaml:3:15"},
		{file: "profiles:\n  default:\n    protocol: \"2025-11-25\"\n", want: ProtocolSessions, at: "config.yaml:3:15"},
		{file: "profiles:\n  default:\n    protocol: 2026-07-28\n", args: []string{"--protocol", "auto"}, want: ProtocolAuto, at: "--protocol"},
		{args: []string{"--protocol", "2025-11-25"}, want: ProtocolSessions, at: "--protocol"},
	} {
		p, err := resolveForTest(t, tc.file, AllFlags, names, tc.args...)
		if err != nil {
			t.Errorf("%q %v: %v", tc.file, tc.args, err)
			continue
		}
		if p.Protocol != tc.want || !strings.HasSuffix(p.At("protocol"), tc.at) {
			t.Errorf("%q %v: protocol %q at %q, want %q at %q", tc.file, tc.args, p.Protocol, p.At("protocol"), tc.want, tc.at)
		}
	}
}

func TestBadProtocolIsLocatedWithASuggestion(t *testing.T) {
	names := []AuthType{{Name: AuthNone}}
	for _, tc := range []struct {
		file string
		args []string
		at   string
		hint string
	}{
		{file: "profiles:\n  default:\n    protocol: 2026-07-27\n", at: "config.yaml:3:15", hint: `did you mean "2026-07-28"?`},
		{args: []string{"--protocol", "atuo"}, at: "--protocol", hint: `did you mean "auto"?`},
		{args: []string{"--protocol", "stateless"}, at: "--protocol", hint: "valid values: auto, 2026-07-28, 2025-11-25"},
		{file: "profiles:\n  default:\n    protocol: \"\"\n", at: "config.yaml:3:15", hint: "valid values: auto, 2026-07-28, 2025-11-25"},
	} {
		_, err := resolveForTest(t, tc.file, AllFlags, names, tc.args...)
		var perr *Error
		if !errors.As(err, &perr) {
			t.Errorf("%q %v: %v, want a profile error", tc.file, tc.args, err)
			continue
		}
		if !strings.Contains(perr.Error(), tc.at+": ") || !strings.Contains(perr.Error(), "unknown protocol") {
			t.Errorf("%q %v: %q, want it located at %s", tc.file, tc.args, perr.Error(), tc.at)
		}
		if !strings.Contains(strings.Join(perr.Hints(), "\n"), tc.hint) {
			t.Errorf("%q %v: hints %q, want %q", tc.file, tc.args, perr.Hints(), tc.hint)
		}
	}
}

func TestCommandCarriesTheProtocolFlag(t *testing.T) {
	p, err := resolveForTest(t, "", AllFlags, []AuthType{{Name: AuthNone}}, "--gateway-url", "https://gw.example.com/mcp", "--protocol", "2025-11-25")
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Command("doctor", ""); !strings.Contains(got, "--protocol 2025-11-25") {
		t.Errorf("Command = %q, want the --protocol it was resolved with", got)
	}
}

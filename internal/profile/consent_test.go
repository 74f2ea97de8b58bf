package profile

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// The consent keys: timeouts.consent (default 2m), open_browser (default
// true; only true or false), consent_tools (Gateway tool names).
func TestConsentKeys(t *testing.T) {
	names := []AuthType{{Name: AuthNone}}
	p, err := resolveForTest(t, "", AllFlags, names)
	if err != nil {
		t.Fatal(err)
	}
	if p.ConsentTimeout != DefaultConsentTimeout || !p.OpenBrowser || len(p.ConsentTools) != 0 {
		t.Errorf("defaults: consent %v, open_browser %v, consent_tools %q; want 2m, true, none", p.ConsentTimeout, p.OpenBrowser, p.ConsentTools)
	}
	p, err = resolveForTest(t, "profiles:\n  default:\n    timeouts: {consent: 30s}\n    open_browser: false\n    consent_tools: [Asana3LO___getMe]\n", AllFlags, names)
	if err != nil {
		t.Fatal(err)
	}
	if p.ConsentTimeout != 30*time.Second || p.OpenBrowser || !slices.Equal(p.ConsentTools, []string{"Asana3LO___getMe"}) {
		t.Errorf("set: consent %v, open_browser %v, consent_tools %q", p.ConsentTimeout, p.OpenBrowser, p.ConsentTools)
	}
	if got := p.ConsentTool("Asana3LO"); got != "Asana3LO___getMe" {
		t.Errorf("ConsentTool(Asana3LO) = %q", got)
	}
	if got := p.ConsentTool("Asana"); got != "" {
		t.Errorf("ConsentTool(Asana) = %q, want none (targets match whole)", got)
	}
	for file, want := range map[string]string{
		"profiles:\n  default:\n    open_browser: no\n":              "config.yaml:3:19: open_browser: must be true or false",
		"profiles:\n  default:\n    timeouts: {consent: 0s}\n":       "timeouts.consent: must be positive",
		"profiles:\n  default:\n    consent_tools: [getMe]\n":        `consent_tools: entry 1 "getMe" is not a Gateway tool name`,
		"profiles:\n  default:\n    consent_tools: [\"___getMe\"]\n": `entry 1 "___getMe" is not a Gateway tool name`,
	} {
		_, err := resolveForTest(t, file, AllFlags, names)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", file, err, want)
		}
	}
}

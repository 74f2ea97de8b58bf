package proxy

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// The bytes the proxy writes at start-up without encoding/json (to keep its
// first use off the path before stdin is read) are json.Marshal's.

// TestRulesKeyTellsRuleSetsApart: rule sets that strip or carry something
// else have other keys, however their fields' bytes line up; the defaults
// spelled out, or another source, keep the key.
func TestRulesKeyTellsRuleSetsApart(t *testing.T) {
	base := Rule{Argument: "X-Asana-Token", Secret: "asana", Tools: []string{"T___*"}}
	with := func(f func(*Rule)) []Rule { r := base; r.Tools = slices.Clone(base.Tools); f(&r); return []Rule{r} }
	for name, pair := range map[string][2][]Rule{
		"argument":       {{base}, with(func(r *Rule) { r.Argument = "X-Other" })},
		"via":            {{base}, with(func(r *Rule) { r.Via = ViaHeader })},
		"secret":         {{base}, with(func(r *Rule) { r.Secret = "other" })},
		"format":         {{base}, with(func(r *Rule) { r.Format = "{secret}" })},
		"tools":          {{base}, with(func(r *Rule) { r.Tools = append(r.Tools, "U___*") })},
		"field boundary": {with(func(r *Rule) { r.Argument, r.Secret = "ab", "c" }), with(func(r *Rule) { r.Argument, r.Secret = "a", "bc" })},
		"tool boundary":  {with(func(r *Rule) { r.Tools = []string{"a", "b"} }), with(func(r *Rule) { r.Tools = []string{"ab"} })},
		"rule boundary":  {{base, base}, with(func(r *Rule) { r.Tools = append(r.Tools, base.Argument) })},
		"one or two":     {{base}, {base, base}},
	} {
		if rulesKey(pair[0]) == rulesKey(pair[1]) {
			t.Errorf("%s: %+v and %+v share a key", name, pair[0], pair[1])
		}
	}
	for name, r := range map[string][]Rule{
		"via spelled out":    with(func(r *Rule) { r.Via = ViaArgument }),
		"format spelled out": with(func(r *Rule) { r.Format = DefaultFormat }),
		"another source":     with(func(r *Rule) { r.Source = SourceCommand }),
	} {
		if rulesKey(r) != rulesKey([]Rule{base}) {
			t.Errorf("%s: the key changed", name)
		}
	}
}

func TestStatelessMetaIsJSONMarshals(t *testing.T) {
	for _, version := range []string{"", "v1.2.3", "devel", "1.0 \"ü\" <x>"} {
		u := newStatelessUpstream(nil, version)
		marshal := func(k string, v any) string {
			kb, _ := json.Marshal(k)
			vb, _ := json.Marshal(v)
			return string(kb) + ":" + string(vb)
		}
		want := []string{
			marshal(mcp.MetaKeyProtocolVersion, StatelessProtocolVersion),
			marshal(mcp.MetaKeyClientCapabilities, json.RawMessage(upstreamCapabilities)),
			marshal(mcp.MetaKeyClientInfo, &mcp.Implementation{Name: "agw-proxy", Version: version}),
		}
		if len(u.meta) != len(want) {
			t.Fatalf("%d members, want %d", len(u.meta), len(want))
		}
		for i, m := range u.meta {
			if string(m.member) != want[i] {
				t.Errorf("version %q: member %d = %s, json.Marshal's %s", version, i, m.member, want[i])
			}
		}
	}
}

func TestInitializeResultIsJSONMarshals(t *testing.T) {
	for _, version := range []string{"", "v1.2.3", "1.0 \"ü\" <x>"} {
		for _, asked := range []string{"2025-06-18", "2024-11-05", "1999-01-01", ""} {
			want, _ := json.Marshal(&mcp.InitializeResult{
				Capabilities:    &mcp.ServerCapabilities{Logging: &mcp.LoggingCapabilities{}, Tools: &mcp.ToolCapabilities{ListChanged: true}},
				ProtocolVersion: handshakeVersion(asked),
				ServerInfo:      &mcp.Implementation{Name: "agw-proxy", Version: version},
			})
			if got := initializeResult(asked, version); string(got) != string(want) {
				t.Errorf("initializeResult(%q, %q) = %s, json.Marshal's %s", asked, version, got, want)
			}
		}
	}
}

// TestListNews: a change is news to a client given another list, or an
// error instead of one; not to one given none yet, or given this one. The
// cached list given after the subscription began counts (it once did not,
// and the Gateway's list after it went unannounced).
func TestListNews(t *testing.T) {
	for _, tc := range []struct {
		now, served uint64
		missed      bool
		want        bool
	}{
		{now: 2, served: 1, want: true},  // the cached list given, the Gateway's now
		{now: 2, served: 2, want: false}, // it listed the new one already
		{now: 1, served: 0, want: false}, // it has listed nothing yet
		{now: 1, served: 0, missed: true, want: true},
		{now: 3, served: 1, want: true},
	} {
		if got := listNews(tc.now, tc.served, tc.missed); got != tc.want {
			t.Errorf("listNews(%d, %d, %v) = %v, want %v", tc.now, tc.served, tc.missed, got, tc.want)
		}
	}
}

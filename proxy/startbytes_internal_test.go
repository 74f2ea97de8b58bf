package proxy

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// The bytes the proxy writes at start-up without encoding/json (to keep its
// first use off the path before stdin is read) are json.Marshal's.

// rulesDigestJSON is rulesDigest as it was, by json.Marshal: the oracle, and
// the digest of every tool cache written before.
func rulesDigestJSON(rules []Rule) string {
	type rule struct {
		Argument, Via, Secret, Format string
		Tools                         []string
	}
	rs := make([]rule, len(rules))
	for i, r := range rules {
		rs[i] = rule{Argument: r.Argument, Via: r.Via, Secret: r.Secret, Format: r.Format, Tools: r.Tools}
		if rs[i].Via == "" {
			rs[i].Via = ViaArgument
		}
		if rs[i].Format == "" {
			rs[i].Format = DefaultFormat
		}
	}
	b, _ := json.Marshal(rs)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func TestRulesDigestIsJSONMarshals(t *testing.T) {
	for _, rules := range [][]Rule{
		nil,
		{},
		{{Argument: "X-Asana-Token", Secret: "asana", Tools: []string{"T___*"}}},
		{{Argument: "a", Secret: "s"}, {Argument: "b", Secret: "t", Tools: []string{}}},
		{{Argument: "h", Via: ViaHeader, Secret: "s", Format: "Bearer {secret}", Tools: []string{"x", "y<&>"}}},
		{{Argument: "ünï \"q\" \\ \n", Secret: "s\u2028", Format: "{secret}\t", Tools: []string{"\x01", "é"}}},
	} {
		if got, want := rulesDigest(rules), rulesDigestJSON(rules); got != want {
			t.Errorf("rulesDigest(%+v) = %s, json.Marshal's %s", rules, got, want)
		}
	}
}

func FuzzRulesDigestIsJSONMarshals(f *testing.F) {
	f.Add("X-Asana-Token", "", "asana", "", "T___*", true)
	f.Add("a\"b", "header", "<s>", "Bearer {secret}", "é\x00", false)
	f.Fuzz(func(t *testing.T, arg, via, secret, format, tool string, noTools bool) {
		r := Rule{Argument: arg, Via: via, Secret: secret, Format: format, Tools: []string{tool, tool + "x"}}
		if noTools {
			r.Tools = nil
		}
		rules := []Rule{r, {Argument: tool, Secret: arg}}
		if got, want := rulesDigest(rules), rulesDigestJSON(rules); got != want {
			t.Fatalf("rulesDigest(%+v) = %s, json.Marshal's %s", rules, got, want)
		}
	})
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

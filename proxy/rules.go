package proxy

import (
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/agw-proxy/agw-proxy/internal/httpheader"
	"github.com/agw-proxy/agw-proxy/tokenstore"
)

// DefaultFormat is the format of an injected value when a Rule sets none.
const DefaultFormat = "Bearer {secret}"

// A Rule fills one tool argument from a stored secret, or sends it as an
// HTTP header (Via). The proxy removes the argument from the schema of each
// tool a rule applies to, in any letter case, and on a call drops whatever
// the model sent under that name in any case. A tool the Gateway did not
// list gets no secret, whatever its name.
//
// ViaArgument (the default): the rule applies to each tool the Gateway
// lists whose name matches one of Tools and whose input schema declares
// the argument (see rulesForTool); a call sets the argument to Format with
// "{secret}" replaced by the secret.
//
// ViaHeader: the rule applies to each listed tool whose name matches one of
// Tools, declared argument or not, but never to the search tool; the POST
// to the Gateway of a call of such a tool carries the value as the HTTP
// header named Argument, and the JSON-RPC body does not (header
// propagation: the target's metadataConfiguration.allowedRequestHeaders
// must list the header). No other POST carries it: not tools/list, not
// another tool's call, not a notification or an answer to the Gateway.
type Rule struct {
	Argument string   // tool argument, or header name, e.g. "X-Asana-Token"
	Secret   string   // name of the stored secret, e.g. "asana"
	Format   string   // e.g. "Bearer {secret}"; DefaultFormat when empty
	Tools    []string // path.Match globs over Gateway tool names; at least one
	Via      string   // ViaArgument (also "") or ViaHeader
	// Source says where Secrets gets the value: SourceKeychain (also "")
	// for a stored value, which the proxy caches for SecretTTL;
	// SourceCommand or SourceOAuth for a value that changes on its own,
	// which the source caches and Secrets is asked for at every call.
	Source string
}

// Where a Rule's secret comes from.
const (
	SourceKeychain = "keychain" // stored (the keychain, or the environment)
	SourceCommand  = "command"  // the output of a command (a vault CLI)
	SourceOAuth    = "oauth"    // an OAuth access token of the target's API
)

// dynamic reports whether the rule's source caches its own value.
func (r *Rule) dynamic() bool { return r.Source == SourceCommand || r.Source == SourceOAuth }

// How a Rule's value travels to the Gateway.
const (
	ViaArgument = "argument" // in the tool call's arguments
	ViaHeader   = "header"   // as an HTTP header of the call's POST
)

// header reports whether the rule sends its value as a header.
func (r *Rule) header() bool { return r.Via == ViaHeader }

func (r Rule) validate() error {
	switch {
	case r.Argument == "":
		return errors.New("proxy: rule has no argument")
	case r.Via != "" && r.Via != ViaArgument && r.Via != ViaHeader:
		return fmt.Errorf("proxy: rule for argument %q: via must be %q or %q", r.Argument, ViaArgument, ViaHeader)
	case r.header() && httpheader.Problem(r.Argument) != "":
		return fmt.Errorf("proxy: rule for header %q: the name %s", r.Argument, httpheader.Problem(r.Argument))
	case r.Secret == "":
		return fmt.Errorf("proxy: rule for argument %q has no secret", r.Argument)
	case r.Source != "" && r.Source != SourceKeychain && !r.dynamic():
		return fmt.Errorf("proxy: rule for argument %q: unknown source %q", r.Argument, r.Source)
	case len(r.Tools) == 0:
		return fmt.Errorf("proxy: rule for argument %q names no tools", r.Argument)
	case r.Format != "" && !strings.Contains(r.Format, "{secret}"):
		return fmt.Errorf("proxy: rule for argument %q: format has no {secret}", r.Argument)
	}
	for _, g := range r.Tools {
		if _, err := path.Match(g, ""); err != nil {
			return fmt.Errorf("proxy: rule for argument %q: bad tool glob %q", r.Argument, g)
		}
	}
	return nil
}

// matchesName reports whether the rule's globs cover the tool name.
func (r *Rule) matchesName(tool string) bool {
	for _, g := range r.Tools {
		if ok, _ := path.Match(g, tool); ok {
			return true
		}
	}
	return false
}

// value returns the argument value for the secret.
func (r *Rule) value(s tokenstore.Secret) tokenstore.Secret {
	f := r.Format
	if f == "" {
		f = DefaultFormat
	}
	return tokenstore.Secret(strings.ReplaceAll(f, "{secret}", string(s)))
}

// rulesForTool returns the rules whose secret the named tool gets: its name
// matches one of the rule's globs and its input schema (JSON, as the Gateway
// listed it) declares the rule's argument, with that exact name, in
// properties or required; for a header rule, its name matches and it is not
// the search tool.
//
// It is the one place that decides which tools get which secrets. The tool
// list asks it for every tool the Gateway lists (sync), and calls get what
// the list decided, so an unlisted name gets nothing; the search results
// ask it for each tool definition they carry; doctor's MatchRule asks it for
// each tool it checks.
func rulesForTool(rules []Rule, name string, schema []byte) []*Rule {
	var out []*Rule
	for i := range rules {
		r := &rules[i]
		if !r.matchesName(name) {
			continue
		}
		if r.header() && name != SearchToolName || !r.header() && declaresRaw(schema, r.Argument) {
			out = append(out, r)
		}
	}
	return out
}

// ruleArguments returns the arguments of rules: what is removed from the
// schema of a tool they apply to, and from the model's arguments to it.
func ruleArguments(rules []*Rule) []string {
	args := make([]string, len(rules))
	for i, r := range rules {
		args[i] = r.Argument
	}
	return args
}

// sameArgument reports whether name is arg for the Gateway: HTTP header
// names are case-insensitive, so a Gateway may turn x-asana-token into the
// same header as X-Asana-Token.
func sameArgument(name, arg string) bool { return strings.EqualFold(name, arg) }

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// errNotObject reports tool arguments that are not a JSON object.
var errNotObject = errors.New("tool arguments are not a JSON object")

// injectArgs returns args (a JSON object, or empty) with each key of values
// set to its value. Whatever the model sent under that name, in any case,
// is dropped first.
func injectArgs(args json.RawMessage, values map[string]tokenstore.Secret) (json.RawMessage, error) {
	return rewriteArgs(args, values, nil)
}

// rewriteArgs is injectArgs that also drops what the model sent under the
// names in drop (the arguments of header rules), in any case.
func rewriteArgs(args json.RawMessage, values map[string]tokenstore.Secret, drop []string) (json.RawMessage, error) {
	if out, ok := fastRewriteArgs(args, values, drop); ok {
		return out, nil
	}
	m := map[string]json.RawMessage{}
	if trimmed := strings.TrimSpace(string(args)); trimmed != "" && trimmed != "null" {
		if err := json.Unmarshal(args, &m); err != nil || m == nil {
			return nil, errNotObject
		}
	}
	for k := range m {
		for arg := range values {
			if sameArgument(k, arg) {
				delete(m, k)
				break
			}
		}
		for _, arg := range drop {
			if sameArgument(k, arg) {
				delete(m, k)
				break
			}
		}
	}
	for k, v := range values {
		b, err := json.Marshal(string(v))
		if err != nil {
			return nil, err
		}
		m[k] = b
	}
	return json.Marshal(m)
}

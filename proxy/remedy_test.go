package proxy

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agw-proxy/agw-proxy/tokenstore"
)

// loginNeeded is a login-needed error as the OAuth code reports it: a
// package prefix, the profile and the reason, and no command.
type loginNeeded struct{ profile, reason string }

func (e *loginNeeded) Error() string {
	return fmt.Sprintf("oauth: gateway login needed for profile %q: %s", e.profile, e.reason)
}

func (e *loginNeeded) Is(target error) bool { return target == tokenstore.ErrLoginNeeded }

// loginNeededUnwrapped is the same, matching by Unwrap instead of Is.
type loginNeededUnwrapped struct{ loginNeeded }

func (e *loginNeededUnwrapped) Unwrap() error { return tokenstore.ErrLoginNeeded }

func TestLoginReasonIsTheInnermostErrorThatSaysWhy(t *testing.T) {
	const why = `gateway login needed for profile "work": the refresh token expired (invalid_grant)`
	reason := &loginNeeded{"work", "the refresh token expired (invalid_grant)"}
	for _, tt := range []struct {
		name string
		err  error
		want string
	}{
		{"the error itself", reason, why},
		{"under the connect's context", fmt.Errorf("connect to the Gateway: calling %q: %w", "initialize", reason), why},
		{"matched by Unwrap", fmt.Errorf("connect to the Gateway: %w", &loginNeededUnwrapped{*reason}), why},
		{"one of two wrapped", fmt.Errorf("%w: %w", errors.New("sending"), reason), why},
		{"the bare sentinel", fmt.Errorf("connect to the Gateway: %w", tokenstore.ErrLoginNeeded), "gateway login needed"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if !errors.Is(tt.err, tokenstore.ErrLoginNeeded) {
				t.Fatal("the test's error is not a login-needed error")
			}
			if got := loginReason(tt.err); got != tt.want {
				t.Errorf("loginReason = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestTrimPackagePrefix(t *testing.T) {
	for in, want := range map[string]string{
		"tokenstore: no secret":      "no secret",
		"oauth2: token expired":      "token expired",
		"the Gateway said: no":       "the Gateway said: no",
		"Oauth: capitalised is kept": "Oauth: capitalised is kept",
		": empty word":               ": empty word",
		"no prefix":                  "no prefix",
	} {
		if got := trimPackagePrefix(in); got != want {
			t.Errorf("trimPackagePrefix(%q) = %q, want %q", in, got, want)
		}
	}
}

// adviceFor returns an Options.Advise that records the remedies it is asked
// for.
func adviceFor(asked *[]Remedy) func(Remedy) string {
	return func(r Remedy) string {
		*asked = append(*asked, r)
		switch r.Kind {
		case StoreSecret:
			return "run `cli store " + r.Secret + " --config c.yaml`"
		case GatewayLogin:
			return "run `cli login --config c.yaml`"
		case CheckSetup:
			return "run `cli doctor --config c.yaml`"
		}
		return "unknown remedy"
	}
}

func TestLoginMessageAddsTheAdviceToTheReason(t *testing.T) {
	err := fmt.Errorf("connect to the Gateway: %w", &loginNeeded{"work", "no client secret stored"})
	var asked []Remedy
	p, _ := New(Options{GatewayURL: "http://127.0.0.1:1/mcp", Advise: adviceFor(&asked)})
	want := `gateway login needed for profile "work": no client secret stored: run ` + "`cli login --config c.yaml`"
	if got := p.loginMessage(err); got != want {
		t.Errorf("loginMessage = %q, want %q", got, want)
	}
	if len(asked) != 1 || asked[0] != (Remedy{Kind: GatewayLogin}) {
		t.Errorf("Advise was asked for %+v, want one GatewayLogin", asked)
	}

	p, _ = New(Options{GatewayURL: "http://127.0.0.1:1/mcp"})
	if got, want := p.loginMessage(err), `gateway login needed for profile "work": no client secret stored`; got != want {
		t.Errorf("without Advise, loginMessage = %q, want %q", got, want)
	}
}

func TestLoginMessageIsScrubbed(t *testing.T) {
	const secret = "s3cr3t-in-a-reason"
	p, _ := New(Options{GatewayURL: "http://127.0.0.1:1/mcp"})
	p.scrub.Add(secret)
	if got := p.loginMessage(&loginNeeded{"work", "rejected " + secret}); strings.Contains(got, secret) || !strings.Contains(got, Mask) {
		t.Errorf("loginMessage = %q, want the secret masked", got)
	}
}

func TestSecretMessagesCarryTheAdviceForTheSecret(t *testing.T) {
	const store = "run `cli store asana --config c.yaml`"
	for _, tt := range []struct {
		err                 error
		without, withAdvice string
	}{
		{tokenstore.ErrNotFound,
			`no token stored for "asana"`,
			`no token stored for "asana": ` + store},
		{tokenstore.ErrTimeout,
			`the keychain did not answer in time while reading "asana"; it may be locked or waiting for an unlock prompt: unlock it and retry`,
			`the keychain did not answer in time while reading "asana"; it may be locked or waiting for an unlock prompt: unlock it and retry, or ` + store + ` again`},
		{tokenstore.ErrLocked,
			`the keychain is locked, so "asana" cannot be read: unlock it and retry`,
			`the keychain is locked, so "asana" cannot be read: unlock it and retry, or ` + store + ` again`},
		{tokenstore.ErrUnavailable,
			`no keychain is available to read "asana" from: set ` + tokenstore.EnvVar("asana") + ` in the MCP client's environment`,
			`no keychain is available to read "asana" from: set ` + tokenstore.EnvVar("asana") + ` in the MCP client's environment, or ` + store + ` where a keychain is available`},
		{errors.New("tokenstore: the value is not UTF-8"),
			`could not read the token for "asana" (the value is not UTF-8)`,
			`could not read the token for "asana" (the value is not UTF-8): ` + store + ` to store it again`},
	} {
		var asked []Remedy
		p, _ := New(Options{GatewayURL: "http://127.0.0.1:1/mcp", Advise: adviceFor(&asked)})
		if got := p.secretMessage("asana", tt.err); got != tt.withAdvice {
			t.Errorf("%v: secretMessage = %q, want %q", tt.err, got, tt.withAdvice)
		}
		if len(asked) != 1 || asked[0] != (Remedy{Kind: StoreSecret, Secret: "asana"}) {
			t.Errorf("%v: Advise was asked for %+v, want StoreSecret asana", tt.err, asked)
		}
		p, _ = New(Options{GatewayURL: "http://127.0.0.1:1/mcp"})
		if got := p.secretMessage("asana", tt.err); got != tt.without {
			t.Errorf("%v: without Advise, secretMessage = %q, want %q", tt.err, got, tt.without)
		}
	}
}

func TestRejectedTokenAdvisesCheckingTheSetup(t *testing.T) {
	var asked []Remedy
	p, _ := New(Options{GatewayURL: "http://127.0.0.1:1/mcp", Advise: adviceFor(&asked)})
	res, err := p.callFailed(t.Context(), "tool", &jsonrpc.Error{Code: codeInvalidBearer, Message: "invalid bearer token"})
	if err != nil {
		t.Fatal(err)
	}
	const want = "agw-proxy: the Gateway rejected the access token even after a refresh (invalid bearer token): check that the app client is allowed by the Gateway's authorizer; run `cli doctor --config c.yaml`"
	if got := resultText(t, res); got != want {
		t.Errorf("message = %q, want %q", got, want)
	}
	if len(asked) != 1 || asked[0] != (Remedy{Kind: CheckSetup}) {
		t.Errorf("Advise was asked for %+v, want one CheckSetup", asked)
	}
}

func TestLoginNeededOnACallCarriesTheAdvice(t *testing.T) {
	var asked []Remedy
	p, _ := New(Options{GatewayURL: "http://127.0.0.1:1/mcp", Advise: adviceFor(&asked)})
	res, err := p.callFailed(t.Context(), "tool", fmt.Errorf("list: %w", &loginNeeded{"work", "no refresh token stored"}))
	if err != nil {
		t.Fatal(err)
	}
	const want = `agw-proxy: the Gateway needs a login: gateway login needed for profile "work": no refresh token stored: run ` + "`cli login --config c.yaml`"
	if got := resultText(t, res); got != want {
		t.Errorf("message = %q, want %q", got, want)
	}
}

// resultText is the text of an isError tool result.
func resultText(t *testing.T, raw []byte) string {
	t.Helper()
	var res mcp.CallToolResult
	if err := res.UnmarshalJSON(raw); err != nil {
		t.Fatal(err)
	}
	if !res.IsError || len(res.Content) != 1 {
		t.Fatalf("result %s is not one isError text", raw)
	}
	return res.Content[0].(*mcp.TextContent).Text
}

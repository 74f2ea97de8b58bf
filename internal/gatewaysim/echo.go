package gatewaysim

// Options.EchoCredentials: a Gateway that leaks, for tests of a client's
// secret hygiene. Each MCP request's answer echoes the bearer token of its
// Authorization header and every client secret and refresh token the token
// endpoint has received or issued, each as it is, inside a JSON document
// with every character \u-escaped (and one with '/' as `\/`), and
// percent-encoded:
//
//   - a tools/call result gets one more text content with the echo;
//   - a JSON-RPC error (an unknown tool, say) carries it in its message;
//   - a tools/call with a progress token first gets a notifications/progress
//     whose message is the echo (it reaches the client over SSE only:
//     Options.Streaming and an Accept of text/event-stream).
//
// A log notification (notifications/message) would be the natural carrier,
// but go-sdk sends one only to a session that has set a log level, which a
// stateless Gateway session never has.
//
// Sim.Credentials lists what the echo may hold, plus every access token
// issued, for the test's oracle.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Credentials are the credentials an emulator with Options.EchoCredentials
// has seen, in the order first seen, without repeats.
type Credentials struct {
	ClientSecrets []string // client secrets the token endpoint authenticated
	RefreshTokens []string // refresh tokens the token endpoint received or issued
	AccessTokens  []string // access tokens the token endpoint issued
}

// All returns every credential, for a leak check.
func (c Credentials) All() []string {
	return slices.Concat(c.ClientSecrets, c.RefreshTokens, c.AccessTokens)
}

// Credentials returns the credentials seen so far (copies). Without
// Options.EchoCredentials nothing is recorded.
func (s *Sim) Credentials() Credentials {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Credentials{
		ClientSecrets: slices.Clone(s.creds.ClientSecrets),
		RefreshTokens: slices.Clone(s.creds.RefreshTokens),
		AccessTokens:  slices.Clone(s.creds.AccessTokens),
	}
}

// recordCredential appends v to list (a field of s.creds) under s.mu.
func (s *Sim) recordCredential(list *[]string, v string) {
	if !s.opts.EchoCredentials || v == "" {
		return
	}
	s.mu.Lock()
	if !slices.Contains(*list, v) {
		*list = append(*list, v)
	}
	s.mu.Unlock()
}

// echoMiddleware adds the echo to every answer (see the file comment).
func (s *Sim) echoMiddleware(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		var bearer string
		if extra := req.GetExtra(); extra != nil && extra.Header != nil {
			bearer = extra.Header.Get("Authorization")
		}
		echo := s.echo(bearer)
		if call, ok := req.(*mcp.CallToolRequest); ok && call.Params != nil {
			if pt := call.Params.GetProgressToken(); pt != nil {
				_ = call.Session.NotifyProgress(ctx, &mcp.ProgressNotificationParams{ProgressToken: pt, Message: echo})
			}
		}
		res, err := next(ctx, method, req)
		if err != nil {
			var jerr *jsonrpc.Error
			if !errors.As(err, &jerr) {
				jerr = &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: err.Error()}
			}
			return nil, &jsonrpc.Error{Code: jerr.Code, Message: jerr.Message + "\n" + echo, Data: jerr.Data}
		}
		if r, ok := res.(*mcp.CallToolResult); ok && r != nil {
			r.Content = append(slices.Clip(r.Content), &mcp.TextContent{Text: echo})
		}
		return res, nil
	}
}

// echo renders the bearer header and the token endpoint's credentials.
func (s *Sim) echo(bearer string) string {
	s.mu.Lock()
	creds := slices.Concat([]string{strings.TrimSpace(strings.TrimPrefix(bearer, "Bearer "))}, s.creds.ClientSecrets, s.creds.RefreshTokens)
	s.mu.Unlock()
	var b strings.Builder
	b.WriteString("the Gateway echoes your credentials:\n")
	for _, c := range creds {
		if c == "" {
			continue
		}
		fmt.Fprintf(&b, "raw %s\n", c)
		fmt.Fprintf(&b, "json {\"u\":\"%s\",\"slash\":\"%s\"}\n", uEscaped(c), strings.ReplaceAll(c, "/", `\/`))
		fmt.Fprintf(&b, "percent %s\n", percentEncoded(c))
	}
	return b.String()
}

// uEscaped is s as the body of a JSON string with every byte a \u escape.
// The credentials are ASCII.
func uEscaped(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		fmt.Fprintf(&b, `\u%04x`, s[i])
	}
	return b.String()
}

// percentEncoded is s with every byte percent-encoded, unreserved ones too.
func percentEncoded(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		fmt.Fprintf(&b, "%%%02X", s[i])
	}
	return b.String()
}

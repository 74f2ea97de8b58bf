package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agw-proxy/agw-proxy/internal/gatewaysim"
	"github.com/agw-proxy/agw-proxy/internal/leakcheck"
	"github.com/agw-proxy/agw-proxy/internal/testwait"
)

// The binary serves a client of either revision: 2026-07-28 (no
// initialize, _meta on every request) and 2025-11-25, through go-sdk's
// CommandTransport as a desktop client launches it.
func TestEndToEndEachClientRevision(t *testing.T) {
	for _, rev := range []string{"2026-07-28", "2025-11-25"} {
		t.Run(rev, func(t *testing.T) {
			sim := e2eSim(t, gatewaysim.Options{EchoToken: true})
			cmd := e2eServeCmd(t, sim, e2eAsanaToken)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			checkChildEnv(t, cmd)
			client := mcp.NewClient(&mcp.Implementation{Name: "e2e", Version: "1"}, nil)
			cs, err := client.Connect(ctx, &mcp.CommandTransport{Command: cmd}, &mcp.ClientSessionOptions{ProtocolVersion: rev})
			if err != nil {
				t.Fatal(err)
			}
			defer cs.Close()
			if got := cs.InitializeResult().ProtocolVersion; got != rev {
				t.Fatalf("the client speaks %s with agw-proxy, want %s", got, rev)
			}

			asana := gatewaysim.DefaultTargetName + "___asanaInvoke"
			var schema []byte
			for tool, err := range cs.Tools(ctx, nil) {
				if err != nil {
					t.Fatal(err)
				}
				if tool.Name == asana {
					schema, _ = json.Marshal(tool.InputSchema)
				}
			}
			if schema == nil || strings.Contains(string(schema), "X-Asana-Token") || !strings.Contains(string(schema), "tool_name") {
				t.Errorf("%s listed with schema %s, want tool_name and no X-Asana-Token", asana, schema)
			}

			out, isErr := e2eCall(t, cs, asana, map[string]any{"tool_name": "list_workspaces"})
			if isErr {
				t.Fatalf("call failed: %s", out)
			}
			if got := e2eReceived(t, sim, gatewaysim.DefaultTargetName); got.Header.Get("X-Asana-Token") != "Bearer "+e2eAsanaToken {
				t.Error("the target did not get X-Asana-Token: Bearer <stored token>")
			}
			if strings.Contains(out, "e2e-asana-token") || !strings.Contains(out, "[redacted]") {
				t.Errorf("the target's echo of the token reached the client unmasked: %q", out)
			}
		})
	}
}

// The same through raw lines on the binary's stdio: the bytes a 2026-07-28
// client reads carry resultType "complete"; a 2025 client's never do; none
// decodes to a secret.
func TestEndToEndRawLinesOfEachRevision(t *testing.T) {
	const meta = `"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}`
	asana := gatewaysim.DefaultTargetName + "___asanaInvoke"
	for _, tc := range []struct {
		rev      string
		requests []string
	}{
		{"2026-07-28", []string{
			`{"jsonrpc":"2.0","id":1,"method":"server/discover","params":{` + meta + `}}`,
			`{"jsonrpc":"2.0","id":2,"method":"tools/list","params":{` + meta + `}}`,
			`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"` + asana + `","arguments":{"tool_name":"echo"},` + meta + `}}`,
		}},
		{"2025-11-25", []string{
			`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`,
			`{"jsonrpc":"2.0","method":"notifications/initialized"}`,
			`{"jsonrpc":"2.0","id":2,"method":"tools/list"}`,
			`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"` + asana + `","arguments":{"tool_name":"echo"}}}`,
		}},
	} {
		t.Run(tc.rev, func(t *testing.T) {
			sim := e2eSim(t, gatewaysim.Options{EchoToken: true})
			cmd := e2eServeCmd(t, sim, e2eAsanaToken)
			stdin, err := cmd.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			defer func() {
				stdin.Close()
				testwait.Await(t, done, "agw-proxy to exit at EOF")
			}()

			lines := make(chan string, 16)
			go func() {
				defer close(lines)
				r := bufio.NewReader(stdout)
				for {
					line, err := r.ReadString('\n')
					if line != "" {
						lines <- line
					}
					if err != nil {
						return
					}
				}
			}()
			answers := map[string]string{} // by id
			for _, req := range tc.requests {
				if _, err := io.WriteString(stdin, req+"\n"); err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(req, `"id"`) {
					continue
				}
				line := testwait.Await(t, lines, "an answer from agw-proxy")
				if err := leakcheck.Message([]byte(line), e2eAsanaToken, sim.ClientSecret); err != nil {
					t.Error(err)
				}
				var m struct {
					ID     json.RawMessage
					Result json.RawMessage
				}
				if json.Unmarshal([]byte(line), &m) != nil || m.Result == nil {
					t.Fatalf("answer %q is not a result", line)
				}
				answers[string(m.ID)] = string(m.Result)
			}
			for id := 1; id <= 3; id++ {
				res := answers[fmt.Sprint(id)]
				var typed struct {
					ResultType string `json:"resultType"`
				}
				has := json.Unmarshal([]byte(res), &typed) == nil && typed.ResultType == "complete"
				if tc.rev == "2026-07-28" && !has {
					t.Errorf("answer %d lacks resultType complete: %.200s", id, res)
				}
				// The proxy's own answers (initialize, tools/list) are in
				// the client's revision; the call's result is the
				// Gateway's, with the resultType of a stateless Gateway.
				if tc.rev != "2026-07-28" && id < 3 && strings.Contains(res, `"resultType"`) {
					t.Errorf("a %s client got a resultType in answer %d: %.200s", tc.rev, id, res)
				}
			}
			if !strings.Contains(answers["3"], "[redacted]") {
				t.Errorf("the call's echo was not masked, or did not run: %.300s", answers["3"])
			}
		})
	}
}

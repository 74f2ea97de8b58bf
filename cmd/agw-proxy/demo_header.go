package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// showHeaderRule prints step 6: a call of the tool of the header rule, what
// its POST to the Gateway carried (the header, masked; a body without the
// token) and what the API received through header propagation.
func (d *demo) showHeaderRule(ctx context.Context, cs *mcp.ClientSession, p printer) error {
	callArgs := map[string]any{"tool_name": "list_projects", "workspace": "1200000000000000"}
	argsJSON, _ := json.Marshal(callArgs)
	d.sim.ClearReceived()
	result, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: demoHeaderTool, Arguments: callArgs})
	if err != nil {
		return fmt.Errorf("demo: tools/call through the proxy: %w", err)
	}
	if result.IsError {
		return fmt.Errorf("demo: the call failed: %s", d.scrub.String(resultText(result)))
	}
	if strings.Contains(resultText(result), demoAsanaToken) {
		return errors.New("demo: the token reached the model: the proxy did not scrub the result")
	}
	post, ok := d.wire.call(demoHeaderTool)
	if !ok {
		return fmt.Errorf("demo: no tools/call of %s reached the Gateway", demoHeaderTool)
	}
	if post.header != "Bearer "+demoAsanaToken {
		return fmt.Errorf("demo: the POST of the call did not carry %s: Bearer <the stored token>", demoArgument)
	}
	if post.bodyHasToken {
		return errors.New("demo: the token is in the JSON-RPC body of a header-mode call")
	}
	got := d.sim.Received()
	if len(got) != 1 || got[0].Header.Get(demoArgument) != "Bearer "+demoAsanaToken {
		return fmt.Errorf("demo: the API behind %s did not receive %s through header propagation", demoHeaderTarget, demoArgument)
	}
	p("6. Header propagation: %s allowlists %s in its metadataConfiguration\n", demoHeaderTarget, demoArgument)
	p("   (allowedRequestHeaders), and rule 2 sends the token as that HTTP header. The model calls:\n")
	p("     %s %s\n", demoHeaderTool, argsJSON)
	p("   The POST to the Gateway carried:\n")
	p("     %s: %s   <- set by agw-proxy on this call's POST only\n", demoArgument, d.mask(post.header))
	p("     JSON-RPC body: %d bytes, no token in it\n", post.bodySize)
	p("   The Gateway forwarded the header; the Asana API received:\n")
	p("     %s %s\n", got[0].Method, got[0].Path)
	p("     %s: %s\n", demoArgument, d.mask(got[0].Header.Get(demoArgument)))
	p("     body: %s   (no token in it)\n\n", got[0].Body)
	return nil
}

// wireCall is what the demo saw of one tools/call POST to the Gateway.
type wireCall struct {
	header       string // its X-Asana-Token header (the demo prints it masked)
	bodySize     int
	bodyHasToken bool
}

// record notes a tools/call POST to the Gateway: its tool, its
// X-Asana-Token header and whether its body holds the demo token.
func (w *wireRevision) record(r *http.Request) {
	if r.Method != http.MethodPost || r.GetBody == nil {
		return
	}
	rc, err := r.GetBody()
	if err != nil {
		return
	}
	body, _ := io.ReadAll(io.LimitReader(rc, 1<<20))
	rc.Close()
	var msg struct {
		Method string `json:"method"`
		Params struct {
			Name string `json:"name"`
		} `json:"params"`
	}
	if json.Unmarshal(body, &msg) != nil || msg.Method != "tools/call" {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.calls == nil {
		w.calls = map[string]wireCall{}
	}
	w.calls[msg.Params.Name] = wireCall{
		header:       r.Header.Get(demoArgument),
		bodySize:     len(body),
		bodyHasToken: bytes.Contains(body, []byte(demoAsanaToken)),
	}
}

// call returns the last tools/call POST of the named tool.
func (w *wireRevision) call(tool string) (wireCall, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	c, ok := w.calls[tool]
	return c, ok
}

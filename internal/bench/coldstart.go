package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// startTimes is one cold start of the proxy binary.
type startTimes struct {
	initialize time.Duration // process start -> initialize answered
	toolsList  time.Duration // process start -> first tools/list answered and decoded
	tools      []*mcp.Tool
}

// coldStartVersion is the MCP revision the cold starts' initialize asks
// for: a 2025 revision, as desktop clients initialize today.
const coldStartVersion = "2025-06-18"

const (
	initializeLine  = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"` + coldStartVersion + `","capabilities":{},"clientInfo":{"name":"agw-bench","version":"1"}}}` + "\n"
	initializedLine = `{"jsonrpc":"2.0","method":"notifications/initialized","params":{}}` + "\n"
	toolsListLine   = `{"jsonrpc":"2.0","id":2,"method":"tools/list","params":{}}` + "\n"
)

// coldStart runs the proxy once as a desktop client would: start the
// process, send initialize at once, and on its answer send initialized
// and tools/list. The clock starts before the fork; the tools/list answer is
// decoded (as an MCP client must) before the clock stops.
func coldStart(ctx context.Context, p *proxyCmd) (startTimes, error) {
	var st startTimes
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := p.command(ctx)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return st, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return st, err
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return st, err
	}
	defer func() {
		stdin.Close()
		waitOrKill(cmd, 5*time.Second)
	}()
	r := bufio.NewReaderSize(stdout, 1<<20)
	fail := func(err error) (startTimes, error) {
		return st, fmt.Errorf("%w (proxy stderr: %s)", err, lastLines(stderr.String(), 5))
	}
	if _, err := io.WriteString(stdin, initializeLine); err != nil {
		return fail(err)
	}
	raw, err := readResponse(r, "1")
	if err != nil {
		return fail(fmt.Errorf("initialize: %w", err))
	}
	st.initialize = time.Since(t0)
	var init mcp.InitializeResult
	if err := json.Unmarshal(raw, &init); err != nil || init.ProtocolVersion != coldStartVersion {
		return fail(fmt.Errorf("initialize: asked for MCP %s, got %.100s", coldStartVersion, raw))
	}
	if _, err := io.WriteString(stdin, initializedLine+toolsListLine); err != nil {
		return fail(err)
	}
	raw, err = readResponse(r, "2")
	if err != nil {
		return fail(fmt.Errorf("tools/list: %w", err))
	}
	var res mcp.ListToolsResult
	if err := json.Unmarshal(raw, &res); err != nil {
		return fail(fmt.Errorf("tools/list: %w", err))
	}
	st.toolsList = time.Since(t0)
	st.tools = res.Tools
	return st, nil
}

// readResponse reads lines until the response with the given id and
// returns its result; notifications and other messages are skipped.
func readResponse(r *bufio.Reader, id string) (json.RawMessage, error) {
	for {
		line, err := r.ReadBytes('\n')
		if err != nil {
			return nil, err
		}
		var msg struct {
			ID     json.RawMessage `json:"id"`
			Result json.RawMessage `json:"result"`
			Error  *struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if json.Unmarshal(line, &msg) != nil || string(msg.ID) != id {
			continue
		}
		if msg.Error != nil {
			return nil, fmt.Errorf("error %d: %s", msg.Error.Code, msg.Error.Message)
		}
		return msg.Result, nil
	}
}

// waitOrKill waits for cmd to exit, killing it after d.
func waitOrKill(cmd *exec.Cmd, d time.Duration) {
	done := make(chan struct{})
	go func() {
		cmd.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(d):
		cmd.Process.Kill()
		<-done
	}
}

func lastLines(s string, n int) string {
	lines := bytes.Split(bytes.TrimSpace([]byte(s)), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte(" | ")))
}

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// The warm-cache target (issue 17: a warm first tools/list within 1.2x of
// the floor's start -> initialize) is measured with a raw line reader on
// both sides, not with the go-sdk client: the client's decode of 1,000
// tools (80-150 ms on this machine) is the client's cost, the same behind
// any proxy or none, and would swamp what the proxy does; and the floor's
// start -> initialize carries none of the list's bytes, which any answer
// of the list must write and its client read. So both sides answer the
// same list from a file: agw-proxy from its tool cache (warm), the floor
// relay from a canned copy of agw-proxy's own answer (AGW_FLOOR_TOOLS, read
// when the request comes), and the clock stops when the answer's line is
// complete, before anything decodes it.

// rawFirstList starts p as coldStart does (initialize at once; on its
// answer initialized and tools/list) and returns process start -> the end
// of the line answering tools/list, read raw, and that answer's result.
// Which line it is is decided after the clock stops.
func rawFirstList(ctx context.Context, p *proxyCmd) (time.Duration, json.RawMessage, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := p.command(ctx)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return 0, nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return 0, nil, err
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, nil, err
	}
	defer func() {
		stdin.Close()
		waitOrKill(cmd, 5*time.Second)
	}()
	fail := func(err error) (time.Duration, json.RawMessage, error) {
		return 0, nil, fmt.Errorf("%w (stderr: %s)", err, lastLines(stderr.String(), 5))
	}
	r := bufio.NewReaderSize(stdout, 16<<20)
	if _, err := io.WriteString(stdin, initializeLine); err != nil {
		return fail(err)
	}
	if _, err := readResponse(r, "1"); err != nil {
		return fail(fmt.Errorf("initialize: %w", err))
	}
	if _, err := io.WriteString(stdin, initializedLine+toolsListLine); err != nil {
		return fail(err)
	}
	for {
		line, err := r.ReadSlice('\n')
		took := time.Since(t0)
		if err != nil {
			return fail(fmt.Errorf("tools/list: %w", err))
		}
		var msg struct {
			ID     json.RawMessage `json:"id"`
			Result json.RawMessage `json:"result"`
		}
		if json.Unmarshal(line, &msg) != nil || string(msg.ID) != "2" {
			continue
		}
		if msg.Result == nil {
			return fail(fmt.Errorf("tools/list: %.200s", line))
		}
		return took, bytes.Clone(msg.Result), nil
	}
}

// countTools returns the number of tools in a tools/list result.
func countTools(res json.RawMessage) (int, error) {
	var l struct {
		Tools []json.RawMessage `json:"tools"`
	}
	if err := json.Unmarshal(res, &l); err != nil {
		return 0, err
	}
	return len(l.Tools), nil
}

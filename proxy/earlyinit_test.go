package proxy

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/agw-proxy/agw-proxy/internal/testwait"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// The answer to the first initialize, byte for byte, as the SDK's server
// wrote it before the proxy answered it early (earlyinit.go).
const initAnswer = `{"jsonrpc":"2.0","id":1,"result":{"capabilities":{"logging":{},"tools":{"listChanged":true}},"protocolVersion":"2025-06-18","serverInfo":{"name":"agw-proxy","version":"devel"}}}`

func TestInitializeAnswerIsPinned(t *testing.T) {
	s := startRaw(t)
	s.send(t, initLine)
	line, err := readLineWithin(t, s.out)
	if err != nil {
		t.Fatal(err)
	}
	if line != initAnswer {
		t.Errorf("initialize answered\n%s\nwant\n%s", line, initAnswer)
	}
}

// TestInitializeAnswerIsTheSDKs compares the early answer with the SDK
// server's own, for every version a client may ask for and versions of the
// proxy that need escaping.
func TestInitializeAnswerIsTheSDKs(t *testing.T) {
	ctx := testwait.Context(t)
	for _, version := range []string{"devel", "v1.2.3", `1.0-"rc"<&>`} {
		for _, asked := range append(append([]string{"", "2099-01-01", "2026-07-28"}, DownstreamProtocolVersions...), "2024-10-07") {
			p, err := New(Options{GatewayURL: "http://127.0.0.1:1/mcp", Version: version})
			if err != nil {
				t.Fatal(err)
			}
			st, ct := mcp.NewInMemoryTransports()
			ss, err := p.server.Connect(ctx, st, nil)
			if err != nil {
				t.Fatal(err)
			}
			c := mcp.NewClient(&mcp.Implementation{Name: "t", Version: "1"}, nil)
			opts := &mcp.ClientSessionOptions{}
			if asked != "" {
				opts.ProtocolVersion = asked
			}
			cs, err := c.Connect(ctx, ct, opts)
			if err != nil {
				t.Fatalf("asked %q: %v", asked, err)
			}
			sdk := cs.InitializeResult()
			_ = cs.Close()
			_ = ss.Wait()

			var early mcp.InitializeResult
			if err := json.Unmarshal(initializeResult(sdk.ProtocolVersion, version), &early); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(&early, sdk) {
				sb, _ := json.Marshal(sdk)
				t.Errorf("version %q, asked %q: early answer %s, the SDK's %s", version, asked, initializeResult(sdk.ProtocolVersion, version), sb)
			}
		}
	}
}

// TestInitializeIsAnsweredOnceAndTheSessionInitialized: the SDK's own
// answer to the initialize answered early never reaches the client, and
// what the client sends next finds the session initialized (a method the
// SDK refuses before initialize is not refused for it).
func TestInitializeIsAnsweredOnceAndTheSessionInitialized(t *testing.T) {
	for range 20 {
		p, err := New(Options{GatewayURL: "http://127.0.0.1:1/mcp", ConnectTimeout: 200 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		in := initLine + "\n" +
			`{"jsonrpc":"2.0","id":2,"method":"resources/list","params":{}}` + "\n" +
			`{"jsonrpc":"2.0","method":"notifications/initialized","params":{}}` + "\n" +
			`{"jsonrpc":"2.0","id":3,"method":"ping"}` + "\n" +
			strings.Replace(initLine, `"id":1`, `"id":4`, 1) + "\n"
		var out strings.Builder
		ctx := testwait.Context(t)
		if err := p.Run(ctx, strings.NewReader(in), &out); err != nil {
			t.Fatal(err)
		}
		ids := map[string]int{}
		for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
			var m struct {
				ID    json.RawMessage `json:"id"`
				Error *struct {
					Message string `json:"message"`
				} `json:"error"`
			}
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				t.Fatalf("not JSON: %q", line)
			}
			ids[string(m.ID)]++
			if string(m.ID) == "2" && m.Error != nil && strings.Contains(m.Error.Message, "initializ") {
				t.Errorf("resources/list after initialize refused: %s", line)
			}
		}
		if want := map[string]int{"1": 1, "2": 1, "3": 1, "4": 1}; !reflect.DeepEqual(ids, want) {
			t.Fatalf("answers by id %v, want one each of 1-4; output:\n%s", ids, out.String())
		}
	}
}

func readLineWithin(t *testing.T, r *bufio.Reader) (string, error) {
	t.Helper()
	var line string
	var err error
	testwait.Within(t, 5*time.Second, "the initialize answer", func() {
		line, err = r.ReadString('\n')
	})
	if err != nil && err != io.EOF {
		return "", err
	}
	return strings.TrimSuffix(line, "\n"), nil
}

// TestInitializeTheSDKReadsOtherwiseIsItsToAnswer: initialize params the
// SDK refuses (nested deeper than it decodes) or reads otherwise (the
// protocolVersion key in another letter case, which it does not match)
// are not answered early: the client gets one answer to the initialize,
// the SDK's, and the request after it is answered too.
func TestInitializeTheSDKReadsOtherwiseIsItsToAnswer(t *testing.T) {
	deep := strings.Repeat("[", 1500) + strings.Repeat("]", 1500)
	for name, params := range map[string]string{
		"too deep": `{"protocolVersion":"2025-06-18","capabilities":{"experimental":{"x":` + deep + `}},"clientInfo":{"name":"t","version":"1"}}`,
		"key case": `{"ProtocolVersion":"2024-11-05","capabilities":{},"clientInfo":{"name":"t","version":"1"}}`,
	} {
		t.Run(name, func(t *testing.T) {
			p, err := New(Options{GatewayURL: "http://127.0.0.1:1/mcp", ConnectTimeout: 200 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			in := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":` + params + "}\n" +
				`{"jsonrpc":"2.0","id":2,"method":"ping"}` + "\n"
			var out strings.Builder
			if err := p.Run(testwait.Context(t), strings.NewReader(in), &out); err != nil {
				t.Fatalf("Run: %v; output:\n%s", err, out.String())
			}
			answers := map[string][]json.RawMessage{}
			for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
				var m struct {
					ID     json.RawMessage `json:"id"`
					Result json.RawMessage `json:"result"`
				}
				if err := json.Unmarshal([]byte(line), &m); err != nil {
					t.Fatalf("not JSON: %q", line)
				}
				answers[string(m.ID)] = append(answers[string(m.ID)], m.Result)
			}
			if len(answers["1"]) != 1 || len(answers["2"]) != 1 {
				t.Fatalf("want one answer each to ids 1 and 2; output:\n%s", out.String())
			}
			if name == "key case" {
				var r struct {
					ProtocolVersion string `json:"protocolVersion"`
				}
				_ = json.Unmarshal(answers["1"][0], &r)
				if r.ProtocolVersion == "2024-11-05" {
					t.Errorf("initialize answered with the version of a key the SDK does not read: %s", answers["1"][0])
				}
			}
		})
	}
}

// TestPlainInitialize pins which initialize params are answered early.
func TestPlainInitialize(t *testing.T) {
	nest := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	for _, tc := range []struct {
		params  string
		version string
		ok      bool
	}{
		{`{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}`, "2025-06-18", true},
		{` {"capabilities":{}} `, "", true},
		{`{"capabilities":{"experimental":{"x":` + nest(sdkMaxNesting-3) + `}}}`, "", true},
		{`{"capabilities":{"experimental":{"x":` + nest(sdkMaxNesting-2) + `}}}`, "", false},
		{`{"ProtocolVersion":"2024-11-05"}`, "", false},
		{`{"protocolVersion":"2024-11-05","protocolVersion":"2025-06-18"}`, "", false},
		{`{"protocolVersion":"2025\u002d06-18"}`, "", false},
		{`{"protocolVersion":null}`, "", false},
		{`{"protocolVersion":"2025-06-18","capabilities":5}`, "", false},
		{`[]`, "", false},
		{``, "", false},
	} {
		version, ok := plainInitialize(json.RawMessage(tc.params))
		if ok != tc.ok || ok && version != tc.version {
			t.Errorf("%.80s: %q %v, want %q %v", tc.params, version, ok, tc.version, tc.ok)
		}
	}
}

// TestSDKsErrorToAnEarlyAnswerEndsTheWait: when the SDK answers the
// request answered early with an error, that answer is dropped like a
// result would be, and the wait for it ends.
func TestSDKsErrorToAnEarlyAnswerEndsTheWait(t *testing.T) {
	var out strings.Builder
	c := newStdioConn(strings.NewReader(""), &out, NewScrubber(), nil)
	defer c.Close()
	id, _ := jsonrpc.MakeID(float64(1))
	done, ok := c.answerEarly(id, json.RawMessage(`{}`))
	if !ok {
		t.Fatal("not answered early")
	}
	if err := c.Write(testwait.Context(t), &jsonrpc.Response{ID: id, Error: errors.New("refused")}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	default:
		t.Fatal("the SDK's error to the request answered early did not end the wait")
	}
	if got := strings.Count(out.String(), "\n"); got != 1 {
		t.Errorf("%d lines written, want the early answer only:\n%s", got, out.String())
	}
}

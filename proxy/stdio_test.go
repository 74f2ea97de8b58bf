package proxy

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"

	"github.com/agw-proxy/agw-proxy/internal/leakcheck"
	"github.com/agw-proxy/agw-proxy/internal/testwait"
	"github.com/agw-proxy/agw-proxy/tokenstore"
)

// rawSession runs a proxy (whose Gateway is unreachable) on pipes and lets
// the test write raw lines and read raw responses.
type rawSession struct {
	in   *io.PipeWriter
	out  *bufio.Reader
	done chan error
}

func startRaw(t *testing.T) *rawSession {
	t.Helper()
	testwait.NoLeaks(t)
	p, err := New(Options{GatewayURL: "http://127.0.0.1:1/mcp", ConnectTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	s := &rawSession{in: inW, out: bufio.NewReader(outR), done: make(chan error, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { s.done <- p.Run(ctx, inR, outW) }()
	t.Cleanup(func() {
		inW.Close()
		select {
		case <-s.done:
		case <-time.After(5 * time.Second):
			t.Error("proxy did not stop at EOF")
		}
		cancel()
		outR.Close()
	})
	return s
}

func (s *rawSession) send(t *testing.T, line string) {
	t.Helper()
	s.sendWithin(t, 5*time.Second, line)
}

// sendWithin writes one line, failing the test if the proxy has not read
// it within d: a proxy that stopped reading stdin would block the write
// forever (until Cleanup closes the pipe, which ends it).
func (s *rawSession) sendWithin(t *testing.T, d time.Duration, line string) {
	t.Helper()
	var err error
	testwait.Within(t, d, "the proxy reading a line from stdin", func() {
		_, err = io.WriteString(s.in, line+"\n")
	})
	if err != nil {
		t.Fatalf("write: %v", err)
	}
}

// recv reads one response line as a generic object.
func (s *rawSession) recv(t *testing.T) map[string]any {
	t.Helper()
	type result struct {
		line []byte
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		line, err := s.out.ReadBytes('\n')
		ch <- result{line, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			t.Fatalf("read: %v", r.err)
		}
		var m map[string]any
		if err := json.Unmarshal(r.line, &m); err != nil {
			t.Fatalf("proxy wrote a line that is not JSON: %q", r.line)
		}
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("no response")
		return nil
	}
}

func errorCode(m map[string]any) float64 {
	e, _ := m["error"].(map[string]any)
	c, _ := e["code"].(float64)
	return c
}

const initLine = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`

func TestInitializeIsAnsweredWithoutTheGateway(t *testing.T) {
	s := startRaw(t)
	s.send(t, initLine)
	m := s.recv(t)
	res, ok := m["result"].(map[string]any)
	if !ok {
		t.Fatalf("initialize answered with %v", m)
	}
	if res["protocolVersion"] != "2025-06-18" {
		t.Errorf("protocolVersion = %v, want the client's 2025-06-18", res["protocolVersion"])
	}
	caps, _ := res["capabilities"].(map[string]any)
	if _, ok := caps["tools"]; !ok {
		t.Errorf("no tools capability: %v", caps)
	}
}

func TestProtocolVersions(t *testing.T) {
	for _, tt := range []struct{ asked, want string }{
		{"2025-03-26", "2025-03-26"},
		{"2025-06-18", "2025-06-18"},
		{"2025-11-25", "2025-11-25"},
		{"2099-01-01", "2025-11-25"}, // unknown: our newest, never an error
	} {
		s := startRaw(t)
		s.send(t, strings.Replace(initLine, "2025-06-18", tt.asked, 1))
		m := s.recv(t)
		res, _ := m["result"].(map[string]any)
		if res == nil || res["protocolVersion"] != tt.want {
			t.Errorf("asked %s: got %v, want %s", tt.asked, m, tt.want)
		}
	}
}

func TestRepeatedInitializeIsNotAnError(t *testing.T) {
	s := startRaw(t)
	s.send(t, initLine)
	s.recv(t)
	s.send(t, strings.Replace(initLine, `"id":1`, `"id":2`, 1))
	m := s.recv(t)
	if m["error"] != nil || m["result"] == nil {
		t.Errorf("second initialize answered %v", m)
	}
}

func TestBadInputGetsAnErrorAndTheSessionGoesOn(t *testing.T) {
	tests := []struct {
		name string
		line string
		code float64
		id   any
	}{
		{"garbage", "this is not json", codeParseError, nil},
		{"truncated", `{"jsonrpc":"2.0","id":7,"method":"ping"`, codeParseError, nil},
		{"not an object", `42`, codeInvalidRequest, nil},
		{"batch", `[{"jsonrpc":"2.0","id":1,"method":"ping"}]`, codeInvalidRequest, nil},
		{"no method", `{"jsonrpc":"2.0","id":9}`, codeInvalidRequest, float64(9)},
	}
	s := startRaw(t)
	s.send(t, initLine)
	s.recv(t)
	s.send(t, `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	for i, tt := range tests {
		s.send(t, tt.line)
		m := s.recv(t)
		if errorCode(m) != tt.code {
			t.Errorf("%s: got %v, want error code %v", tt.name, m, tt.code)
		}
		if m["id"] != tt.id {
			t.Errorf("%s: id %v, want %v", tt.name, m["id"], tt.id)
		}
		// Still alive: a ping is answered.
		s.send(t, `{"jsonrpc":"2.0","id":"p`+string(rune('a'+i))+`","method":"ping"}`)
		if m := s.recv(t); m["result"] == nil {
			t.Fatalf("%s: ping after bad input answered %v", tt.name, m)
		}
	}
}

func TestUnknownMethod(t *testing.T) {
	s := startRaw(t)
	s.send(t, initLine)
	s.recv(t)
	s.send(t, `{"jsonrpc":"2.0","id":3,"method":"no/such/method"}`)
	if m := s.recv(t); errorCode(m) != -32601 {
		t.Errorf("unknown method answered %v", m)
	}
}

func TestOversizedLineIsRefused(t *testing.T) {
	const max = 1 << 20
	r := bufio.NewReaderSize(strings.NewReader(strings.Repeat("x", max+10)+"\n"+`{"ok":1}`+"\n"), 4096)
	if _, err := readLine(r, max); err != errTooLarge {
		t.Fatalf("oversized line: err = %v, want errTooLarge", err)
	}
	line, err := readLine(r, max)
	if err != nil || string(line) != `{"ok":1}` {
		t.Fatalf("line after the oversized one = %q, %v", line, err)
	}
}

func TestOversizedLineGetsAnErrorAndTheSessionGoesOn(t *testing.T) {
	s := startRaw(t)
	s.send(t, initLine)
	s.recv(t)
	s.send(t, `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	big := `{"jsonrpc":"2.0","id":5,"method":"ping","params":{"pad":"` + strings.Repeat("x", MaxMessageSize) + `"}}`
	// 64 MiB through a pipe: generous under the race detector.
	s.sendWithin(t, 30*time.Second, big)
	m := s.recv(t)
	e, _ := m["error"].(map[string]any)
	if errorCode(m) != codeInvalidRequest || !strings.Contains(fmt.Sprint(e["message"]), "larger than") {
		t.Errorf("a line over MaxMessageSize answered %v, want an invalid-request error saying it is too large", m)
	}
	s.send(t, `{"jsonrpc":"2.0","id":"after","method":"ping"}`)
	if m := s.recv(t); m["id"] != "after" || m["result"] == nil {
		t.Errorf("ping after the oversized line answered %v", m)
	}
}

func TestEOFEndsRun(t *testing.T) {
	testwait.NoLeaks(t)
	p, err := New(Options{GatewayURL: "http://127.0.0.1:1/mcp"})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	done := make(chan error, 1)
	go func() { done <- p.Run(context.Background(), strings.NewReader(initLine+"\n"), &out) }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run at EOF = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return at EOF")
	}
	if !strings.Contains(out.String(), `"protocolVersion"`) {
		t.Errorf("initialize before EOF not answered: %q", out.String())
	}
}

func FuzzStdinFraming(f *testing.F) {
	f.Add([]byte(initLine + "\n"))
	f.Add([]byte("garbage\n{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\n"))
	f.Add([]byte("[1,2]\n\n\r\n{}\n"))
	f.Add([]byte(`{"jsonrpc":"2.0","id":{"x":1},"method":"ping"}` + "\n"))
	f.Fuzz(func(t *testing.T, input []byte) {
		var out bytes.Buffer
		c := newStdioConn(bytes.NewReader(input), &out, NewScrubber(), nil)
		defer c.Close()
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_, err := c.Read(ctx)
			cancel()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
		}
		// Whatever came in, what went out is whole JSON lines.
		for _, line := range bytes.Split(bytes.TrimSuffix(out.Bytes(), []byte("\n")), []byte("\n")) {
			if len(line) > 0 && !json.Valid(line) {
				t.Fatalf("wrote invalid JSON %q", line)
			}
		}
	})
}

func TestEncodeMessageMatchesTheSDK(t *testing.T) {
	for _, id := range []any{float64(7), "req-<1>"} {
		jid, err := jsonrpc.MakeID(id)
		if err != nil {
			t.Fatal(err)
		}
		msgs := []jsonrpc.Message{
			&jsonrpc.Response{ID: jid, Result: json.RawMessage(`{"tools":[{"name":"a\u003cb","x":[1,2]}]}`)},
			&jsonrpc.Response{ID: jid, Error: &jsonrpc.Error{Code: -32000, Message: "boom"}},
			&jsonrpc.Request{Method: "notifications/tools/list_changed"},
		}
		for _, m := range msgs {
			got, err := encodeMessage(m)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := jsonrpc.EncodeMessage(m)
			var g, w any
			if json.Unmarshal(got, &g) != nil || json.Unmarshal(want, &w) != nil {
				t.Fatalf("invalid JSON: %s vs %s", got, want)
			}
			if !reflect.DeepEqual(g, w) {
				t.Errorf("encodeMessage = %s, SDK = %s", got, want)
			}
		}
	}
}

// FuzzDecodeMessage checks the proxy's decoder against the SDK's: every
// message the SDK reads is read the same. (The proxy is more lenient in one
// way, as encoding/json is: object keys match case-insensitively. It is
// stricter in another: a "response" with neither result nor error is
// refused, and so is trailing data after the message, which the SDK's
// stdio transport refuses too.)
func FuzzDecodeMessage(f *testing.F) {
	f.Add([]byte(initLine))
	f.Add([]byte(`{"jsonrpc":"2.0","id":"x","result":{"a":1}}`))
	f.Add([]byte(`{"jsonrpc":"2.0","id":3,"error":{"code":-1,"message":"m"}}`))
	f.Add([]byte(`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}}`))
	f.Add([]byte(`{"jsonrpc":"1.0","id":1,"method":"x"}`))
	f.Add([]byte(`{"jsonrpc":"2.0","id":1.5,"method":"x"}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		theirs, sdkErr := jsonrpc.DecodeMessage(line)
		if sdkErr != nil || caseVariantKeys(line) {
			return
		}
		ours, err := decodeMessage(line)
		if err != nil {
			if !json.Valid(line) {
				return
			}
			if r, ok := theirs.(*jsonrpc.Response); ok && r.Result == nil && r.Error == nil {
				return
			}
			t.Fatalf("refused what the SDK reads (%v): %q", err, line)
		}
		a, _ := jsonrpc.EncodeMessage(ours)
		b, _ := jsonrpc.EncodeMessage(theirs)
		var x, y any
		json.Unmarshal(a, &x)
		json.Unmarshal(b, &y)
		if !reflect.DeepEqual(x, y) {
			t.Fatalf("decoded %q as %s, the SDK as %s", line, a, b)
		}
	})
}

// caseVariantKeys reports whether a JSON object has a key that differs
// only in case from a JSON-RPC member name, at the top level or in its
// error object.
func caseVariantKeys(line []byte) bool {
	return hasCaseVariant(line, "jsonrpc", "id", "method", "params", "result", "error")
}

func hasCaseVariant(obj []byte, names ...string) bool {
	var m map[string]json.RawMessage
	if json.Unmarshal(obj, &m) != nil {
		return false
	}
	for k, v := range m {
		for _, name := range names {
			if k != name && strings.EqualFold(k, name) {
				return true
			}
		}
		if strings.EqualFold(k, "error") && hasCaseVariant(v, "code", "message", "data") {
			return true
		}
	}
	return false
}

func TestPrettyPrintedGatewayBytesStayOneLine(t *testing.T) {
	var out bytes.Buffer
	c := newStdioConn(strings.NewReader(""), &out, NewScrubber(), nil)
	defer c.Close()
	jid, _ := jsonrpc.MakeID("x")
	pretty := json.RawMessage("{\n  \"content\": [\r\n    {\"type\": \"text\", \"text\": \"a\\nb\"}\n  ]\n}")
	if err := c.Write(context.Background(), &jsonrpc.Response{ID: jid, Result: pretty}); err != nil {
		t.Fatal(err)
	}
	line := strings.TrimSuffix(out.String(), "\n")
	if strings.ContainsAny(line, "\r\n") {
		t.Fatalf("a message spans lines: %q", out.String())
	}
	var m struct {
		Result struct {
			Content []struct{ Text string } `json:"content"`
		} `json:"result"`
	}
	if err := json.Unmarshal([]byte(line), &m); err != nil || m.Result.Content[0].Text != "a\nb" {
		t.Errorf("content changed: %q (%v)", line, err)
	}
}

// A large result is written in pieces, not copied into its message: the
// client gets the same line as from a small one's path, scrubbed (the
// secret in escaped forms too), on one line, with the members a stateless
// client's result gets first.
func TestLargeResultWrittenInPiecesAsOneMessage(t *testing.T) {
	const secret = "tok-3f9a1c77e2b84d0e9a6f"
	sc := NewScrubber()
	sc.Add(tokenstore.Secret(secret))
	escaped := `tok\u002d3f9a1c77e2b84d0e9a6f`
	filler := strings.Repeat("lorem ipsum ", pieceSize/12+1)
	for _, tc := range []struct {
		name, first, result string
	}{
		{"plain", "", `{"content":[{"type":"text","text":"` + filler + secret + `"}]}`},
		{"escaped, first spliced", `"resultType":"complete"`, `{"content":[{"type":"text","text":"` + escaped + filler + `"}]}`},
		{"pretty, first spliced", `"resultType":"complete"`, "{\n  \"content\": [{\"type\": \"text\", \"text\": \"" + filler + secret + "\"}]\n}"},
		{"empty object, first spliced", `"resultType":"complete"`, "{ " + strings.Repeat(" ", pieceSize) + "}"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if len(tc.result) < pieceSize {
				t.Fatal("the result would not be written in pieces")
			}
			jid, _ := jsonrpc.MakeID("call-" + secret)
			var pieces, whole bytes.Buffer
			c := newStdioConn(strings.NewReader(""), &pieces, sc, nil)
			defer c.Close()
			if err := c.writeResult(jid, tc.first, json.RawMessage(tc.result)); err != nil {
				t.Fatal(err)
			}
			// The small result's path, for comparison.
			w := newStdioConn(strings.NewReader(""), &whole, sc, nil)
			defer w.Close()
			data, _ := encodeResult(jid, tc.first, json.RawMessage(tc.result))
			if err := w.writeRaw(data); err != nil {
				t.Fatal(err)
			}
			if pieces.String() != whole.String() {
				t.Fatalf("in pieces:\n%.200s\nwhole:\n%.200s", pieces.String(), whole.String())
			}
			line := strings.TrimSuffix(pieces.String(), "\n")
			if strings.ContainsAny(line, "\r\n") || !json.Valid([]byte(line)) {
				t.Fatalf("not one JSON line: %.200q", line)
			}
			if err := leakcheck.Lines(pieces.String(), secret); err != nil {
				t.Error(err)
			}
			if tc.first != "" && !strings.Contains(line, `"result":{"resultType":"complete"`) {
				t.Errorf("the result does not begin with %s: %.120s", tc.first, line)
			}
		})
	}
}

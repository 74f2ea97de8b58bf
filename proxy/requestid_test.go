package proxy

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/agw-proxy/agw-proxy/internal/testwait"
)

// startRawWith is startRaw with the connect timeout given: requests for
// tools wait that long for the (unreachable) Gateway, so they are in flight
// long enough to overlap.
func startRawWith(t testing.TB, connect time.Duration) (*io.PipeWriter, *bufio.Reader, chan error) {
	t.Helper()
	testwait.NoLeaks(t)
	p, err := New(Options{GatewayURL: "http://127.0.0.1:1/mcp", ConnectTimeout: connect})
	if err != nil {
		t.Fatal(err)
	}
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { done <- p.Run(ctx, inR, outW) }()
	t.Cleanup(func() {
		inW.Close()
		cancel()
		outR.Close()
	})
	return inW, bufio.NewReader(outR), done
}

func TestDuplicateRequestIDIsRefused(t *testing.T) {
	s := startRaw(t) // tools/list waits 200 ms for the unreachable Gateway
	s.send(t, initLine)
	s.recv(t)
	s.send(t, `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	for _, method := range []string{"tools/list", "tools/call"} {
		params := `{}`
		if method == "tools/call" {
			params = `{"name":"x","arguments":{}}`
		}
		req := `{"jsonrpc":"2.0","id":7,"method":"` + method + `","params":` + params + `}`
		s.send(t, req)
		s.send(t, req)
		// The second is refused at once, while the first waits.
		m := s.recv(t)
		e, _ := m["error"].(map[string]any)
		if m["id"] != float64(7) || errorCode(m) != codeInvalidRequest || !strings.Contains(fmt.Sprint(e["message"]), "request id already in use") {
			t.Fatalf("%s: second request with id 7 answered %v", method, m)
		}
		// The first gets its own answer.
		if m := s.recv(t); m["id"] != float64(7) || (m["result"] == nil && m["error"] == nil) {
			t.Fatalf("%s: first request answered %v", method, m)
		}
	}
	s.send(t, `{"jsonrpc":"2.0","id":8,"method":"ping"}`)
	if m := s.recv(t); m["id"] != float64(8) || m["result"] == nil {
		t.Fatalf("ping after duplicate ids answered %v", m)
	}
}

// FuzzRequestIDs sends sequences of requests, cancellations and id reuses,
// as a confused client might. The proxy must stay up, write only JSON, never
// answer a request twice, and answer a last request.
func FuzzRequestIDs(f *testing.F) {
	f.Add([]byte{0, 0, 2, 0, 0})       // list 0, list 0, cancel 0, list 0
	f.Add([]byte{1, 5, 9, 2, 6, 1, 1}) // calls and cancels over two ids
	f.Fuzz(func(t *testing.T, ops []byte) {
		if len(ops) > 64 {
			ops = ops[:64]
		}
		in, out, done := startRawWith(t, 20*time.Millisecond)
		var b strings.Builder
		b.WriteString(initLine + "\n" + `{"jsonrpc":"2.0","method":"notifications/initialized"}` + "\n")
		requests := map[float64]int{1: 1}
		for _, op := range ops {
			id := float64(op / 4 % 4)
			switch op % 4 {
			case 0:
				fmt.Fprintf(&b, `{"jsonrpc":"2.0","id":%v,"method":"tools/list"}`+"\n", id)
				requests[id]++
			case 1:
				fmt.Fprintf(&b, `{"jsonrpc":"2.0","id":%v,"method":"tools/call","params":{"name":"t","arguments":{}}}`+"\n", id)
				requests[id]++
			case 2:
				fmt.Fprintf(&b, `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":%v}}`+"\n", id)
			case 3:
				fmt.Fprintf(&b, `{"jsonrpc":"2.0","id":%v,"method":"ping"}`+"\n", id)
				requests[id]++
			}
		}
		b.WriteString(`{"jsonrpc":"2.0","id":1000,"method":"ping"}` + "\n")
		go io.WriteString(in, b.String())

		answers := map[float64]int{}
		lines := make(chan []byte)
		stop := make(chan struct{})
		defer close(stop) // the proxy may write on after the last answer
		go func() {
			for {
				line, err := out.ReadBytes('\n')
				if err != nil {
					close(lines)
					return
				}
				select {
				case lines <- line:
				case <-stop:
					return
				}
			}
		}()
		deadline := time.After(10 * time.Second)
		for {
			select {
			case line, ok := <-lines:
				if !ok {
					t.Fatalf("stdout ended early: %v", <-done)
				}
				var m map[string]any
				if err := json.Unmarshal(line, &m); err != nil {
					t.Fatalf("not JSON: %q", line)
				}
				id, isNum := m["id"].(float64)
				if !isNum {
					continue // a notification
				}
				if id == 1000 {
					for id, n := range answers {
						if n > requests[id] {
							t.Fatalf("id %v answered %d times for %d requests", id, n, requests[id])
						}
					}
					return
				}
				answers[id]++
			case err := <-done:
				t.Fatalf("the proxy stopped: %v", err)
			case <-deadline:
				t.Fatal("the last request was not answered")
			}
		}
	})
}

package proxy

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agw-proxy/agw-proxy/tokenstore"
)

// fakeUpstream is an upstream other than sessionUpstream, as a stateless
// one would be: the proxy must work with it through the interface alone.
type fakeUpstream struct {
	mu       sync.Mutex
	list     string   // the tools/list result
	opens    int      // sessions opened
	calls    []string // the params of every tools/call, in order
	notSent  int      // how many tools/calls to refuse with errNotSent
	sessions []*fakeSession
}

func (u *fakeUpstream) open(context.Context) (upstreamSession, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.opens++
	s := &fakeSession{u: u, done: make(chan struct{})}
	u.sessions = append(u.sessions, s)
	return s, nil
}

func (u *fakeUpstream) setList(list string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.list = list
}

type fakeSession struct {
	u    *fakeUpstream
	once sync.Once
	done chan struct{}
}

func (s *fakeSession) call(_ context.Context, method string, params []byte) (json.RawMessage, error) {
	u := s.u
	u.mu.Lock()
	defer u.mu.Unlock()
	switch method {
	case "tools/list":
		return json.RawMessage(u.list), nil
	case "tools/call":
		u.calls = append(u.calls, string(params))
		if u.notSent > 0 {
			u.notSent--
			return nil, notSent(errors.New("the session is gone"))
		}
		return json.RawMessage(`{"content":[{"type":"text","text":"done"}]}`), nil
	}
	return nil, errors.New("unexpected method " + method)
}

func (s *fakeSession) listed([][]byte, time.Duration) {}
func (s *fakeSession) lost() <-chan struct{}          { return s.done }
func (s *fakeSession) close()                         { s.once.Do(func() { close(s.done) }) }
func (s *fakeSession) protocol() string               { return "fake" }

type mapSecrets map[string]tokenstore.Secret

func (m mapSecrets) Secret(_ context.Context, name string) (tokenstore.Secret, error) {
	if v, ok := m[name]; ok {
		return v, nil
	}
	return "", tokenstore.ErrNotFound
}

const fakeList = `{"tools":[{"name":"task","inputSchema":{"type":"object","properties":{"X-Token":{"type":"string"},"gid":{"type":"string"}},"required":["X-Token"]}}]}`

// startFake runs a proxy on u and initializes a raw client session with it.
func startFake(t *testing.T, u *fakeUpstream) (*Proxy, *rawSession) {
	t.Helper()
	p, err := New(Options{
		GatewayURL:     "http://127.0.0.1:1/mcp",
		Rules:          []Rule{{Argument: "X-Token", Secret: "token", Tools: []string{"task"}}},
		Secrets:        mapSecrets{"token": "the-stored-token"},
		ConnectTimeout: 5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	p.up = u
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	s := &rawSession{in: inW, out: bufio.NewReader(outR), done: make(chan error, 1)}
	ctx, cancel := context.WithCancel(t.Context())
	go func() { s.done <- p.Run(ctx, inR, outW) }()
	t.Cleanup(func() {
		cancel()
		inW.Close()
		select {
		case <-s.done:
		case <-time.After(5 * time.Second):
			t.Error("proxy did not stop")
		}
		outR.Close()
	})
	s.send(t, initLine)
	s.recv(t)
	s.send(t, `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	return p, s
}

func TestAnotherUpstreamServesListsAndCalls(t *testing.T) {
	u := &fakeUpstream{list: fakeList, notSent: 1}
	_, s := startFake(t, u)

	s.send(t, `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`)
	list := s.recv(t)
	if b, _ := json.Marshal(list["result"]); strings.Contains(string(b), "X-Token") || !strings.Contains(string(b), "gid") {
		t.Fatalf("tools/list = %s, want the tool without its secret argument", b)
	}

	// The first try is refused as never sent: the proxy opens a new
	// session and sends it once more.
	s.send(t, `{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"task","arguments":{"gid":"1"}}}`)
	if res := s.recv(t); res["result"] == nil {
		t.Fatalf("tools/call = %v, want a result", res)
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.calls) != 2 || u.opens != 2 {
		t.Fatalf("%d tools/call on %d sessions, want 2 on 2 (one retry after a reconnect)", len(u.calls), u.opens)
	}
	for _, c := range u.calls {
		if !strings.Contains(c, `"X-Token":"Bearer the-stored-token"`) {
			t.Errorf("tools/call params %s lack the secret", c)
		}
	}
}

func TestAnotherUpstreamsChangeIsAnnouncedOnlyWhenTheListChanged(t *testing.T) {
	u := &fakeUpstream{list: fakeList}
	p, s := startFake(t, u)
	s.send(t, `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`)
	s.recv(t)

	// settled waits until the re-sync of every announcement so far is done.
	settled := func() {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			p.mu.Lock()
			done := p.lists.settled >= p.lists.announced
			p.mu.Unlock()
			if done {
				return
			}
			if time.Now().After(deadline) {
				t.Fatal("the re-sync did not finish")
			}
			time.Sleep(time.Millisecond)
		}
	}

	p.toolsChanged() // the same list again
	settled()
	s.send(t, `{"jsonrpc":"2.0","id":3,"method":"ping"}`)
	if m := s.recv(t); m["method"] != nil {
		t.Fatalf("got %v after a re-sync that changed nothing, want the ping's answer", m)
	}

	u.setList(strings.Replace(fakeList, `"task"`, `"task2"`, 1))
	p.toolsChanged()
	if m := s.recv(t); m["method"] != "notifications/tools/list_changed" {
		t.Fatalf("got %v after the list changed, want notifications/tools/list_changed", m)
	}
}

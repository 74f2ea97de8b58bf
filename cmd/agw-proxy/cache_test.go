package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agw-proxy/agw-proxy/internal/gatewaysim"
	"github.com/agw-proxy/agw-proxy/internal/leakcheck"
	"github.com/agw-proxy/agw-proxy/internal/testwait"
	"github.com/agw-proxy/agw-proxy/internal/toolcache"
)

// heldGateway stands in front of the emulator and holds every request
// while shut.
type heldGateway struct {
	URL  string
	mu   sync.Mutex
	gate chan struct{}
}

func newHeldGateway(t *testing.T, sim *gatewaysim.Sim) *heldGateway {
	t.Helper()
	u, _ := url.Parse(sim.GatewayURL)
	rp := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: u.Scheme, Host: u.Host})
	rp.FlushInterval = -1
	g := &heldGateway{gate: make(chan struct{})}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		gate := g.gate
		g.mu.Unlock()
		select {
		case <-gate:
		case <-r.Context().Done():
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(g.open)
	g.URL = srv.URL + u.Path
	return g
}

func (g *heldGateway) open() {
	g.mu.Lock()
	defer g.mu.Unlock()
	select {
	case <-g.gate:
	default:
		close(g.gate)
	}
}

// cachedServe is serve for sim through gw, with its tool cache in dir,
// and the key of its entry. start starts it.
func cachedServe(t *testing.T, sim *gatewaysim.Sim, gw *heldGateway, dir string, extra ...string) (start func() *mcp.ClientSession, k toolcache.Key) {
	t.Helper()
	cmd := e2eServeCmd(t, sim, e2eAsanaToken, append([]string{"--gateway-url", gw.URL}, extra...)...)
	cmd.Env = append(cmd.Env, "XDG_CACHE_HOME="+dir, envTestCache+"="+dir)
	p, _, err := resolveWith(t, "", nil, cmd.Args[2:]...)
	if err != nil {
		t.Fatal(err)
	}
	return func() *mcp.ClientSession { return e2eConnect(t, cmd) }, toolCacheKey(p, func(string) string { return "" })
}

func listOnce(cs *mcp.ClientSession) ([]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := cs.ListTools(ctx, nil)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, tl := range res.Tools {
		names = append(names, tl.Name)
	}
	return names, nil
}

// serve answers the first tools/list from the profile's cached list while
// the Gateway holds every request; with --no-cache it does not (the list
// waits for the Gateway, here past the connect timeout).
func TestServeAnswersFromTheCacheUnlessNoCache(t *testing.T) {
	sim := e2eSim(t, gatewaysim.Options{})
	gw := newHeldGateway(t, sim)
	dir := t.TempDir()
	c := toolcache.New(filepath.Join(dir, "agw-proxy"))
	cached := `{"tools":[{"name":"Cached___tool","inputSchema":{"type":"object"}}]}`

	warm, k := cachedServe(t, sim, gw, dir)
	if err := c.Store(k, []byte(cached), 1); err != nil {
		t.Fatal(err)
	}
	names, err := listOnce(warm())
	if err != nil || strings.Join(names, ",") != "Cached___tool" {
		t.Fatalf("warm tools/list: %v, %v", names, err)
	}

	off, offKey := cachedServe(t, sim, gw, dir, "--no-cache", "--connect-timeout", "500ms")
	if err := c.Store(offKey, []byte(cached), 1); err != nil {
		t.Fatal(err)
	}
	if names, err := listOnce(off()); err == nil {
		t.Fatalf("--no-cache answered %v from the cache", names)
	}
}

// A list serve cached through the binary is in the user's cache folder
// (0700, file 0600), holds no secret by any decoding, and status shows it.
func TestServeCachesTheListItServed(t *testing.T) {
	sim := e2eSim(t, gatewaysim.Options{EchoCredentials: true})
	gw := newHeldGateway(t, sim)
	gw.open()
	dir := t.TempDir()
	start, k := cachedServe(t, sim, gw, dir)
	names, err := listOnce(start())
	if err != nil || len(names) == 0 {
		t.Fatalf("tools/list: %v, %v", names, err)
	}
	c := toolcache.New(filepath.Join(dir, "agw-proxy"))
	deadline := time.Now().Add(testwait.Limit)
	var e toolcache.Entry
	for {
		var ok bool
		if e, ok = c.Load(k); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no entry written")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if e.Tools != len(names) {
		t.Errorf("entry has %d tools, the client got %d", e.Tools, len(names))
	}
	files, _ := filepath.Glob(filepath.Join(dir, "agw-proxy", "*"))
	if len(files) != 1 {
		t.Fatalf("cache folder holds %v", files)
	}
	raw, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	secrets := append([]string{e2eAsanaToken}, sim.Credentials().ClientSecrets...)
	secrets = append(secrets, sim.Credentials().AccessTokens...)
	if err := leakcheck.Text(string(raw), secrets...); err != nil {
		t.Error(err)
	}
	if runtime.GOOS != "windows" {
		if fi, _ := os.Stat(files[0]); fi.Mode().Perm() != 0o600 {
			t.Errorf("file mode %v", fi.Mode().Perm())
		}
		if fi, _ := os.Stat(filepath.Dir(files[0])); fi.Mode().Perm() != 0o700 {
			t.Errorf("folder mode %v", fi.Mode().Perm())
		}
	}

	// status, for the same profile, finds it.
	cmd := e2eServeCmd(t, sim, "", "--gateway-url", gw.URL)
	var out bytes.Buffer
	st := &env{testKeychain: testStore, stdout: &out, stderr: &bytes.Buffer{},
		getenv:        func(string) string { return "" },
		userConfigDir: func() (string, error) { return t.TempDir(), nil },
		userCacheDir:  func() (string, error) { return filepath.Join(dir, "agw-proxy"), nil },
	}
	args := append([]string{"--offline"}, cmd.Args[2:]...)
	// The profile name is the one the serve above had.
	for i, a := range args {
		if a == "--profile" {
			args[i+1] = k.Profile
		}
	}
	_ = runStatus(context.Background(), st, args)
	if !strings.Contains(out.String(), "Tools:    "+strconv.Itoa(len(names))+" cached ") {
		t.Errorf("status:\n%s", out.String())
	}
}

package main

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agw-proxy/agw-proxy/internal/testwait"
)

// TestDemoRevisions: the demo shows the revision its client got from
// agw-proxy and the one agw-proxy's requests to the Gateway carried,
// whichever they are (the scripts run the demo's own client, 2026-07-28).
func TestDemoRevisions(t *testing.T) {
	for _, tc := range []struct {
		client, protocol string // what the client asks for, demo's --protocol
		wantClient       string
		wantGateway      string
	}{
		{"", "auto", "2026-07-28", "2026-07-28, negotiated (protocol auto)"},
		{"2025-11-25", "2025-11-25", "2025-11-25", "2025-11-25, pinned (--protocol 2025-11-25)"},
		{"2025-06-18", "2026-07-28", "2025-06-18", "2026-07-28, pinned (--protocol 2026-07-28)"},
	} {
		t.Run(tc.client+"/"+tc.protocol, func(t *testing.T) {
			ctx := testwait.Context(t)
			d, err := startDemo(ctx, false, tc.protocol)
			if err != nil {
				t.Fatal(err)
			}
			defer d.close()
			px, err := d.newProxy(nil)
			if err != nil {
				t.Fatal(err)
			}
			cs, stop, err := d.connect(ctx, px, tc.client)
			if err != nil {
				t.Fatal(err)
			}
			defer stop()
			if _, err := cs.ListTools(ctx, nil); err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			if err := d.showRevisions(cs, func(format string, a ...any) { fmt.Fprintf(&out, format, a...) }); err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{
				"  client -> agw-proxy    " + tc.wantClient + " (the demo's go-sdk client)\n",
				"  agw-proxy -> Gateway   " + tc.wantGateway + "\n",
			} {
				if !strings.Contains(out.String(), want) {
					t.Errorf("revisions lack %q:\n%s", want, out.String())
				}
			}
		})
	}
}

// TestWireRevision: the revision in use is the MCP-Protocol-Version of the
// last request the Gateway accepted; a refused one (a 2025-only Gateway
// answering a 2026-07-28 probe) or one to another URL (Cognito) does not
// count.
func TestWireRevision(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("MCP-Protocol-Version") == "2026-07-28" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	wire := &wireRevision{gateway: srv.URL + "/mcp", next: srv.Client().Transport}
	client := &http.Client{Transport: wire}
	post := func(path, version string) {
		req, _ := http.NewRequestWithContext(testwait.Context(t), http.MethodPost, srv.URL+path, nil)
		if version != "" {
			req.Header.Set("MCP-Protocol-Version", version)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	for _, step := range []struct{ path, version, want string }{
		{"/mcp", "", ""},                     // initialize: no header yet
		{"/mcp", "2026-07-28", ""},           // refused
		{"/mcp", "2025-11-25", "2025-11-25"}, // accepted
		{"/oauth2/token", "2025-06-18", "2025-11-25"},
		{"/mcp", "", "2025-11-25"},
	} {
		post(step.path, step.version)
		if got := wire.version(); got != step.want {
			t.Errorf("after POST %s with %q: revision %q, want %q", step.path, step.version, got, step.want)
		}
	}
}

// The demo's init step reads nothing of the user's AWS setup: with an
// AWS_PROFILE that does not exist, endpoints and keys that point nowhere
// and a HOME whose ~/.aws has another key, it still reads the emulator
// with the emulator's test key, and writes nothing there.
func TestDemoInitIgnoresTheUsersAWS(t *testing.T) {
	home := t.TempDir()
	if err := os.MkdirAll(filepath.Join(home, ".aws"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, ".aws", "credentials"), []byte("[default]\naws_access_key_id = AKIAUSERSOWNKEY00000\naws_secret_access_key = users-own\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{"HOME": home, "AWS_PROFILE": "users-own", "AWS_ENDPOINT_URL": "http://127.0.0.1:1",
		"AWS_ACCESS_KEY_ID": "AKIAUSERSOWNKEY00000", "AWS_SECRET_ACCESS_KEY": "users-own", "AWS_REGION": "eu-north-1",
		"AWS_CONFIG_FILE": filepath.Join(home, ".aws", "config"), "AGW_PROXY_CONFIG": filepath.Join(home, "agw.yaml")} {
		t.Setenv(k, v)
	}
	ctx := testwait.Context(t)
	d, err := startDemo(ctx, false, "auto")
	if err != nil {
		t.Fatal(err)
	}
	defer d.close()
	var out bytes.Buffer
	if err := d.showInit(ctx, func(format string, a ...any) { fmt.Fprintf(&out, format, a...) }); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "and the API receives X-Asana-Token: Bearer [redacted]") {
		t.Errorf("step 9 (init):\n%s", out.String())
	}
	entries, _ := os.ReadDir(home)
	if len(entries) != 1 {
		t.Errorf("the demo wrote into HOME: %v", entries)
	}
}

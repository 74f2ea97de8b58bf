package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/agw-proxy/agw-proxy/internal/gatewaysim"
)

// TestQuick runs the benchmark's smoke mode once, end to end: build the
// binary, start the emulator, every phase with each revision spoken with the
// Gateway. It checks that every phase produced numbers, not what they are:
// timings belong to the benchmark. Every phase checks on its own that the
// proxy spoke the revision it was pinned to (checkUpstream) and that each
// client got the revision it asked for (connect). Under -race it also
// catches params shared by calls in flight (see call).
func TestQuick(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the proxy binary")
	}
	out := filepath.Join(t.TempDir(), "bench.json")
	var stdout, stderr bytes.Buffer
	args := []string{"-quick", "-out", out}
	if bin := os.Getenv("AGW_BENCH_BIN"); bin != "" {
		args = append(args, "-bin", bin) // a prebuilt binary instead of building one
	}
	if code := run(t.Context(), args, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d\nstderr:\n%s", code, stderr.String())
	}
	for _, want := range []string{
		"The benchmark's client speaks MCP 2025-11-25 to agw-proxy over stdio",
		"the cold starts initialize with 2025-06-18",
		"In each table the floor speaks the same upstream revision as the proxy",
		"With the Gateway, agw-proxy (--protocol 2026-07-28), the floor and the direct client speak MCP 2026-07-28:",
		"With the Gateway, agw-proxy (--protocol 2025-11-25), the floor and the direct client speak MCP 2025-11-25:",
		"start -> initialize", "tools/call, sequential", "first tools/list, 1000 tools",
		"first tools/list, by the revision spoken with the Gateway:",
		"targets (issue 6):",
		"floor min / median / p99", "proxy vs floor",
		"first tools/list of 1000 tools, 30 per page, the Gateway 5 ms away",
		"agw-proxy warm (same cache dir)", "floor relay (client follows the cursors)",
		"targets against the floor (issue 17), same run:",
	} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, stdout.String())
		}
	}
	// The side-by-side first tools/list: a row per revision and list size.
	for _, want := range []string{`(?m)^  2026-07-28 +1 +1 .* -$`, `(?m)^  2025-11-25 +1 +1 .* \d+\.\d\dx$`,
		`(?m)^  2026-07-28 +1000 +1 .* -$`, `(?m)^  2025-11-25 +1000 +1 .* \d+\.\d\dx$`} {
		if !regexp.MustCompile(want).MatchString(stdout.String()) {
			t.Errorf("first tools/list table lacks a row %s:\n%s", want, stdout.String())
		}
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var rep Report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.ClientProtocol != "2025-11-25" || rep.ColdStartProtocol != "2025-06-18" {
		t.Errorf("client protocols %q and %q, want 2025-11-25 and 2025-06-18", rep.ClientProtocol, rep.ColdStartProtocol)
	}
	var protocols []string
	for _, r := range rep.Revisions {
		protocols = append(protocols, r.Protocol)
		for name, n := range map[string]int{
			"start_initialize": r.StartInitialize.N,
			"start_tools_list": r.StartToolsList.N,
			"direct_cold_list": r.DirectColdList.N,
			"call_direct":      r.CallDirect.N,
			"call_proxy":       r.CallProxy.N,
			"big_list_direct":  r.BigListDirect.N,
			"big_list_proxy":   r.BigListProxy.N,
		} {
			if n == 0 {
				t.Errorf("%s: %s: no samples", r.Protocol, name)
			}
		}
		if r.Throughput.Proxy.Calls == 0 || r.Throughput.Direct.Calls == 0 {
			t.Errorf("%s: throughput: no calls completed: %+v", r.Protocol, r.Throughput)
		}
		if r.RSSAfterKiB == 0 || r.Throughput.ProxyConnsUp == 0 {
			t.Errorf("%s: RSS %d KiB, %d upstream connections: /proc or the relay measured nothing", r.Protocol, r.RSSAfterKiB, r.Throughput.ProxyConnsUp)
		}
		if len(r.Targets) != 8 {
			t.Errorf("%s: %d target rows, want 8", r.Protocol, len(r.Targets))
		}
		if len(r.FloorTargets) != 5 {
			t.Errorf("%s: %d floor target rows, want 5", r.Protocol, len(r.FloorTargets))
		}
		if r.CallOverheads.N != 1 || r.BigListOverheads.N != 1 {
			t.Errorf("%s: %d call repeats and %d big lists, want 1 each", r.Protocol, r.CallOverheads.N, r.BigListOverheads.N)
		}
		for name, d := range map[string]Dist{"direct": r.Latency.Direct, "cold": r.Latency.Cold, "warm": r.Latency.Warm} {
			if d.N == 0 {
				t.Errorf("%s: latency phase, %s: no samples", r.Protocol, name)
			}
		}
		// The floor of each table speaks that table's revision.
		f := r.Floor
		if f == nil || f.Protocol != r.Protocol {
			t.Fatalf("%s: floor %+v, want one speaking %s", r.Protocol, f, r.Protocol)
		}
		for name, n := range map[string]int{
			"start_initialize": f.StartInitialize.N,
			"call_floor":       f.CallFloor.N,
			"call_direct":      f.CallDirect.N,
			"big_list_floor":   f.BigListFloor.N,
			"latency_list":     f.LatencyList.N,
		} {
			if n == 0 {
				t.Errorf("%s: floor: %s: no samples", r.Protocol, name)
			}
		}
		if f.Throughput.Proxy.Calls == 0 || f.Throughput.Direct.Calls == 0 {
			t.Errorf("%s: floor: throughput: %+v", r.Protocol, f.Throughput)
		}
	}
	if !slices.Equal(protocols, []string{"2026-07-28", "2025-11-25"}) {
		t.Errorf("revisions %q, want 2026-07-28 and 2025-11-25", protocols)
	}
	if strings.Contains(stdout.String()+stderr.String(), asanaToken) {
		t.Error("secret leaked into the benchmark's output")
	}
}

// TestCheckUpstream: the emulator's counters tell the revisions apart, so a
// proxy that ignored --protocol fails the benchmark.
func TestCheckUpstream(t *testing.T) {
	discovered := gatewaysim.Counts{Discovers: 1, ToolLists: 1}
	initialized := gatewaysim.Counts{Initializes: 1, ToolLists: 1}
	fellBack := gatewaysim.Counts{Discovers: 1, Initializes: 1, ToolLists: 1} // auto against a 2025-only Gateway
	for _, tc := range []struct {
		version string
		after   gatewaysim.Counts
		ok      bool
	}{
		{"2026-07-28", discovered, true},
		{"2026-07-28", initialized, false},
		{"2026-07-28", fellBack, false},
		{"2026-07-28", gatewaysim.Counts{}, false},
		{"2025-11-25", initialized, true},
		{"2025-11-25", discovered, false},
		{"2025-11-25", fellBack, false},
		{"2025-11-25", gatewaysim.Counts{}, false},
	} {
		err := checkUpstream(tc.version, gatewaysim.Counts{}, tc.after)
		if (err == nil) != tc.ok {
			t.Errorf("checkUpstream(%s, %+v) = %v, want ok %v", tc.version, tc.after, err, tc.ok)
		}
	}
}

// TestProtocolsFlag: -protocols takes the two revisions, each once.
func TestProtocolsFlag(t *testing.T) {
	for _, v := range []string{"2024-11-05", "2026-07-28,2026-07-28", "", "2025-11-25,"} {
		var stdout, stderr bytes.Buffer
		if code := run(t.Context(), []string{"-protocols", v}, &stdout, &stderr); code != 2 {
			t.Errorf("-protocols %q: exit %d, want 2 (stderr %s)", v, code, stderr.String())
		}
	}
}

func TestBigSpecParses(t *testing.T) {
	spec := bigSpec(1000)
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(spec, &doc); err != nil {
		t.Fatal(err)
	}
	ops := 0
	for _, item := range doc.Paths {
		ops += len(item)
	}
	if ops != 1000 {
		t.Errorf("%d operations, want 1000", ops)
	}
	if n := bytes.Count(spec, []byte(`"X-Asana-Token"`)); n != 1000 {
		t.Errorf("X-Asana-Token declared %d times, want 1000", n)
	}
}

func TestSummarize(t *testing.T) {
	var d []time.Duration
	for i := 100; i >= 1; i-- {
		d = append(d, time.Duration(i)*time.Microsecond)
	}
	got := summarize(d)
	if got.N != 100 || got.Min != 1 || got.Median != 50 || got.P99 != 99 || got.Mean != 50.5 {
		t.Errorf("summarize(1..100 µs) = %+v", got)
	}
}

// TestProfileMode runs the -cpuprofile mode (the proxy in-process) once, in
// its quick form, and checks that it wrote its profiles.
func TestProfileMode(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the emulator and the proxy for a few seconds")
	}
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	if code := run(t.Context(), []string{"-quick", "-cpuprofile", dir}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d\nstderr:\n%s", code, stderr.String())
	}
	for _, name := range []string{"calls.pprof", "calls.allocs", "tools.pprof"} {
		if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.Size() == 0 {
			t.Errorf("%s: not written (%v)", name, err)
		}
	}
}

// Every proxy command has a cache directory of its own under the
// benchmark's temporary home, never the user's: a new command starts cold,
// a second start of the same one (the latency phase's warm start) finds
// what the first left.
func TestProxyCmdCacheDir(t *testing.T) {
	home := t.TempDir()
	sim := &gatewaysim.Sim{GatewayURL: "http://127.0.0.1:1/mcp"}
	cacheOf := func(p *proxyCmd) string {
		for _, kv := range p.env {
			if v, ok := strings.CutPrefix(kv, "XDG_CACHE_HOME="); ok {
				return v
			}
		}
		t.Fatalf("no XDG_CACHE_HOME in %q", p.env)
		return ""
	}
	a, err := newProxyCmd(config{}, home, sim, sim.GatewayURL, statelessVersion)
	if err != nil {
		t.Fatal(err)
	}
	b, err := newProxyCmd(config{}, home, sim, sim.GatewayURL, statelessVersion)
	if err != nil {
		t.Fatal(err)
	}
	ca, cb := cacheOf(a), cacheOf(b)
	if ca == cb {
		t.Errorf("two commands share the cache directory %s", ca)
	}
	for _, dir := range []string{ca, cb} {
		if rel, err := filepath.Rel(home, dir); err != nil || strings.HasPrefix(rel, "..") {
			t.Errorf("cache directory %s is outside the benchmark's home %s", dir, home)
		}
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			t.Errorf("cache directory %s: %v", dir, err)
		}
	}
	if ca != cacheOf(a) {
		t.Error("one command's cache directory changed")
	}
}

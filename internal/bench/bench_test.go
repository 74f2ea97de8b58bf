package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestQuick runs the benchmark's smoke mode once, end to end: build the
// binary, start the emulator, every phase. It checks that every phase
// produced numbers, not what they are: timings belong to the benchmark.
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
	for _, want := range []string{"start -> initialize", "tools/call, sequential", "first tools/list, 1000 tools", "targets (issue 6):"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, stdout.String())
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
	for name, n := range map[string]int{
		"start_initialize": rep.StartInitialize.N,
		"start_tools_list": rep.StartToolsList.N,
		"direct_cold_list": rep.DirectColdList.N,
		"call_direct":      rep.CallDirect.N,
		"call_proxy":       rep.CallProxy.N,
		"big_list_direct":  rep.BigListDirect.N,
		"big_list_proxy":   rep.BigListProxy.N,
	} {
		if n == 0 {
			t.Errorf("%s: no samples", name)
		}
	}
	if rep.Throughput.Proxy.Calls == 0 || rep.Throughput.Direct.Calls == 0 {
		t.Errorf("throughput: no calls completed: %+v", rep.Throughput)
	}
	if rep.RSSAfterKiB == 0 || rep.Throughput.ProxyConnsUp == 0 {
		t.Errorf("RSS %d KiB, %d upstream connections: /proc or the relay measured nothing", rep.RSSAfterKiB, rep.Throughput.ProxyConnsUp)
	}
	if len(rep.Targets) != 8 {
		t.Errorf("%d target rows, want 8", len(rep.Targets))
	}
	if strings.Contains(stdout.String()+stderr.String(), asanaToken) {
		t.Error("secret leaked into the benchmark's output")
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

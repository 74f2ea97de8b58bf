// Command bench measures agw-proxy against the built-in Gateway emulator on
// loopback and compares every number with a direct call measured in the
// same run:
//
//	go run ./internal/bench            # full run, about 2-3 minutes
//	go run ./internal/bench -quick     # smoke run, one iteration each
//	go run ./internal/bench -out bench.json
//
// It builds cmd/agw-proxy, starts internal/gatewaysim in-process on
// 127.0.0.1, and measures process start -> initialize, start -> first
// tools/list (token fetch included), sequential tools/call latency (proxy vs
// direct go-sdk client), throughput with 64 calls in flight (with the
// proxy's CPU per call from /proc/PID/stat and the upstream TCP connections
// it opened), the proxy's RSS, a first tools/list of 1,000 tools, and that
// list again behind a Gateway -delay away (latency.go): direct, cold, warm
// cache. Each phase also measures the floor relay (floor.go), and the
// report gives agw-proxy's figures as ratios to it. Every
// phase runs once per MCP revision spoken with the Gateway (-protocols:
// 2026-07-28, stateless, and 2025-11-25), the proxy pinned to it with
// --protocol and the direct client speaking the same; the benchmark's own
// clients speak to the proxy as a desktop client does (see clientVersion).
// It prints a table per revision and writes JSON. With -cpuprofile DIR it
// instead runs the proxy in-process under pprof (see profile.go).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agw-proxy/agw-proxy/internal/gatewaysim"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// config is the benchmark's flags.
type config struct {
	bin        string
	floorBin   string
	out        string
	quick      bool
	starts     int
	calls      int
	warmup     int
	duration   time.Duration
	inflight   int
	lists      int
	tools      int
	repeats    int           // of the sequential calls, each with fresh processes
	delay      time.Duration // the realistic-latency phase's added round trip
	delayLists int           // first tools/list runs behind the delay
	phaseLimit time.Duration
	cpuprofile string
	proxyEnv   envList
	only       string
	protocols  []string // the revisions spoken with the Gateway, in the order measured
}

// envList is a repeatable KEY=VALUE flag.
type envList []string

func (e *envList) String() string { return strings.Join(*e, " ") }

func (e *envList) Set(v string) error {
	if !strings.Contains(v, "=") {
		return fmt.Errorf("want KEY=VALUE, got %q", v)
	}
	*e = append(*e, v)
	return nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c config
	fs.StringVar(&c.bin, "bin", "", "agw-proxy binary to measure (default: build ./cmd/agw-proxy)")
	fs.StringVar(&c.out, "out", "", "write the results as JSON to this file")
	fs.BoolVar(&c.quick, "quick", false, "smoke run: one iteration of everything, a few seconds")
	fs.IntVar(&c.starts, "starts", 20, "cold starts of the proxy")
	fs.IntVar(&c.calls, "calls", 1000, "sequential tools/call per repeat, each of proxy, floor and direct")
	fs.IntVar(&c.repeats, "repeats", 5, "repeats of the sequential calls, each with fresh processes (the spread is over these)")
	fs.IntVar(&c.warmup, "warmup", 200, "calls before measuring")
	fs.DurationVar(&c.duration, "duration", 5*time.Second, "throughput run length, each of proxy and direct")
	fs.IntVar(&c.inflight, "inflight", 64, "calls in flight in the throughput run")
	fs.IntVar(&c.lists, "lists", 10, "first tools/list runs with the big tool list (the spread is over these)")
	fs.DurationVar(&c.delay, "delay", 50*time.Millisecond, "round trip added to every Gateway request in the latency phase")
	fs.IntVar(&c.delayLists, "delay-lists", 3, "first tools/list runs of each side behind the delayed Gateway")
	fs.IntVar(&c.tools, "tools", 1000, "tools in the big tool list")
	fs.DurationVar(&c.phaseLimit, "phase-limit", 2*time.Minute, "upper bound on each phase's wall time")
	fs.StringVar(&c.only, "only", "", "run only these phases: comma-separated starts, calls, throughput, tools, latency")
	fs.Var(&c.proxyEnv, "proxy-env", "extra KEY=VALUE in the proxy's environment, e.g. GOGC=200 (repeatable)")
	fs.StringVar(&c.cpuprofile, "cpuprofile", "", "profile mode: run the proxy in-process and write pprof profiles to this directory")
	protocols := fs.String("protocols", strings.Join(gatewayVersions, ","), "MCP revisions to speak with the Gateway, comma-separated: "+strings.Join(gatewayVersions, ", "))
	if err := fs.Parse(args); err != nil {
		return 2
	}
	for v := range strings.SplitSeq(*protocols, ",") {
		if !slices.Contains(gatewayVersions, v) || slices.Contains(c.protocols, v) {
			fmt.Fprintf(stderr, "bench: -protocols: want some of %s, each once; got %q\n", strings.Join(gatewayVersions, ", "), *protocols)
			return 2
		}
		c.protocols = append(c.protocols, v)
	}
	if c.quick {
		c.starts, c.calls, c.warmup, c.lists, c.repeats, c.delayLists = 1, 1, 1, 1, 1, 1
		c.duration = 300 * time.Millisecond
		c.delay = min(c.delay, 5*time.Millisecond)
	}
	if c.starts < 1 || c.calls < 1 || c.lists < 1 || c.repeats < 1 || c.delayLists < 1 || c.inflight < 1 || c.tools < 1 || c.duration <= 0 || c.delay < 0 {
		fmt.Fprintln(stderr, "bench: counts and durations must be positive")
		return 2
	}
	if c.cpuprofile != "" {
		if err := profile(ctx, c, stderr); err != nil {
			fmt.Fprintf(stderr, "bench: %v\n", err)
			return 1
		}
		return 0
	}
	rep, err := measure(ctx, c, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "bench: %v\n", err)
		return 1
	}
	printTable(stdout, rep)
	if c.out != "" {
		b, _ := json.MarshalIndent(rep, "", "  ")
		if err := os.WriteFile(c.out, append(b, '\n'), 0o644); err != nil {
			fmt.Fprintf(stderr, "bench: %v\n", err)
			return 1
		}
	}
	return 0
}

// Report is the JSON the benchmark writes. Durations are in µs.
type Report struct {
	Time      string `json:"time"`
	GoVersion string `json:"go_version"`
	CPUs      int    `json:"cpus"`
	Quick     bool   `json:"quick"`

	// What the benchmark's clients speak to the proxy over stdio: the go-sdk
	// client of the calls, throughput and 1,000-tool phases, and the raw
	// initialize of the cold starts.
	ClientProtocol    string `json:"client_protocol"`
	ColdStartProtocol string `json:"cold_start_client_protocol"`

	Repeats int     `json:"call_repeats"`
	DelayMS float64 `json:"latency_delay_ms"` // the round trip added in the latency phase

	Revisions []*Revision `json:"revisions"` // one per revision spoken with the Gateway
}

// Revision is every phase's numbers with one MCP revision spoken with the
// Gateway, by the proxy (pinned with --protocol) and the direct client alike.
type Revision struct {
	Protocol string `json:"protocol"`

	StartInitialize Dist    `json:"start_initialize"`      // proxy: process start -> initialize answered
	StartToolsList  Dist    `json:"start_tools_list"`      // proxy: process start -> first tools/list
	DirectColdList  Dist    `json:"direct_cold_list"`      // direct: token + connect + tools/list
	ToolsInStart    int     `json:"tools_in_start"`        // tools in that list
	CallDirect      Dist    `json:"call_direct"`           // sequential tools/call
	CallProxy       Dist    `json:"call_proxy"`            //
	CallOverheadP50 float64 `json:"call_overhead_p50_us"`  // median over the repeats of proxy p50 - direct p50
	CallOverheads   Spread  `json:"call_overhead_repeats"` // proxy p50 - direct p50 of each repeat
	SeqProxyCPU     float64 `json:"seq_proxy_cpu_per_call_us"`

	Throughput Throughput `json:"throughput"`

	RSSWarmKiB  int64 `json:"rss_after_warmup_kib"`
	RSSAfterKiB int64 `json:"rss_after_throughput_kib"`

	BigTools         int     `json:"big_tools"`
	BigListDirect    Dist    `json:"big_list_direct"`        // token + connect + tools/list
	BigListProxy     Dist    `json:"big_list_proxy"`         // process start -> tools/list
	BigListOverhead  float64 `json:"big_list_overhead_us"`   // proxy median - direct median
	BigListOverheads Spread  `json:"big_list_overhead_runs"` // proxy - direct of each run (they alternate)
	BigListProxyCPU  Dist    `json:"big_list_proxy_cpu"`     // the proxy process's CPU, start to answer (10 ms ticks)
	BigListBytesRead int     `json:"big_list_schema_bytes"`

	Latency LatencyLists `json:"latency_lists"`

	// Floor is the floor relay speaking this revision with the Gateway,
	// measured in the same run.
	Floor *Floor `json:"floor"`

	Targets      []Target `json:"targets"`
	FloorTargets []Target `json:"floor_targets"` // issue 17's, against Floor
}

// LatencyLists is the realistic-latency phase: the first tools/list of
// -tools tools, 30 per page, the Gateway behind -delay per request.
type LatencyLists struct {
	Tools  int  `json:"tools"`
	Direct Dist `json:"direct"` // token + connect + following the cursors
	Cold   Dist `json:"cold"`   // agw-proxy start -> first tools/list, fresh cache directory
	Warm   Dist `json:"warm"`   // the same again, same profile and cache directory
	// WarmLine is a warm start timed by a raw line reader: process start
	// -> the tools/list answer's line complete, nothing decoded (rawlist.go).
	WarmLine Dist `json:"warm_line"`
}

// Throughput is the 64-in-flight run.
type Throughput struct {
	InFlight     int     `json:"in_flight"`
	Direct       Run     `json:"direct"`
	Proxy        Run     `json:"proxy"`
	Ratio        float64 `json:"ratio"` // proxy calls/s over direct calls/s
	ProxyCPU     float64 `json:"proxy_cpu_per_call_us"`
	ProxyConnsUp int64   `json:"proxy_upstream_conns_total"` // over the proxy's whole life
}

// Run is one side of the throughput run.
type Run struct {
	Calls     int     `json:"calls"`
	Errors    int     `json:"errors"`
	Seconds   float64 `json:"seconds"`
	PerSecond float64 `json:"calls_per_second"`
	Conns     int64   `json:"tcp_conns_opened"` // at the Gateway, during the run
	Latency   Dist    `json:"latency"`
}

// Target is one row of an issue's target table.
type Target struct {
	Metric string  `json:"metric"`
	Value  float64 `json:"value"`
	Op     string  `json:"op"` // Value Op Limit holds: "<", "<=" or ">="
	Limit  float64 `json:"limit"`
	Unit   string  `json:"unit"`
	Holds  bool    `json:"holds"`
	Detail string  `json:"detail,omitempty"` // the numbers behind a ratio
	// NotRun: a phase that measures it was left out (-only); Value and
	// Holds say nothing then.
	NotRun bool `json:"not_run,omitempty"`
	// Undefined: the floor figure it divides by is not positive, so there
	// is no ratio; Holds says nothing then.
	Undefined bool     `json:"undefined,omitempty"`
	phases    []string // the phases that measure it
	base      float64  // the divisor of a ratio (1 for none)
}

// check sets NotRun, Undefined and Holds of each target.
func check(t []Target, ran map[string]bool) {
	for i := range t {
		g := &t[i]
		for _, ph := range g.phases {
			g.NotRun = g.NotRun || !ran[ph]
		}
		g.Undefined = !g.NotRun && g.base <= 0
		if g.NotRun || g.Undefined {
			continue
		}
		switch g.Op {
		case "<":
			g.Holds = g.Value < g.Limit
		case "<=":
			g.Holds = g.Value <= g.Limit
		case ">=":
			g.Holds = g.Value >= g.Limit
		}
	}
}

func logf(w io.Writer, format string, a ...any) {
	fmt.Fprintf(w, "bench: "+format+"\n", a...)
}

func measure(ctx context.Context, c config, log io.Writer) (*Report, error) {
	home, err := os.MkdirTemp("", "agw-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(home)
	if c.bin == "" {
		logf(log, "building ./cmd/agw-proxy")
		if c.bin, err = build(ctx, home, "./cmd/agw-proxy"); err != nil {
			return nil, err
		}
	}
	if c.floorBin, err = build(ctx, home, "./internal/bench/floorrelay"); err != nil {
		return nil, err
	}
	sim, err := gatewaysim.Start(gatewaysim.Options{})
	if err != nil {
		return nil, err
	}
	defer sim.Close()
	if err := checkLoopback(sim.GatewayURL, sim.TokenURL, sim.BackendURL, sim.Issuer); err != nil {
		return nil, err
	}
	rep := &Report{
		Time:              time.Now().UTC().Format(time.RFC3339),
		GoVersion:         runtime.Version(),
		CPUs:              runtime.NumCPU(),
		Quick:             c.quick,
		ClientProtocol:    clientVersion,
		ColdStartProtocol: coldStartVersion,
		Repeats:           c.repeats,
		DelayMS:           float64(c.delay.Microseconds()) / 1e3,
	}
	for _, v := range c.protocols {
		rep.Revisions = append(rep.Revisions, &Revision{Protocol: v, Floor: &Floor{Protocol: v}})
	}

	revs := strings.Join(c.protocols, " and ")
	phases := []struct {
		name, what string
		run        func() error
	}{
		{"starts", fmt.Sprintf("cold starts (%d with each of %s, and the floor)", c.starts, revs), func() error { return phaseStarts(ctx, c, home, sim, rep.Revisions) }},
		{"calls", fmt.Sprintf("sequential calls (%d repeats of %d each, with each of %s, and the floor)", c.repeats, c.calls, revs), func() error {
			return phaseCalls(ctx, c, home, sim, rep.Revisions)
		}},
		{"throughput", fmt.Sprintf("throughput (%d in flight, %s each, with each of %s, and the floor)", c.inflight, c.duration, revs), func() error {
			for _, r := range rep.Revisions {
				if err := phaseThroughput(ctx, c, sim, proxyPair(c, home, sim, r.Protocol), &r.Throughput, &r.RSSWarmKiB, &r.RSSAfterKiB); err != nil {
					return fmt.Errorf("%s: %w", r.Protocol, err)
				}
			}
			for _, r := range rep.Revisions {
				var rss0, rss1 int64
				if err := phaseThroughput(ctx, c, sim, floorPair(c, home, sim, r.Protocol), &r.Floor.Throughput, &rss0, &rss1); err != nil {
					return fmt.Errorf("%s: floor: %w", r.Protocol, err)
				}
			}
			return nil
		}},
		{"tools", fmt.Sprintf("first tools/list of %d tools (%d each, with each of %s, and the floor)", c.tools, c.lists, revs), func() error {
			return phaseBigList(ctx, c, home, rep.Revisions)
		}},
		{"latency", fmt.Sprintf("first tools/list of %d tools behind a Gateway %s away (%d each: direct, agw-proxy cold and warm with each of %s, and the floor)", c.tools, c.delay, c.delayLists, revs), func() error {
			return phaseLatency(ctx, c, home, rep.Revisions)
		}},
	}
	ran := map[string]bool{}
	for _, ph := range phases {
		if c.only != "" && !slices.Contains(strings.Split(c.only, ","), ph.name) {
			continue
		}
		ran[ph.name] = true
		logf(log, "%s", ph.what)
		if err := ph.run(); err != nil {
			return nil, fmt.Errorf("%s: %w", ph.name, err)
		}
	}
	for _, r := range rep.Revisions {
		r.Targets = targets(r, ran)
		r.FloorTargets = floorTargets(r, r.Floor, ran)
	}
	return rep, nil
}

// build compiles pkg (cmd/agw-proxy, or the floor relay) of the module the
// benchmark runs in into dir, the way goreleaser builds releases (static,
// trimmed, stripped): a dynamically linked dev build starts 1-2 ms slower.
func build(ctx context.Context, dir, pkg string) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(out)))
	bin := filepath.Join(dir, filepath.Base(pkg))
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %w\n%s", pkg, err, out)
	}
	return bin, nil
}

// phaseStarts: n cold starts of the proxy per revision, each followed by a
// direct client's cold list in the same revision, then of the floor in
// each revision; the revisions take turns, so that drift on a shared
// machine hits both alike.
func phaseStarts(ctx context.Context, c config, home string, sim *gatewaysim.Sim, revs []*Revision) error {
	ctx, cancel := context.WithTimeout(ctx, c.phaseLimit)
	defer cancel()
	tok, err := floorToken(ctx, sim)
	if err != nil {
		return err
	}
	type samples struct{ inits, lists, direct []time.Duration }
	got := make([]samples, len(revs))
	floor := make([]samples, len(revs))
	for i := 0; i < c.starts && ctx.Err() == nil; i++ {
		for j, r := range revs {
			before := sim.Counts()
			p, err := newProxyCmd(c, home, sim, sim.GatewayURL, r.Protocol)
			if err != nil {
				return err
			}
			st, err := coldStart(ctx, p)
			if err != nil {
				return fmt.Errorf("%s: %w", r.Protocol, err)
			}
			if err := checkUpstream(r.Protocol, before, sim.Counts()); err != nil {
				return err
			}
			g := &got[j]
			g.inits, g.lists = append(g.inits, st.initialize), append(g.lists, st.toolsList)
			r.ToolsInStart = len(st.tools)
			d, _, err := directColdList(ctx, sim, sim.GatewayURL, r.Protocol)
			if err != nil {
				return fmt.Errorf("%s: direct: %w", r.Protocol, err)
			}
			g.direct = append(g.direct, d)
		}
		for j, r := range revs {
			st, err := coldStart(ctx, newFloorCmd(c, home, sim.GatewayURL, tok, r.Protocol))
			if err != nil {
				return fmt.Errorf("%s: floor: %w", r.Protocol, err)
			}
			if len(st.tools) == 0 {
				return fmt.Errorf("%s: floor: listed no tools", r.Protocol)
			}
			g := &floor[j]
			g.inits, g.lists = append(g.inits, st.initialize), append(g.lists, st.toolsList)
		}
	}
	for j, r := range revs {
		r.StartInitialize, r.StartToolsList, r.DirectColdList = summarize(got[j].inits), summarize(got[j].lists), summarize(got[j].direct)
		r.Floor.StartInitialize, r.Floor.StartToolsList = summarize(floor[j].inits), summarize(floor[j].lists)
	}
	sim.ClearReceived()
	return nil
}

// checkUpstream makes sure the proxy spoke version with the Gateway between
// two snapshots of the emulator's counters: 2026-07-28 opens with
// server/discover and never initializes, a 2025 session initializes and
// (pinned) never discovers. A benchmark of another revision than it says is
// worthless.
func checkUpstream(version string, before, after gatewaysim.Counts) error {
	discovers, inits := after.Discovers-before.Discovers, after.Initializes-before.Initializes
	stateless := version >= statelessVersion
	if stateless && (discovers == 0 || inits > 0) || !stateless && (inits == 0 || discovers > 0) {
		return fmt.Errorf("the proxy pinned to %s sent the Gateway %d server/discover and %d initialize", version, discovers, inits)
	}
	return nil
}

// callParams is the call both sides make; the direct client supplies the
// Asana token itself, the proxy injects it.
func callParams(direct bool) *mcp.CallToolParams {
	args := map[string]any{"tool_name": "get_task", "task_gid": "1209876543210"}
	if direct {
		args["X-Asana-Token"] = "Bearer " + asanaToken
	}
	return &mcp.CallToolParams{Name: gatewaysim.DefaultTargetName + "___asanaInvoke", Arguments: args}
}

// call makes one tools/call of p on cs. It passes the SDK a copy of p: a
// session in MCP 2026-07-28 writes the request's _meta into the params it is
// given, so one value must not serve calls in flight together. The
// arguments are only read, and shared.
func call(ctx context.Context, cs *mcp.ClientSession, p *mcp.CallToolParams) error {
	params := *p
	params.Meta = maps.Clone(p.Meta)
	res, err := cs.CallTool(ctx, &params)
	if err != nil {
		return err
	}
	if res.IsError {
		b, _ := json.Marshal(res.Content)
		return fmt.Errorf("tool error: %.300s", b)
	}
	return nil
}

// phaseCalls: sequential calls, -repeats times with fresh processes, the
// proxy and direct and the floor and its direct, in every revision, taking
// turns in rounds so that drift on a shared machine hits all alike. Each
// repeat gives one overhead (p50 minus the direct p50 of the same repeat);
// the report gives their median and spread.
func phaseCalls(ctx context.Context, c config, home string, sim *gatewaysim.Sim, revs []*Revision) error {
	ctx, cancel := context.WithTimeout(ctx, c.phaseLimit)
	defer cancel()
	opens := make([]pairOpener, 0, 2*len(revs)) // the floors after the proxies
	names := make([]string, 0, 2*len(revs))
	for _, r := range revs {
		opens, names = append(opens, proxyPair(c, home, sim, r.Protocol)), append(names, r.Protocol)
	}
	for _, r := range revs {
		opens, names = append(opens, floorPair(c, home, sim, r.Protocol)), append(names, r.Protocol+": floor")
	}
	got := make([]callSamples, len(opens))
	for range c.repeats {
		if ctx.Err() != nil {
			break
		}
		if err := callRepeat(ctx, c, sim, opens, names, got); err != nil {
			return err
		}
	}
	for j, r := range revs {
		g := &got[j]
		r.CallDirect, r.CallProxy = summarize(g.direct), summarize(g.proxy)
		r.CallOverheads = spread(g.overheads)
		r.CallOverheadP50 = r.CallOverheads.Median
		if len(g.proxy) > 0 {
			r.SeqProxyCPU = float64(g.cpu.Nanoseconds()) / 1e3 / float64(len(g.proxy))
		}
	}
	for j, r := range revs {
		g, f := &got[len(revs)+j], r.Floor
		f.CallDirect, f.CallFloor = summarize(g.direct), summarize(g.proxy)
		f.CallOverheads = spread(g.overheads)
		f.CallOverheadP50 = f.CallOverheads.Median
	}
	return nil
}

// callSamples is one side's sequential calls over every repeat.
type callSamples struct {
	direct, proxy []time.Duration
	overheads     []float64     // µs, one per repeat
	cpu           time.Duration // the proxy process's, over the measured calls
}

// callRepeat opens a fresh pair with each of opens, makes c.calls calls on
// each side of each in rounds, and adds the results to got.
func callRepeat(ctx context.Context, c config, sim *gatewaysim.Sim, opens []pairOpener, names []string, got []callSamples) error {
	pairs := make([]*callPair, len(opens))
	defer func() {
		for _, p := range pairs {
			p.Close()
		}
	}()
	tr := tunedTransport()
	defer tr.CloseIdleConnections()
	for j, open := range opens {
		p, err := open(ctx, sim.GatewayURL, sim.GatewayURL, tr)
		if err != nil {
			return fmt.Errorf("%s: %w", names[j], err)
		}
		pairs[j] = p
	}
	sim.ClearReceived()
	cpu0 := make([]time.Duration, len(pairs))
	for j, p := range pairs {
		cpu, err := procCPU(p.pid)
		if err != nil {
			return err
		}
		cpu0[j] = cpu
	}
	lat := make([][2][]time.Duration, len(pairs)) // direct, proxy
	rounds := min(10, c.calls)
	for r := 0; r < rounds && ctx.Err() == nil; r++ {
		n := c.calls/rounds + btoi(r < c.calls%rounds)
		for j, p := range pairs {
			for k, sd := range []struct {
				cs *mcp.ClientSession
				p  *mcp.CallToolParams
			}{{p.direct, p.dp}, {p.px, p.pp}} {
				for range n {
					t0 := time.Now()
					if err := call(ctx, sd.cs, sd.p); err != nil {
						if ctx.Err() != nil {
							break // out of time: report what was measured
						}
						return fmt.Errorf("%s: %w", names[j], err)
					}
					lat[j][k] = append(lat[j][k], time.Since(t0))
				}
			}
		}
		sim.ClearReceived()
	}
	for j, p := range pairs {
		cpu1, err := procCPU(p.pid)
		if err != nil {
			return err
		}
		g := &got[j]
		d, x := lat[j][0], lat[j][1]
		g.direct, g.proxy = append(g.direct, d...), append(g.proxy, x...)
		g.cpu += cpu1 - cpu0[j]
		if len(d) > 0 && len(x) > 0 {
			g.overheads = append(g.overheads, summarize(x).Median-summarize(d).Median)
		}
	}
	return nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// phaseThroughput: calls in flight for a fixed time, direct then proxy
// (agw-proxy in one revision, or the floor: open), both through a counting
// relay in front of the Gateway. It fills t and the proxy's RSS.
func phaseThroughput(ctx context.Context, c config, sim *gatewaysim.Sim, open pairOpener, t *Throughput, rssWarm, rssAfter *int64) error {
	ctx, cancel := context.WithTimeout(ctx, c.phaseLimit)
	defer cancel()
	// One counting relay per side, so that each side's connections are its own.
	target := strings.TrimSuffix(strings.TrimPrefix(sim.GatewayURL, "http://"), "/mcp")
	drl, err := startRelay(target)
	if err != nil {
		return err
	}
	defer drl.Close()
	prl, err := startRelay(target)
	if err != nil {
		return err
	}
	defer prl.Close()
	dgw, pgw := "http://"+drl.Addr()+"/mcp", "http://"+prl.Addr()+"/mcp"
	if err := checkLoopback(dgw, pgw); err != nil {
		return err
	}

	// Clear the emulator's record of backend requests as the runs go, so
	// that it does not grow by tens of MB.
	stopClearing := make(chan struct{})
	var clearing sync.WaitGroup
	clearing.Add(1)
	go func() {
		defer clearing.Done()
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stopClearing:
				return
			case <-t.C:
				sim.ClearReceived()
			}
		}
	}()
	defer func() {
		close(stopClearing)
		clearing.Wait()
	}()

	tr := tunedTransport()
	defer tr.CloseIdleConnections()
	pair, err := open(ctx, dgw, pgw, tr)
	if err != nil {
		return err
	}
	defer pair.Close()
	direct, px, pid, dp, pp := pair.direct, pair.px, pair.pid, pair.dp, pair.pp
	// Warm the connection pools at full concurrency before measuring.
	warm := min(time.Second, c.duration/5)
	if _, err := load(ctx, direct, dp, c.inflight, warm, drl); err != nil {
		return fmt.Errorf("direct warm-up: %w", err)
	}
	if _, err := load(ctx, px, pp, c.inflight, warm, prl); err != nil {
		return fmt.Errorf("proxy warm-up: %w", err)
	}
	if *rssWarm, err = procRSS(pid); err != nil {
		return err
	}

	t.InFlight = c.inflight
	if t.Direct, err = load(ctx, direct, dp, c.inflight, c.duration, drl); err != nil {
		return fmt.Errorf("direct: %w", err)
	}
	cpu0, err := procCPU(pid)
	if err != nil {
		return err
	}
	if t.Proxy, err = load(ctx, px, pp, c.inflight, c.duration, prl); err != nil {
		return fmt.Errorf("proxy: %w", err)
	}
	cpu1, err := procCPU(pid)
	if err != nil {
		return err
	}
	if *rssAfter, err = procRSS(pid); err != nil {
		return err
	}
	// Connections the proxy opened in its whole life, warm-up included.
	t.ProxyConnsUp = prl.Accepted()
	if t.Direct.PerSecond > 0 {
		t.Ratio = t.Proxy.PerSecond / t.Direct.PerSecond
	}
	if t.Proxy.Calls > 0 {
		t.ProxyCPU = float64((cpu1 - cpu0).Nanoseconds()) / 1e3 / float64(t.Proxy.Calls)
	}
	return nil
}

// load keeps n calls in flight on cs for d and counts what completed and
// the connections the relay (if any) accepted meanwhile.
func load(ctx context.Context, cs *mcp.ClientSession, p *mcp.CallToolParams, n int, d time.Duration, rl *relay) (Run, error) {
	conns0 := rl.Accepted()
	deadline := time.Now().Add(d)
	var (
		mu       sync.Mutex
		lat      []time.Duration
		errs     int
		firstErr error
		wg       sync.WaitGroup
	)
	start := time.Now()
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			var bad int
			var first error
			for time.Now().Before(deadline) && ctx.Err() == nil {
				t0 := time.Now()
				if err := call(ctx, cs, p); err != nil {
					bad++
					first = cmpErr(first, err)
					if bad > 10 {
						break
					}
					continue
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, mine...)
			errs += bad
			firstErr = cmpErr(firstErr, first)
			mu.Unlock()
		}()
	}
	wg.Wait()
	secs := time.Since(start).Seconds()
	r := Run{
		Calls:     len(lat),
		Errors:    errs,
		Seconds:   secs,
		PerSecond: float64(len(lat)) / secs,
		Conns:     rl.Accepted() - conns0,
		Latency:   summarize(lat),
	}
	if errs > 0 {
		return r, fmt.Errorf("%d calls failed, first: %w", errs, firstErr)
	}
	return r, ctx.Err()
}

func cmpErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// phaseBigList: first tools/list with c.tools upstream tools, each
// declaring X-Asana-Token: a proxy cold start vs a direct client's token +
// connect + list, alternating, the revisions taking turns, and the floor
// in each revision (the client following the cursors through it) vs a
// direct client speaking the same. Every side uses the same go-sdk client, so that
// the client's own decoding and checks of 1,000 tools cost the same. Each
// run gives one overhead (the proxy's list minus the direct one just
// before it); the report gives their spread.
func phaseBigList(ctx context.Context, c config, home string, revs []*Revision) error {
	ctx, cancel := context.WithTimeout(ctx, c.phaseLimit)
	defer cancel()
	sim, err := startBigSim(c)
	if err != nil {
		return err
	}
	defer sim.Close()
	if err := checkLoopback(sim.GatewayURL, sim.TokenURL); err != nil {
		return err
	}
	tok, err := floorToken(ctx, sim)
	if err != nil {
		return err
	}
	type samples struct {
		direct, proxied, cpus []time.Duration
		overheads             []float64
	}
	got := make([]samples, 2*len(revs)) // the floors after the proxies
	add := func(g *samples, d, p, cpu time.Duration) {
		g.direct, g.proxied, g.cpus = append(g.direct, d), append(g.proxied, p), append(g.cpus, cpu)
		g.overheads = append(g.overheads, float64((p-d).Nanoseconds())/1e3)
	}
	direct := func(version string) (time.Duration, error) {
		d, tools, err := directColdList(ctx, sim, sim.GatewayURL, version)
		if err != nil {
			return 0, fmt.Errorf("direct: %w", err)
		}
		if len(tools) != c.tools {
			return 0, fmt.Errorf("direct: %d tools, want %d", len(tools), c.tools)
		}
		return d, nil
	}
	for i := 0; i < c.lists && ctx.Err() == nil; i++ {
		for j, r := range revs {
			d, err := direct(r.Protocol)
			if err != nil {
				return fmt.Errorf("%s: %w", r.Protocol, err)
			}
			p, err := newProxyCmd(c, home, sim, sim.GatewayURL, r.Protocol)
			if err != nil {
				return err
			}
			before := sim.Counts()
			t, cpu, tools, err := proxyColdList(ctx, p)
			if err != nil {
				return fmt.Errorf("%s: %w", r.Protocol, err)
			}
			if err := checkUpstream(r.Protocol, before, sim.Counts()); err != nil {
				return err
			}
			if err := checkStripped(tools, c.tools); err != nil {
				return fmt.Errorf("%s: %w", r.Protocol, err)
			}
			add(&got[j], d, t, cpu)
			if i == 0 {
				b, _ := json.Marshal(tools)
				r.BigListBytesRead = len(b)
			}
		}
		for j, r := range revs {
			d, err := direct(r.Protocol)
			if err != nil {
				return fmt.Errorf("%s: floor: %w", r.Protocol, err)
			}
			t, cpu, tools, err := proxyColdList(ctx, newFloorCmd(c, home, sim.GatewayURL, tok, r.Protocol))
			if err != nil {
				return fmt.Errorf("%s: floor: %w", r.Protocol, err)
			}
			if len(tools) != c.tools {
				return fmt.Errorf("%s: floor: %d tools, want %d", r.Protocol, len(tools), c.tools)
			}
			add(&got[len(revs)+j], d, t, cpu)
		}
	}
	for j, r := range revs {
		g := &got[j]
		r.BigTools = c.tools
		r.BigListDirect, r.BigListProxy = summarize(g.direct), summarize(g.proxied)
		r.BigListOverhead = r.BigListProxy.Median - r.BigListDirect.Median
		r.BigListOverheads = spread(g.overheads)
		r.BigListProxyCPU = summarize(g.cpus)
	}
	for j, r := range revs {
		g, f := &got[len(revs)+j], r.Floor
		f.BigListDirect, f.BigListFloor = summarize(g.direct), summarize(g.proxied)
		f.BigListOverhead = f.BigListFloor.Median - f.BigListDirect.Median
		f.BigListOverheads = spread(g.overheads)
	}
	return nil
}

// checkStripped makes sure the proxy listed every tool and hid the secret
// argument from each: a benchmark of a proxy that skips the work is worthless.
func checkStripped(tools []*mcp.Tool, want int) error {
	if len(tools) != want {
		return fmt.Errorf("proxy listed %d tools, want %d", len(tools), want)
	}
	for _, t := range tools {
		b, _ := json.Marshal(t.InputSchema)
		if strings.Contains(string(b), "X-Asana-Token") {
			return errors.New("proxy listed a tool that still declares X-Asana-Token")
		}
	}
	return nil
}

// targets checks issue 6's target table against the report; ran holds
// the phases that were run.
func targets(r *Revision, ran map[string]bool) []Target {
	ms := func(us float64) float64 { return us / 1e3 }
	on := func(phase string) []string { return []string{phase} }
	t := []Target{
		{Metric: "start -> initialize, median", Value: ms(r.StartInitialize.Median), Op: "<", Limit: 5, Unit: "ms", phases: on("starts")},
		{Metric: "start -> first tools/list, median", Value: ms(r.StartToolsList.Median), Op: "<", Limit: 15, Unit: "ms", phases: on("starts")},
		{Metric: "per-call overhead over direct, p50", Value: r.CallOverheadP50, Op: "<", Limit: 150, Unit: "µs", phases: on("calls")},
		{Metric: "proxy CPU per call at 64 in flight", Value: r.Throughput.ProxyCPU, Op: "<", Limit: 150, Unit: "µs", phases: on("throughput")},
		{Metric: "throughput vs direct at 64 in flight (min)", Value: r.Throughput.Ratio, Op: ">=", Limit: 0.7, Unit: "x", phases: on("throughput")},
		{Metric: "proxy's upstream TCP conns, whole life (max)", Value: float64(r.Throughput.ProxyConnsUp), Op: "<=", Limit: 2 * float64(r.Throughput.InFlight), Unit: "conns", phases: on("throughput")},
		{Metric: "RSS after the throughput run", Value: float64(r.RSSAfterKiB) / 1024, Op: "<", Limit: 20, Unit: "MiB", phases: on("throughput")},
		{Metric: "1,000-tool first tools/list over direct", Value: ms(r.BigListOverhead), Op: "<", Limit: 20, Unit: "ms", phases: on("tools")},
	}
	for i := range t {
		t[i].base = 1
	}
	check(t, ran)
	return t
}

package main

import (
	"bytes"
	"strings"
	"testing"
)

// A target whose phase was left out (-only) is "not run", never "holds":
// an empty measurement of 0 would pass every "<" target.
func TestTargetsOfPhasesNotRun(t *testing.T) {
	rev := &Revision{Protocol: "2026-07-28"}
	rev.Targets = targets(rev, map[string]bool{"starts": true})
	for _, g := range rev.Targets {
		if want := g.phases[0] != "starts"; g.NotRun != want {
			t.Errorf("%s (phases %v): NotRun %v, want %v", g.Metric, g.phases, g.NotRun, want)
		}
		if g.NotRun && g.Holds {
			t.Errorf("%s was not run but holds", g.Metric)
		}
	}
	var out bytes.Buffer
	printTable(&out, &Report{Revisions: []*Revision{rev}})
	for _, line := range strings.Split(out.String(), "\n") {
		if strings.Contains(line, "1,000-tool first tools/list over direct") && !strings.Contains(line, "not run") {
			t.Errorf("the 1,000-tool target, not run, reads: %q", line)
		}
		if strings.Contains(line, "start -> initialize, median") && strings.Contains(line, "not run") {
			t.Errorf("the start target, run, reads: %q", line)
		}
	}
}

// The targets against the floor: each a ratio (or, for the big list, a
// difference of overheads) of agw-proxy's figure to the floor's of the same
// run, holding up to its limit and MISSED beyond it, n/a without a
// positive floor figure, not run without every phase it needs.
func TestFloorTargets(t *testing.T) {
	all := map[string]bool{"starts": true, "calls": true, "throughput": true, "tools": true, "latency": true}
	floor := &Floor{
		StartInitialize:  Dist{Median: 5000},
		CallOverheadP50:  200,
		Throughput:       Throughput{ProxyCPU: 100},
		BigListOverheads: Spread{Median: 60_000},
		CannedList:       Dist{Median: 5000},
	}
	at := func(r *Revision, f *Floor, ran map[string]bool) map[string]Target {
		m := map[string]Target{}
		for _, g := range floorTargets(r, f, ran) {
			m[strings.Fields(g.Metric)[0]] = g // start, proxy, sequential, 1,000-tool, warm-cache
		}
		return m
	}
	// Exactly at every limit: all hold.
	edge := &Revision{
		StartInitialize:  Dist{Median: 6000},
		CallOverheadP50:  220,
		Throughput:       Throughput{ProxyCPU: 120},
		BigListOverheads: Spread{Median: 70_000},
		Latency:          LatencyLists{WarmLine: Dist{Median: 6000}},
	}
	for name, g := range at(edge, floor, all) {
		if !g.Holds || g.NotRun || g.Undefined {
			t.Errorf("%s at its limit: %+v, want holds", name, g)
		}
	}
	// Just beyond: all missed.
	over := &Revision{
		StartInitialize:  Dist{Median: 6100},
		CallOverheadP50:  221,
		Throughput:       Throughput{ProxyCPU: 121},
		BigListOverheads: Spread{Median: 70_100},
		Latency:          LatencyLists{WarmLine: Dist{Median: 6100}},
	}
	got := at(over, floor, all)
	for name, g := range got {
		if g.Holds || g.NotRun || g.Undefined {
			t.Errorf("%s beyond its limit: %+v, want MISSED", name, g)
		}
	}
	if g := got["start"]; g.Value != 6100.0/5000 || g.Detail != "6100 µs vs 5000 µs" {
		t.Errorf("start: value %v, detail %q", g.Value, g.Detail)
	}
	if g := got["1,000-tool"]; g.Value != 10.1 || g.Unit != "ms" {
		t.Errorf("1,000-tool: %v %s, want 10.1 ms over the floor's overhead", g.Value, g.Unit)
	}
	// A floor no slower than direct has no ratio.
	if g := at(edge, &Floor{StartInitialize: Dist{Median: 5000}, Throughput: Throughput{ProxyCPU: 100}}, all)["sequential"]; !g.Undefined || g.Holds {
		t.Errorf("sequential against a floor overhead of 0: %+v, want n/a", g)
	}
	// The warm-cache target needs the latency phase alone, which times
	// both sides (raw reader, the floor answering the list canned).
	if g := at(edge, floor, map[string]bool{"starts": true})["warm-cache"]; !g.NotRun || g.Holds {
		t.Errorf("warm-cache without the latency phase: %+v, want not run", g)
	}
	if g := at(edge, floor, map[string]bool{"latency": true})["warm-cache"]; g.NotRun || !g.Holds || g.Detail != "6000 µs vs 5000 µs, start -> answer line, raw reader" {
		t.Errorf("warm-cache with the latency phase: %+v, want holds", g)
	}

	var out bytes.Buffer
	printTable(&out, &Report{Revisions: []*Revision{{Protocol: "2026-07-28", Floor: floor, FloorTargets: floorTargets(over, floor, all)}}})
	for _, want := range []string{
		"start -> initialize vs the floor", "1.22x MISSED (6100 µs vs 5000 µs)",
		"sequential tools/call overhead vs the floor's", "1.10x MISSED (+221 µs vs +200 µs)",
		"1,000-tool first tools/list over direct, minus the floor's", "10.1 ms MISSED (+70.1 ms vs +60.0 ms, median of the runs)",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the table lacks %q:\n%s", want, out.String())
		}
	}
}

func TestSpread(t *testing.T) {
	got := spread([]float64{9, 1, 5, 3, 7, 2, 8, 4, 6, 10})
	if want := (Spread{N: 10, Min: 1, P25: 3, Median: 5, P75: 8, Max: 10}); got != want {
		t.Errorf("spread(1..10) = %+v, want %+v", got, want)
	}
	if got := spread(nil); got != (Spread{}) {
		t.Errorf("spread(nil) = %+v", got)
	}
}

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
		if want := g.phase != "starts"; g.NotRun != want {
			t.Errorf("%s (phase %s): NotRun %v, want %v", g.Metric, g.phase, g.NotRun, want)
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

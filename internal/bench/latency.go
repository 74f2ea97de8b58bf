package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/agw-proxy/agw-proxy/internal/gatewaysim"
)

// phaseLatency: the realistic-latency phase. The emulator with c.tools
// tools in its default pages of 30 sits behind a delaying proxy that adds
// c.delay to every request to the Gateway (the token endpoint is not
// delayed: the floor is handed its token before it starts, so a delayed
// token fetch would count against agw-proxy and direct alone). Per run and
// revision: a direct client following the cursors itself, agw-proxy cold
// (a fresh cache directory) and warm (a second start of the same command:
// same profile, same cache directory), then warm once more timed by a raw
// line reader, and the floor answering that same list from a file, timed
// the same way (rawlist.go: the warm-cache target); then the floor in each
// revision, through which the client follows the cursors.
func phaseLatency(ctx context.Context, c config, home string, revs []*Revision) error {
	ctx, cancel := context.WithTimeout(ctx, c.phaseLimit)
	defer cancel()
	sim, err := startBigSim(c)
	if err != nil {
		return err
	}
	defer sim.Close()
	delay, err := startDelay(strings.TrimSuffix(sim.GatewayURL, "/mcp"), c.delay)
	if err != nil {
		return err
	}
	defer delay.Close()
	gw := delay.URL() + "/mcp"
	if err := checkLoopback(gw, sim.GatewayURL, sim.TokenURL); err != nil {
		return err
	}
	tok, err := floorToken(ctx, sim)
	if err != nil {
		return err
	}
	pages := (c.tools + gatewaysim.DefaultPageSize - 1) / gatewaysim.DefaultPageSize
	// paged checks that a side listed every tool, page by page through the
	// delay, between two snapshots of the emulator's counters.
	paged := func(side string, before gatewaysim.Counts, tools int) error {
		if tools != c.tools {
			return fmt.Errorf("%s: %d tools, want %d", side, tools, c.tools)
		}
		if n := sim.Counts().ToolLists - before.ToolLists; n != pages {
			return fmt.Errorf("%s: %d tools/list pages, want %d", side, n, pages)
		}
		return nil
	}
	type samples struct{ direct, cold, warm, warmLine []time.Duration }
	type floorSamples struct{ list, canned []time.Duration }
	got := make([]samples, len(revs))
	floor := make([]floorSamples, len(revs))
	cannedFile := filepath.Join(home, "canned-tools.json")
	for i := 0; i < c.delayLists && ctx.Err() == nil; i++ {
		for j, r := range revs {
			g := &got[j]
			before := sim.Counts()
			d, tools, err := directColdList(ctx, sim, gw, r.Protocol)
			if err != nil {
				return fmt.Errorf("%s: direct: %w", r.Protocol, err)
			}
			if err := paged(r.Protocol+": direct", before, len(tools)); err != nil {
				return err
			}
			p, err := newProxyCmd(c, home, sim, gw, r.Protocol)
			if err != nil {
				return err
			}
			before = sim.Counts()
			cold, _, ptools, err := proxyColdList(ctx, p)
			if err != nil {
				return fmt.Errorf("%s: cold: %w", r.Protocol, err)
			}
			if err := checkUpstream(r.Protocol, before, sim.Counts()); err != nil {
				return err
			}
			if err := checkStripped(ptools, c.tools); err != nil {
				return fmt.Errorf("%s: cold: %w", r.Protocol, err)
			}
			warm, _, ptools, err := proxyColdList(ctx, p)
			if err != nil {
				return fmt.Errorf("%s: warm: %w", r.Protocol, err)
			}
			if err := checkStripped(ptools, c.tools); err != nil {
				return fmt.Errorf("%s: warm: %w", r.Protocol, err)
			}
			g.direct, g.cold, g.warm = append(g.direct, d), append(g.cold, cold), append(g.warm, warm)

			// The warm start again, read raw; then the floor answering
			// the list just read from a file, read the same way.
			line, res, err := rawFirstList(ctx, p)
			if err != nil {
				return fmt.Errorf("%s: warm, raw: %w", r.Protocol, err)
			}
			if n, err := countTools(res); err != nil || n != c.tools {
				return fmt.Errorf("%s: warm, raw: %d tools (%v), want %d", r.Protocol, n, err, c.tools)
			}
			if err := os.WriteFile(cannedFile, res, 0o600); err != nil {
				return err
			}
			fc := newFloorCmd(c, home, gw, tok, r.Protocol)
			fc.env = append(fc.env, "AGW_FLOOR_TOOLS="+cannedFile)
			before = sim.Counts()
			fl, fres, err := rawFirstList(ctx, fc)
			if err != nil {
				return fmt.Errorf("%s: floor, canned: %w", r.Protocol, err)
			}
			if !bytes.Equal(fres, res) || sim.Counts().ToolLists != before.ToolLists {
				return fmt.Errorf("%s: floor, canned: not the canned list, or the Gateway was asked", r.Protocol)
			}
			g.warmLine, floor[j].canned = append(g.warmLine, line), append(floor[j].canned, fl)
		}
		for j, r := range revs {
			before := sim.Counts()
			t, _, tools, err := proxyColdList(ctx, newFloorCmd(c, home, gw, tok, r.Protocol))
			if err != nil {
				return fmt.Errorf("%s: floor: %w", r.Protocol, err)
			}
			if err := paged(r.Protocol+": floor", before, len(tools)); err != nil {
				return err
			}
			floor[j].list = append(floor[j].list, t)
		}
	}
	for j, r := range revs {
		r.Latency = LatencyLists{Tools: c.tools, Direct: summarize(got[j].direct), Cold: summarize(got[j].cold), Warm: summarize(got[j].warm), WarmLine: summarize(got[j].warmLine)}
		r.Floor.LatencyList, r.Floor.CannedList = summarize(floor[j].list), summarize(floor[j].canned)
	}
	return nil
}

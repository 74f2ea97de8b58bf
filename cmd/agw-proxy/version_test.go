package main

import (
	"bytes"
	"context"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestBuildVersion(t *testing.T) {
	const rev = "abc1234def5678abc1234def5678abc1234def56"
	vcs := func(kv ...string) []debug.BuildSetting {
		var s []debug.BuildSetting
		for i := 0; i < len(kv); i += 2 {
			s = append(s, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return s
	}
	tests := []struct {
		name                        string
		ldVersion, ldCommit, ldDate string
		bi                          *debug.BuildInfo
		want                        string
	}{
		{
			name:      "goreleaser ldflags",
			ldVersion: "1.2.3", ldCommit: rev, ldDate: "2026-11-25T10:00:00Z",
			bi:   &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}},
			want: "agw-proxy 1.2.3 (commit abc1234, built 2026-11-25T10:00:00Z, go1.26.8, linux/amd64)",
		},
		{
			name:      "ldflags win over build info",
			ldVersion: "1.2.4-SNAPSHOT-abc1234", ldCommit: rev, ldDate: "2026-11-25T10:00:00Z",
			bi: &debug.BuildInfo{
				Main:     debug.Module{Version: "v0.0.0-20261125095800-111111111111"},
				Settings: vcs("vcs.revision", "1111111111111111111111111111111111111111", "vcs.time", "2020-01-01T00:00:00Z"),
			},
			want: "agw-proxy 1.2.4-SNAPSHOT-abc1234 (commit abc1234, built 2026-11-25T10:00:00Z, go1.26.8, linux/amd64)",
		},
		{
			name: "go install module@version",
			bi: &debug.BuildInfo{
				Main:     debug.Module{Path: "github.com/agw-proxy/agw-proxy", Version: "v1.2.3"},
				Settings: vcs("vcs.revision", rev, "vcs.time", "2026-11-25T09:58:00Z", "vcs.modified", "false"),
			},
			want: "agw-proxy 1.2.3 (commit abc1234, committed 2026-11-25T09:58:00Z, go1.26.8, linux/amd64)",
		},
		{
			name: "go install without vcs data",
			bi:   &debug.BuildInfo{Main: debug.Module{Version: "v1.2.3"}},
			want: "agw-proxy 1.2.3 (go1.26.8, linux/amd64)",
		},
		{
			name: "go build in a modified checkout",
			bi: &debug.BuildInfo{
				Main:     debug.Module{Version: "v0.0.0-20261125095800-abc1234def56+dirty"},
				Settings: vcs("vcs.revision", rev, "vcs.time", "2026-11-25T09:58:00Z", "vcs.modified", "true"),
			},
			want: "agw-proxy 0.0.0-20261125095800-abc1234def56+dirty (commit abc1234-dirty, committed 2026-11-25T09:58:00Z, go1.26.8, linux/amd64)",
		},
		{
			name:      "only a version stamped: commit from build info",
			ldVersion: "1.2.3",
			bi:        &debug.BuildInfo{Settings: vcs("vcs.revision", rev)},
			want:      "agw-proxy 1.2.3 (commit abc1234, go1.26.8, linux/amd64)",
		},
		{
			name: "go build with -buildvcs=false",
			bi:   &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}},
			want: "agw-proxy devel (go1.26.8, linux/amd64)",
		},
		{
			name: "no build info at all",
			want: "agw-proxy devel (go1.26.8, linux/amd64)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := buildVersion(tt.ldVersion, tt.ldCommit, tt.ldDate, tt.bi, "go1.26.8", "linux/amd64").String()
			if got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestBuildVersionGoVersionFromBuildInfo(t *testing.T) {
	got := buildVersion("", "", "", &debug.BuildInfo{GoVersion: "go1.26.1"}, "", "").String()
	if want := "agw-proxy devel (go1.26.1)"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestShortCommit(t *testing.T) {
	for in, want := range map[string]string{
		"abc1234def5678":       "abc1234",
		"abc1234def5678-dirty": "abc1234-dirty",
		"abc1234":              "abc1234",
		"abc":                  "abc",
		"not-a-hex-revision":   "not-a-hex-revision", // leave odd stamps alone
	} {
		if got := shortCommit(in); got != want {
			t.Errorf("shortCommit(%q) = %q, want %q", in, got, want)
		}
	}
}

// stampVersionForTest sets the ldflags variables and the build-info seam for one test.
func stampVersionForTest(t *testing.T, v, c, d string, bi *debug.BuildInfo) {
	t.Helper()
	oldV, oldC, oldD, oldRead := version, commit, date, readBuildInfo
	t.Cleanup(func() { version, commit, date, readBuildInfo = oldV, oldC, oldD, oldRead })
	version, commit, date = v, c, d
	readBuildInfo = func() (*debug.BuildInfo, bool) { return bi, bi != nil }
}

func runForVersionTest(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{testKeychain: testStore, stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
	code = run(context.Background(), args, e)
	return code, out.String(), errb.String()
}

func TestVersionCommand(t *testing.T) {
	stampVersionForTest(t, "1.2.3", "abc1234def5678", "2026-11-25T10:00:00Z", nil)
	platform := runtime.GOOS + "/" + runtime.GOARCH
	want := "agw-proxy 1.2.3 (commit abc1234, built 2026-11-25T10:00:00Z, " + runtime.Version() + ", " + platform + ")\n"
	for _, args := range [][]string{{"version"}, {"--version"}} {
		code, out, errOut := runForVersionTest(t, args...)
		if code != exitOK || out != want || errOut != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 0, stdout %q", args, code, out, errOut, want)
		}
	}
}

func TestVersionCommandFallsBackToBuildInfo(t *testing.T) {
	stampVersionForTest(t, "", "", "", &debug.BuildInfo{
		Main:     debug.Module{Version: "v2.0.1"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123456789abcdef"}},
	})
	code, out, _ := runForVersionTest(t, "version")
	if code != exitOK || !strings.HasPrefix(out, "agw-proxy 2.0.1 (commit 0123456, "+runtime.Version()+", ") {
		t.Errorf("exit %d, stdout %q", code, out)
	}
}

func TestVersionHelp(t *testing.T) {
	for _, arg := range []string{"--help", "-h"} {
		code, out, errOut := runForVersionTest(t, "version", arg)
		if code != exitOK || errOut != "" {
			t.Errorf("%s: exit %d, stderr %q", arg, code, errOut)
		}
		for _, section := range []string{"Usage:", "Options:", "Examples:", "agw-proxy version"} {
			if !strings.Contains(out, section) {
				t.Errorf("%s: help lacks %q:\n%s", arg, section, out)
			}
		}
	}
}

func TestVersionUsageErrors(t *testing.T) {
	tests := []struct {
		args      []string
		wantError string
	}{
		{[]string{"version", "extra"}, `agw-proxy: error: version: unexpected argument "extra"`},
		{[]string{"version", "--short"}, "agw-proxy: error: version: unknown flag: --short"},
	}
	for _, tt := range tests {
		code, out, errOut := runForVersionTest(t, tt.args...)
		if code != exitUsage {
			t.Errorf("%v: exit %d, want %d", tt.args, code, exitUsage)
		}
		if out != "" {
			t.Errorf("%v: wrote to stdout: %q", tt.args, out)
		}
		if !strings.HasPrefix(errOut, tt.wantError+"\n") || !strings.Contains(errOut, "agw-proxy: hint: ") {
			t.Errorf("%v: stderr %q, want error %q and a hint", tt.args, errOut, tt.wantError)
		}
	}
}

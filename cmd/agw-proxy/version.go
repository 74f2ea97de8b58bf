package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/pflag"
)

// Set by the release build (goreleaser.yaml):
//
//	-ldflags "-X main.version={{.Version}} -X main.commit={{.Commit}} -X main.date={{.Date}}"
//
// Left empty by `go build` and `go install`; buildVersion then falls back to
// the module and VCS data the Go toolchain embeds in the binary.
var version, commit, date string

// readBuildInfo is a seam for tests.
var readBuildInfo = debug.ReadBuildInfo

func init() {
	register(command{name: "version", summary: "Print version, commit, build date, Go version and platform", run: runVersion})
}

const versionUsage = `Usage:
    agw-proxy version

Print the version, commit, build date, Go version and platform of this binary.
Include this line in bug reports.

Options:
    -h, --help   Show this help

Examples:
    $ agw-proxy version
    agw-proxy 1.2.3 (commit abc1234, built 2026-11-25T10:00:00Z, go1.26.8, linux/amd64)

    A binary from "go install" reports its module version and, when the
    toolchain recorded it, the commit and its date:
    agw-proxy 1.2.3 (commit abc1234, committed 2026-11-25T09:58:00Z, go1.26.8, darwin/arm64)
`

func runVersion(_ context.Context, e *env, args []string) error {
	fs := pflag.NewFlagSet("version", pflag.ContinueOnError)
	if done, err := parseFlags(e, fs, versionUsage, args); done {
		return err
	}
	if fs.NArg() > 0 {
		return usageError(withHints(fmt.Errorf("version: unexpected argument %q", fs.Arg(0)), `"agw-proxy version" takes no arguments`))
	}
	fmt.Fprintln(e.stdout, currentBuild())
	return nil
}

// buildDetails describes the running binary. Empty fields are unknown.
type buildDetails struct {
	Version   string // "1.2.3", "1.2.4-SNAPSHOT-abc1234", or "devel"
	Commit    string // full revision, "-dirty" appended when the tree was modified
	Date      string // RFC 3339
	DateIsVCS bool   // Date is the commit's time (go install), not the build's
	GoVersion string
	Platform  string // GOOS/GOARCH
}

func currentBuild() buildDetails {
	bi, ok := readBuildInfo()
	if !ok {
		bi = nil
	}
	return buildVersion(version, commit, date, bi, runtime.Version(), runtime.GOOS+"/"+runtime.GOARCH)
}

// buildVersion merges what the release build stamped (ldVersion, ldCommit,
// ldDate; goreleaser) with what the Go toolchain embedded (bi, may be nil).
// Stamped values win; each missing one falls back to the build info
// separately, so a plain `go build -ldflags "-X main.version=..."` still
// reports its commit.
func buildVersion(ldVersion, ldCommit, ldDate string, bi *debug.BuildInfo, goVersion, platform string) buildDetails {
	d := buildDetails{Version: ldVersion, Commit: ldCommit, Date: ldDate, GoVersion: goVersion, Platform: platform}
	if bi != nil {
		if d.Version == "" {
			d.Version = moduleVersion(bi.Main.Version)
		}
		var revision, vcsTime string
		var modified bool
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				revision = s.Value
			case "vcs.time":
				vcsTime = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
		if d.Commit == "" && revision != "" {
			d.Commit = revision
			if modified {
				d.Commit += "-dirty"
			}
		}
		if d.Date == "" && vcsTime != "" {
			d.Date, d.DateIsVCS = vcsTime, true
		}
		if d.GoVersion == "" {
			d.GoVersion = bi.GoVersion
		}
	}
	if d.Version == "" {
		d.Version = "devel"
	}
	return d
}

// moduleVersion turns a module version ("v1.2.3", a pseudo-version, or
// "(devel)" for a build inside the module) into what goreleaser prints:
// no leading "v".
func moduleVersion(v string) string {
	if v == "" || v == "(devel)" {
		return ""
	}
	if len(v) > 1 && v[0] == 'v' && v[1] >= '0' && v[1] <= '9' {
		return v[1:]
	}
	return v
}

// String is the one-line form `agw-proxy version` prints; unknown parts are left out.
func (d buildDetails) String() string {
	var parts []string
	if d.Commit != "" {
		parts = append(parts, "commit "+shortCommit(d.Commit))
	}
	if d.Date != "" {
		if d.DateIsVCS {
			parts = append(parts, "committed "+d.Date)
		} else {
			parts = append(parts, "built "+d.Date)
		}
	}
	if d.GoVersion != "" {
		parts = append(parts, d.GoVersion)
	}
	if d.Platform != "" {
		parts = append(parts, d.Platform)
	}
	s := "agw-proxy " + d.Version
	if len(parts) > 0 {
		s += " (" + strings.Join(parts, ", ") + ")"
	}
	return s
}

// shortCommit abbreviates a hex revision to 7 characters, as git does,
// keeping a "-dirty" marker.
func shortCommit(c string) string {
	rev, dirty := strings.CutSuffix(c, "-dirty")
	if len(rev) > 7 && isHex(rev) {
		rev = rev[:7]
	}
	if dirty {
		rev += "-dirty"
	}
	return rev
}

func isHex(s string) bool {
	for _, r := range s {
		if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
			return false
		}
	}
	return true
}

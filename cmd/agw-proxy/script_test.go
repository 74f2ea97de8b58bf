package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/agw-proxy/agw-proxy/internal/testexe"
	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain lets the test binary act as agw-proxy, so scripts can
// "exec agw-proxy ...".
func TestMain(m *testing.M) {
	// No test, and no agw-proxy a test runs, uses the user's tool cache:
	// one folder for the test binary and its children (who inherit it),
	// unless a test names its own.
	var run testscript.TestingM = m
	if os.Getenv(envTestCache) == "" {
		dir, err := os.MkdirTemp("", "agw-proxy-test-cache-")
		if err != nil {
			panic(err)
		}
		// The go command a test runs (go build) keeps its build cache
		// where it was: by default under the user's cache directory.
		if os.Getenv("GOCACHE") == "" {
			if d, err := os.UserCacheDir(); err == nil {
				os.Setenv("GOCACHE", filepath.Join(d, "go-build"))
			}
		}
		os.Setenv(envTestCache, dir)
		os.Setenv("XDG_CACHE_HOME", dir)
		run = removeAfter{m, dir}
	}
	testscript.Main(run, map[string]func(){"agw-proxy": testMain})
}

// removeAfter runs the tests, then removes dir.
type removeAfter struct {
	m   *testing.M
	dir string
}

func (r removeAfter) Run() int {
	defer os.RemoveAll(r.dir)
	return r.m.Run()
}

// envTestCache marks the tool cache folder TestMain chose.
const envTestCache = "AGW_PROXY_TEST_CACHE_HOME"

// testMain is main with the test keychains (secrets_test.go): testscript
// runs it as "agw-proxy".
func testMain() {
	restoreArgv0()
	e := newEnv()
	e.testKeychain = testStore
	os.Exit(start(e))
}

// TestScripts runs the command-line scripts in testdata/*.txtar: one per
// command or concern.
//
// Besides testscript's built-ins, scripts have
//
//	exitcode N PROGRAM [ARGS...]   run PROGRAM and require exit status N
//
// The default config file lives under $WORK/config (XDG_CONFIG_HOME), so a
// script can put one at config/agw-proxy/config.yaml. $AGW_PROXY_EXE is the
// absolute path of the agw-proxy that scripts run (what mcp-config writes).
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata",
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		Setup: func(e *testscript.Env) error {
			e.Setenv("HOME", filepath.Join(e.WorkDir, "home"))
			e.Setenv("XDG_CONFIG_HOME", filepath.Join(e.WorkDir, "config"))
			e.Setenv("XDG_CACHE_HOME", filepath.Join(e.WorkDir, "cache"))
			e.Setenv(envTestCache, filepath.Join(e.WorkDir, "cache"))
			e.Setenv("AGW_PROXY_CONFIG", "")
			e.Setenv("AGW_PROXY_PROFILE", "")
			// As scripts run it (and mcp-config writes it): the path on
			// PATH, links not resolved.
			exe, err := exec.LookPath("agw-proxy")
			if err != nil {
				return err
			}
			e.Setenv("AGW_PROXY_EXE", exe)
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"exitcode": cmdExitCode,
			"cpexe":    cmdCopyExecutable,
		},
	})
}

func cmdExitCode(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exitcode N program [args...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("exitcode: %v", err)
	}
	got := 0
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("exitcode: %v", err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("exit status %d, want %d", got, want)
	}
}

// restoreArgv0 puts back the argv[0] that the test binary was run by, which
// testscript.Main replaces with the command's name: mcp-config writes the
// path agw-proxy was run by, as the released binary sees it. Linux only
// (/proc); elsewhere argv[0] stays "agw-proxy".
func restoreArgv0() {
	b, err := os.ReadFile("/proc/self/cmdline")
	if err != nil {
		return
	}
	if argv0, _, ok := strings.Cut(string(b), "\x00"); ok && argv0 != "" {
		os.Args[0] = argv0
	}
}

// cmdCopyExecutable is cp for a binary the script then runs: testscript's cp
// writes it from this process, and a parallel script that forks meanwhile
// makes the exec fail with "text file busy".
func cmdCopyExecutable(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: cpexe src dst")
	}
	ts.Check(testexe.CopyFile(ts.MkAbs(args[0]), ts.MkAbs(args[1])))
}

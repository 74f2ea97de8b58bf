package secretsource

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agw-proxy/agw-proxy/internal/testexe"
	"github.com/agw-proxy/agw-proxy/internal/testwait"
)

// fakeVault writes a vault CLI: it counts its runs in dir/runs, records its
// environment in dir/env, and prints what $FAKE_VAULT_MODE asks.
func fakeVault(t *testing.T) (argv []string, dir string) {
	t.Helper()
	dir = t.TempDir()
	script := `#!/bin/sh
echo run >> "` + dir + `/runs"
env > "` + dir + `/env"
case "$FAKE_VAULT_MODE" in
fail) echo "vault-output-that-must-not-show" ; echo "stderr-that-must-not-show" >&2 ; exit 3 ;;
hang) exec sleep 30 ;;
big) head -c 200000 /dev/zero | tr '\0' 'a' ;;
empty) echo ;;
control) printf 'tok\r\033[2Jen-0123456789\n' ;;
flood) exec yes a-line-that-is-no-secret ;;
spawn) sleep 300 & echo $! > "` + dir + `/child" ; wait ;;
*) printf '  s3cr3t-from-the-vault-0123  \nsecond line\n' ;;
esac
`
	path := filepath.Join(dir, "vault")
	if err := testexe.WriteFile(path, []byte(script)); err != nil {
		t.Fatal(err)
	}
	return []string{path, "kv", "get", "-field=token", "secret/asana"}, dir
}

func runs(t *testing.T, dir string) int {
	b, err := os.ReadFile(filepath.Join(dir, "runs"))
	if errors.Is(err, os.ErrNotExist) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(b), "run\n")
}

func environ(mode string) func() []string {
	return func() []string {
		return append(os.Environ(), "FAKE_VAULT_MODE="+mode, "AGW_PROXY_SECRET_ASANA=leak", "agw_proxy_config=leak2")
	}
}

func TestCommandValueIsTheFirstLineTrimmed(t *testing.T) {
	argv, _ := fakeVault(t)
	c := &Command{Argv: argv, Environ: environ("ok")}
	v, err := c.Secret(testwait.Context(t))
	if err != nil || v != "s3cr3t-from-the-vault-0123" {
		t.Fatalf("got %d bytes, %v", len(v), err)
	}
}

func TestCommandEnvironmentHasNoAgwProxyVariables(t *testing.T) {
	argv, dir := fakeVault(t)
	c := &Command{Argv: argv, Environ: environ("ok")}
	if _, err := c.Secret(testwait.Context(t)); err != nil {
		t.Fatal(err)
	}
	env, _ := os.ReadFile(filepath.Join(dir, "env"))
	if strings.Contains(strings.ToUpper(string(env)), "AGW_PROXY_") {
		t.Fatalf("the command saw AGW_PROXY_ variables:\n%s", env)
	}
	if !strings.Contains(string(env), "FAKE_VAULT_MODE=ok") {
		t.Fatal("the command did not get the rest of the environment")
	}
}

// The value is reused for TTL (counted runs on a moved clock), then the
// command runs again; concurrent reads share one run.
func TestCommandCachesForTTLAndSharesARun(t *testing.T) {
	argv, dir := fakeVault(t)
	now := time.Now()
	var mu sync.Mutex
	timeNow = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	t.Cleanup(func() { timeNow = time.Now })
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }

	c := &Command{Argv: argv, TTL: time.Minute, Environ: environ("ok")}
	ctx := testwait.Context(t)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := c.Secret(ctx); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := runs(t, dir); n != 1 {
		t.Fatalf("8 concurrent reads ran the command %d times, want 1", n)
	}
	advance(59 * time.Second)
	c.Secret(ctx)
	if n := runs(t, dir); n != 1 {
		t.Fatalf("a read within the TTL ran the command again (%d runs)", n)
	}
	advance(2 * time.Second)
	c.Secret(ctx)
	if n := runs(t, dir); n != 2 {
		t.Fatalf("a read after the TTL: %d runs, want 2", n)
	}
}

func TestCommandHangingIsBounded(t *testing.T) {
	argv, _ := fakeVault(t)
	c := &Command{Argv: argv, Timeout: 200 * time.Millisecond, Environ: environ("hang")}
	var err error
	testwait.Within(t, 10*time.Second, "the hanging command", func() { _, err = c.Secret(context.Background()) })
	var ce *CommandError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "did not finish within 200ms") {
		t.Fatalf("err = %v", err)
	}
}

// A failure names the command and the exit code, never what it printed.
func TestCommandFailureShowsNoOutput(t *testing.T) {
	argv, dir := fakeVault(t)
	c := &Command{Argv: argv, Environ: environ("fail")}
	ctx := testwait.Context(t)
	_, err := c.Secret(ctx)
	if err == nil || !errors.Is(err, ErrCommand) {
		t.Fatalf("err = %v", err)
	}
	msg := err.Error()
	if strings.Contains(msg, "must-not-show") || !strings.Contains(msg, "exit code 3") || !strings.Contains(msg, "kv get -field=token secret/asana") {
		t.Fatalf("message %q", msg)
	}
	// Not cached: the next read runs it again.
	c.Secret(ctx)
	if n := runs(t, dir); n != 2 {
		t.Fatalf("%d runs, want 2", n)
	}
}

func TestCommandOutputBounded(t *testing.T) {
	for _, mode := range []string{"big", "empty", "control"} {
		argv, _ := fakeVault(t)
		c := &Command{Argv: argv, Environ: environ(mode)}
		_, err := c.Secret(testwait.Context(t))
		if !errors.Is(err, ErrCommand) {
			t.Errorf("%s: err = %v", mode, err)
		}
	}
}

// A command that prints without end is stopped at MaxOutput, not at its
// timeout.
func TestCommandFloodIsStoppedAtMaxOutput(t *testing.T) {
	argv, _ := fakeVault(t)
	c := &Command{Argv: argv, Timeout: time.Hour, Environ: environ("flood")}
	var err error
	testwait.Within(t, 20*time.Second, "the flooding command", func() { _, err = c.Secret(context.Background()) })
	if !errors.Is(err, ErrCommand) || !strings.Contains(err.Error(), "printed over") || strings.Contains(err.Error(), "no-secret") {
		t.Fatalf("err = %v", err)
	}
}

func TestCommandNotOnPath(t *testing.T) {
	c := &Command{Argv: []string{"agw-proxy-no-such-vault-cli"}}
	_, err := c.Secret(testwait.Context(t))
	if !errors.Is(err, ErrCommand) || !strings.Contains(err.Error(), "not on PATH") {
		t.Fatalf("err = %v", err)
	}
}

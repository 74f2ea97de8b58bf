//go:build unix

package secretsource

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/agw-proxy/agw-proxy/internal/testwait"
)

// A command stopped at its timeout takes what it started with it: a
// script's background child does not outlive it.
func TestCommandTimeoutStopsWhatItStarted(t *testing.T) {
	argv, dir := fakeVault(t)
	c := &Command{Argv: argv, Timeout: 500 * time.Millisecond, Environ: environ("spawn")}
	var err error
	testwait.Within(t, 20*time.Second, "the command", func() { _, err = c.Secret(context.Background()) })
	if !errors.Is(err, ErrCommand) {
		t.Fatalf("err = %v", err)
	}
	b, rerr := os.ReadFile(filepath.Join(dir, "child"))
	if rerr != nil {
		t.Fatalf("the script did not start its child: %v", rerr)
	}
	pid, perr := strconv.Atoi(strings.TrimSpace(string(b)))
	if perr != nil {
		t.Fatal(perr)
	}
	// Gone, or a zombie nobody has reaped yet (in a container without an
	// init): either way no longer running.
	running := func() bool {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			if runtime.GOOS != "linux" {
				return syscall.Kill(pid, 0) == nil
			}
			return false
		}
		_, after, _ := strings.Cut(string(stat), ") ")
		return !strings.HasPrefix(after, "Z")
	}
	for deadline := time.Now().Add(10 * time.Second); running(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the command's child %d still runs after the command was stopped", pid)
		}
	}
}

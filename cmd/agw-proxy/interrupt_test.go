//go:build linux

package main

// Interruptions, through the built binary (the test binary as "agw-proxy",
// see TestMain) as a user meets them: keys at login's hidden prompt on a
// pseudo-terminal, and SIGINT or SIGTERM sent to the process, at the prompt,
// on a stdin that never ends, and during doctor's wait on a Gateway that
// does not answer. Each must end the process within interruptDeadline with
// exit 130 (SIGINT) or 143 (SIGTERM), one short line, and the terminal as it
// was.

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// interruptDeadline is how long an interrupted command may take to end: the
// promise is "within a second"; the race detector slows things down, and
// sleeps a second before a successful exit (GORACE atexit_sleep_ms).
const interruptDeadline = 3 * time.Second

// startDeadline bounds the wait for a command to reach the point where the
// test interrupts it.
const startDeadline = 10 * time.Second

// lockedBuffer collects a process's output while the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitFor fails t unless out comes to contain s within startDeadline.
func waitFor(t *testing.T, out *lockedBuffer, s string) {
	t.Helper()
	deadline := time.Now().Add(startDeadline)
	for !strings.Contains(out.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q within %s; output so far:\n%s", s, startDeadline, out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// process is agw-proxy running as a subprocess.
type process struct {
	cmd    *exec.Cmd
	exited chan struct{}
	err    error // of Wait, once exited is closed
}

// startProcess starts cmd and kills it at the end of the test if it is still running.
func startProcess(t *testing.T, cmd *exec.Cmd) *process {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = cmd.Process.Kill()
			<-p.exited
		}
	})
	return p
}

// exitWithin waits for the process to end within d and returns its exit
// code; it fails t if the process goes on.
func (p *process) exitWithin(t *testing.T, d time.Duration, output func() string) int {
	t.Helper()
	began := time.Now()
	select {
	case <-p.exited:
	case <-time.After(d):
		t.Fatalf("still running %s after the interruption; output:\n%s", d, output())
	}
	t.Logf("ended %s after the interruption", time.Since(began).Round(time.Millisecond))
	var ee *exec.ExitError
	switch {
	case p.err == nil:
		return 0
	case errors.As(p.err, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			t.Fatalf("killed by %v, not an exit; output:\n%s", ws.Signal(), output())
		}
		return ee.ExitCode()
	}
	t.Fatalf("wait: %v", p.err)
	return -1
}

// interruptEnv is the environment of a subprocess: no config file, and the
// test keychain in a file of the test's own.
func interruptEnv(t *testing.T) (env []string, keyring string) {
	home := t.TempDir()
	keyring = filepath.Join(home, "keyring.json")
	env = append(os.Environ(),
		"HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, "config"),
		"AGW_PROXY_CONFIG=", "AGW_PROXY_PROFILE=",
		"AGW_PROXY_CLIENT_SECRET=", "AGW_PROXY_SECRET_ASANA=",
		envTestKeyringFile+"="+keyring, "TERM=dumb")
	return env, keyring
}

// terminal is a pseudo-terminal for a subprocess: its stdin, stdout and
// stderr, and its controlling terminal, as in a shell.
type terminal struct {
	ptmx, tty *os.File
	out       lockedBuffer // everything the process wrote to it
	initial   unix.Termios
}

func openTerminal(t *testing.T) *terminal {
	t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	term := &terminal{ptmx: ptmx, tty: tty}
	st, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	term.initial = *st
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		_, _ = io.Copy(&term.out, ptmx) // ends with EIO when the test closes it
	}()
	t.Cleanup(func() {
		tty.Close()
		ptmx.Close()
		<-copied
	})
	return term
}

// command is agw-proxy with args on the terminal, in a session of its own
// with the terminal as its controlling terminal (so that keys such as
// Ctrl-C reach it as a shell's foreground job gets them).
func (term *terminal) command(env []string, args ...string) *exec.Cmd {
	cmd := exec.Command("agw-proxy", args...)
	cmd.Env = env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = term.tty, term.tty, term.tty
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	return cmd
}

// checkRestored fails t unless the terminal's modes are back as they were
// before the process ran: echo, line editing and the signal keys on.
func (term *terminal) checkRestored(t *testing.T) {
	t.Helper()
	st, err := unix.IoctlGetTermios(int(term.tty.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	if st.Lflag&unix.ECHO == 0 {
		t.Error("the terminal was left with echo off")
	}
	if st.Lflag != term.initial.Lflag || st.Iflag != term.initial.Iflag || st.Oflag != term.initial.Oflag {
		t.Errorf("terminal modes not restored: lflag %#x iflag %#x oflag %#x, were %#x %#x %#x",
			st.Lflag, st.Iflag, st.Oflag, term.initial.Lflag, term.initial.Iflag, term.initial.Oflag)
	}
}

const promptText = `Token for "asana" (input hidden): `

// TestPromptKeys: at login's hidden prompt, Ctrl-C and Ctrl-\ interrupt
// (exit 130, no goroutine dump), Ctrl-D on an empty line is no input (exit 1,
// "empty input"), and Enter stores what was typed, Backspace applied; the
// terminal is restored every time. Before the prompt read in raw mode,
// Ctrl-C and Ctrl-D did nothing and Ctrl-\ dumped goroutines.
func TestPromptKeys(t *testing.T) {
	for _, tc := range []struct {
		name   string
		keys   string
		code   int
		want   string // in the output
		stored string // the secret stored, if any
	}{
		{"ctrl-c", "abc\x03", 130, "agw-proxy: interrupted", ""},
		{"ctrl-backslash", "\x1c", 130, "agw-proxy: interrupted", ""},
		{"ctrl-d on an empty line", "\x04", 1, "agw-proxy: error: empty input: nothing to store", ""},
		{"enter", "tok-12345678X\x7f\r", 0, `Stored "asana" for profile "default"`, "tok-12345678"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env, keyring := interruptEnv(t)
			term := openTerminal(t)
			p := startProcess(t, term.command(env, "login", "asana"))
			waitFor(t, &term.out, promptText)
			if _, err := term.ptmx.WriteString(tc.keys); err != nil {
				t.Fatal(err)
			}
			code := p.exitWithin(t, interruptDeadline, term.out.String)
			waitFor(t, &term.out, tc.want) // the last output may still be on its way
			out := term.out.String()
			if code != tc.code {
				t.Errorf("exit %d, want %d; output:\n%s", code, tc.code, out)
			}
			// "abc" and "tok-": nothing typed is echoed, even right after
			// the prompt shows.
			for _, bad := range []string{"goroutine ", "SIGQUIT", "signal received", "abc", "tok-"} {
				if strings.Contains(out, bad) {
					t.Errorf("output has %q:\n%s", bad, out)
				}
			}
			term.checkRestored(t)
			checkStored(t, keyring, tc.stored)
		})
	}
}

// checkStored fails t unless the test keychain holds want as the secret
// asana of profile default (want "": nothing at all).
func checkStored(t *testing.T, keyring, want string) {
	t.Helper()
	b, err := os.ReadFile(keyring)
	if errors.Is(err, os.ErrNotExist) && want == "" {
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if got := m["default:asana"]; got != want || (want == "" && len(m) > 0) {
		t.Errorf("stored %q (%d entries), want %q", got, len(m), want)
	}
}

// TestPromptSignals: SIGINT and SIGTERM sent to login waiting at its hidden
// prompt end it at once with 130 and 143, the terminal restored. Before,
// both only canceled a context that term.ReadPassword did not watch.
func TestPromptSignals(t *testing.T) {
	for _, tc := range []struct {
		sig  syscall.Signal
		code int
	}{
		{syscall.SIGINT, 130},
		{syscall.SIGTERM, 143},
	} {
		t.Run(tc.sig.String(), func(t *testing.T) {
			env, keyring := interruptEnv(t)
			term := openTerminal(t)
			p := startProcess(t, term.command(env, "login", "asana"))
			waitFor(t, &term.out, promptText)
			if err := p.cmd.Process.Signal(tc.sig); err != nil {
				t.Fatal(err)
			}
			code := p.exitWithin(t, interruptDeadline, term.out.String)
			waitFor(t, &term.out, "agw-proxy: interrupted")
			out := term.out.String()
			if code != tc.code {
				t.Errorf("exit %d, want %d; output:\n%s", code, tc.code, out)
			}
			if !strings.HasSuffix(strings.TrimRight(out, "\r\n"), "agw-proxy: interrupted") || strings.Contains(out, "error") {
				t.Errorf("want one short line after the prompt; output:\n%s", out)
			}
			term.checkRestored(t)
			checkStored(t, keyring, "")
		})
	}
}

// TestStdinSignal: login reading a secret from a pipe that never ends (the
// writer stays open) ends on SIGINT with 130. Before, io.ReadAll held it.
func TestStdinSignal(t *testing.T) {
	env, keyring := interruptEnv(t)
	cmd := exec.Command("agw-proxy", "login", "asana")
	cmd.Env = env
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	cmd.Stdin = r
	var stderr lockedBuffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	p := startProcess(t, cmd)
	r.Close()
	// The read has begun once something is on the pipe and still nothing
	// has come back: give the process time to reach it.
	if _, err := w.WriteString("tok-"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if err := p.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if code := p.exitWithin(t, interruptDeadline, stderr.String); code != 130 {
		t.Errorf("exit %d, want 130; output:\n%s", code, stderr.String())
	}
	if got := strings.TrimSpace(stderr.String()); got != "agw-proxy: interrupted" {
		t.Errorf("output %q, want only %q", got, "agw-proxy: interrupted")
	}
	checkStored(t, keyring, "")
}

// TestDoctorInterrupted: doctor waiting on a Gateway that does not answer
// (connect timeout 30s) stops at once on SIGINT: exit 130, no ✗ line for
// the interruption, no summary. Before, it printed "✗ connection: ...
// interrupt signal received", went on with the other checks and exited 1.
func TestDoctorInterrupted(t *testing.T) {
	release := make(chan struct{})
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(gw.Close)
	t.Cleanup(func() { close(release) })

	env, _ := interruptEnv(t)
	cmd := exec.Command("agw-proxy", "doctor", "--gateway-url", gw.URL+"/mcp", "--auth-type", "none", "--connect-timeout", "30s")
	cmd.Env = env
	var stdout, stderr lockedBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	output := func() string { return stdout.String() + stderr.String() }
	p := startProcess(t, cmd)
	waitFor(t, &stdout, "✓ proxy")
	time.Sleep(200 * time.Millisecond) // into the connection check's wait
	if err := p.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if code := p.exitWithin(t, interruptDeadline, output); code != 130 {
		t.Errorf("exit %d, want 130; output:\n%s", code, output())
	}
	if strings.Contains(stdout.String(), markFail) || strings.Contains(stdout.String(), "checks") {
		t.Errorf("a ✗ line or a summary after the interruption:\n%s", stdout.String())
	}
	if got := strings.TrimSpace(stderr.String()); got != "agw-proxy: interrupted" {
		t.Errorf("stderr %q, want only %q", got, "agw-proxy: interrupted")
	}
}

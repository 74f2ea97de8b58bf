package secretsource

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/agw-proxy/agw-proxy/tokenstore"
)

// Defaults of a Command.
const (
	DefaultTimeout = 10 * time.Second
	DefaultTTL     = 5 * time.Minute
	// MaxOutput bounds what a command may print on stdout.
	MaxOutput = 64 << 10
)

// timeNow is the clock; tests move it.
var timeNow = time.Now

// Command is a secret that a command prints: the first line of its
// stdout, white space trimmed. The command runs without a shell, with
// stdin closed, stderr discarded, and the environment of this process
// without its AGW_PROXY_* variables (the secrets' environment override
// stays here). A command that outlives Timeout or prints more than
// MaxOutput is stopped, with the processes it started (on Unix: its
// process group). A value is used for TTL, then the command runs again;
// concurrent reads share one run, which a cancelled read does not cancel.
// A failure is not cached: the next read runs the command again.
//
// It is safe for concurrent use.
type Command struct {
	Argv    []string      // program and arguments; Argv[0] is looked up on PATH
	Timeout time.Duration // bounds one run; 0 means DefaultTimeout
	TTL     time.Duration // how long a value is used; 0 means DefaultTTL
	// Environ returns the environment to filter; nil means os.Environ.
	Environ func() []string

	mu     sync.Mutex
	value  tokenstore.Secret
	read   time.Time
	flight *commandRun
}

type commandRun struct {
	done  chan struct{}
	value tokenstore.Secret
	err   error
}

// CommandError reports a command that failed. It names the command and its
// exit code, never its output, which may hold the secret.
type CommandError struct {
	Argv     []string
	ExitCode int    // -1 when it did not exit on its own
	Reason   string // "exit code 1", "timed out after 10s", ...
}

func (e *CommandError) Error() string {
	return fmt.Sprintf("secretsource: command %s %s", Describe(e.Argv), e.Reason)
}

// ErrCommand is what every *CommandError Is.
var ErrCommand = errors.New("secretsource: command failed")

// Is makes a *CommandError match ErrCommand.
func (e *CommandError) Is(target error) bool { return target == ErrCommand }

// Describe renders argv for a message: the words, quoted where needed.
func Describe(argv []string) string {
	parts := make([]string, len(argv))
	for i, a := range argv {
		if a == "" || strings.ContainsAny(a, " \t\n'\"\\$`") {
			parts[i] = fmt.Sprintf("%q", a)
		} else {
			parts[i] = a
		}
	}
	return strings.Join(parts, " ")
}

// Secret returns the command's value: from memory when it is younger than
// TTL, otherwise from a run. ctx bounds only the wait.
func (c *Command) Secret(ctx context.Context) (tokenstore.Secret, error) {
	c.mu.Lock()
	ttl := c.TTL
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	if c.value != "" && timeNow().Sub(c.read) < ttl {
		v := c.value
		c.mu.Unlock()
		return v, nil
	}
	f := c.flight
	if f == nil {
		f = &commandRun{done: make(chan struct{})}
		c.flight = f
		go c.runFlight(f)
	}
	c.mu.Unlock()
	select {
	case <-f.done:
		return f.value, f.err
	case <-ctx.Done():
		return "", fmt.Errorf("secretsource: waiting for command %s: %w", Describe(c.Argv), ctx.Err())
	}
}

func (c *Command) runFlight(f *commandRun) {
	v, err := c.Run(context.Background())
	c.mu.Lock()
	if err == nil {
		c.value, c.read = v, timeNow()
	}
	c.flight = nil
	c.mu.Unlock()
	f.value, f.err = v, err
	close(f.done)
}

// Run runs the command once, bounded by Timeout and ctx, and returns the
// first line of its stdout.
func (c *Command) Run(ctx context.Context) (tokenstore.Secret, error) {
	if len(c.Argv) == 0 || c.Argv[0] == "" {
		return "", &CommandError{Argv: c.Argv, ExitCode: -1, Reason: "is empty"}
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.Argv[0], c.Argv[1:]...)
	environ := c.Environ
	if environ == nil {
		environ = os.Environ
	}
	cmd.Env = ChildEnv(environ())
	cmd.Stdin = nil  // the null device
	cmd.Stderr = nil // discarded: it may echo the secret
	// Past MaxOutput the command is stopped: it is not a secret.
	out := &limitedBuffer{max: MaxOutput, over: cancel}
	cmd.Stdout = out
	// Stopping it stops what it started too (a shell's children, a vault
	// CLI's helper), where the OS lets one (killGroup).
	killGroup(cmd)
	// A child that keeps stdout open after the command is killed (a
	// grandchild) must not hold the read past the timeout.
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	switch {
	case out.overflowed():
		return "", &CommandError{Argv: c.Argv, ExitCode: -1, Reason: fmt.Sprintf("printed over %d bytes and was stopped; a secret is one line", MaxOutput)}
	case ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded):
		return "", &CommandError{Argv: c.Argv, ExitCode: -1, Reason: fmt.Sprintf("did not finish within %s (command_timeout) and was stopped", timeout)}
	case ctx.Err() != nil:
		return "", fmt.Errorf("secretsource: command %s: %w", Describe(c.Argv), ctx.Err())
	case err != nil:
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			code := exit.ExitCode()
			reason := fmt.Sprintf("failed with exit code %d", code)
			if code < 0 {
				reason = "was killed by a signal"
			}
			return "", &CommandError{Argv: c.Argv, ExitCode: code, Reason: reason}
		}
		if errors.Is(err, exec.ErrNotFound) {
			return "", &CommandError{Argv: c.Argv, ExitCode: -1, Reason: "cannot run: " + c.Argv[0] + " is not on PATH"}
		}
		if errors.Is(err, exec.ErrWaitDelay) {
			break // it exited 0; a grandchild held stdout
		}
		// Start errors name the program, never its output.
		return "", &CommandError{Argv: c.Argv, ExitCode: -1, Reason: "cannot run: " + errors.Unwrap(err).Error()}
	}
	line, _, _ := bytes.Cut(out.bytes(), []byte("\n"))
	v := strings.TrimSpace(string(line))
	if v == "" {
		return "", &CommandError{Argv: c.Argv, ExitCode: 0, Reason: "printed nothing on its first line"}
	}
	// As for a secret typed into login: a value with control characters
	// (a stray \r, a terminal escape) would fail deep in a header, or
	// reach a target as is.
	if strings.IndexFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
		return "", &CommandError{Argv: c.Argv, ExitCode: 0, Reason: "printed control characters on its first line; a secret is printable text"}
	}
	return tokenstore.Secret(v), nil
}

// ChildEnv returns environ without any AGW_PROXY_* variable (in any case:
// Windows' names are case-insensitive).
func ChildEnv(environ []string) []string {
	out := make([]string, 0, len(environ))
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(strings.ToUpper(name), "AGW_PROXY_") {
			continue
		}
		out = append(out, kv)
	}
	return out
}

// limitedBuffer keeps at most max bytes; at the first byte past them it
// calls over, once, and drops the rest.
type limitedBuffer struct {
	max  int
	over func()

	mu      sync.Mutex
	buf     bytes.Buffer
	overran bool
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.overran {
		return len(p), nil
	}
	if room := b.max - b.buf.Len(); len(p) > room {
		b.buf.Write(p[:room])
		b.overran = true
		b.over()
		return len(p), nil // drained, so the command is not blocked until it is stopped
	}
	return b.buf.Write(p)
}

func (b *limitedBuffer) overflowed() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.overran
}

func (b *limitedBuffer) bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Bytes()
}

var _ io.Writer = (*limitedBuffer)(nil)

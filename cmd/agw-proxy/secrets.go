package main

// Where the commands keep secrets, and how they read one from the user.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"unicode/utf8"

	"golang.org/x/term"

	"github.com/agw-proxy/agw-proxy/internal/profile"
	"github.com/agw-proxy/agw-proxy/secretsource"
	"github.com/agw-proxy/agw-proxy/tokenstore"
)

// keychain returns the store that holds the secrets: the OS keychain, with
// every call bounded by tokenstore.DefaultKeychainTimeout.
func (e *env) keychain() tokenstore.Secrets {
	if e.testKeychain != nil {
		if s := e.testKeychain(e.getenv); s != nil {
			return s
		}
	}
	return tokenstore.NewKeychain()
}

// secretStore returns the keychain under the environment override
// (AGW_PROXY_SECRET_<NAME>, AGW_PROXY_CLIENT_SECRET), as serve reads secrets.
func (e *env) secretStore() *tokenstore.Env {
	return &tokenstore.Env{Base: e.keychain(), Getenv: e.getenv}
}

// maxSecretInput bounds what readSecret reads from a pipe; a value over
// tokenstore.MaxSecretSize is refused later with the keychain's own error.
const maxSecretInput = 64 << 10

// errEmptySecret and errMultiline describe bad input without quoting it.
var (
	errEmptySecret = errors.New("empty input: nothing to store")
	errMultiline   = errors.New("input has more than one line; a secret is one line")
	errControl     = errors.New("input contains control characters; a secret is printable text")
)

// readSecret reads one secret: with a hidden prompt (no echo) when stdin is a
// terminal, otherwise everything on stdin (one line; a trailing newline is
// dropped). Surrounding white space is trimmed; empty input, inner newlines
// and other control characters are refused. The prompt goes to stderr.
//
// Either read ends when ctx does, with its cause (an *interrupted after
// SIGINT or SIGTERM). At the prompt, Ctrl-C and Ctrl-\ interrupt (exit 130)
// and Ctrl-D on an empty line is no input; the terminal is restored in every
// case.
func readSecret(ctx context.Context, e *env, prompt string) (tokenstore.Secret, error) {
	var raw []byte
	if f, ok := e.stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		b, err := readHidden(ctx, f, func() {
			fmt.Fprint(e.stderr, printable(prompt)) // it may name a client ID from the config file
		})
		fmt.Fprintln(e.stderr)
		if err != nil {
			return "", err
		}
		raw = b
	} else {
		b, err := whileActive(ctx, func() ([]byte, error) {
			return io.ReadAll(io.LimitReader(e.stdin, maxSecretInput+1))
		})
		if err != nil {
			if ctx.Err() != nil {
				return "", err
			}
			return "", fmt.Errorf("reading the secret from stdin: %w", err)
		}
		if len(b) > maxSecretInput {
			return "", fmt.Errorf("input is over %d bytes; a secret is one line", maxSecretInput)
		}
		raw = b
	}
	s := strings.TrimSpace(string(raw))
	switch {
	case s == "":
		return "", errEmptySecret
	case strings.ContainsAny(s, "\r\n"):
		return "", errMultiline
	case strings.IndexFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0:
		return "", errControl
	}
	return tokenstore.Secret(s), nil
}

// whileActive returns what read returns, or the cause of ctx as soon as ctx
// ends. A read that cannot be canceled (a terminal, a pipe) is left running
// on its goroutine then: the command is ending, and the process with it.
func whileActive(ctx context.Context, read func() ([]byte, error)) ([]byte, error) {
	type result struct {
		b   []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		b, err := read()
		done <- result{b, err}
	}()
	select {
	case r := <-done:
		return r.b, r.err
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
}

// readHidden reads one line from the terminal f without echo. The terminal
// is in raw mode meanwhile, so that the keys that would otherwise send a
// signal (Ctrl-C, Ctrl-\) or end the input (Ctrl-D) arrive as bytes:
// term.ReadPassword keeps ISIG, so Ctrl-C sent a SIGINT that only cancels
// the context it does not watch, and Ctrl-\ a SIGQUIT that dumps every
// goroutine. The terminal's state is restored before readHidden returns,
// also when ctx ends first.
//
// prompt runs once echo is off: keys typed (or a paste) as soon as the
// prompt shows must not be echoed.
func readHidden(ctx context.Context, f *os.File, prompt func()) ([]byte, error) {
	fd := int(f.Fd())
	state, err := term.MakeRaw(fd)
	if err != nil {
		return nil, fmt.Errorf("reading the secret from the terminal: %w", err)
	}
	defer term.Restore(fd, state)
	prompt()
	return whileActive(ctx, func() ([]byte, error) { return readKeys(f) })
}

// Keys that readKeys acts on (the terminal sends them as these bytes in raw mode).
const (
	keyInterrupt = 0x03 // Ctrl-C
	keyEOF       = 0x04 // Ctrl-D
	keyBackspace = 0x08 // Ctrl-H
	keyKill      = 0x15 // Ctrl-U: erase the line
	keyQuit      = 0x1c // Ctrl-\
	keyDelete    = 0x7f // Backspace on most terminals
)

// readKeys reads a line typed at a terminal in raw mode, byte by byte so that
// nothing after the line is consumed: Enter ends it; Backspace erases a
// character and Ctrl-U the line; Ctrl-C and Ctrl-\ interrupt; Ctrl-D (or the
// end of input) ends the line, and on an empty one means no input. Other
// bytes are kept for readSecret to judge.
func readKeys(r io.Reader) ([]byte, error) {
	var line []byte
	buf := make([]byte, 1)
	for {
		n, err := r.Read(buf)
		if n == 0 && err == nil {
			// A terminal's end is io.EOF from os.File; a reader that
			// answers nothing is taken as at its end too, not spun on.
			err = io.EOF
		}
		if err != nil {
			if err == io.EOF {
				if len(line) == 0 {
					return nil, errEmptySecret
				}
				return line, nil
			}
			return nil, fmt.Errorf("reading the secret from the terminal: %w", err)
		}
		if len(line) > maxSecretInput {
			return nil, fmt.Errorf("input is over %d bytes; a secret is one line", maxSecretInput)
		}
		switch c := buf[0]; c {
		case '\r', '\n':
			return line, nil
		case keyInterrupt, keyQuit:
			return nil, &interrupted{sig: syscall.SIGINT}
		case keyEOF:
			if len(line) == 0 {
				return nil, errEmptySecret
			}
			return line, nil
		case keyBackspace, keyDelete:
			if len(line) > 0 {
				_, size := utf8.DecodeLastRune(line)
				line = line[:len(line)-size]
			}
		case keyKill:
			line = line[:0]
		default:
			line = append(line, c)
		}
	}
}

// stdinIsTerminal reports whether readSecret would prompt.
func stdinIsTerminal(e *env) bool {
	f, ok := e.stdin.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// account is how a secret's keychain entry is named in messages.
func account(profile, name string) string {
	return fmt.Sprintf("service %s, account %s", tokenstore.Service, tokenstore.User(profile, name))
}

// keychainHints advises on a keychain failure (timeout, locked, missing).
func keychainHints(err error) []string {
	switch {
	case errors.Is(err, tokenstore.ErrTimeout), errors.Is(err, tokenstore.ErrLocked):
		return []string{
			"unlock the keychain (on Linux: the login keyring of gnome-keyring or KWallet) and try again",
			"in CI or a container without a keychain, set the secret in the environment instead (AGW_PROXY_SECRET_<NAME>, AGW_PROXY_CLIENT_SECRET)",
		}
	case errors.Is(err, tokenstore.ErrUnavailable):
		return []string{
			"on Linux, agw-proxy needs a Secret Service (gnome-keyring or KWallet) on the D-Bus session bus",
			"in CI or a container without a keychain, set the secret in the environment instead (AGW_PROXY_SECRET_<NAME>, AGW_PROXY_CLIENT_SECRET)",
		}
	case errors.Is(err, tokenstore.ErrTooLarge):
		return []string{fmt.Sprintf("the keychain takes at most %d bytes per secret; check that you pasted the token, not a file", tokenstore.MaxSecretSize)}
	}
	return nil
}

// keychainError wraps a keychain failure with hints.
func keychainError(err error) error {
	if h := keychainHints(err); h != nil {
		return withHints(err, h...)
	}
	return err
}

// neededSecret is a secret the profile uses and what it is for.
type neededSecret struct {
	name, role string
	// cred is the Gateway credential, nil for an injected secret.
	cred *gatewayCredential
	// login is the SECRET of the login that stores it when that is not
	// name: an oauth rule's refresh token ("asana.refresh-token") is
	// stored by "agw-proxy login asana".
	login string
}

// neededSecrets lists every secret the profile needs, the Gateway
// credential first.
func neededSecrets(p *profile.Profile) []neededSecret {
	var out []neededSecret
	if c := credentialOf(p); c != nil {
		out = append(out, neededSecret{c.secret, c.role, c, ""})
	}
	for _, name := range p.SecretNames() {
		switch p.RuleOf(name).Source {
		case profile.SourceCommand:
			// Printed by its command: nothing is stored (doctor runs it).
		case profile.SourceOAuth:
			out = append(out, neededSecret{secretsource.RefreshTokenName(name),
				"refresh token of the OAuth login whose access tokens are injected as " + p.InjectArgs(name), nil, name})
		default:
			out = append(out, neededSecret{name, "injected as " + p.InjectArgs(name), nil, ""})
		}
	}
	return out
}

// loginHints are the hints for a missing secret: the exact login command,
// and the environment override where it suits.
func loginHints(p *profile.Profile, s neededSecret) []string {
	arg, env := s.name, true
	if s.login != "" {
		arg, env = s.login, false
	}
	if s.cred != nil {
		arg, env = "", s.cred.envHint
	}
	hints := []string{fmt.Sprintf("run %q", p.Command("login", arg))}
	if env {
		hints = append(hints, fmt.Sprintf("or set %s in the environment (CI, containers)", tokenstore.EnvVar(s.name)))
	}
	return hints
}

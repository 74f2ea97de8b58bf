package proxy

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/agw-proxy/agw-proxy/tokenstore"
)

// A Remedy is what the user must do to fix a failure the proxy reports. The
// proxy says what is wrong; Options.Advise says how to do the remedy (which
// command, with which options), since only the caller knows how the proxy
// was configured.
type Remedy struct {
	Kind   RemedyKind
	Secret string // the secret's name, for StoreSecret
	Target string // the Gateway target, for GiveConsent
}

// A RemedyKind is a kind of Remedy.
type RemedyKind int

const (
	// StoreSecret: store the secret named by Remedy.Secret (again).
	StoreSecret RemedyKind = iota + 1
	// GatewayLogin: log in to the Gateway again (its credential is missing,
	// expired or was rejected).
	GatewayLogin
	// CheckSetup: check how the Gateway and its authorizer are set up.
	CheckSetup
	// GiveConsent: consent to the Gateway-held OAuth of Remedy.Target
	// (outside the client, ahead of the call).
	GiveConsent
)

// advice returns Options.Advise's advice for r, "" for none.
func (p *Proxy) advice(r Remedy) string {
	if p.opts.Advise == nil {
		return ""
	}
	return p.opts.Advise(r)
}

// advised returns msg followed by sep, the advice and tail (the rest of the
// sentence: " again"), or msg alone when there is no advice.
func advised(msg, sep, advice, tail string) string {
	if advice == "" {
		return msg
	}
	return msg + sep + advice + tail
}

// secretMessage explains why a secret could not be read, and what to do.
func (p *Proxy) secretMessage(name string, err error) string {
	adv := p.advice(Remedy{Kind: StoreSecret, Secret: name})
	switch {
	case errors.Is(err, tokenstore.ErrNotFound):
		return advised(fmt.Sprintf("no token stored for %q", name), ": ", adv, "")
	case errors.Is(err, tokenstore.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		return advised(fmt.Sprintf("the keychain did not answer in time while reading %q; it may be locked or waiting for an unlock prompt: unlock it and retry", name), ", or ", adv, " again")
	case errors.Is(err, tokenstore.ErrLocked):
		return advised(fmt.Sprintf("the keychain is locked, so %q cannot be read: unlock it and retry", name), ", or ", adv, " again")
	case errors.Is(err, tokenstore.ErrUnavailable):
		return advised(fmt.Sprintf("no keychain is available to read %q from: set %s in the MCP client's environment", name, tokenstore.EnvVar(name)), ", or ", adv, " where a keychain is available")
	}
	return advised(fmt.Sprintf("could not read the token for %q (%s)", name, strings.TrimPrefix(p.redact(err), "tokenstore: ")), ": ", adv, " to store it again")
}

// ruleSecretMessage is secretMessage for a rule's source: a command that
// failed is named with its exit code (never its output), an OAuth login
// that is needed asks for "agw-proxy login SECRET".
func (p *Proxy) ruleSecretMessage(r *Rule, err error) string {
	switch r.Source {
	case SourceCommand:
		return fmt.Sprintf("could not get the secret %q from its command: %s", r.Secret, trimPackagePrefix(p.redact(err)))
	case SourceOAuth:
		adv := p.advice(Remedy{Kind: StoreSecret, Secret: r.Secret})
		if errors.Is(err, tokenstore.ErrLoginNeeded) {
			return advised(fmt.Sprintf("the OAuth login for %q is needed again (%s)", r.Secret, trimPackagePrefix(p.scrub.String(loginReason(err)))), ": ", adv, "")
		}
		return advised(fmt.Sprintf("could not get an access token for %q (%s)", r.Secret, trimPackagePrefix(p.redact(err))), "; if it persists, ", adv, "")
	}
	return p.secretMessage(r.Secret, err)
}

// loginMessage says why the Gateway needs a login (err Is
// tokenstore.ErrLoginNeeded), scrubbed, with the advice for a login.
func (p *Proxy) loginMessage(err error) string {
	return advised(p.scrub.String(loginReason(err)), ": ", p.advice(Remedy{Kind: GatewayLogin}), "")
}

// loginReason returns the text of the error in err's chain that says why a
// login is needed, without the layers of context above it ("connect to the
// Gateway: …") or its package's prefix ("oauth: "): the innermost error
// that still Is tokenstore.ErrLoginNeeded and says more than the error it
// wraps.
func loginReason(err error) string {
	for {
		cause := loginCause(err)
		if cause == nil || !strings.HasSuffix(err.Error(), cause.Error()) {
			// err says something of its own: the reason.
			break
		}
		err = cause
	}
	return trimPackagePrefix(err.Error())
}

// loginCause returns the error err wraps that Is tokenstore.ErrLoginNeeded,
// or nil.
func loginCause(err error) error {
	var causes []error
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		causes = []error{u.Unwrap()}
	case interface{ Unwrap() []error }:
		causes = u.Unwrap()
	}
	for _, c := range causes {
		if c != nil && errors.Is(c, tokenstore.ErrLoginNeeded) {
			return c
		}
	}
	return nil
}

// trimPackagePrefix removes a leading "word: ", the prefix of a library's
// errors ("tokenstore: ").
func trimPackagePrefix(msg string) string {
	word, rest, ok := strings.Cut(msg, ": ")
	if !ok || word == "" {
		return msg
	}
	for _, c := range word {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return msg
		}
	}
	return rest
}

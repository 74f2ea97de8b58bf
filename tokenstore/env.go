package tokenstore

import (
	"context"
	"os"
	"strings"
)

// Env overlays environment variables on Base, for CI and containers where no
// keychain exists: a non-empty EnvVar(name) wins over the stored value, for
// every profile (like GH_TOKEN for gh); surrounding white space is dropped.
// A name with a dot, an entry of an API's OAuth login ("asana.refresh-token"),
// has no override: its variable would be another secret's
// ("asana-refresh-token"). Set and Delete go to Base.
type Env struct {
	// Base holds the stored secrets; nil means nothing is stored.
	Base Secrets
	// Getenv reads a variable; nil means os.Getenv.
	Getenv func(string) string
}

// Source tells where a secret came from, for a status report:
// SourceKeychain or "environment (AGW_PROXY_SECRET_ASANA)".
type Source string

// SourceKeychain is the Source of a value read from Env.Base.
const SourceKeychain Source = "keychain"

// EnvVar returns the environment variable that overrides a secret:
// "AGW_PROXY_CLIENT_SECRET" for ClientSecretName, otherwise
// "AGW_PROXY_SECRET_" + name upper-cased with "-" and "." as "_"
// ("asana" -> "AGW_PROXY_SECRET_ASANA").
func EnvVar(name string) string {
	if name == ClientSecretName {
		return "AGW_PROXY_CLIENT_SECRET"
	}
	return "AGW_PROXY_SECRET_" + strings.Map(func(r rune) rune {
		switch {
		case r == '-', r == '.':
			return '_'
		case 'a' <= r && r <= 'z':
			return r - 'a' + 'A'
		}
		return r
	}, name)
}

// Get returns the secret from the environment, else from Base.
func (e *Env) Get(ctx context.Context, profile, name string) (Secret, error) {
	v, _, err := e.Lookup(ctx, profile, name)
	return v, err
}

// Lookup is Get that also says where the value came from.
func (e *Env) Lookup(ctx context.Context, profile, name string) (Secret, Source, error) {
	getenv := e.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	key, unset := EnvVar(name), "nothing stored and "+EnvVar(name)+" is not set"
	if strings.Contains(name, ".") {
		getenv, unset = func(string) string { return "" }, "nothing stored"
	}
	if v := strings.TrimSpace(getenv(key)); v != "" {
		return Secret(v), Source("environment (" + key + ")"), nil
	}
	if e.Base == nil {
		return "", "", &opError{op: "read", profile: profile, name: name, msg: unset, err: ErrNotFound}
	}
	v, err := e.Base.Get(ctx, profile, name)
	if err != nil {
		return "", "", err
	}
	return v, SourceKeychain, nil
}

// Set stores the secret in Base. A value in the environment still wins.
func (e *Env) Set(ctx context.Context, profile, name string, value Secret) error {
	if e.Base == nil {
		return &opError{op: "store", profile: profile, name: name, msg: "no keychain configured", err: ErrUnavailable}
	}
	return e.Base.Set(ctx, profile, name, value)
}

// Delete removes the secret from Base; the environment is left alone.
func (e *Env) Delete(ctx context.Context, profile, name string) error {
	if e.Base == nil {
		return &opError{op: "delete", profile: profile, name: name, msg: "nothing stored", err: ErrNotFound}
	}
	return e.Base.Delete(ctx, profile, name)
}

package tokenstore

import (
	"errors"
	"testing"

	"github.com/agw-proxy/agw-proxy/internal/testwait"
)

func TestEnvVar(t *testing.T) {
	testwait.NoLeaks(t)
	for name, want := range map[string]string{
		"asana":          "AGW_PROXY_SECRET_ASANA",
		"my-api":         "AGW_PROXY_SECRET_MY_API",
		"GitHub-token-2": "AGW_PROXY_SECRET_GITHUB_TOKEN_2",
		ClientSecretName: "AGW_PROXY_CLIENT_SECRET",
		RefreshTokenName: "AGW_PROXY_SECRET_REFRESH_TOKEN",
	} {
		if got := EnvVar(name); got != want {
			t.Errorf("EnvVar(%q) = %q, want %q", name, got, want)
		}
	}
}

func envMap(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestEnvWins(t *testing.T) {
	testwait.NoLeaks(t)
	ctx := testwait.Context(t)
	base := NewMemory()
	base.Set(ctx, "default", "asana", "from-keychain")
	base.Set(ctx, "default", ClientSecretName, "client-from-keychain")
	env := map[string]string{
		"AGW_PROXY_SECRET_ASANA":  "from-env",
		"AGW_PROXY_CLIENT_SECRET": "client-from-env",
	}
	e := &Env{Base: base, Getenv: envMap(env)}

	v, src, err := e.Lookup(ctx, "default", "asana")
	if err != nil || v != "from-env" || src != "environment (AGW_PROXY_SECRET_ASANA)" {
		t.Fatalf("Lookup(asana) = value from %q, err %v; want the environment's", src, err)
	}
	if v, err := e.Get(ctx, "work", ClientSecretName); err != nil || v != "client-from-env" {
		t.Fatalf("Get(client-secret) did not come from AGW_PROXY_CLIENT_SECRET (err %v)", err)
	}

	delete(env, "AGW_PROXY_SECRET_ASANA")
	v, src, err = e.Lookup(ctx, "default", "asana")
	if err != nil || v != "from-keychain" || src != SourceKeychain {
		t.Fatalf("without the variable: value from %q, err %v; want the keychain's", src, err)
	}

	env["AGW_PROXY_SECRET_ASANA"] = "from-env\r\n"
	if v, _ := e.Get(ctx, "default", "asana"); v != "from-env" {
		t.Fatal("white space around the variable's value was kept")
	}
	env["AGW_PROXY_SECRET_ASANA"] = "" // empty means unset
	if v, _ := e.Get(ctx, "default", "asana"); v != "from-keychain" {
		t.Fatal("an empty variable overrode the keychain")
	}

	if _, _, err := e.Lookup(ctx, "default", "missing"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing everywhere: err = %v, want ErrNotFound", err)
	}
}

// The entries of an API's OAuth login have no override: their variable
// is another secret's.
func TestEnvDoesNotOverrideADottedEntry(t *testing.T) {
	testwait.NoLeaks(t)
	ctx := testwait.Context(t)
	base := NewMemory()
	base.Set(ctx, "default", "asana.refresh-token", "refresh-from-keychain")
	e := &Env{Base: base, Getenv: envMap(map[string]string{"AGW_PROXY_SECRET_ASANA_REFRESH_TOKEN": "another-secret"})}
	if v, src, err := e.Lookup(ctx, "default", "asana.refresh-token"); err != nil || v != "refresh-from-keychain" || src != SourceKeychain {
		t.Fatalf("asana.refresh-token: value from %q, err %v; want the keychain's", src, err)
	}
	if v, err := e.Get(ctx, "default", "asana-refresh-token"); err != nil || v != "another-secret" {
		t.Fatalf("asana-refresh-token did not come from its variable (err %v)", err)
	}
	if _, _, err := (&Env{Getenv: e.Getenv}).Lookup(ctx, "default", "asana.refresh-token"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a dotted entry with no keychain: err = %v, want ErrNotFound", err)
	}
}

func TestEnvWritesGoToBase(t *testing.T) {
	testwait.NoLeaks(t)
	ctx := testwait.Context(t)
	base := NewMemory()
	e := &Env{Base: base, Getenv: envMap(map[string]string{"AGW_PROXY_SECRET_ASANA": "from-env"})}
	if err := e.Set(ctx, "default", "asana", "stored"); err != nil {
		t.Fatal(err)
	}
	if v, err := base.Get(ctx, "default", "asana"); err != nil || v != "stored" {
		t.Fatalf("Set did not reach Base (err %v)", err)
	}
	if err := e.Delete(ctx, "default", "asana"); err != nil {
		t.Fatal(err)
	}
	if _, err := base.Get(ctx, "default", "asana"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Delete did not reach Base (err %v)", err)
	}
}

func TestEnvDefaultsToOSEnviron(t *testing.T) {
	testwait.NoLeaks(t)
	t.Setenv("AGW_PROXY_SECRET_OS_TEST", "from-os")
	e := &Env{}
	v, src, err := e.Lookup(testwait.Context(t), "default", "os-test")
	if err != nil || v != "from-os" || src != "environment (AGW_PROXY_SECRET_OS_TEST)" {
		t.Fatalf("Lookup = value from %q, err %v", src, err)
	}
	if _, err := e.Get(testwait.Context(t), "default", "absent"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("nil Base: err = %v, want ErrNotFound", err)
	}
}

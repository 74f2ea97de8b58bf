package profile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// Each group documents exactly the flags it shows; every other profile flag
// is registered hidden (accepted, not listed).
func TestFlagGroupsMatchTheirUsage(t *testing.T) {
	for _, g := range []Groups{SelectionFlags, AuthTypeFlag, GatewayFlags, InjectFlags, TimeoutFlags,
		SelectionFlags | AuthTypeFlag | InjectFlags, CacheFlags, AllFlags} {
		fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
		AddFlags(fs, g)
		usage := FlagsUsage(g)
		var registered, shown int
		fs.VisitAll(func(f *pflag.Flag) {
			registered++
			documented := strings.Contains(usage, "\n    --"+f.Name+" ")
			if documented == f.Hidden {
				t.Errorf("groups %b: --%s hidden %v, documented %v:\n%s", g, f.Name, f.Hidden, documented, usage)
			}
			if !f.Hidden {
				shown++
			}
		})
		if documented := strings.Count(usage, "\n    --"); documented != shown {
			t.Errorf("groups %b: %d flags documented, %d shown", g, documented, shown)
		}
		if registered != 32 {
			t.Errorf("groups %b: %d profile flags registered, want all 32", g, registered)
		}
	}
	if n := strings.Count(FlagsUsage(AllFlags), "\n    --"); n != 32 {
		t.Errorf("AllFlags documents %d flags, want 32", n)
	}
}

// The auth type, when not set: none only when no auth setting is, else the
// OAuth type the settings imply, and the setting that implied it.
func TestImpliedAuthType(t *testing.T) {
	names := []AuthType{{Name: AuthNone}, {Name: AuthClientCredentials}, {Name: AuthAuthorizationCode}}
	for _, tc := range []struct {
		file      string
		args      []string
		typ, by   string
		wantError string
	}{
		{args: nil, typ: AuthNone},
		{args: []string{"--gateway-url", "https://gw.example.com/mcp"}, typ: AuthNone},
		{args: []string{"--client-id", "c"}, typ: AuthClientCredentials, by: "--client-id"},
		{args: []string{"--scope", "s"}, typ: AuthClientCredentials, by: "--scope"},
		{args: []string{"--token-url", "https://a.example.com/t", "--client-id", "c"}, typ: AuthClientCredentials, by: "--token-url"},
		{args: []string{"--client-id", "c", "--redirect-url", "http://localhost:1/"}, typ: AuthAuthorizationCode, by: "--redirect-url"},
		{args: []string{"--authorize-url", "https://a.example.com/a"}, typ: AuthAuthorizationCode, by: "--authorize-url"},
		{args: []string{"--auth-type", "client_credentials", "--client-id", "c"}, typ: AuthClientCredentials},
		{args: []string{"--client-id", ""}, typ: AuthNone}, // an empty value is no setting
		{file: "profiles:\n  default:\n    auth:\n      client_id: c\n", typ: AuthClientCredentials, by: "auth.client_id"},
		{file: "profiles:\n  default:\n    auth: {}\n", typ: AuthNone},
	} {
		p, err := resolveForTest(t, tc.file, AllFlags, names, tc.args...)
		if err != nil {
			t.Errorf("%q %v: %v", tc.file, tc.args, err)
			continue
		}
		if p.Auth.Type != tc.typ || p.AuthImpliedBy() != tc.by {
			t.Errorf("%q %v: type %s implied by %q, want %s by %q", tc.file, tc.args, p.Auth.Type, p.AuthImpliedBy(), tc.typ, tc.by)
		}
	}
}

// A command without the Gateway flags (logout) does not run the auth
// type's check: it could not complete the profile from its flags.
func TestAuthCheckNeedsTheGatewayFlags(t *testing.T) {
	incomplete := errors.New("incomplete")
	types := []AuthType{{Name: AuthClientCredentials, Check: func(*Profile) []error { return []error{incomplete} }}}
	if _, err := resolveForTest(t, "", AllFlags, types, "--auth-type", "client_credentials"); !errors.Is(err, incomplete) {
		t.Errorf("with the Gateway flags: %v", err)
	}
	p, err := resolveForTest(t, "", SelectionFlags|AuthTypeFlag|InjectFlags, types, "--auth-type", "client_credentials")
	if err != nil || p.Auth.Type != AuthClientCredentials {
		t.Errorf("without: %v, %v", p, err)
	}
}

// The searched path is kept whether or not the file exists, and a profile
// that nothing defines is a first run that names it.
func TestCheckDefined(t *testing.T) {
	names := []AuthType{{Name: AuthNone}}
	p, err := resolveForTest(t, "", AllFlags, names)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(p.SearchedPath, filepath.Join("agw-proxy", "config.yaml")) || p.ConfigPath != "" {
		t.Errorf("searched %q, config %q", p.SearchedPath, p.ConfigPath)
	}
	if err := p.CheckDefined(); err == nil || err.Error() != "no config file at "+p.SearchedPath {
		t.Errorf("CheckDefined: %v", err)
	}
	for _, args := range [][]string{{"--inject", "A=s", "--inject-tools", "T"}, {"--call-timeout", "1s"}} {
		p, err := resolveForTest(t, "", AllFlags, names, args...)
		if err != nil || p.CheckDefined() != nil {
			t.Errorf("%v: %v, %v", args, err, p.CheckDefined())
		}
	}
	// --profile alone defines nothing.
	p, _ = resolveForTest(t, "", AllFlags, names, "--profile", "work")
	if p.CheckDefined() == nil {
		t.Error("--profile alone: defined")
	}
	p, _ = resolveForTest(t, "profiles:\n  default: {}\n", AllFlags, names)
	if p.SearchedPath != p.ConfigPath || !p.InFile || p.CheckDefined() != nil {
		t.Errorf("in a file: %+v", p)
	}
}

func resolveForTest(t *testing.T, file string, groups Groups, types []AuthType, args ...string) (*Profile, error) {
	t.Helper()
	dir := t.TempDir()
	if file != "" {
		if err := os.MkdirAll(filepath.Join(dir, "agw-proxy"), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "agw-proxy", "config.yaml"), []byte(file), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	f := AddFlags(fs, groups)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return f.Resolve(Env{Getenv: func(string) string { return "" }, ConfigDir: func() (string, error) { return dir, nil }}, types)
}

// IsSwitch knows every boolean profile flag, and only those: Args writes a
// switch alone, and what reads Args back (Profile.Command, mcp-config)
// would take the next flag for its value.
func TestIsSwitchKnowsEveryBooleanFlag(t *testing.T) {
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	AddFlags(fs, AllFlags)
	fs.VisitAll(func(fl *pflag.Flag) {
		isBool := fl.Value.Type() == "bool"
		if got := IsSwitch("--" + fl.Name); got != isBool {
			t.Errorf("IsSwitch(--%s) = %v, but the flag is of type %s", fl.Name, got, fl.Value.Type())
		}
		if isBool && !IsSwitch("--"+fl.Name+"=false") {
			t.Errorf("IsSwitch(--%s=false) = false", fl.Name)
		}
	})
}

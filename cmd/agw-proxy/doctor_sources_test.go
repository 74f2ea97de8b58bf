package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/agw-proxy/agw-proxy/internal/gatewaysim"
	"github.com/agw-proxy/agw-proxy/internal/testexe"
	"github.com/agw-proxy/agw-proxy/secretsource"
	"github.com/agw-proxy/agw-proxy/tokenstore"
	"github.com/agw-proxy/agw-proxy/tokenstore/tokenstoretest"
)

// Doctor's checks of the secret sources that are not the keychain
// (doctor_sources.go), through the --inject-source flags.

// wantDoctorLineThenHint checks that a line of stdout matches line and
// that the line after it is its hint, matching hint.
func wantDoctorLineThenHint(t *testing.T, r doctorRun, line, hint string) {
	t.Helper()
	re := regexp.MustCompile(`(?m)^` + line + `\n    hint: ` + hint + `$`)
	if !re.MatchString(r.stdout) {
		t.Errorf("no line matching\n\t%s\nwith the hint\n\t%s\nin stdout:\n%s", line, hint, r.stdout)
	}
}

// wantNoneOf fails the test when stdout or stderr holds one of values; it
// never prints them.
func wantNoneOf(t *testing.T, r doctorRun, values ...string) {
	t.Helper()
	for i, v := range values {
		if v != "" && (strings.Contains(r.stdout, v) || strings.Contains(r.stderr, v)) {
			t.Errorf("value %d (a secret or a command's output) is in doctor's output", i)
		}
	}
}

func TestDoctorCommandSource(t *testing.T) {
	sim := gatewaysim.StartForTest(t, gatewaysim.Options{})
	vars := map[string]string{"AGW_PROXY_CLIENT_SECRET": sim.ClientSecret}
	command := func(line string, more ...string) []string {
		return append([]string{"--inject-source", "command", "--inject-command", line}, more...)
	}

	t.Run("on PATH, prints a value", func(t *testing.T) {
		vault, dir := fakeVaultCLI(t, "ok")
		// By its bare name, found on PATH as exec finds it.
		t.Setenv("PATH", filepath.Dir(vault)+string(os.PathListSeparator)+os.Getenv("PATH"))
		r := runDoctorCase(t, doctorCase{sim: sim, vars: vars, args: command("vault kv get -field=token secret/asana", "--inject-command-timeout", "7s")})
		wantDoctorCode(t, r, exitOK)
		wantDoctorLines(t, r,
			`✓ secret "asana" \(command vault kv get -field=token secret/asana\): prints a value \(`+
				strconv.Itoa(len(vaultSecret))+` bytes\) within 7s`,
			`All [0-9]+ checks passed\.`)
		wantNoneOf(t, r, vaultSecret, "from-the-fake-vault")
		if runs, _ := os.ReadFile(filepath.Join(dir, "runs")); strings.Count(string(runs), "run") != 1 {
			t.Errorf("the command ran %d times, want 1", strings.Count(string(runs), "run"))
		}
	})
	t.Run("not on PATH", func(t *testing.T) {
		r := runDoctorCase(t, doctorCase{sim: sim, vars: vars, args: command("agw-proxy-test-no-such-vault kv get secret/asana")})
		wantDoctorCode(t, r, exitError)
		wantDoctorLineThenHint(t, r,
			`✗ secret "asana" \(command agw-proxy-test-no-such-vault kv get secret/asana\): agw-proxy-test-no-such-vault is not on PATH`,
			`install it, or give its full path in secret_command \(--inject-command\)`)
	})
	t.Run("fails", func(t *testing.T) {
		vault, _ := fakeVaultCLI(t, "fail") // prints the secret on stdout and stderr, exits 3
		r := runDoctorCase(t, doctorCase{sim: sim, vars: vars, args: command(vault + " kv get")})
		wantDoctorCode(t, r, exitError)
		wantDoctorLineThenHint(t, r,
			`✗ secret "asana" \(command `+regexp.QuoteMeta(vault)+` kv get\): secretsource: command `+regexp.QuoteMeta(vault)+` kv get failed with exit code 3`,
			`run the command yourself to see its message \(for a vault CLI, sign in to it first\)`)
		wantNoneOf(t, r, vaultSecret, "from-the-fake-vault", "permission denied")
	})
	t.Run("hangs", func(t *testing.T) {
		dir := t.TempDir()
		vault := filepath.Join(dir, "vault")
		if err := testexe.WriteFile(vault, []byte("#!/bin/sh\necho '"+vaultSecret+"'\nexec sleep 60\n")); err != nil {
			t.Fatal(err)
		}
		r := runDoctorCase(t, doctorCase{sim: sim, vars: vars, args: command(vault+" kv get", "--inject-command-timeout", "1s")})
		wantDoctorCode(t, r, exitError)
		wantDoctorLines(t, r,
			`✗ secret "asana" \(command `+regexp.QuoteMeta(vault)+` kv get\): secretsource: command `+regexp.QuoteMeta(vault)+
				` kv get did not finish within 1s \(command_timeout\) and was stopped`)
		wantNoneOf(t, r, vaultSecret, "from-the-fake-vault")
	})
	t.Run("prints a short value", func(t *testing.T) {
		dir := t.TempDir()
		vault := filepath.Join(dir, "vault")
		if err := testexe.WriteFile(vault, []byte("#!/bin/sh\necho abc\n")); err != nil {
			t.Fatal(err)
		}
		r := runDoctorCase(t, doctorCase{sim: sim, vars: vars, args: command(vault)})
		wantDoctorCode(t, r, exitError)
		wantDoctorLines(t, r, `✗ secret "asana" \(command `+regexp.QuoteMeta(vault)+`\): prints a value under [0-9]+ bytes: serve refuses it, .*`)
	})
}

func TestDoctorOAuthSource(t *testing.T) {
	sim := gatewaysim.StartForTest(t, gatewaysim.Options{})
	app := sim.RegisterProviderApp("http://127.0.0.1:8502/callback", false)
	vars := map[string]string{"AGW_PROXY_CLIENT_SECRET": sim.ClientSecret}
	args := []string{"--inject-source", "oauth",
		"--inject-oauth-authorize-url", sim.ProviderURL + gatewaysim.ProviderAuthorizePath,
		"--inject-oauth-token-url", sim.ProviderURL + gatewaysim.ProviderTokenPath,
		"--inject-oauth-client-id", app.ClientID, "--inject-oauth-redirect-url", app.RedirectURL}
	refreshName := secretsource.RefreshTokenName("asana")
	loginHint := `run "agw-proxy login asana --gateway-url ` + regexp.QuoteMeta(sim.GatewayURL) + ` .*--inject-source oauth .*--inject-oauth-client-id ` +
		app.ClientID + ` .*"`
	// login stores a fresh login's refresh token in a new keychain.
	login := func(t *testing.T) (*tokenstoretest.Fake, string) {
		g, err := sim.LoginProviderApp(context.Background(), app)
		if err != nil {
			t.Fatal(err)
		}
		kc := tokenstoretest.NewFake()
		_ = kc.Set(context.Background(), "default", refreshName, tokenstore.Secret(g.RefreshToken))
		return kc, g.RefreshToken
	}
	issued := func() []string {
		access, refresh := sim.ProviderAppTokens()
		return append(access, refresh...)
	}

	t.Run("stored, refreshes", func(t *testing.T) {
		kc, old := login(t)
		before := sim.ProviderCounts().Refreshes
		r := runDoctorCase(t, doctorCase{sim: sim, vars: vars, keyring: kc, args: args})
		wantDoctorCode(t, r, exitOK)
		wantDoctorLines(t, r,
			`✓ secret "asana\.refresh-token" \(refresh token of the OAuth login .*\): present in the keychain`,
			`✓ secret "asana" \(oauth\): the stored refresh token mints access tokens`,
			`All [0-9]+ checks passed\.`)
		if n := sim.ProviderCounts().Refreshes - before; n != 1 {
			t.Errorf("doctor refreshed %d times, want 1", n)
		}
		// The rotated refresh token is stored, as serve stores it.
		_, refresh := sim.ProviderAppTokens()
		if got, _ := kc.Get(context.Background(), "default", refreshName); got == tokenstore.Secret(old) || string(got) != refresh[len(refresh)-1] {
			t.Error("the keychain does not hold the rotated refresh token")
		}
		wantNoneOf(t, r, issued()...)
	})
	t.Run("missing", func(t *testing.T) {
		r := runDoctorCase(t, doctorCase{sim: sim, vars: vars, args: args})
		wantDoctorCode(t, r, exitLoginNeeded)
		wantDoctorLineThenHint(t, r, `✗ secret "asana" \(oauth\): .*`, loginHint)
	})
	t.Run("revoked", func(t *testing.T) {
		kc, _ := login(t)
		sim.RevokeProviderLogins(app.ClientID)
		r := runDoctorCase(t, doctorCase{sim: sim, vars: vars, keyring: kc, args: args})
		wantDoctorCode(t, r, exitLoginNeeded)
		// The refresh token is there; the provider refuses it.
		wantDoctorLines(t, r, `✓ secret "asana\.refresh-token" .*: present in the keychain`)
		wantDoctorLineThenHint(t, r, `✗ secret "asana" \(oauth\): .*`, loginHint)
		wantNoneOf(t, r, issued()...)
	})
}

package profile

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestInjectSourceFromTheFileAndTheFlags(t *testing.T) {
	names := []AuthType{{Name: AuthNone}}
	cmdFile := viaFile + "        source: command\n        secret_command: [op, read, \"op://Private/Asana/token\"]\n        cache_ttl: 1m\n"
	oauthFile := viaFile + "        source: oauth\n        oauth:\n          issuer: https://app.asana.com\n          client_id: \"1234\"\n          scopes: [default]\n          redirect_url: http://localhost:8502/\n"
	for _, tc := range []struct {
		file string
		args []string
		want InjectRule
	}{
		{file: viaFile, want: InjectRule{Source: SourceKeychain}},
		{file: viaFile + "        source: command\n        secret_command: gh-token\n", want: InjectRule{Source: SourceCommand, Command: []string{"gh-token"}, CommandTimeout: DefaultCommandTimeout, CacheTTL: DefaultCacheTTL}},
		{file: viaFile + "        source: command\n        secret_command: [\"/opt/My Vault/token\"]\n", want: InjectRule{Source: SourceCommand, Command: []string{"/opt/My Vault/token"}, CommandTimeout: DefaultCommandTimeout, CacheTTL: DefaultCacheTTL}},
		{file: viaFile + "        source: command\n        secret_command: [./bin/token, asana]\n", want: InjectRule{Source: SourceCommand, Command: []string{"CONFIGDIR/bin/token", "asana"}, CommandTimeout: DefaultCommandTimeout, CacheTTL: DefaultCacheTTL}},
		{file: cmdFile, want: InjectRule{Source: SourceCommand, Command: []string{"op", "read", "op://Private/Asana/token"}, CommandTimeout: DefaultCommandTimeout, CacheTTL: time.Minute}},
		{file: oauthFile, want: InjectRule{Source: SourceOAuth, OAuth: InjectOAuth{Issuer: "https://app.asana.com", ClientID: "1234", Scopes: []string{"default"}, RedirectURL: "http://localhost:8502/"}}},
		{args: []string{"--inject", "X-Asana-Token=asana", "--inject-tools", "T___*", "--inject-source", "command", "--inject-command", "gh auth token", "--inject-command-timeout", "3s"},
			want: InjectRule{Source: SourceCommand, Command: []string{"gh", "auth", "token"}, CommandTimeout: 3 * time.Second, CacheTTL: DefaultCacheTTL}},
		{args: []string{"--inject", "X-Asana-Token=asana", "--inject-tools", "T___*", "--inject-source", "command", "--inject-command", `["vault", "kv", "get", "-field=token", "secret/my asana"]`},
			want: InjectRule{Source: SourceCommand, Command: []string{"vault", "kv", "get", "-field=token", "secret/my asana"}, CommandTimeout: DefaultCommandTimeout, CacheTTL: DefaultCacheTTL}},
		{args: []string{"--inject", "X-Asana-Token=asana", "--inject-tools", "T___*", "--inject-source", "oauth", "--inject-oauth-authorize-url", "https://app.asana.com/-/oauth_authorize",
			"--inject-oauth-token-url", "https://app.asana.com/-/oauth_token", "--inject-oauth-client-id", "1234", "--inject-oauth-redirect-url", "http://127.0.0.1:8502/cb"},
			want: InjectRule{Source: SourceOAuth, OAuth: InjectOAuth{AuthorizeURL: "https://app.asana.com/-/oauth_authorize", TokenURL: "https://app.asana.com/-/oauth_token", ClientID: "1234", RedirectURL: "http://127.0.0.1:8502/cb"}}},
	} {
		p, err := resolveForTest(t, tc.file, AllFlags, names, tc.args...)
		if err != nil {
			t.Errorf("%q %v: %v", tc.file, tc.args, err)
			continue
		}
		r := p.Inject[0]
		if len(tc.want.Command) > 0 && strings.HasPrefix(tc.want.Command[0], "CONFIGDIR/") {
			tc.want.Command[0] = filepath.Join(filepath.Dir(p.ConfigPath), strings.TrimPrefix(tc.want.Command[0], "CONFIGDIR/"))
		}
		if r.Source != tc.want.Source || !slices.Equal(r.Command, tc.want.Command) || r.CommandTimeout != tc.want.CommandTimeout ||
			r.CacheTTL != tc.want.CacheTTL || !sameOAuth(r.OAuth, tc.want.OAuth) {
			t.Errorf("%q %v:\n got %+v\nwant %+v", tc.file, tc.args, r, tc.want)
		}
	}
}

func TestBadInjectSourceIsLocatedWithASuggestion(t *testing.T) {
	names := []AuthType{{Name: AuthNone}}
	for _, tc := range []struct {
		file string
		args []string
		at   string
		msg  string
		hint string
	}{
		{file: viaFile + "        source: comand\n", at: "config.yaml:7:17", msg: `source of inject rule 1: unknown source "comand"`, hint: `did you mean "command"?`},
		{args: []string{"--inject", "X=asana", "--inject-tools", "T___*", "--inject-source", "oath"}, at: "--inject-source", msg: `unknown source "oath"`, hint: `did you mean "oauth"?`},
		{file: viaFile + "        source: command\n", at: "config.yaml:7:17", msg: "source command needs secret_command", hint: `["op", "read"`},
		{file: viaFile + "        source: command\n        secret_command: op read op://Private/Asana/token\n", at: "config.yaml:8:25", msg: "secret_command of inject rule 1: is one string with blanks", hint: `["op", "read", "op://Private/Asana/token"]`},
		{file: viaFile + "        secret_command: [op]\n", at: "config.yaml:7:25", msg: "secret_command applies only to source: command", hint: "add source: command"},
		{file: viaFile + "        source: oauth\n        oauth: {client_id: x, issuer: https://a.example.com}\n", at: "config.yaml:8:17", msg: "needs oauth.redirect_url", hint: "loopback"},
		{file: viaFile + "        source: oauth\n        oauth: {client_id: x, issuer: https://a.example.com, redirect_url: https://example.com/cb}\n", at: "config.yaml:8:76", msg: "oauth.redirect_url of inject rule 1: redirect URL must be http:// on localhost", hint: ""},
		{file: viaFile + "        source: oauth\n        oauth: {client_id: x, redirect_url: http://localhost:1/}\n", at: "config.yaml:8:17", msg: "authorize and token URLs, or its issuer", hint: "oauth.issuer"},
		{file: viaFile + "        source: oauth\n        oauth: {client_secret: x}\n", at: "config.yaml:8:17", msg: "client_secret", hint: "secrets never go in the config file"},
		{args: []string{"--inject-source", "command"}, at: "--inject-source", msg: "applies only to rules given with --inject", hint: "add --inject ARG=SECRET"},
	} {
		_, err := resolveForTest(t, tc.file, AllFlags, names, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.at+": ") || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%q %v: %v, want %q located at %s", tc.file, tc.args, err, tc.msg, tc.at)
			continue
		}
		var hints []string
		for _, e := range flatten(err) {
			if pe, ok := e.(*Error); ok {
				hints = append(hints, pe.Hints()...)
			}
		}
		if !strings.Contains(strings.Join(hints, "\n"), tc.hint) {
			t.Errorf("%q %v: hints %q, want %q", tc.file, tc.args, hints, tc.hint)
		}
	}
}

func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}

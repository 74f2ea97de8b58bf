package profile

import (
	"errors"
	"strings"
	"testing"
)

const viaFile = "profiles:\n  default:\n    inject:\n      - argument: X-Asana-Token\n        secret: asana\n        tools: [\"T___*\"]\n"

func TestInjectViaFromTheFileAndTheFlag(t *testing.T) {
	names := []AuthType{{Name: AuthNone}}
	for _, tc := range []struct {
		file string
		args []string
		want []string
		at   string
	}{
		{file: viaFile, want: []string{ViaArgument}},
		{file: viaFile + "        via: header\n", want: []string{ViaHeader}, at: "config.yaml:7:14"},
		{file: viaFile + "        via: argument\n", want: []string{ViaArgument}, at: "config.yaml:7:14"},
		{args: []string{"--inject", "X-Asana-Token=asana", "--inject", "X-Other=other", "--inject-tools", "T___*", "--inject-via", "header"}, want: []string{ViaHeader, ViaHeader}, at: "--inject-via"},
		{args: []string{"--inject", "X-Asana-Token=asana", "--inject-tools", "T___*"}, want: []string{ViaArgument}},
		// The flags replace the file's rules, via included.
		{file: viaFile + "        via: header\n", args: []string{"--inject", "X-Asana-Token=asana", "--inject-tools", "T___*"}, want: []string{ViaArgument}},
	} {
		p, err := resolveForTest(t, tc.file, AllFlags, names, tc.args...)
		if err != nil {
			t.Errorf("%q %v: %v", tc.file, tc.args, err)
			continue
		}
		var got []string
		for _, r := range p.Inject {
			got = append(got, r.Via)
		}
		if strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("%q %v: via %v, want %v", tc.file, tc.args, got, tc.want)
		}
		if at := p.At("inject[0].via"); !strings.HasSuffix(at, tc.at) || tc.at == "" && at != "" {
			t.Errorf("%q %v: via at %q, want %q", tc.file, tc.args, at, tc.at)
		}
	}
}

func TestBadInjectViaIsLocatedWithASuggestion(t *testing.T) {
	names := []AuthType{{Name: AuthNone}}
	for _, tc := range []struct {
		file string
		args []string
		at   string
		msg  string
		hint string
	}{
		{file: viaFile + "        via: heade\n", at: "config.yaml:7:14", msg: `via of inject rule 1: unknown via "heade"`, hint: `did you mean "header"?`},
		{file: viaFile + "        via: \"\"\n", at: "config.yaml:7:14", msg: `unknown via ""`, hint: "valid values: argument, header"},
		{file: viaFile + "        via: body\n", at: "config.yaml:7:14", msg: `unknown via "body"`, hint: "valid values: argument, header"},
		{args: []string{"--inject", "X-Asana-Token=asana", "--inject-tools", "T___*", "--inject-via", "argumnet"}, at: "--inject-via", msg: `inject rule 1: unknown via "argumnet"`, hint: `did you mean "argument"?`},
		// A header rule's name must be one the Gateway can propagate.
		{file: strings.Replace(viaFile, "X-Asana-Token", "Authorization", 1) + "        via: header\n", at: "config.yaml:4:19",
			msg: `argument of inject rule 1: argument "Authorization" cannot be sent as a header: it is a header the Gateway does not propagate`, hint: "allowedRequestHeaders"},
		{file: strings.Replace(viaFile, "X-Asana-Token", "Mcp-Session-Id", 1) + "        via: header\n", at: "config.yaml:4:19", msg: "does not propagate", hint: "allowedRequestHeaders"},
		{file: strings.Replace(viaFile, "X-Asana-Token", "\"X Asana Token\"", 1) + "        via: header\n", at: "config.yaml:4:19", msg: "is not a valid HTTP header name", hint: "allowedRequestHeaders"},
		{args: []string{"--inject", "Cookie=asana", "--inject-tools", "T___*", "--inject-via", "header"}, at: "--inject", msg: `inject rule 1: argument "Cookie" cannot be sent as a header`, hint: "allowedRequestHeaders"},
		{args: []string{"--inject-via", "header"}, at: "--inject-via", msg: "applies only to rules given with --inject", hint: "add --inject ARG=SECRET"},
	} {
		_, err := resolveForTest(t, tc.file, AllFlags, names, tc.args...)
		var perr *Error
		if !errors.As(err, &perr) {
			t.Errorf("%q %v: %v, want a profile error", tc.file, tc.args, err)
			continue
		}
		if !strings.Contains(perr.Error(), tc.at+": ") || !strings.Contains(perr.Error(), tc.msg) {
			t.Errorf("%q %v: %q, want %q located at %s", tc.file, tc.args, perr.Error(), tc.msg, tc.at)
		}
		if !strings.Contains(strings.Join(perr.Hints(), "\n"), tc.hint) {
			t.Errorf("%q %v: hints %q, want %q", tc.file, tc.args, perr.Hints(), tc.hint)
		}
	}
}

// An argument rule may fill an argument of any name, one a header rule
// could not use included.
func TestArgumentRuleMayNameARestrictedHeader(t *testing.T) {
	file := strings.Replace(viaFile, "X-Asana-Token", "Authorization", 1)
	if _, err := resolveForTest(t, file, AllFlags, []AuthType{{Name: AuthNone}}); err != nil {
		t.Fatal(err)
	}
}

func TestCommandCarriesTheInjectViaFlag(t *testing.T) {
	p, err := resolveForTest(t, "", AllFlags, []AuthType{{Name: AuthNone}}, "--gateway-url", "https://gw.example.com/mcp",
		"--inject", "X-Asana-Token=asana", "--inject-tools", "T___*", "--inject-via", "header")
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Command("login", "asana"); !strings.Contains(got, "--inject-via header") {
		t.Errorf("Command = %q, want the --inject-via it was resolved with", got)
	}
	if got := p.InjectArgs("asana"); got != "header X-Asana-Token" {
		t.Errorf("InjectArgs = %q, want the header form", got)
	}
}

package profile_test

import (
	"errors"
	"fmt"

	"github.com/spf13/pflag"

	"github.com/agw-proxy/agw-proxy/internal/profile"
)

// A profile made of flags alone, and the login command that reaches it.
func Example() {
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	flags := profile.AddFlags(fs, profile.AllFlags)
	_ = fs.Parse([]string{
		"--profile", "ci",
		"--gateway-url", "https://gw.example.com/mcp",
		"--inject", "X-Asana-Token=asana", "--inject-tools", "Target___*",
	})
	noFile := profile.Env{
		Getenv:    func(string) string { return "" },
		ConfigDir: func() (string, error) { return "", errors.New("no config dir") },
	}
	types := []profile.AuthType{{Name: profile.AuthNone}}
	p, err := flags.Resolve(noFile, types)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(p.Name, p.GatewayURL, p.Auth.Type, p.Inject[0].Format)
	fmt.Println(p.Command("login", "asana"))
	// Output:
	// ci https://gw.example.com/mcp none Bearer {secret}
	// agw-proxy login asana --profile ci --gateway-url https://gw.example.com/mcp --inject X-Asana-Token=asana --inject-tools 'Target___*'
}

// Every problem comes back at once, each located where it was set.
func Example_errors() {
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	flags := profile.AddFlags(fs, profile.AllFlags)
	_ = fs.Parse([]string{"--gateway-url", "ftp://gw.example.com", "--auth-type", "kerberos"})
	noFile := profile.Env{
		Getenv:    func(string) string { return "" },
		ConfigDir: func() (string, error) { return "", errors.New("no config dir") },
	}
	_, err := flags.Resolve(noFile, []profile.AuthType{{Name: profile.AuthNone}})
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		fmt.Println(e)
	}
	// Output:
	// --gateway-url: unsupported URL scheme "ftp": use https://
	// --auth-type: unknown auth type "kerberos"
}

package main

import (
	"context"
	"strings"
)

// mcpb-serve is serve as an MCP Bundle's manifest runs it (internal/mcpb).
// Claude Desktop fills ${user_config.KEY} in the manifest's args and env
// with what the user entered; for a field left empty the mcpb hosts
// (@anthropic-ai/mcpb's getMcpConfigForManifest) keep the text
// "${user_config.KEY}" where it is a whole argument, or put "" inside a
// longer one. mcpb-serve drops such an option, and such a variable, and
// runs serve with the rest, so that an optional field left empty means
// "not set" (the config file's value, the default) rather than a value.
// It is not in the help: only a bundle runs it.
func init() {
	register(command{name: "mcpb-serve", run: runMCPBServe})
}

func runMCPBServe(ctx context.Context, e *env, args []string) error {
	be := *e
	getenv := e.getenv
	be.getenv = func(key string) string {
		if v := getenv(key); !unfilled(v) {
			return v
		}
		return ""
	}
	return runServe(ctx, &be, bundleArgs(args))
}

// unfilled reports whether v is a substitution the host did not make.
func unfilled(v string) bool { return strings.Contains(v, "${user_config.") }

// bundleArgs are a bundle's serve args without the options the user left
// empty: "--flag VALUE" or "--flag=VALUE" whose value is empty or holds an
// unmade substitution, and an --inject rule whose argument is empty
// ("=extension": the release bundle's rule writes the secret's name).
func bundleArgs(args []string) []string {
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "--") || a == "--" {
			out = append(out, a)
			continue
		}
		name, value, inline := strings.Cut(a, "=")
		if !inline {
			if a == "--no-browser" || i+1 >= len(args) {
				out = append(out, a) // serve's one switch, or for serve to refuse
				continue
			}
			i++
			value = args[i]
		}
		if value == "" || unfilled(value) || name == "--inject" && strings.HasPrefix(value, "=") {
			continue
		}
		out = append(out, name, value)
	}
	return out
}

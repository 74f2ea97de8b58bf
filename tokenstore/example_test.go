package tokenstore_test

import (
	"context"
	"fmt"

	"github.com/agw-proxy/agw-proxy/tokenstore"
)

// The environment overrides the keychain, and Lookup says which one answered.
func ExampleEnv() {
	ctx := context.Background()
	keychain := tokenstore.NewMemory() // tokenstore.NewKeychain() in the real program
	keychain.Set(ctx, "default", "asana", "stored-token")

	env := map[string]string{tokenstore.EnvVar("asana"): "ci-token"}
	secrets := &tokenstore.Env{Base: keychain, Getenv: func(k string) string { return env[k] }}

	tok, source, _ := secrets.Lookup(ctx, "default", "asana")
	fmt.Println(source)
	fmt.Println(tok) // a Secret prints masked
	fmt.Println(string(tok) == "ci-token")

	delete(env, tokenstore.EnvVar("asana"))
	_, source, _ = secrets.Lookup(ctx, "default", "asana")
	fmt.Println(source)
	// Output:
	// environment (AGW_PROXY_SECRET_ASANA)
	// [redacted]
	// true
	// keychain
}

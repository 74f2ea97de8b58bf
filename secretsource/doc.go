// Package secretsource gets the values of inject rules' secrets that are
// not stored in the keychain: the first line a command prints (a vault
// CLI: op read, aws secretsmanager get-secret-value, vault kv get), cached
// for a while (Command), and the access tokens of a downstream API's own
// OAuth login, refreshed before they expire (OAuth). A Set serves a
// proxy's SecretSource: each name from its own source, the others from the
// keychain.
//
//	set := &secretsource.Set{
//		Stored: keychainSource,
//		Sources: map[string]secretsource.Source{
//			"asana": &secretsource.Command{Argv: []string{"op", "read", "op://Private/Asana/token"}},
//		},
//	}
//	v, err := set.Secret(ctx, "asana") // runs op once, then from memory for DefaultTTL
package secretsource

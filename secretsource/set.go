package secretsource

import (
	"context"

	"github.com/agw-proxy/agw-proxy/tokenstore"
)

// A Source is one secret's source.
type Source interface {
	Secret(ctx context.Context) (tokenstore.Secret, error)
}

// A Refresher is a Source that can replace a value its audience rejected.
type Refresher interface {
	Rejected(ctx context.Context, used tokenstore.Secret) (tokenstore.Secret, error)
}

// A NamedSource returns secrets by name (the keychain's, through the
// proxy's SecretSource).
type NamedSource interface {
	Secret(ctx context.Context, name string) (tokenstore.Secret, error)
}

// Set is a proxy.SecretSource (and proxy.SecretRefresher) over the
// sources of a profile's secrets: a name in Sources from its source, any
// other from Stored.
type Set struct {
	Stored  NamedSource
	Sources map[string]Source
}

// Secret returns the named secret from its source.
func (s *Set) Secret(ctx context.Context, name string) (tokenstore.Secret, error) {
	if src, ok := s.Sources[name]; ok {
		return src.Secret(ctx)
	}
	if s.Stored == nil {
		return "", tokenstore.ErrNotFound
	}
	return s.Stored.Secret(ctx, name)
}

// RefreshSecret returns a new value of the named secret after its target
// rejected rejected; a source that cannot refresh returns its current
// value.
func (s *Set) RefreshSecret(ctx context.Context, name string, rejected tokenstore.Secret) (tokenstore.Secret, error) {
	if r, ok := s.Sources[name].(Refresher); ok {
		return r.Rejected(ctx, rejected)
	}
	return s.Secret(ctx, name)
}

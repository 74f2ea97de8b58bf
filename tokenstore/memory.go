package tokenstore

import (
	"context"
	"sync"
)

// Memory is a Secrets held in the process's memory, safe for concurrent use:
// for a value that must prove itself before it is stored for good, a demo,
// or a benchmark. Like Keychain it refuses a value over MaxSecretSize, and
// its errors have Keychain's shape (wrapping ErrNotFound or ErrTooLarge). The
// zero Memory is empty and ready to use.
type Memory struct {
	mu     sync.Mutex
	values map[string]Secret // by User(profile, name)
}

// NewMemory returns an empty Memory.
func NewMemory() *Memory { return &Memory{} }

// Get returns the stored secret.
func (m *Memory) Get(ctx context.Context, profile, name string) (Secret, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.values[User(profile, name)]
	if !ok {
		return "", &opError{op: "read", profile: profile, name: name, msg: "nothing stored", err: ErrNotFound}
	}
	return v, nil
}

// Set stores the secret; a value over MaxSecretSize fails with ErrTooLarge.
func (m *Memory) Set(ctx context.Context, profile, name string, value Secret) error {
	if len(value) > MaxSecretSize {
		return tooLarge(profile, name, len(value))
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.values == nil {
		m.values = map[string]Secret{}
	}
	m.values[User(profile, name)] = value
	return nil
}

// Delete removes the secret.
func (m *Memory) Delete(ctx context.Context, profile, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	key := User(profile, name)
	if _, ok := m.values[key]; !ok {
		return &opError{op: "delete", profile: profile, name: name, msg: "nothing stored", err: ErrNotFound}
	}
	delete(m.values, key)
	return nil
}

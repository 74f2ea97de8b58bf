package tokenstore

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zalando/go-keyring"

	"github.com/agw-proxy/agw-proxy/internal/testwait"
)

// stubBackend is a keyringBackend that records calls and can hang or fail.
type stubBackend struct {
	mu      sync.Mutex
	values  map[string]string
	calls   []string // "op service user"
	err     error
	hang    chan struct{} // when non-nil, calls block until it is closed
	started chan struct{} // receives one value per call that began
}

func newStub() *stubBackend { return &stubBackend{values: map[string]string{}} }

func (b *stubBackend) enter(op, service, user string) error {
	b.mu.Lock()
	b.calls = append(b.calls, op+" "+service+" "+user)
	hang, err, started := b.hang, b.err, b.started
	b.mu.Unlock()
	if started != nil {
		started <- struct{}{}
	}
	if hang != nil {
		<-hang
	}
	return err
}

func (b *stubBackend) Get(service, user string) (string, error) {
	if err := b.enter("get", service, user); err != nil {
		return "", err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	v, ok := b.values[service+"/"+user]
	if !ok {
		return "", keyring.ErrNotFound
	}
	return v, nil
}

func (b *stubBackend) Set(service, user, pw string) error {
	if err := b.enter("set", service, user); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.values[service+"/"+user] = pw
	return nil
}

func (b *stubBackend) Delete(service, user string) error {
	if err := b.enter("delete", service, user); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.values[service+"/"+user]; !ok {
		return keyring.ErrNotFound
	}
	delete(b.values, service+"/"+user)
	return nil
}

func TestKeychainEntryNames(t *testing.T) {
	testwait.NoLeaks(t)
	b := newStub()
	k := newKeychain(b)
	ctx := testwait.Context(t)
	if err := k.Set(ctx, "work", "asana", testValue); err != nil {
		t.Fatal(err)
	}
	if v, err := k.Get(ctx, "work", "asana"); err != nil || v != testValue {
		t.Fatalf("Get: wrong value or err %v", err)
	}
	if err := k.Delete(ctx, "work", "asana"); err != nil {
		t.Fatal(err)
	}
	want := []string{"set agw-proxy work:asana", "get agw-proxy work:asana", "delete agw-proxy work:asana"}
	if strings.Join(b.calls, "|") != strings.Join(want, "|") {
		t.Errorf("calls = %q, want %q", b.calls, want)
	}
}

// hungLimit is how long a call to a hung keychain may take in these tests,
// whose Keychain.Timeout is far shorter: a call that ignores its timer fails
// its test within it.
const hungLimit = 2 * time.Second

// within runs call in a goroutine of its own, under a context that ends
// after limit, and returns its error; it fails the test if call has not
// returned within limit, even if call ignores the context too.
func within(t *testing.T, limit time.Duration, call func(ctx context.Context) error) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), limit)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- call(ctx) }()
	timer := time.NewTimer(limit)
	defer timer.Stop()
	select {
	case err := <-errc:
		return err
	case <-timer.C:
		t.Fatalf("the keychain call did not return within %s", limit)
		return nil
	}
}

func TestKeychainTimeout(t *testing.T) {
	testwait.NoLeaks(t)
	b := newStub()
	b.hang = make(chan struct{})
	defer close(b.hang)
	k := newKeychain(b)
	k.Timeout = 100 * time.Millisecond

	start := time.Now()
	err := within(t, hungLimit, func(ctx context.Context) error {
		_, err := k.Get(ctx, "default", "asana")
		return err
	})
	elapsed := time.Since(start)
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
	if elapsed > time.Second {
		t.Fatalf("Get returned after %v; the timeout is 100ms", elapsed)
	}
	msg := err.Error()
	for _, want := range []string{`"asana"`, `"default"`, "unlock prompt", "100ms"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not mention %q", msg, want)
		}
	}
}

func TestKeychainContextCancelled(t *testing.T) {
	testwait.NoLeaks(t)
	b := newStub()
	b.hang = make(chan struct{})
	defer close(b.hang)
	k := newKeychain(b)
	err := within(t, hungLimit, func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
		defer cancel()
		return k.Set(ctx, "default", "asana", testValue)
	})
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v, want the context's error", err)
	}
}

func TestKeychainHungCallsAreBounded(t *testing.T) {
	testwait.NoLeaks(t)
	b := newStub()
	b.hang = make(chan struct{})
	b.started = make(chan struct{}, 100)
	k := newKeychain(b)
	k.Timeout = 50 * time.Millisecond
	defer close(b.hang) // also when the test fails
	within(t, hungLimit, func(ctx context.Context) error {
		var wg sync.WaitGroup
		for range 3 * maxPending {
			wg.Go(func() {
				if _, err := k.Get(ctx, "default", "asana"); !errors.Is(err, ErrTimeout) {
					t.Errorf("err = %v, want ErrTimeout", err)
				}
			})
		}
		wg.Wait()
		return nil
	})
	if n := len(b.started); n > maxPending {
		t.Errorf("%d keychain calls hang at once, want at most %d", n, maxPending)
	}
}

func TestKeychainErrors(t *testing.T) {
	testwait.NoLeaks(t)
	for _, tc := range []struct {
		backendErr error
		want       error
	}{
		{keyring.ErrNotFound, ErrNotFound},
		{keyring.ErrSetDataTooBig, ErrTooLarge},
		{errors.New("failed to unlock correct collection '/org/freedesktop/secrets/aliases/default'"), ErrLocked},
		{errors.New("Cannot create an item in a locked collection"), ErrLocked},
		{errors.New("The name org.freedesktop.secrets was not provided by any .service files"), ErrUnavailable},
		{keyring.ErrUnsupportedPlatform, ErrUnavailable},
	} {
		b := newStub()
		b.err = tc.backendErr
		k := newKeychain(b)
		err := k.Set(testwait.Context(t), "default", "asana", testValue)
		if !errors.Is(err, tc.want) {
			t.Errorf("backend error %q: got %v, want %v", tc.backendErr, err, tc.want)
		}
		if err != nil && (!strings.Contains(err.Error(), `"asana"`) || !strings.HasPrefix(err.Error(), "tokenstore: ")) {
			t.Errorf("error %q: want the tokenstore prefix and the secret's name", err)
		}
	}
}

func TestKeychainTooLargeRefusedBeforeCalling(t *testing.T) {
	testwait.NoLeaks(t)
	b := newStub()
	k := newKeychain(b)
	err := k.Set(testwait.Context(t), "default", RefreshTokenName, Secret(strings.Repeat("r", MaxSecretSize+1)))
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
	if len(b.calls) != 0 {
		t.Errorf("the keychain was called for a value over the limit: %q", b.calls)
	}
	if err := k.Set(testwait.Context(t), "default", RefreshTokenName, Secret(strings.Repeat("r", MaxSecretSize))); err != nil {
		t.Fatalf("value of exactly the limit: %v", err)
	}
}

func TestKeychainErrorNeverCarriesValue(t *testing.T) {
	testwait.NoLeaks(t)
	b := newStub()
	b.err = errors.New("dbus: bad argument " + string(testValue)) // a backend that echoes its input
	k := newKeychain(b)
	err := k.Set(testwait.Context(t), "default", "asana", testValue)
	if err == nil {
		t.Fatal("no error")
	}
	if strings.Contains(err.Error(), string(testValue)) {
		t.Error("secret leaked into the error text")
	}
	for e := errors.Unwrap(err); e != nil; e = errors.Unwrap(e) {
		if strings.Contains(e.Error(), string(testValue)) {
			t.Error("secret leaked into a wrapped error")
		}
	}
}

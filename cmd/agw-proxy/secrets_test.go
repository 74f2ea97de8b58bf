package main

// Test keychains. Tests never touch the OS keychain unless built with the
// keychain tag and asking for it: the test binary (which testscript also runs
// as "agw-proxy") stores secrets in a file or an in-memory fake instead,
// chosen by environment variables that only the test binary honours:
//
//	AGW_PROXY_TEST_KEYRING_FILE=PATH   a JSON file (default $HOME/agw-proxy-test-keyring.json)
//	AGW_PROXY_TEST_KEYRING_FAULT=hang|locked|unavailable
//	                                   a keychain that hangs (for AGW_PROXY_TEST_KEYRING_HANG,
//	                                   default 300ms, then times out) or fails
//	AGW_PROXY_TEST_FAKE=KEY            the *tokenstoretest.Fake registered as KEY (in-process tests)
//	AGW_PROXY_TEST_KEYRING=os          the OS keychain (only with the keychain build tag)

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agw-proxy/agw-proxy/tokenstore"
	"github.com/agw-proxy/agw-proxy/tokenstore/tokenstoretest"
)

const (
	envTestKeyringFile  = "AGW_PROXY_TEST_KEYRING_FILE"
	envTestKeyringFault = "AGW_PROXY_TEST_KEYRING_FAULT"
	envTestKeyringHang  = "AGW_PROXY_TEST_KEYRING_HANG"
	envTestFake         = "AGW_PROXY_TEST_FAKE"
	envTestKeyring      = "AGW_PROXY_TEST_KEYRING"
)

// allowRealKeychain is set by the keychain-tagged tests.
var allowRealKeychain bool

// testFakes holds the fakes of in-process tests, by key.
var testFakes sync.Map

func testStore(getenv func(string) string) tokenstore.Secrets {
	if getenv(envTestKeyring) == "os" && allowRealKeychain {
		return nil
	}
	if key := getenv(envTestFake); key != "" {
		if f, ok := testFakes.Load(key); ok {
			return f.(*tokenstoretest.Fake)
		}
	}
	switch getenv(envTestKeyringFault) {
	case "hang":
		d, err := time.ParseDuration(getenv(envTestKeyringHang))
		if err != nil {
			d = 300 * time.Millisecond
		}
		f := tokenstoretest.NewFake()
		f.Hang(d)
		return f
	case "locked":
		f := tokenstoretest.NewFake()
		f.FailWith(tokenstore.ErrLocked)
		return f
	case "unavailable":
		f := tokenstoretest.NewFake()
		f.FailWith(tokenstore.ErrUnavailable)
		return f
	}
	path := getenv(envTestKeyringFile)
	if path == "" && getenv("HOME") != "" {
		path = filepath.Join(getenv("HOME"), "agw-proxy-test-keyring.json")
	}
	if path == "" {
		// No place for a file: nothing is stored, and nothing can be.
		f := tokenstoretest.NewFake()
		f.FailWith(tokenstore.ErrUnavailable)
		return f
	}
	return fileKeychain(path)
}

// registerFake makes f the keychain of in-process runs whose environment
// has AGW_PROXY_TEST_FAKE=key.
func registerFake(t *testing.T, f *tokenstoretest.Fake) string {
	key := t.Name()
	testFakes.Store(key, f)
	t.Cleanup(func() { testFakes.Delete(key) })
	return key
}

// fileKeychain is a keychain in a JSON file {"profile:name": "value"}, so
// that separate processes (a running serve, a login) share it. Writes
// replace the file atomically.
type fileKeychain string

var fileKeychainMu sync.Mutex

func (f fileKeychain) load() (map[string]string, error) {
	m := map[string]string{}
	b, err := os.ReadFile(string(f))
	if errors.Is(err, os.ErrNotExist) {
		return m, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("test keyring %s: %v", f, err)
	}
	return m, nil
}

func (f fileKeychain) save(m map[string]string) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(string(f)), 0o700); err != nil {
		return err
	}
	tmp := fmt.Sprintf("%s.%d.tmp", f, os.Getpid())
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, string(f))
}

func (f fileKeychain) Get(ctx context.Context, profile, name string) (tokenstore.Secret, error) {
	m, err := f.load()
	if err != nil {
		return "", err
	}
	v, ok := m[tokenstore.User(profile, name)]
	if !ok {
		return "", fmt.Errorf("test keyring: read %q for profile %q: nothing stored: %w", name, profile, tokenstore.ErrNotFound)
	}
	return tokenstore.Secret(v), nil
}

func (f fileKeychain) Set(ctx context.Context, profile, name string, value tokenstore.Secret) error {
	if len(value) > tokenstore.MaxSecretSize {
		return fmt.Errorf("test keyring: store %q: %d bytes: %w", name, len(value), tokenstore.ErrTooLarge)
	}
	fileKeychainMu.Lock()
	defer fileKeychainMu.Unlock()
	m, err := f.load()
	if err != nil {
		return err
	}
	m[tokenstore.User(profile, name)] = string(value)
	return f.save(m)
}

func (f fileKeychain) Delete(ctx context.Context, profile, name string) error {
	fileKeychainMu.Lock()
	defer fileKeychainMu.Unlock()
	m, err := f.load()
	if err != nil {
		return err
	}
	k := tokenstore.User(profile, name)
	if _, ok := m[k]; !ok {
		return fmt.Errorf("test keyring: delete %q for profile %q: nothing stored: %w", name, profile, tokenstore.ErrNotFound)
	}
	delete(m, k)
	return f.save(m)
}

// TestReadSecret covers the stdin path of readSecret (the prompt path needs
// a terminal): trimming, and refusing empty, multi-line and control input.
func TestReadSecret(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
		err  error
	}{
		{"tok-1\n", "tok-1", nil},
		{"  tok-2 \r\n", "tok-2", nil},
		{"tok-3", "tok-3", nil},
		{"", "", errEmptySecret},
		{" \n\t\n", "", errEmptySecret},
		{"tok\nmore\n", "", errMultiline},
		{"tok\rmore", "", errMultiline},
		{"tok\x00x", "", errControl},
		{"tok\x1b[2J", "", errControl},
	} {
		e := &env{testKeychain: testStore, stdin: strings.NewReader(tc.in), stderr: new(strings.Builder)}
		got, err := readSecret(t.Context(), e, "prompt: ")
		if !errors.Is(err, tc.err) || string(got) != tc.want {
			t.Errorf("readSecret(%q) = %q, %v; want %q, %v", tc.in, string(got), err, tc.want, tc.err)
		}
		if err != nil && strings.Contains(err.Error(), strings.TrimSpace(tc.in)) && strings.TrimSpace(tc.in) != "" {
			t.Errorf("readSecret(%q): error quotes the input", tc.in)
		}
	}
	e := &env{testKeychain: testStore, stdin: strings.NewReader(strings.Repeat("x", maxSecretInput+1)), stderr: new(strings.Builder)}
	if _, err := readSecret(t.Context(), e, ""); err == nil {
		t.Error("readSecret accepted input over maxSecretInput")
	}
}

func TestFileKeychain(t *testing.T) {
	ctx := context.Background()
	k := fileKeychain(filepath.Join(t.TempDir(), "d", "k.json"))
	if _, err := k.Get(ctx, "p", "n"); !errors.Is(err, tokenstore.ErrNotFound) {
		t.Fatalf("Get on no file: %v", err)
	}
	if err := k.Set(ctx, "p", "n", "v"); err != nil {
		t.Fatal(err)
	}
	if v, err := k.Get(ctx, "p", "n"); err != nil || v != "v" {
		t.Fatalf("Get = %q, %v", string(v), err)
	}
	if err := k.Delete(ctx, "p", "n"); err != nil {
		t.Fatal(err)
	}
	if err := k.Delete(ctx, "p", "n"); !errors.Is(err, tokenstore.ErrNotFound) {
		t.Fatalf("second Delete: %v", err)
	}
}

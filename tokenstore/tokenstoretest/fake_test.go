package tokenstoretest

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agw-proxy/agw-proxy/internal/testwait"
	"github.com/agw-proxy/agw-proxy/tokenstore"
)

const testValue = tokenstore.Secret("tok-9f8e7d6c5b4a") // never printed

func TestFakeSetGetDelete(t *testing.T) {
	testwait.NoLeaks(t)
	ctx := testwait.Context(t)
	f := NewFake()
	if _, err := f.Get(ctx, "default", "asana"); !errors.Is(err, tokenstore.ErrNotFound) {
		t.Fatalf("Get before Set: err = %v, want ErrNotFound", err)
	}
	if err := f.Set(ctx, "default", "asana", testValue); err != nil {
		t.Fatal(err)
	}
	if err := f.Set(ctx, "default", "asana", testValue+"2"); err != nil { // overwrite
		t.Fatal(err)
	}
	if v, err := f.Get(ctx, "default", "asana"); err != nil || v != testValue+"2" {
		t.Fatalf("Get after overwrite: wrong value or err %v", err)
	}
	if _, err := f.Get(ctx, "work", "asana"); !errors.Is(err, tokenstore.ErrNotFound) {
		t.Fatalf("profiles are not separate: err = %v", err)
	}
	if err := f.Delete(ctx, "default", "asana"); err != nil {
		t.Fatal(err)
	}
	if err := f.Delete(ctx, "default", "asana"); !errors.Is(err, tokenstore.ErrNotFound) {
		t.Fatalf("second Delete: err = %v, want ErrNotFound", err)
	}
	if got := f.Calls("get"); got != 3 {
		t.Errorf("Calls(get) = %d, want 3", got)
	}
}

func TestFakeTooLarge(t *testing.T) {
	testwait.NoLeaks(t)
	f := NewFake()
	big := tokenstore.Secret(strings.Repeat("x", tokenstore.MaxSecretSize+1))
	if err := f.Set(testwait.Context(t), "default", "asana", big); !errors.Is(err, tokenstore.ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
	if err := f.Set(testwait.Context(t), "default", "asana", big[1:]); err != nil {
		t.Fatalf("a value of exactly MaxSecretSize: %v", err)
	}
}

func TestFakeHang(t *testing.T) {
	testwait.NoLeaks(t)
	f := NewFake()
	f.Hang(50 * time.Millisecond)
	start := time.Now()
	_, err := f.Get(testwait.Context(t), "default", "asana")
	if !errors.Is(err, tokenstore.ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
	if d := time.Since(start); d < 50*time.Millisecond || d > 2*time.Second {
		t.Errorf("hung for %v, want about 50ms", d)
	}

	f.Hang(time.Hour)
	ctx, cancel := context.WithTimeout(testwait.Context(t), 20*time.Millisecond)
	defer cancel()
	if err := f.Set(ctx, "default", "asana", testValue); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the context's error", err)
	}

	f.Hang(0)
	if err := f.Set(testwait.Context(t), "default", "asana", testValue); err != nil {
		t.Fatalf("after Hang(0): %v", err)
	}
}

func TestFakeFailWith(t *testing.T) {
	testwait.NoLeaks(t)
	f := NewFake()
	f.FailWith(tokenstore.ErrLocked)
	_, err := f.Get(testwait.Context(t), "default", "asana")
	if !errors.Is(err, tokenstore.ErrLocked) {
		t.Fatalf("err = %v, want ErrLocked", err)
	}
	if !strings.Contains(err.Error(), `"asana"`) || !strings.Contains(err.Error(), `"default"`) {
		t.Errorf("error %q does not name the secret and profile", err)
	}
	f.FailWith(nil)
	if err := f.Set(testwait.Context(t), "default", "asana", testValue); err != nil {
		t.Fatal(err)
	}
}

func TestFakeConcurrent(t *testing.T) {
	testwait.NoLeaks(t)
	f := NewFake()
	ctx := testwait.Context(t)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				f.Set(ctx, "default", "asana", testValue)
				f.Get(ctx, "default", "asana")
				f.Delete(ctx, "default", "asana")
			}
		})
	}
	testwait.WaitAll(t, &wg, "8 goroutines using one Fake")
}

package tokenstore

import (
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/agw-proxy/agw-proxy/internal/testwait"
)

const testValue = Secret("tok-9f8e7d6c5b4a") // never printed

func TestMemorySetGetDelete(t *testing.T) {
	testwait.NoLeaks(t)
	ctx := testwait.Context(t)
	var m Memory // the zero Memory works
	if _, err := m.Get(ctx, "default", "asana"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get before Set: err = %v, want ErrNotFound", err)
	}
	if err := m.Set(ctx, "default", "asana", testValue); err != nil {
		t.Fatal(err)
	}
	if err := m.Set(ctx, "default", "asana", testValue+"2"); err != nil { // overwrite
		t.Fatal(err)
	}
	if v, err := m.Get(ctx, "default", "asana"); err != nil || v != testValue+"2" {
		t.Fatalf("Get after overwrite: wrong value or err %v", err)
	}
	if _, err := m.Get(ctx, "work", "asana"); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), `"work"`) {
		t.Fatalf("profiles are not separate, or the error does not name the profile: err = %v", err)
	}
	if err := m.Delete(ctx, "default", "asana"); err != nil {
		t.Fatal(err)
	}
	if err := m.Delete(ctx, "default", "asana"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second Delete: err = %v, want ErrNotFound", err)
	}
}

func TestMemoryTooLarge(t *testing.T) {
	testwait.NoLeaks(t)
	m := NewMemory()
	big := Secret(strings.Repeat("x", MaxSecretSize+1))
	err := m.Set(testwait.Context(t), "default", "asana", big)
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
	if strings.Contains(err.Error(), "xxxx") {
		t.Error("the value leaked into the error")
	}
	if err := m.Set(testwait.Context(t), "default", "asana", big[1:]); err != nil {
		t.Fatalf("a value of exactly MaxSecretSize: %v", err)
	}
}

func TestMemoryConcurrent(t *testing.T) {
	testwait.NoLeaks(t)
	m := NewMemory()
	ctx := testwait.Context(t)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				m.Set(ctx, "default", "asana", testValue)
				m.Get(ctx, "default", "asana")
				m.Delete(ctx, "default", "asana")
			}
		})
	}
	testwait.WaitAll(t, &wg, "8 goroutines using one Memory")
}

package tokenstore

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckSize(t *testing.T) {
	if err := CheckSize("asana", "12345678"); err != nil {
		t.Errorf("8 bytes: %v", err)
	}
	err := CheckSize("asana", "a")
	if !errors.Is(err, ErrTooShort) || errors.Is(err, ErrLoginNeeded) {
		t.Errorf("1 byte: %v", err)
	}
	if msg := err.Error(); !strings.Contains(msg, `"asana" is shorter than 8 bytes`) || !strings.Contains(msg, "AGW_PROXY_SECRET_ASANA") {
		t.Errorf("message: %q", msg)
	}
	for _, name := range []string{ClientSecretName, RefreshTokenName} {
		if err := CheckSize(name, "short"); !errors.Is(err, ErrTooShort) || !errors.Is(err, ErrLoginNeeded) {
			t.Errorf("%s: %v, want ErrTooShort and ErrLoginNeeded", name, err)
		}
	}
}

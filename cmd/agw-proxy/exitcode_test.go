package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/agw-proxy/agw-proxy/internal/testwait"
	"github.com/agw-proxy/agw-proxy/oauth"
	"github.com/agw-proxy/agw-proxy/tokenstore"
	"github.com/agw-proxy/agw-proxy/tokenstore/tokenstoretest"
)

// Exit status 4 ("log in, then try again") is decided in three places:
// main's fail, for the error a command returns (this file); doctor's
// exitCode (testdata/doctor/doctor_exit4.txtar); and status
// (testdata/doctor/status_exit4.txtar). No command hands fail a login error
// today, so fail is tested as the function it is.

// TestFailExitCodes: fail prints a command's error and returns 4 when a
// login fixes it (tokenstore.ErrLoginNeeded, however wrapped), else 1.
func TestFailExitCodes(t *testing.T) {
	testwait.NoLeaks(t)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	// A real login error: the token source of a profile whose client
	// secret is not stored (nothing is fetched).
	_, loginErr := oauth.NewClientCredentials(oauth.Config{
		TokenURL: "http://127.0.0.1:9/oauth2/token", ClientID: "abc", Secrets: tokenstoretest.NewFake(), Profile: "p",
	}).Token(ctx)
	if !errors.Is(loginErr, tokenstore.ErrLoginNeeded) {
		t.Fatalf("the token source without a stored secret: %v, want ErrLoginNeeded", loginErr)
	}
	for _, tc := range []struct {
		name string
		err  error
		want int
	}{
		{"login needed", loginErr, 4},
		{"login needed, wrapped and with a hint", withHints(fmt.Errorf("serve: %w", loginErr), "run it"), 4},
		{"a keychain error", keychainError(fmt.Errorf("read: %w", tokenstore.ErrLocked)), 1},
		{"another error", errors.New("boom"), 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stderr strings.Builder
			if got := fail(&env{stderr: &stderr}, tc.err); got != tc.want {
				t.Errorf("exit %d, want %d", got, tc.want)
			}
			if !strings.HasPrefix(stderr.String(), "agw-proxy: error: ") {
				t.Errorf("stderr %q: want the error", stderr.String())
			}
		})
	}
}

package main

import (
	"testing"

	"github.com/agw-proxy/agw-proxy/internal/profile"
	"github.com/agw-proxy/agw-proxy/proxy"
)

// serve opens a consent URL with login's opener unless --no-browser or
// open_browser: false.
func TestConsentOptionsFollowNoBrowser(t *testing.T) {
	for _, tc := range []struct {
		openBrowser, noBrowser, opens bool
	}{
		{true, false, true},
		{true, true, false},
		{false, false, false},
		{false, true, false},
	} {
		p := profile.New("default")
		p.OpenBrowser, p.ConsentTimeout = tc.openBrowser, 42
		var opts proxy.Options
		consentOptions(&opts, &env{}, p, tc.noBrowser)
		if (opts.OpenURL != nil) != tc.opens || opts.ConsentTimeout != 42 {
			t.Errorf("open_browser %v, --no-browser %v: opens %v (timeout %v), want %v", tc.openBrowser, tc.noBrowser, opts.OpenURL != nil, opts.ConsentTimeout, tc.opens)
		}
	}
}

package main

import (
	"bytes"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/agw-proxy/agw-proxy/internal/leakcheck"
	"github.com/agw-proxy/agw-proxy/internal/testwait"
	"github.com/agw-proxy/agw-proxy/secretsource"
)

// demoLoginURL is login's one-time URL as step 8 shows it.
var demoLoginURL = regexp.MustCompile(`(?m)^       http://127\.0\.0\.1:\d+/agw-proxy-login/\S+$`)

// TestDemoAppOAuth: the demo's step 8, the rule with an oauth source: the
// login (its URL opened by the demo's browser as login's opener, or only
// printed with --no-browser; never the system's browser, since the URL
// works once), only the refresh token stored, a call, the access token
// expiring and the next call going through on one refresh, none refused;
// no token of the provider in what the demo prints.
func TestDemoAppOAuth(t *testing.T) {
	for _, noBrowser := range []bool{false, true} {
		t.Run(fmt.Sprintf("no-browser=%v", noBrowser), func(t *testing.T) {
			opened := testOpener(t)
			ctx := testwait.Context(t)
			d, err := startDemo(ctx, false, "auto")
			if err != nil {
				t.Fatal(err)
			}
			defer d.close()
			d.noBrowser = noBrowser
			px, err := d.newProxy(nil)
			if err != nil {
				t.Fatal(err)
			}
			cs, stop, err := d.connect(ctx, px, "")
			if err != nil {
				t.Fatal(err)
			}
			defer stop()
			var out bytes.Buffer
			if err := d.showAppOAuth(ctx, cs, func(format string, a ...any) { fmt.Fprintf(&out, format, a...) }); err != nil {
				t.Fatalf("step 8: %v\n%s", err, out.String())
			}
			text := out.String()
			if !demoLoginURL.MatchString(text) {
				t.Errorf("step 8 shows no login URL:\n%s", text)
			}
			say := "   login opened it in the demo's browser (yours stays closed: the URL works once).\n"
			if noBrowser {
				say = "   (--no-browser: login only printed the URL; the demo's browser opened it, as you would.)\n"
			}
			for _, want := range []string{
				"8. The API's own OAuth (source: oauth): AsanaApp's API wants an access token of your\n",
				say,
				"   came back to the app's loopback redirect_url: HTTP 200.\n",
				"   Stored: asana-app.refresh-token = [redacted], and nothing else.\n",
				"   The model calls AsanaApp___asanaInvoke {\"tool_name\":\"get_me\"}; the API received\n" +
					"     X-Asana-Token: Bearer [redacted]   <- an access token agw-proxy minted (it lives 2s here)\n",
				"     X-Asana-Token: Bearer [redacted]   <- a new one: agw-proxy refreshed before the call\n",
				"   1 refresh for this call and 0 tokens refused;",
			} {
				if !strings.Contains(text, want) {
					t.Errorf("step 8 lacks %q:\n%s", want, text)
				}
			}
			if _, err := os.Stat(opened); err == nil {
				t.Error("the login's one-time URL went to the system's browser opener")
			}
			c := d.sim.ProviderCounts()
			if c.Logins != 1 || c.Refreshes != 2 || c.StaleRefreshes != 0 || c.ExpiredRejected+c.Rejected != 0 {
				t.Errorf("provider counts %+v: want 1 login, 2 refreshes (the first token, the expired one), nothing refused", c)
			}
			access, refresh := d.sim.ProviderAppTokens()
			if err := leakcheck.Text(text, append(access, refresh...)...); err != nil {
				t.Error(err)
			}
			// The store holds the newest refresh token, and nothing else
			// of the login.
			stored, err := d.secrets.Get(ctx, d.profile.Name, secretsource.RefreshTokenName(demoAppSecret))
			if err != nil || string(stored) != refresh[len(refresh)-1] {
				t.Errorf("stored refresh token: %v; want the newest", err)
			}
		})
	}
}

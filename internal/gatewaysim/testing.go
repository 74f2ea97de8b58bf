package gatewaysim

import (
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// CleanupTB is the part of testing.TB that StartForTest uses.
type CleanupTB interface {
	Helper()
	Fatalf(format string, args ...any)
	Cleanup(func())
}

// StartForTest starts an emulator for a test and closes it when the test
// ends; a failure to start fails the test.
func StartForTest(t CleanupTB, opts Options) *Sim {
	t.Helper()
	s, err := Start(opts)
	if err != nil {
		t.Fatalf("gatewaysim: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// BrowserVisit is where a played browser ended up: the last URL it
// loaded and the answer's status.
type BrowserVisit struct {
	URL    *url.URL
	Status int
}

// ConsentInBrowser plays a user's browser on a 3LO authorization URL (the
// url of a URL elicitation): it follows the redirects to the provider's
// consent page, submits its form with decision ("allow" or "deny"), and
// follows the redirects from there, through AgentCore Identity, to the
// return URL, which it loads too. It returns the return URL visit (with
// its session_id). hc nil means a plain client with a 10 s timeout.
func ConsentInBrowser(ctx context.Context, hc *http.Client, authorizationURL, decision string) (BrowserVisit, error) {
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	c := *hc
	var last *url.URL
	c.CheckRedirect = func(r *http.Request, via []*http.Request) error {
		if len(via) >= 10 {
			return errors.New("too many redirects")
		}
		return nil
	}
	get := func(req *http.Request) (*http.Response, []byte, error) {
		resp, err := c.Do(req)
		if err != nil {
			return nil, nil, err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		last = resp.Request.URL
		return resp, body, err
	}
	req, err := http.NewRequestWithContext(ctx, "GET", authorizationURL, nil)
	if err != nil {
		return BrowserVisit{}, err
	}
	resp, page, err := get(req)
	if err != nil {
		return BrowserVisit{}, fmt.Errorf("gatewaysim: open authorization URL: %w", err)
	}
	if resp.StatusCode != http.StatusOK || last.Path != ProviderAuthorizePath {
		return BrowserVisit{URL: last, Status: resp.StatusCode}, fmt.Errorf("gatewaysim: authorization URL led to HTTP %d at %s, not the consent page", resp.StatusCode, last.Path)
	}
	form := url.Values{"decision": {decision}}
	// The hidden inputs of the provider's consent form (compiled here, not
	// at init: start-up is a budget).
	consentInput := regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)
	for _, m := range consentInput.FindAllStringSubmatch(string(page), -1) {
		form.Set(m[1], html.UnescapeString(m[2]))
	}
	req, err = http.NewRequestWithContext(ctx, "POST", last.String(), strings.NewReader(form.Encode()))
	if err != nil {
		return BrowserVisit{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, _, err = get(req)
	if err != nil {
		return BrowserVisit{URL: last}, fmt.Errorf("gatewaysim: after consent: %w", err)
	}
	return BrowserVisit{URL: last, Status: resp.StatusCode}, nil
}

package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"time"

	"github.com/agw-proxy/agw-proxy/tokenstore"
)

// A target that rejects the token a call carried in an argument or header
// answers HTTP 401; the Gateway turns that into an isError result. With the
// Gateway's debug messages on (exceptionLevel DEBUG) the result says so: its
// content[0].text and _meta.debug.text carry the target's status ("target
// responded with HTTP 401: ..."). Without them it is the generic "An
// internal error occurred. Please retry later.", the same as for any other
// failure of the target, which may have run the call.
//
// So for a rule whose secret is an OAuth access token (SourceOAuth): a
// result that shows a 401 refreshes the token and sends the call once more
// (a rejected call did not run); the generic error refreshes it too, at
// most once a minute per secret, so the next call carries a new token, but
// is not retried, since the call may have run.
//
// Who wrote the text decides what it may say. _meta.debug.text is the
// Gateway's own. content[0].text of a failed call may be the target's own
// words (an MCP server's tool output, which may quote any page it
// fetched): it counts only when it starts with the Gateway's own wording of
// a target's status, and then only that status counts, not what the
// target's body says after it.

// gatewayInternalError is the text of a failed target call's result when
// the Gateway's debug messages are off.
const gatewayInternalError = "An internal error occurred. Please retry later."

// gatewayStatusText is how the Gateway's debug message gives the target's
// HTTP status.
var gatewayStatusText = regexp.MustCompile(`(?i)^target responded with HTTP (\d{3})\b`)

// unauthorizedText matches a target's 401 in a debug message of another
// wording.
var unauthorizedText = regexp.MustCompile(`(?i)\b(http|status|status code)[ :=]*401\b|\b401 unauthorized\b`)

// maybeRefreshEvery bounds the refreshes the generic error causes, per
// secret: a target that fails every call (it is down) must not take every
// call to its provider's token endpoint.
const maybeRefreshEvery = time.Minute

// saysUnauthorized reports whether text shows a target's 401: by the
// Gateway's wording of the status, or, when the text is the Gateway's own
// (debug), by any wording of a 401.
func saysUnauthorized(text string, gatewayOwn bool) bool {
	text = strings.TrimSpace(text)
	if m := gatewayStatusText.FindStringSubmatch(text); m != nil {
		return m[1] == "401"
	}
	return gatewayOwn && unauthorizedText.MatchString(text)
}

// How a call's result speaks of the token it carried.
type rejection int

const (
	notRejected   rejection = iota // a success, or a failure for another reason
	maybeRejected                  // the generic error: no telling
	rejected                       // the target answered 401
)

// rejectionOf reads a tools/call result.
func rejectionOf(res json.RawMessage) rejection {
	// Most results are not errors, and some are megabytes: a look at the
	// top-level isError comes before decoding.
	isError := make([][]byte, 1)
	if fields(res, isErrorField, isError) && string(isError[0]) != "true" {
		return notRejected
	}
	var r struct {
		IsError bool `json:"isError"`
		Content []struct {
			Text string `json:"text"`
		} `json:"content"`
		Meta struct {
			Debug struct {
				Text string `json:"text"`
			} `json:"debug"`
		} `json:"_meta"`
	}
	if json.Unmarshal(res, &r) != nil || !r.IsError {
		return notRejected
	}
	var text string
	if len(r.Content) > 0 {
		text = r.Content[0].Text
	}
	switch {
	case saysUnauthorized(r.Meta.Debug.Text, true), saysUnauthorized(text, false):
		return rejected
	case strings.TrimSpace(text) == gatewayInternalError:
		return maybeRejected
	}
	return notRejected
}

var isErrorField = []string{"isError"}

// maybeRefresh reports whether the generic error may refresh secret now,
// and if so notes that it does.
func (p *Proxy) maybeRefresh(secret string) bool {
	p.secretsMu.Lock()
	defer p.secretsMu.Unlock()
	now := timeNow()
	if last, ok := p.maybeRefreshed[secret]; ok && now.Sub(last) < maybeRefreshEvery {
		return false
	}
	if p.maybeRefreshed == nil {
		p.maybeRefreshed = map[string]time.Time{}
	}
	p.maybeRefreshed[secret] = now
	return true
}

// refreshRejected handles a result that may show the target rejected the
// OAuth tokens in sent: it asks the source for new ones. retry reports
// that the call should be sent again (the result showed a 401 and every
// token was refreshed); failed is a tool result for the model when a
// refresh needs the user (a login).
func (p *Proxy) refreshRejected(ctx context.Context, tool string, sent []ruleValue, res json.RawMessage) (retry bool, failed json.RawMessage, err error) {
	refresher, ok := p.opts.Secrets.(SecretRefresher)
	if !ok {
		return false, nil, nil
	}
	var oauth []ruleValue
	for _, v := range sent {
		if v.rule.Source == SourceOAuth {
			oauth = append(oauth, v)
		}
	}
	if len(oauth) == 0 {
		return false, nil, nil
	}
	how := rejectionOf(res)
	if how == notRejected {
		return false, nil, nil
	}
	if how == maybeRejected {
		var due []ruleValue
		for _, v := range oauth {
			if p.maybeRefresh(v.rule.Secret) {
				due = append(due, v)
			}
		}
		if oauth = due; len(oauth) == 0 {
			return false, nil, nil
		}
	}
	for _, v := range oauth {
		s, err := refresher.RefreshSecret(ctx, v.rule.Secret, v.raw)
		if err == nil {
			_, err = p.checkSecret(v.rule.Secret, s)
		}
		if err != nil {
			p.log.Warn("token refresh after a rejected call failed", "tool", tool, "secret", v.rule.Secret, "error", p.redact(err))
			if how == rejected || errors.Is(err, tokenstore.ErrLoginNeeded) {
				failed, err := errorResult("%s", p.ruleSecretMessage(v.rule, err))
				return false, failed, err
			}
			return false, nil, nil
		}
	}
	if how == rejected {
		p.log.Info("the target rejected the token; refreshed it, retrying the call once", "tool", tool)
		return true, nil, nil
	}
	p.log.Debug("a call with an OAuth token failed without detail; refreshed the token for the next call", "tool", tool)
	return false, nil, nil
}

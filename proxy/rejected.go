package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"strings"

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
// (a rejected call did not run); the generic error refreshes it too, so the
// next call carries a new token, but is not retried, since the call may
// have run.

// gatewayInternalError is the text of a failed target call's result when
// the Gateway's debug messages are off.
const gatewayInternalError = "An internal error occurred. Please retry later."

// unauthorizedText matches a target's 401 in a debug message.
var unauthorizedText = regexp.MustCompile(`(?i)\b(http|status|status code)[ :=]*401\b|\b401 unauthorized\b`)

// How a call's result speaks of the token it carried.
type rejection int

const (
	notRejected   rejection = iota // a success, or a failure for another reason
	maybeRejected                  // the generic error: no telling
	rejected                       // the target answered 401
)

// rejectionOf reads a tools/call result.
func rejectionOf(res json.RawMessage) rejection {
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
	case unauthorizedText.MatchString(r.Meta.Debug.Text), unauthorizedText.MatchString(text):
		return rejected
	case strings.TrimSpace(text) == gatewayInternalError:
		return maybeRejected
	}
	return notRejected
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

package proxy

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/agw-proxy/agw-proxy/internal/httpheader"
	"github.com/agw-proxy/agw-proxy/tokenstore"
)

// Header mode (Rule.Via = ViaHeader): the secret travels as an HTTP header
// of the POST that carries one tools/call, for the Gateway to propagate to
// the target (metadataConfiguration.allowedRequestHeaders), and never in the
// JSON-RPC body. request decides the headers with the arguments; forward
// puts them on the call's context; gatewayHTTP.post takes them from there
// for a tools/call only, onto that one POST: not onto the cancellation it
// may send after it, nor onto an answer to the Gateway's request on the
// call's stream, nor onto any request of another method. Nothing logs a
// request's headers, and the guarded HTTP client follows no redirect of a
// POST, so the header goes to the Gateway's URL and nowhere else.

// ruleValue is a rule and the value a call gets from it.
type ruleValue struct {
	rule  *Rule
	value tokenstore.Secret
	raw   tokenstore.Secret // the secret itself, before the format
}

// A callHeader is one header of a header rule: its name and value.
type callHeader struct {
	name  string
	value tokenstore.Secret
}

// callHeaders are the header rules' headers of one tools/call.
type callHeaders []callHeader

// splitValues sorts a call's values: by argument, those of argument rules;
// the headers and the arguments to drop from the body, those of header
// rules. A value a header cannot carry (a line break, a non-ASCII byte, more
// than httpheader.MaxValueSize bytes) is a tool result for the model, which
// names the secret, not the value.
func splitValues(values []ruleValue) (args map[string]tokenstore.Secret, headers callHeaders, drop []string, failed json.RawMessage, err error) {
	args = make(map[string]tokenstore.Secret, len(values))
	for _, v := range values {
		if !v.rule.header() {
			args[v.rule.Argument] = v.value
			continue
		}
		if !httpheader.ValidValue(string(v.value)) {
			failed, err := errorResult("the secret %q cannot be sent as the header %s: with its format it is empty, longer than %d bytes, or holds a line break, a control character, a non-ASCII character or surrounding blanks; store it again with the whole value on one line",
				v.rule.Secret, v.rule.Argument, httpheader.MaxValueSize)
			return nil, nil, nil, failed, err
		}
		headers = append(headers, callHeader{http.CanonicalHeaderKey(v.rule.Argument), v.value})
		drop = append(drop, v.rule.Argument)
	}
	return args, headers, drop, nil, nil
}

type callHeadersKey struct{}

// withCallHeaders returns ctx carrying h for the tools/call posted under it.
func withCallHeaders(ctx context.Context, h callHeaders) context.Context {
	if len(h) == 0 {
		return ctx
	}
	return context.WithValue(ctx, callHeadersKey{}, h)
}

// callHeadersFrom returns the headers withCallHeaders put on ctx.
func callHeadersFrom(ctx context.Context) callHeaders {
	h, _ := ctx.Value(callHeadersKey{}).(callHeaders)
	return h
}

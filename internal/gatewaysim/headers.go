package gatewaysim

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// Header propagation (AWS gateway-headers, API MetadataConfiguration): a
// target's allowlists of request headers, response headers and query
// parameters (1 to 10 names each; header names up to 100 characters,
// query parameter names up to 40). An allowlisted header on the client's
// POST to /mcp is forwarded on that target's calls; everything else the
// client sends stays at the Gateway.
//
// What the emulator does where AWS is silent (guesses):
//   - The restricted names below are refused when the target is configured
//     (AWS: "Authorization, Cookie, Content-Type, Mcp-Session-Id and
//     similar"; the rest of the list is hop-by-hop and framing headers, the
//     MCP transport's own headers and X-Amz-*).
//   - A header the OpenAPI operation declares as a parameter (say a
//     required X-Asana-Token) and that the arguments leave out is taken
//     from the propagated header of the same name: the call goes ahead and
//     the backend receives the propagated value. The Gateway does not check
//     required arguments in the emulator (as before), and a Gateway that
//     refused such a call would make propagation useless for exactly the
//     headers an API declares. When the arguments carry the header too,
//     the argument wins: it is the call's own input.
//   - Allowlisted query parameters on the /mcp URL go to the target's
//     query; allowedResponseHeaders is checked but not applied (the
//     emulator does not copy target response headers to the client).

// MaxMetadataNames is how many names each metadataConfiguration list holds.
const MaxMetadataNames = 10

// MetadataConfiguration is a target's metadataConfiguration.
type MetadataConfiguration struct {
	AllowedRequestHeaders  []string
	AllowedResponseHeaders []string
	AllowedQueryParameters []string
}

// restrictedHeaders cannot be allowlisted (lower case).
var restrictedHeaders = map[string]bool{
	"authorization": true, "cookie": true, "set-cookie": true, "content-type": true,
	"content-length": true, "content-encoding": true, "transfer-encoding": true,
	"host": true, "connection": true, "keep-alive": true, "upgrade": true, "te": true,
	"trailer": true, "proxy-authorization": true, "proxy-authenticate": true, "expect": true,
	"mcp-session-id": true, "mcp-protocol-version": true, "mcp-method": true, "mcp-name": true,
	"last-event-id": true, "accept": true, "www-authenticate": true,
}

// restrictedHeader reports whether name cannot be propagated.
func restrictedHeader(name string) bool {
	l := strings.ToLower(name)
	return restrictedHeaders[l] || strings.HasPrefix(l, "x-amz-") || strings.HasPrefix(l, "mcp-param-")
}

// validate refuses what CreateGatewayTarget refuses (a 400
// ValidationException on AWS): empty or overlong lists, bad names,
// restricted headers.
func (m *MetadataConfiguration) validate(target string) error {
	check := func(list, what string, names []string, maxLen int, header bool) error {
		if names == nil {
			return nil
		}
		if len(names) < 1 || len(names) > MaxMetadataNames {
			return fmt.Errorf("gatewaysim: target %s: metadataConfiguration.%s: want 1 to %d names, got %d", target, list, MaxMetadataNames, len(names))
		}
		for _, n := range names {
			if n == "" || len(n) > maxLen || strings.ContainsAny(n, " \t\r\n:") {
				return fmt.Errorf("gatewaysim: target %s: metadataConfiguration.%s: %s %q: want 1 to %d characters, no spaces or colons", target, list, what, n, maxLen)
			}
			if header && restrictedHeader(n) {
				return fmt.Errorf("gatewaysim: target %s: metadataConfiguration.%s: header %q cannot be propagated", target, list, n)
			}
		}
		return nil
	}
	if err := check("allowedRequestHeaders", "header", m.AllowedRequestHeaders, 100, true); err != nil {
		return err
	}
	if err := check("allowedResponseHeaders", "header", m.AllowedResponseHeaders, 100, true); err != nil {
		return err
	}
	return check("allowedQueryParameters", "query parameter", m.AllowedQueryParameters, 40, false)
}

// mcpQueryHeader carries the query of the POST to /mcp to the tool
// handler (go-sdk hands handlers the request's headers, not its URL).
// serveMCP sets it; a client's own value is dropped first.
const mcpQueryHeader = "X-Agwsim-Mcp-Query"

// propagate copies the allowlisted headers and query parameters of the
// client's request (in) onto the target request's header and query,
// without overriding what the arguments set.
func (m *MetadataConfiguration) propagate(in http.Header, header http.Header, query url.Values) {
	if m == nil || in == nil {
		return
	}
	for _, name := range m.AllowedRequestHeaders {
		vs := in.Values(name)
		if len(vs) == 0 || header.Get(name) != "" {
			continue
		}
		header[http.CanonicalHeaderKey(name)] = append([]string(nil), vs...)
	}
	if len(m.AllowedQueryParameters) == 0 {
		return
	}
	q, err := url.ParseQuery(in.Get(mcpQueryHeader))
	if err != nil {
		return
	}
	for _, name := range m.AllowedQueryParameters {
		if vs, ok := q[name]; ok && !query.Has(name) {
			query[name] = vs
		}
	}
}

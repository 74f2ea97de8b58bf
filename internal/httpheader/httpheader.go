// Package httpheader says which HTTP header names agw-proxy may send a
// secret in (an inject rule with via: header) and which values a header can
// carry. The config decoder (internal/profile) and the proxy (proxy.Rule)
// check the same way, so a rule the config accepts is one the proxy sends.
//
//	if why := httpheader.Problem("X-Asana-Token"); why != "" {
//		// refuse the rule, saying why
//	}
package httpheader

import "strings"

// restricted are the names a rule cannot send (lower case): those the
// Gateway refuses to allowlist in a target's
// metadataConfiguration.allowedRequestHeaders (AWS: "Authorization, Cookie,
// Content-Type, Mcp-Session-Id and similar"), the headers agw-proxy sets
// itself, and hop-by-hop and framing headers, which no proxy in between
// forwards as they were sent.
var restricted = map[string]bool{
	"authorization": true, "proxy-authorization": true, "proxy-authenticate": true,
	"www-authenticate": true, "cookie": true, "set-cookie": true,
	"content-type": true, "content-length": true, "content-encoding": true,
	"transfer-encoding": true, "accept": true, "accept-encoding": true,
	"host": true, "connection": true, "proxy-connection": true, "keep-alive": true,
	"upgrade": true, "te": true, "trailer": true, "expect": true, "last-event-id": true,
}

// restrictedPrefixes are families of restricted names: the MCP transport's
// own headers (Mcp-Session-Id, Mcp-Method, Mcp-Param-*, ...) and AWS's
// (X-Amz-Date, X-Amz-Security-Token, ...).
var restrictedPrefixes = []string{"mcp-", "x-amz-"}

// MaxValueSize is the largest header value the Gateway is expected to
// propagate (gateway-facts: 4096 bytes, inferred).
const MaxValueSize = 4096

// Problem says why name cannot carry a secret to the Gateway, or "" when it
// can: it must be an HTTP token (RFC 9110 field-name: letters, digits and
// !#$%&'*+-.^_`|~) and not a restricted name.
func Problem(name string) string {
	if !ValidName(name) {
		return "is not a valid HTTP header name (letters, digits and !#$%&'*+-.^_`|~ only, no spaces or colons)"
	}
	if Restricted(name) {
		return "is a header the Gateway does not propagate (Authorization, Cookie, Content-Type, Host, Mcp-*, X-Amz-* and hop-by-hop headers cannot be allowlisted)"
	}
	return ""
}

// ValidName reports whether name is an HTTP token (1*tchar).
func ValidName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// Restricted reports whether name, in any letter case, is one a rule cannot
// send.
func Restricted(name string) bool {
	l := strings.ToLower(name)
	if restricted[l] {
		return true
	}
	for _, p := range restrictedPrefixes {
		if strings.HasPrefix(l, p) {
			return true
		}
	}
	return false
}

// ValidValue reports whether v can be sent as a header value as it is:
// visible ASCII, spaces and tabs, not starting or ending with a blank (which
// HTTP strips). A secret that is not is refused rather than encoded: the
// receiving API would not decode it.
func ValidValue(v string) bool {
	if v == "" || len(v) > MaxValueSize {
		return false
	}
	if v[0] == ' ' || v[0] == '\t' || v[len(v)-1] == ' ' || v[len(v)-1] == '\t' {
		return false
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c != '\t' && (c < 0x20 || c > 0x7e) {
			return false
		}
	}
	return true
}

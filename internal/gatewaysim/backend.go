package gatewaysim

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// serveBackend is every target's HTTP service (the seed's API Gateway +
// Lambda): it records the request and answers like the seed's Lambda, a
// JSON message with the body it received. Requests arrive at
// /{target}{operation path}; a target with an APIKey requires it.
func (s *Sim) serveBackend(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxResponseBytes))
	target, path, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if t, err := url.PathUnescape(target); err == nil {
		target = t
	}
	rec := Request{
		Target: target,
		Method: r.Method,
		Path:   "/" + path,
		Query:  r.URL.Query(),
		Header: r.Header.Clone(),
		Body:   body,
	}
	s.mu.Lock()
	s.received = append(s.received, rec)
	s.counts.BackendRequests++
	status := http.StatusOK
	if s.faults.backendFailN > 0 {
		s.faults.backendFailN--
		status = s.faults.backendFailStatus
	}
	ts := s.targets[target]
	s.mu.Unlock()

	// Like API Gateway with a required API key: a missing or wrong key is
	// 403 {"message":"Forbidden"}.
	if ts != nil && ts.APIKey != "" {
		got := r.URL.Query().Get(ts.APIKeyName)
		if ts.APIKeyLocation == "HEADER" {
			got = r.Header.Get(ts.APIKeyName)
		}
		if got != ts.APIKeyPrefix+ts.APIKey {
			writeJSON(w, http.StatusForbidden, map[string]string{"message": "Forbidden"})
			return
		}
	}

	// A 3LO target's API (Asana) wants a token its OAuth server issued.
	if ts != nil && ts.OAuth != nil && !s.checkProviderBearer(r) {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"errors": []map[string]string{{"message": "Not Authorized"}}})
		return
	}

	// An API that wants the user's own token from the provider's apps
	// (RequireProviderToken): Asana's 401.
	if !s.checkUserToken(target, r.Header) {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"errors": []map[string]string{{"message": "Not Authorized"}}})
		return
	}

	var received any = json.RawMessage(body)
	if len(body) == 0 || !json.Valid(body) {
		received = string(body)
	}
	var fields struct {
		ToolName string `json:"tool_name"`
	}
	json.Unmarshal(body, &fields)
	resp := map[string]any{"received": received}
	if status >= 200 && status <= 299 {
		resp["message"] = "Asana operation " + quoteOr(fields.ToolName, "(none)") + " handled by the emulator"
	} else {
		resp["message"] = "Asana operation " + quoteOr(fields.ToolName, "(none)") + " failed: " + http.StatusText(status)
	}
	if s.opts.EchoToken {
		resp["x_asana_token"] = r.Header.Get("X-Asana-Token")
	}
	writeJSON(w, status, resp)
}

func quoteOr(s, empty string) string {
	if s == "" {
		return empty
	}
	return "'" + s + "'"
}

// Received returns every request the backend got, in order (copies).
func (s *Sim) Received() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.received))
	for i, r := range s.received {
		r.Query = cloneValues(r.Query)
		r.Header = r.Header.Clone()
		r.Body = append([]byte(nil), r.Body...)
		out[i] = r
	}
	return out
}

// ClearReceived forgets the requests recorded so far.
func (s *Sim) ClearReceived() {
	s.mu.Lock()
	s.received = nil
	s.mu.Unlock()
}

// FailBackendNext makes the backend answer the next n requests with
// status (still recording them); the Gateway turns that into an isError
// result. n <= 0 cancels a pending failure.
func (s *Sim) FailBackendNext(n, status int) {
	s.mu.Lock()
	s.faults.backendFailN, s.faults.backendFailStatus = max(n, 0), status
	s.mu.Unlock()
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

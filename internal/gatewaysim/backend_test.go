package gatewaysim

import (
	"net/http"
	"strings"
	"testing"
)

func TestBackendRequiresTheAPIKey(t *testing.T) {
	s := start(t, Options{})
	for _, tc := range []struct {
		query string
		want  int
	}{
		{"", 403},
		{"?api_key=wrong", 403},
		{"?api_key=" + DefaultAPIKey, 200},
	} {
		resp, err := http.Post(s.BackendURL+"/"+DefaultTargetName+"/asana"+tc.query, "application/json", strings.NewReader(`{"tool_name":"x"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("key %q: HTTP %d, want %d", tc.query, resp.StatusCode, tc.want)
		}
	}
	if n := len(s.Received()); n != 3 {
		t.Errorf("recorded %d requests, want all 3", n)
	}
}

package httpguard_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/agw-proxy/agw-proxy/internal/httpguard"
)

// A Gateway that redirects a tool call elsewhere gets an error, and the
// call goes nowhere.
func ExampleClient() {
	gateway := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "https://elsewhere.example/collect?token=x", http.StatusTemporaryRedirect)
	}))
	defer gateway.Close()

	client := httpguard.Client(&http.Client{Timeout: 10 * time.Second})
	_, err := client.Post(gateway.URL+"/mcp", "application/json", strings.NewReader(`{"method":"tools/call"}`))
	var re *httpguard.RedirectError
	if errors.As(err, &re) {
		fmt.Printf("refused: HTTP %d of a %s to %s\n", re.Status, re.Method, re.To)
	}
	// Output: refused: HTTP 307 of a POST to https://elsewhere.example:443
}

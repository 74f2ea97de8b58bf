package oauth

import (
	"net/http"

	"github.com/agw-proxy/agw-proxy/internal/testwait"
)

// testClient is the tests' stand-in for a browser's HTTP client: bounded.
var testClient = &http.Client{Timeout: testwait.Limit}

package proxy

import "testing"

// What a tools/call result says of the token it carried: the Gateway's
// debug message of a target's 401 (content and _meta.debug), the generic
// error, or something else.
func TestRejectionOf(t *testing.T) {
	for _, tc := range []struct {
		res  string
		want rejection
	}{
		{`{"content":[{"type":"text","text":"ok"}]}`, notRejected},
		{`{"isError":true,"content":[{"type":"text","text":"target responded with HTTP 401: {\"errors\":[{\"message\":\"Not Authorized\"}]}"}],"_meta":{"debug":{"type":"text","text":"target responded with HTTP 401: ..."}}}`, rejected},
		{`{"isError":true,"content":[{"type":"text","text":"x"}],"_meta":{"debug":{"type":"text","text":"Received status code 401 Unauthorized from target"}}}`, rejected},
		{`{"isError":true,"content":[{"type":"text","text":"An internal error occurred. Please retry later."}]}`, maybeRejected},
		{`{"isError":true,"content":[{"type":"text","text":"target responded with HTTP 500: boom"}]}`, notRejected},
		{`{"isError":true,"content":[{"type":"text","text":"order 4012 not found"}]}`, notRejected},
		{`{"content":[{"type":"text","text":"HTTP 401 is in the data, not an error"}]}`, notRejected},
		{`not json`, notRejected},
	} {
		if got := rejectionOf([]byte(tc.res)); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.res, got, tc.want)
		}
	}
}

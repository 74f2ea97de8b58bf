package awsapi

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// S3 GetObject, for a target's OpenAPI schema kept in S3.

// GetObject returns the object uri ("s3://bucket/key"), at most MaxSchema
// bytes. On AWS it is addressed virtual-hosted style; through an endpoint
// override, path style (what local stand-ins and VPC endpoints serve).
func (c *Client) GetObject(ctx context.Context, uri string) ([]byte, error) {
	const action = "s3:GetObject"
	rest, ok := strings.CutPrefix(uri, "s3://")
	bucket, key, _ := strings.Cut(rest, "/")
	if !ok || bucket == "" || key == "" {
		return nil, &Error{Action: action, Err: fmt.Errorf("%q is not an s3://bucket/key URI", uri)}
	}
	escKey := (&url.URL{Path: "/" + key}).EscapedPath()
	return c.call(ctx, svcS3, action, MaxSchema, func(ctx context.Context, base string, overridden bool) (*http.Request, []byte, error) {
		u := base + "/" + url.PathEscape(bucket) + escKey
		if !overridden {
			u = "https://" + bucket + "." + strings.TrimPrefix(base, "https://") + escKey
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		return req, nil, err
	})
}

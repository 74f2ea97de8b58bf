package awsiam

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/agw-proxy/agw-proxy/tokenstore"
)

// Service is the SigV4 signing name of the AgentCore Gateway (the
// bedrock-agentcore data plane).
const Service = "bedrock-agentcore"

// MaxBody bounds a request body that has to be read to be hashed (one
// without GetBody: every request the proxy and the go-sdk send has one).
// The Gateway's payload limit is 6 MB; a little more is let through so
// that the Gateway, not the proxy, says a request is too large.
const MaxBody = 6<<20 + 64<<10

// emptyHash is the SHA-256 of no bytes, the payload hash of a GET or a
// DELETE.
const emptyHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// Transport signs every request with SigV4 (service Service unless
// Service is set, in Region) with Credentials before Base sends it. It is
// the seam every request to an AWS_IAM Gateway passes: the go-sdk's
// (initialize, the event stream's GET, the session's DELETE) and the
// proxy's own POSTs alike.
type Transport struct {
	Base        http.RoundTripper // nil means http.DefaultTransport
	Credentials *Credentials
	Region      string
	Service     string
	// Now is the signing clock; nil means time.Now.
	Now func() time.Time
}

// RoundTrip implements http.RoundTripper. The request is not changed: a
// signed clone goes on. The payload hash is taken over the body's exact
// bytes, read through GetBody when the request has it (the body itself is
// left for Base to send), else read once into memory (at most MaxBody).
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	creds, err := t.Credentials.Retrieve(ctx)
	if err != nil {
		closeBody(req)
		return nil, err
	}
	out := req.Clone(ctx)
	hash, err := payloadHash(req, out)
	if err != nil {
		closeBody(req)
		return nil, err
	}
	// A request sent again (a redirect the guard follows) is signed anew.
	out.Header.Del("Authorization")
	out.Header.Del("X-Amz-Date")
	out.Header.Del("X-Amz-Security-Token")
	service := t.Service
	if service == "" {
		service = Service
	}
	now := time.Now
	if t.Now != nil {
		now = t.Now
	}
	if err := v4.NewSigner().SignHTTP(ctx, creds, out, hash, service, t.Region, now()); err != nil {
		closeBody(req)
		return nil, fmt.Errorf("awsiam: signing the request: %w", err)
	}
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	resp, err := base.RoundTrip(out)
	if err != nil || (resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusForbidden) {
		return resp, err
	}
	if refused := refusal(resp, service, t.Region); refused != nil {
		// Credentials that were refused are fetched again next time: the
		// user may have fixed them, or they were revoked early.
		t.Credentials.Invalidate()
		return nil, refused
	}
	return resp, nil
}

// A RefusedError is the Gateway's refusal of a signed request: AWS's
// authentication or authorization error (a wrong key, a wrong region, an
// expired session, a missing permission), not MCP's. It Is
// tokenstore.ErrLoginNeeded: the request did not run, and only the user
// can fix it.
type RefusedError struct {
	SignatureError
	Region  string
	Service string
}

func (e *RefusedError) Error() string {
	msg := "the Gateway refused the request's AWS signature (" + e.SignatureError.Error() + ")"
	switch e.Type {
	case "AccessDeniedException":
		return msg + ": the AWS identity needs bedrock-agentcore:InvokeGateway on this Gateway"
	case "InvalidSignatureException", "IncompleteSignatureException":
		return msg + fmt.Sprintf(": check the signing region (%s) against the Gateway's, and the secret access key", e.Region)
	case "UnrecognizedClientException", "InvalidClientTokenId", "ExpiredTokenException", "ExpiredToken":
		return msg + ": the AWS credentials are expired or not valid; renew them (for SSO, aws sso login)"
	}
	return msg
}

// Is makes a RefusedError a tokenstore.ErrLoginNeeded.
func (e *RefusedError) Is(target error) bool { return target == tokenstore.ErrLoginNeeded }

// refusal reads an AWS error out of a 401 or 403 answer (the
// x-amzn-ErrorType header, or a JSON body with a message and no JSON-RPC),
// closing the body; nil, with the body untouched, for any other answer.
func refusal(resp *http.Response, service, region string) *RefusedError {
	errType, _, _ := strings.Cut(resp.Header.Get("X-Amzn-Errortype"), ":")
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if errType == "" && mt != "application/json" && mt != "application/x-amz-json-1.1" {
		return nil
	}
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	var body struct {
		JSONRPC  string `json:"jsonrpc"`
		Type     string `json:"__type"`
		Message  string `json:"message"`
		Message2 string `json:"Message"`
	}
	_ = json.Unmarshal(data, &body)
	if errType == "" && (body.JSONRPC != "" || (body.Message == "" && body.Message2 == "")) {
		// An MCP answer: give it back whole.
		resp.Body = io.NopCloser(bytes.NewReader(data))
		return nil
	}
	if errType == "" {
		errType = body.Type
		if i := strings.LastIndexByte(errType, '#'); i >= 0 {
			errType = errType[i+1:]
		}
	}
	msg := body.Message
	if msg == "" {
		msg = body.Message2
	}
	return &RefusedError{SignatureError: SignatureError{Status: resp.StatusCode, Type: errType, Message: firstLine(msg)}, Region: region, Service: service}
}

// CloseIdleConnections closes Base's idle connections.
func (t *Transport) CloseIdleConnections() {
	if c, ok := t.Base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// payloadHash returns the hex SHA-256 of req's body. When the body had to
// be read, out gets a new one over the bytes read.
func payloadHash(req, out *http.Request) (string, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return emptyHash, nil
	}
	h := sha256.New()
	if req.GetBody != nil {
		r, err := req.GetBody()
		if err != nil {
			return "", fmt.Errorf("awsiam: reading the request body to sign it: %w", err)
		}
		// A bytes.Reader (what http.NewRequest was given) writes its
		// slice straight into the hash: no copy.
		_, err = io.Copy(h, r)
		r.Close()
		if err != nil {
			return "", fmt.Errorf("awsiam: reading the request body to sign it: %w", err)
		}
		return hex.EncodeToString(h.Sum(nil)), nil
	}
	data, err := io.ReadAll(io.LimitReader(req.Body, MaxBody+1))
	req.Body.Close()
	if err != nil {
		return "", fmt.Errorf("awsiam: reading the request body to sign it: %w", err)
	}
	if len(data) > MaxBody {
		return "", fmt.Errorf("awsiam: request body over %d bytes, the Gateway's payload limit", MaxBody)
	}
	out.Body = io.NopCloser(bytes.NewReader(data))
	out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
	out.ContentLength = int64(len(data))
	h.Write(data)
	return hex.EncodeToString(h.Sum(nil)), nil
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

// Package sigv4test is an HTTP front for tests that verifies AWS SigV4 on
// every request before passing it on, the way an AWS_IAM Gateway does:
// the key pair, the scope (region and service), the time, and the
// signature over the method, path, query, signed headers and the SHA-256
// of the exact body received. A request that fails gets 403 with AWS's
// error shape (x-amzn-ErrorType and a JSON message).
//
// The signature is recomputed with the AWS SDK's signer over a request
// rebuilt from what arrived (only the signed headers), so a signer that
// signs other bytes than it sends, or for another scope, fails here.
package sigv4test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// A Key is a key pair the front accepts; Token, when set, must come as
// X-Amz-Security-Token (temporary credentials).
type Key struct {
	ID, Secret, Token string
}

// A Seen is one request the front verified.
type Seen struct {
	Method string
	KeyID  string
	Err    string // "" when the signature held
	Body   int    // bytes of body
}

// Front verifies SigV4 and passes good requests to Next.
type Front struct {
	Region, Service string
	Next            http.Handler

	mu   sync.Mutex
	keys map[string]Key
	seen []Seen
}

// New returns a Front accepting keys.
func New(region, service string, next http.Handler, keys ...Key) *Front {
	f := &Front{Region: region, Service: service, Next: next, keys: map[string]Key{}}
	for _, k := range keys {
		f.keys[k.ID] = k
	}
	return f
}

// Allow adds a key pair (a credential process's next one).
func (f *Front) Allow(k Key) {
	f.mu.Lock()
	f.keys[k.ID] = k
	f.mu.Unlock()
}

// Seen returns the requests so far.
func (f *Front) Seen() []Seen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.seen)
}

func (f *Front) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	keyID, errType, msg := f.verify(r, body)
	f.mu.Lock()
	f.seen = append(f.seen, Seen{Method: r.Method, KeyID: keyID, Err: errType, Body: len(body)})
	f.mu.Unlock()
	if errType != "" {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Amzn-Errortype", errType+":http://internal.amazon.com/coral/com.amazon.coral.service/")
		w.WriteHeader(http.StatusForbidden)
		_ = json.NewEncoder(w).Encode(map[string]string{"message": msg})
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	f.Next.ServeHTTP(w, r)
}

// verify returns the key ID and, when the signature does not hold, the AWS
// error type and message.
func (f *Front) verify(r *http.Request, body []byte) (keyID, errType, msg string) {
	authz := r.Header.Get("Authorization")
	rest, ok := strings.CutPrefix(authz, "AWS4-HMAC-SHA256 ")
	if !ok {
		return "", "MissingAuthenticationTokenException", "Missing Authentication Token"
	}
	fields := map[string]string{}
	for part := range strings.SplitSeq(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		fields[k] = v
	}
	scope := strings.Split(fields["Credential"], "/")
	if len(scope) != 5 || scope[4] != "aws4_request" {
		return "", "IncompleteSignatureException", "bad Credential"
	}
	keyID = scope[0]
	f.mu.Lock()
	key, known := f.keys[keyID]
	f.mu.Unlock()
	if !known || key.Token != r.Header.Get("X-Amz-Security-Token") {
		return keyID, "UnrecognizedClientException", "The security token included in the request is invalid."
	}
	if scope[2] != f.Region || scope[3] != f.Service {
		return keyID, "InvalidSignatureException", fmt.Sprintf("Credential should be scoped to a valid region and service (%s, %s)", f.Region, f.Service)
	}
	at, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil || at.Format("20060102") != scope[1] {
		return keyID, "IncompleteSignatureException", "bad X-Amz-Date"
	}
	if d := time.Since(at); d > 5*time.Minute || d < -5*time.Minute {
		return keyID, "InvalidSignatureException", "Signature expired"
	}
	signed := strings.Split(fields["SignedHeaders"], ";")
	if !slices.Contains(signed, "host") {
		return keyID, "InvalidSignatureException", "'Host' must be a 'SignedHeader'"
	}
	// The request as it was signed: the signed headers alone.
	u := *r.URL
	u.Scheme, u.Host = "http", r.Host
	req, err := http.NewRequest(r.Method, u.String(), nil)
	if err != nil {
		return keyID, "InvalidSignatureException", err.Error()
	}
	for _, h := range signed {
		switch h {
		case "host", "x-amz-date", "x-amz-security-token":
		case "content-length":
			req.ContentLength = int64(len(body))
		default:
			req.Header[textproto.CanonicalMIMEHeaderKey(h)] = r.Header.Values(h)
		}
	}
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: key.ID, SecretAccessKey: key.Secret, SessionToken: key.Token}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), f.Service, f.Region, at); err != nil {
		return keyID, "InvalidSignatureException", err.Error()
	}
	want := map[string]string{}
	for part := range strings.SplitSeq(strings.TrimPrefix(req.Header.Get("Authorization"), "AWS4-HMAC-SHA256 "), ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		want[k] = v
	}
	if want["SignedHeaders"] != fields["SignedHeaders"] || want["Signature"] != fields["Signature"] {
		return keyID, "InvalidSignatureException", "The request signature we calculated does not match the signature you provided."
	}
	return keyID, "", ""
}

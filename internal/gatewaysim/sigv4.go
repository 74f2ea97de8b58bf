package gatewaysim

import (
	"cmp"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// AWS Signature Version 4, the authorization of every AgentCore data-plane
// API (service name bedrock-agentcore), reduced to what the emulator
// needs: header-based signing of a request with a JSON body.

const sigV4Algorithm = "AWS4-HMAC-SHA256"

// sigV4Service is the signing name of the AgentCore data plane.
const sigV4Service = "bedrock-agentcore"

// SignV4 signs req (whose body is body) in place with the access key pair
// for region and service at t: it sets X-Amz-Date,
// X-Amz-Content-Sha256 and Authorization. It is what an AWS SDK does, for
// tests and for callers that hold IAM credentials.
func SignV4(req *http.Request, body []byte, accessKeyID, secretAccessKey, region, service string, t time.Time) {
	amzDate := t.UTC().Format("20060102T150405Z")
	req.Header.Set("X-Amz-Date", amzDate)
	req.Header.Set("X-Amz-Content-Sha256", hexSHA256(body))
	if req.Host == "" {
		req.Host = req.URL.Host
	}
	signed := []string{"host", "x-amz-content-sha256", "x-amz-date"}
	if req.Header.Get("Content-Type") != "" {
		signed = append(signed, "content-type")
	}
	slices.Sort(signed)
	scope := amzDate[:8] + "/" + region + "/" + service + "/aws4_request"
	sig := sigV4Signature(req, body, signed, secretAccessKey, amzDate, region, service)
	req.Header.Set("Authorization", fmt.Sprintf("%s Credential=%s/%s, SignedHeaders=%s, Signature=%s",
		sigV4Algorithm, accessKeyID, scope, strings.Join(signed, ";"), sig))
}

// sigV4Error is why a request's signature was refused, with the AWS error
// type and message a client would see.
type sigV4Error struct {
	errType, message string
}

// verifySigV4 checks req's SigV4 Authorization header against the one key
// pair the emulator's IAM knows, for region and the AgentCore data plane,
// within 5 minutes of now (AWS's limit).
func verifySigV4(req *http.Request, body []byte, accessKeyID, secretAccessKey, region string, now time.Time) *sigV4Error {
	authz := req.Header.Get("Authorization")
	if authz == "" {
		return &sigV4Error{"MissingAuthenticationTokenException", "Missing Authentication Token"}
	}
	rest, ok := strings.CutPrefix(authz, sigV4Algorithm+" ")
	if !ok {
		// A bearer token (a Cognito JWT, say) is not an AWS credential.
		return &sigV4Error{"IncompleteSignatureException", "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters and an AWS4-HMAC-SHA256 algorithm"}
	}
	fields := map[string]string{}
	for part := range strings.SplitSeq(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		fields[k] = v
	}
	cred, signedList, sig := fields["Credential"], fields["SignedHeaders"], fields["Signature"]
	if cred == "" || signedList == "" || sig == "" {
		return &sigV4Error{"IncompleteSignatureException", "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters"}
	}
	parts := strings.Split(cred, "/")
	if len(parts) != 5 || parts[4] != "aws4_request" {
		return &sigV4Error{"IncompleteSignatureException", "Credential should be scoped to a valid region"}
	}
	if parts[0] != accessKeyID {
		return &sigV4Error{"UnrecognizedClientException", "The security token included in the request is invalid."}
	}
	if parts[2] != region || parts[3] != sigV4Service {
		return &sigV4Error{"InvalidSignatureException", "Credential should be scoped to the correct region and service"}
	}
	amzDate := req.Header.Get("X-Amz-Date")
	t, err := time.Parse("20060102T150405Z", amzDate)
	if err != nil || amzDate[:8] != parts[1] {
		return &sigV4Error{"IncompleteSignatureException", "Date must be in ISO-8601 'basic format' and match the credential scope"}
	}
	if d := now.Sub(t); d > 5*time.Minute || d < -5*time.Minute {
		return &sigV4Error{"InvalidSignatureException", "Signature expired"}
	}
	signed := strings.Split(signedList, ";")
	if !slices.Contains(signed, "host") {
		return &sigV4Error{"InvalidSignatureException", "'Host' must be a 'SignedHeader' in the AWS Authorization."}
	}
	want := sigV4Signature(req, body, signed, secretAccessKey, amzDate, region, sigV4Service)
	if !hmac.Equal([]byte(want), []byte(sig)) {
		return &sigV4Error{"InvalidSignatureException", "The request signature we calculated does not match the signature you provided."}
	}
	return nil
}

func sigV4Signature(req *http.Request, body []byte, signed []string, secret, amzDate, region, service string) string {
	var canon strings.Builder
	canon.WriteString(req.Method + "\n")
	canon.WriteString(canonicalURI(req.URL) + "\n")
	canon.WriteString(canonicalQuery(req.URL.Query()) + "\n")
	for _, h := range signed {
		v := req.Header.Get(h)
		if h == "host" {
			v = cmp.Or(req.Host, req.URL.Host)
		}
		canon.WriteString(h + ":" + strings.Join(strings.Fields(v), " ") + "\n")
	}
	canon.WriteString("\n" + strings.Join(signed, ";") + "\n")
	canon.WriteString(hexSHA256(body))
	scope := amzDate[:8] + "/" + region + "/" + service + "/aws4_request"
	toSign := sigV4Algorithm + "\n" + amzDate + "\n" + scope + "\n" + hexSHA256([]byte(canon.String()))
	k := hmacSHA256([]byte("AWS4"+secret), amzDate[:8])
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, service)
	k = hmacSHA256(k, "aws4_request")
	return hex.EncodeToString(hmacSHA256(k, toSign))
}

func canonicalURI(u *url.URL) string {
	p := u.EscapedPath()
	if p == "" {
		return "/"
	}
	return p
}

func canonicalQuery(q url.Values) string {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var out []string
	for _, k := range keys {
		vs := slices.Clone(q[k])
		slices.Sort(vs)
		for _, v := range vs {
			out = append(out, awsEscape(k)+"="+awsEscape(v))
		}
	}
	return strings.Join(out, "&")
}

// awsEscape is SigV4's URI encoding: everything but unreserved characters.
func awsEscape(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}

func hexSHA256(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

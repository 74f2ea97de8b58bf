package gatewaysim

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"
)

// AWS Signature Version 4 as AWS verifies it, shared by every AWS API the
// emulator serves (the AgentCore control and data planes, the AWS_IAM
// Gateway, SSM, CloudFormation, Cognito, STS, S3). The canonical request
// follows the SigV4 specification ("Create a canonical request for
// Signature Version 4", AWS IAM user guide) and aws-sdk-go-v2's
// aws/signer/v4, which is what clients sign with:
//
//   - the path as sent, URI-encoded once more segment by segment (every
//     byte but unreserved characters and '/'), except for S3, whose path is
//     used as sent;
//   - the query with values sorted per key, keys sorted, both encoded with
//     %20 for spaces;
//   - each signed header lower case, its values trimmed, inner runs of
//     spaces collapsed, several values joined by ','; host from the
//     request's Host;
//   - the payload's hex SHA-256, or the X-Amz-Content-Sha256 header when
//     present (which must then be the body's hash, or UNSIGNED-PAYLOAD for S3).
//
// Only header-based signing (the Authorization header) is accepted; a
// presigned URL (X-Amz-Signature in the query) counts as no authentication.

const sigV4Algorithm = "AWS4-HMAC-SHA256"

// sigV4Service is the signing name of the AgentCore data plane (the
// Gateway and AgentCore Identity) and of its control plane.
const sigV4Service = "bedrock-agentcore"

// maxClockSkew is how far X-Amz-Date may be from AWS's clock.
const maxClockSkew = 5 * time.Minute

// The emulator's fixed test key pair: the example pair of the AWS
// documentation, never valid on AWS. Sim.IAMAccessKeyID is this key unless
// Options.AWSKeys says otherwise.
const (
	TestAccessKeyID     = "AKIAIOSFODNN7EXAMPLE"
	TestSecretAccessKey = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	DefaultAccountID    = "123456789012"
	DefaultUserARN      = "arn:aws:iam::" + DefaultAccountID + ":user/dev"
)

// AWSKey is an access key of an IAM principal that the emulated AWS
// accepts.
type AWSKey struct {
	AccessKeyID     string
	SecretAccessKey string
	// SessionToken makes the key temporary credentials (STS, SSO, a
	// role): every request must carry it as X-Amz-Security-Token.
	SessionToken string
	// Expires is when temporary credentials stop working (ExpiredToken
	// after it); zero means never.
	Expires time.Time
	// ARN is the principal: the identity GetCallerIdentity answers and the
	// subject of the AWS_IAM Gateway's sessions and 3LO vault. Default
	// DefaultUserARN.
	ARN string
	// Actions are the IAM actions the principal may call, with IAM's
	// wildcards ("ssm:GetParameter", "ssm:Get*", "bedrock-agentcore:*",
	// "*"), case-insensitive. nil means every action; empty (non-nil)
	// means none.
	Actions []string
}

// allows reports whether the key's principal may call action.
func (k *AWSKey) allows(action string) bool {
	if k.Actions == nil {
		return true
	}
	action = strings.ToLower(action)
	for _, a := range k.Actions {
		if ok, _ := path.Match(strings.ToLower(a), action); ok {
			return true
		}
	}
	return false
}

// SignV4 signs req (whose body is body) in place with the access key pair
// for region and service at t: it sets X-Amz-Date,
// X-Amz-Content-Sha256 and Authorization. It is what an AWS SDK does, for
// tests and for callers that hold IAM credentials.
func SignV4(req *http.Request, body []byte, accessKeyID, secretAccessKey, region, service string, t time.Time) {
	SignV4Session(req, body, AWSKey{AccessKeyID: accessKeyID, SecretAccessKey: secretAccessKey}, region, service, t)
}

// SignV4Session is SignV4 with temporary credentials: it also sets
// X-Amz-Security-Token (signed) when the key has a session token.
func SignV4Session(req *http.Request, body []byte, key AWSKey, region, service string, t time.Time) {
	amzDate := t.UTC().Format("20060102T150405Z")
	req.Header.Set("X-Amz-Date", amzDate)
	req.Header.Set("X-Amz-Content-Sha256", hexSHA256(body))
	if key.SessionToken != "" {
		req.Header.Set("X-Amz-Security-Token", key.SessionToken)
	}
	if req.Host == "" {
		req.Host = req.URL.Host
	}
	signed := []string{"host", "x-amz-content-sha256", "x-amz-date"}
	if req.Header.Get("Content-Type") != "" {
		signed = append(signed, "content-type")
	}
	if key.SessionToken != "" {
		signed = append(signed, "x-amz-security-token")
	}
	slices.Sort(signed)
	scope := amzDate[:8] + "/" + region + "/" + service + "/aws4_request"
	canon := canonicalRequest(req, hexSHA256(body), signed, service == "s3")
	sig := sigV4Signature(canon, key.SecretAccessKey, amzDate, region, service)
	req.Header.Set("Authorization", fmt.Sprintf("%s Credential=%s/%s, SignedHeaders=%s, Signature=%s",
		sigV4Algorithm, key.AccessKeyID, scope, strings.Join(signed, ";"), sig))
}

// sigFailure is why AWS refused a request's authentication or
// authorization, independent of the protocol that reports it.
type sigFailure struct {
	kind    sigKind
	message string
}

type sigKind int

const (
	sigMissing      sigKind = iota // no Authorization header
	sigIncomplete                  // an Authorization header that is not a SigV4 one
	sigUnknownKey                  // an access key AWS does not know
	sigInvalidToken                // a missing, extra or wrong session token
	sigExpiredToken                // temporary credentials past their expiry
	sigWrongScope                  // the credential scope names another region or service
	sigRequestTime                 // X-Amz-Date more than 5 minutes from AWS's clock
	sigMismatch                    // the signature does not verify
	sigAccessDenied                // authenticated, but no permission for the action
)

// The messages AWS answers (from AWS error reports in public issue
// threads: aws-sdk-js#254, aws-sdk-ruby#431, aws-sdk-go-v2#163,
// cfn-sphere#55, aws-sdk-java-v2#1649, and AWS's SigV4 troubleshooting
// page); the exact text of IncompleteSignature is a guess.
const (
	msgMissingToken  = "Missing Authentication Token"
	msgInvalidToken  = "The security token included in the request is invalid."
	msgExpiredToken  = "The security token included in the request is expired"
	msgSigMismatch   = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	msgIncompleteSig = "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter."
)

// verifyAWS authenticates req (with body) as AWS does for service in the
// emulator's region: a SigV4 Authorization header of a known key, its
// session token, the credential scope, the date within 5 minutes, the
// signature. It returns the key that signed.
func (s *Sim) verifyAWS(req *http.Request, body []byte, service string) (*AWSKey, *sigFailure) {
	authz := req.Header.Get("Authorization")
	if authz == "" {
		return nil, &sigFailure{sigMissing, msgMissingToken}
	}
	rest, ok := strings.CutPrefix(authz, sigV4Algorithm+" ")
	if !ok {
		// A bearer token (a Cognito JWT, say) is not an AWS credential.
		// API Gateway echoes the whole header after "Authorization="; the
		// emulator names only the scheme (whether AWS echoes a token here
		// is not known).
		return nil, &sigFailure{sigIncomplete, msgIncompleteSig + " Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=" + strings.SplitN(authz, " ", 2)[0]}
	}
	fields := map[string]string{}
	for part := range strings.SplitSeq(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		fields[k] = v
	}
	cred, signedList, sig := fields["Credential"], fields["SignedHeaders"], fields["Signature"]
	if cred == "" || signedList == "" || sig == "" {
		return nil, &sigFailure{sigIncomplete, msgIncompleteSig}
	}
	parts := strings.Split(cred, "/")
	if len(parts) != 5 || parts[4] != "aws4_request" {
		return nil, &sigFailure{sigIncomplete, "Credential should be scoped to a valid region. "}
	}
	key := s.awsKey(parts[0])
	if key == nil {
		return nil, &sigFailure{sigUnknownKey, msgInvalidToken}
	}
	if token := req.Header.Get("X-Amz-Security-Token"); token != key.SessionToken {
		return nil, &sigFailure{sigInvalidToken, msgInvalidToken}
	}
	if parts[2] != s.opts.Region {
		return nil, &sigFailure{sigWrongScope, fmt.Sprintf("Credential should be scoped to a valid region, not '%s'. ", parts[2])}
	}
	if parts[3] != service {
		return nil, &sigFailure{sigWrongScope, fmt.Sprintf("Credential should be scoped to correct service: '%s'. ", service)}
	}
	amzDate := req.Header.Get("X-Amz-Date")
	t, err := time.Parse("20060102T150405Z", amzDate)
	if err != nil {
		return nil, &sigFailure{sigIncomplete, "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."}
	}
	if amzDate[:8] != parts[1] {
		return nil, &sigFailure{sigMismatch, fmt.Sprintf("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '%s' != '%s', from '%s'.", parts[1], amzDate[:8], amzDate)}
	}
	now := s.now().UTC()
	const f = "20060102T150405Z"
	switch {
	case t.Before(now.Add(-maxClockSkew)):
		return nil, &sigFailure{sigRequestTime, fmt.Sprintf("Signature expired: %s is now earlier than %s (%s - 5 min.)",
			amzDate, now.Add(-maxClockSkew).Format(f), now.Format(f))}
	case t.After(now.Add(maxClockSkew)):
		return nil, &sigFailure{sigRequestTime, fmt.Sprintf("Signature not yet current: %s is still later than %s (%s + 5 min.)",
			amzDate, now.Add(maxClockSkew).Format(f), now.Format(f))}
	}
	signed := strings.Split(signedList, ";")
	if !slices.Contains(signed, "host") {
		return nil, &sigFailure{sigMismatch, "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."}
	}
	payload := hexSHA256(body)
	if h := req.Header.Get("X-Amz-Content-Sha256"); h != "" {
		if h != payload && !(service == "s3" && h == "UNSIGNED-PAYLOAD") {
			return nil, &sigFailure{sigMismatch, msgSigMismatch}
		}
		payload = h
	}
	want := sigV4Signature(canonicalRequest(req, payload, signed, service == "s3"), key.SecretAccessKey, amzDate, s.opts.Region, service)
	if !hmac.Equal([]byte(want), []byte(sig)) {
		return nil, &sigFailure{sigMismatch, msgSigMismatch}
	}
	if !key.Expires.IsZero() && !now.Before(key.Expires) {
		return nil, &sigFailure{sigExpiredToken, msgExpiredToken}
	}
	return key, nil
}

// authorizeAction checks the principal's permission for action on
// resource, with the message AWS gives for an implicit deny.
func authorizeAction(key *AWSKey, action, resource string) *sigFailure {
	if key.allows(action) {
		return nil
	}
	return &sigFailure{sigAccessDenied, fmt.Sprintf(
		"User: %s is not authorized to perform: %s on resource: %s because no identity-based policy allows the %s action",
		key.ARN, action, resource, action)}
}

// canonicalRequest is SigV4's canonical request; s3 keeps the path as sent.
func canonicalRequest(req *http.Request, payloadHash string, signed []string, s3 bool) string {
	var canon strings.Builder
	canon.WriteString(req.Method + "\n")
	uri := req.URL.EscapedPath()
	if req.URL.Opaque != "" {
		uri = req.URL.Opaque
	}
	if uri == "" {
		uri = "/"
	}
	if !s3 {
		uri = escapePath(uri)
	}
	canon.WriteString(uri + "\n")
	canon.WriteString(canonicalQuery(req.URL.Query()) + "\n")
	for _, h := range signed {
		var vs []string
		switch h {
		case "host":
			vs = []string{req.Host}
			if req.Host == "" {
				vs = []string{req.URL.Host}
			}
		default:
			vs = req.Header.Values(h)
		}
		for i, v := range vs {
			vs[i] = strings.Join(strings.Fields(v), " ")
		}
		canon.WriteString(h + ":" + strings.Join(vs, ",") + "\n")
	}
	canon.WriteString("\n" + strings.Join(signed, ";") + "\n")
	canon.WriteString(payloadHash)
	return canon.String()
}

func sigV4Signature(canonical, secret, amzDate, region, service string) string {
	scope := amzDate[:8] + "/" + region + "/" + service + "/aws4_request"
	toSign := sigV4Algorithm + "\n" + amzDate + "\n" + scope + "\n" + hexSHA256([]byte(canonical))
	k := hmacSHA256([]byte("AWS4"+secret), amzDate[:8])
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, service)
	k = hmacSHA256(k, "aws4_request")
	return hex.EncodeToString(hmacSHA256(k, toSign))
}

// escapePath URI-encodes every byte of p but unreserved characters and '/'.
func escapePath(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c == '/' || isUnreserved(c) {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func isUnreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '_' || c == '.' || c == '~'
}

// canonicalQuery is what aws-sdk-go-v2 signs: values sorted per key, then
// url.Values.Encode (keys sorted) with %20 for spaces.
func canonicalQuery(q url.Values) string {
	for k := range q {
		slices.Sort(q[k])
	}
	return strings.ReplaceAll(q.Encode(), "+", "%20")
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

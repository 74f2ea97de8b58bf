// Package awsapi calls the few AWS APIs "agw-proxy init" reads a deployed
// Gateway with: the AgentCore control plane's GetGateway, ListGateways,
// ListGatewayTargets and GetGatewayTarget (REST-JSON), SSM
// GetParametersByPath and GetParameter (JSON 1.1), CloudFormation
// DescribeStacks (query), Cognito DescribeUserPoolClient (JSON 1.1) and S3
// GetObject, each over its documented protocol, signed with the SDK's
// SigV4 signer and credentials from awsiam's chain.
//
//	c := &awsapi.Client{Credentials: awsiam.New(awsiam.Config{Profile: "dev"}), Region: "us-east-1"}
//	gw, err := c.GetGateway(ctx, "agentcore-gw-asana-integration-abcdefghij")
//
// Why not the SDK's service clients: every package linked into agw-proxy
// runs its init at every start of serve, and the generated schemas and
// endpoint tables of bedrockagentcorecontrol, ssm, cloudformation and
// cognitoidentityprovider cost milliseconds of it (see awsiam's package
// doc for the figures). Their tests use those clients as oracles.
//
// Every call honours the SDKs' endpoint overrides (awsiam.EndpointURL:
// AWS_ENDPOINT_URL_<SERVICE>, AWS_ENDPOINT_URL, the profile's
// endpoint_url keys), is bounded by Client.Timeout, reads at most a bounded
// answer, and fails with an *Error that names the IAM action it needed.
package awsapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/agw-proxy/agw-proxy/awsiam"
)

// DefaultTimeout bounds one AWS call (and its credential fetch).
const DefaultTimeout = 30 * time.Second

// Bounds on what an answer may hold.
const (
	// MaxAnswer bounds an ordinary answer (a page of a list, a gateway).
	MaxAnswer = 1 << 20
	// MaxSchema bounds an answer carrying an OpenAPI schema (a target
	// with an inline payload, an S3 object).
	MaxSchema = 16 << 20
)

// CredentialsProvider gives the credentials to sign with (awsiam.Credentials).
type CredentialsProvider interface {
	Retrieve(ctx context.Context) (aws.Credentials, error)
}

// Client calls AWS APIs in one region with one set of credentials. Its
// zero value is not usable: Credentials and Region are required.
type Client struct {
	Credentials CredentialsProvider
	Region      string
	// Profile is the AWS profile whose endpoint_url settings apply; ""
	// means $AWS_PROFILE, else default.
	Profile string
	// Getenv reads the environment; nil means os.Getenv (through awsiam).
	Getenv func(string) string
	// HTTPClient sends the requests; nil means http.DefaultClient.
	HTTPClient *http.Client
	// Timeout bounds each call; default DefaultTimeout.
	Timeout time.Duration
	// Now is the signing clock; nil means time.Now.
	Now func() time.Time
}

// A service is what an endpoint and a signature are for.
type service struct {
	id      string // the SDK ID of AWS_ENDPOINT_URL_<ID>
	signing string // the SigV4 signing name
	host    string // AWS's host, %s the region
}

var (
	svcControl = service{"BEDROCK_AGENTCORE_CONTROL", "bedrock-agentcore", "bedrock-agentcore-control.%s.amazonaws.com"}
	svcSSM     = service{"SSM", "ssm", "ssm.%s.amazonaws.com"}
	svcCFN     = service{"CLOUDFORMATION", "cloudformation", "cloudformation.%s.amazonaws.com"}
	svcCognito = service{"COGNITO_IDENTITY_PROVIDER", "cognito-idp", "cognito-idp.%s.amazonaws.com"}
	svcS3      = service{"S3", "s3", "s3.%s.amazonaws.com"}
)

// An Error is AWS's refusal of a call, or a call that did not complete,
// with the IAM action the call needs.
type Error struct {
	Action  string // the IAM action: "ssm:GetParametersByPath"
	Status  int    // HTTP status; 0 when no answer came
	Code    string // AWS's error code: "AccessDeniedException", "ParameterNotFound"
	Message string // AWS's message, first line
	// Denied: the identity lacks the permission Action (an AccessDenied
	// error, or a 403 that names no other cause).
	Denied bool
	// Signature: AWS refused the credentials or the signature (unknown or
	// expired key, wrong region), not the permission.
	Signature bool
	Err       error // the cause when no answer came
}

func (e *Error) Error() string {
	detail := e.Code
	if e.Message != "" {
		detail = strings.TrimPrefix(detail+": "+e.Message, ": ")
	}
	switch {
	case e.Denied:
		if detail == "" {
			detail = fmt.Sprintf("HTTP %d", e.Status)
		}
		return fmt.Sprintf("AWS denied %s (%s): the AWS identity needs the IAM permission %s", e.Action, detail, e.Action)
	case e.Signature:
		return fmt.Sprintf("%s: AWS refused the request's credentials (%s): check the AWS profile's keys and the region (for IAM Identity Center, run \"aws sso login\")", e.Action, detail)
	case e.Err != nil:
		return fmt.Sprintf("%s: %v", e.Action, e.Err)
	}
	if detail == "" {
		return fmt.Sprintf("%s: HTTP %d", e.Action, e.Status)
	}
	return fmt.Sprintf("%s: HTTP %d %s", e.Action, e.Status, detail)
}

func (e *Error) Unwrap() error { return e.Err }

// IsNotFound reports whether err is AWS saying the thing asked for does
// not exist.
func IsNotFound(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.Code {
	case "ResourceNotFoundException", "ParameterNotFound", "NoSuchKey", "NoSuchBucket":
		return true
	}
	return e.Code == "ValidationError" && strings.Contains(e.Message, "does not exist")
}

// signatureCode reports whether code is a refused signature or
// credential, in any protocol. (A switch, not a map: a map literal would
// run at every start of the binary.)
func signatureCode(code string) bool {
	switch code {
	case "UnrecognizedClientException", "InvalidClientTokenId", "InvalidAccessKeyId",
		"InvalidSignatureException", "SignatureDoesNotMatch", "IncompleteSignatureException",
		"IncompleteSignature", "ExpiredTokenException", "ExpiredToken", "InvalidToken",
		"MissingAuthenticationTokenException", "MissingAuthenticationToken",
		"AuthorizationHeaderMalformed", "RequestTimeTooSkewed":
		return true
	}
	return false
}

func deniedCode(code string) bool {
	switch code {
	case "AccessDeniedException", "AccessDenied", "UnauthorizedOperation", "NotAuthorizedException":
		return true
	}
	return false
}

// endpoint returns the base URL of svc.
func (c *Client) endpoint(svc service) (string, bool, error) {
	getenv := c.getenv()
	u, err := awsiam.EndpointURL(getenv, c.Profile, svc.id)
	if err != nil {
		return "", false, err
	}
	if u != "" {
		return u, true, nil
	}
	return "https://" + fmt.Sprintf(svc.host, c.Region), false, nil
}

func (c *Client) getenv() func(string) string {
	if c.Getenv != nil {
		return c.Getenv
	}
	return os.Getenv
}

// call sends one signed request for action and returns the answer's body.
// build makes the request on the service's endpoint.
func (c *Client) call(ctx context.Context, svc service, action string, limit int64, build func(ctx context.Context, endpoint string, overridden bool) (*http.Request, []byte, error)) ([]byte, error) {
	fail := func(err error) error { return &Error{Action: action, Err: err} }
	if c.Region == "" {
		return nil, fail(errors.New("no AWS region: give --region, or set one in the AWS profile"))
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	base, overridden, err := c.endpoint(svc)
	if err != nil {
		return nil, fail(err)
	}
	req, body, err := build(ctx, base, overridden)
	if err != nil {
		return nil, fail(err)
	}
	creds, err := c.Credentials.Retrieve(ctx)
	if err != nil {
		return nil, fail(err)
	}
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	var opts []func(*v4.SignerOptions)
	if svc == svcS3 {
		// S3 signs the path as sent, not escaped again.
		req.Header.Set("X-Amz-Content-Sha256", hash)
		opts = append(opts, func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	}
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hash, svc.signing, c.Region, now(), opts...); err != nil {
		return nil, fail(fmt.Errorf("signing the request: %w", err))
	}
	client := c.HTTPClient
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("no answer from %s within %s", base, timeout)
		}
		return nil, fail(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fail(fmt.Errorf("reading the answer: %w", err))
	}
	if resp.StatusCode/100 != 2 {
		return nil, answerError(action, resp, data)
	}
	if int64(len(data)) > limit {
		return nil, fail(fmt.Errorf("the answer is over %d bytes", limit))
	}
	return data, nil
}

// answerError reads AWS's error out of a failed answer, in any of the
// protocols: x-amzn-ErrorType, a JSON {"__type","message"}, or XML
// <Error><Code/><Message/></Error> (bare, or in an ErrorResponse).
func answerError(action string, resp *http.Response, data []byte) *Error {
	e := &Error{Action: action, Status: resp.StatusCode}
	code, _, _ := strings.Cut(resp.Header.Get("X-Amzn-Errortype"), ":")
	var j struct {
		Type     string `json:"__type"`
		Code     string `json:"code"`
		Message  string `json:"message"`
		Message2 string `json:"Message"`
	}
	var x struct {
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
		Error   struct {
			Code    string `xml:"Code"`
			Message string `xml:"Message"`
		} `xml:"Error"`
	}
	trimmed := bytes.TrimSpace(data)
	switch {
	case len(trimmed) > 0 && trimmed[0] == '{' && json.Unmarshal(trimmed, &j) == nil:
		if code == "" {
			code = j.Type
			if code == "" {
				code = j.Code
			}
		}
		e.Message = j.Message
		if e.Message == "" {
			e.Message = j.Message2
		}
	case len(trimmed) > 0 && trimmed[0] == '<' && xml.Unmarshal(trimmed, &x) == nil:
		if code == "" {
			code = x.Error.Code
			if code == "" {
				code = x.Code
			}
		}
		e.Message = x.Error.Message
		if e.Message == "" {
			e.Message = x.Message
		}
	}
	if i := strings.LastIndexByte(code, '#'); i >= 0 {
		code = code[i+1:]
	}
	e.Code = code
	e.Message = firstLine(e.Message)
	switch {
	case deniedCode(code):
		e.Denied = true
	case signatureCode(code):
		e.Signature = true
	case resp.StatusCode == http.StatusForbidden:
		// A 403 that names no cause (a proxy's, a VPC endpoint policy's)
		// is a permission the call lacked.
		e.Denied = true
	}
	return e
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// jsonRequest is a JSON 1.1 POST of target ("AmazonSSM.GetParameter").
func jsonRequest(target string, in any) func(context.Context, string, bool) (*http.Request, []byte, error) {
	return func(ctx context.Context, base string, _ bool) (*http.Request, []byte, error) {
		body, err := json.Marshal(in)
		if err != nil {
			return nil, nil, err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/", bytes.NewReader(body))
		if err != nil {
			return nil, nil, err
		}
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		req.Header.Set("X-Amz-Target", target)
		return req, body, nil
	}
}

// getRequest is a GET of path (escaped) with query.
func getRequest(path, query string) func(context.Context, string, bool) (*http.Request, []byte, error) {
	return func(ctx context.Context, base string, _ bool) (*http.Request, []byte, error) {
		u := base + path
		if query != "" {
			u += "?" + query
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, nil, err
		}
		req.Header.Set("Accept", "application/json")
		return req, nil, nil
	}
}

func decode(action string, data []byte, out any) error {
	if err := json.Unmarshal(data, out); err != nil {
		return &Error{Action: action, Err: fmt.Errorf("the answer is not the expected JSON: %w", err)}
	}
	return nil
}

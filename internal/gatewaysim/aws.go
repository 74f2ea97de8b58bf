package gatewaysim

import (
	"bytes"
	"cmp"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The emulated AWS APIs, all on one loopback listener (Sim.AWSEndpointURL),
// so that a client pointed at it with AWS_ENDPOINT_URL (or an SDK's
// BaseEndpoint) reaches every service:
//
//   - bedrock-agentcore-control (REST-JSON, signing name bedrock-agentcore):
//     ListGateways, GetGateway, ListGatewayTargets, GetGatewayTarget;
//   - the AgentCore data plane's /identities/ operations (as on IdentityURL);
//   - SSM GetParameter and GetParametersByPath (JSON 1.1, X-Amz-Target
//     AmazonSSM.*), seeded with the seed tutorial's parameters under
//     DefaultSSMPrefix;
//   - CloudFormation DescribeStacks (query protocol, XML), one stack
//     (DefaultStackName) whose outputs describe the emulator;
//   - Cognito DescribeUserPoolClient (JSON 1.1,
//     AWSCognitoIdentityProviderService.*), with the machine client's secret;
//   - STS GetCallerIdentity (query protocol);
//   - S3 GetObject, path style, for targets whose OpenAPI schema is in S3
//     (Target.S3URI).
//
// A request goes to a service by its shape, as it would by its host on
// AWS: X-Amz-Target, the query protocol's Version, the REST path; then
// its signature must be scoped to that service (else "Credential should
// be scoped to correct service") and the emulator's region. Every
// operation but GetCallerIdentity (which needs no permission on AWS)
// checks the key's Actions and answers AccessDenied naming the action.
//
// Error shapes per protocol: REST-JSON HTTP 4xx with x-amzn-ErrorType and
// {"message"}; JSON 1.1 HTTP 400 with {"__type","message"}; query
// <ErrorResponse><Error><Type>Sender</Type><Code>..</Code><Message>..
// </Message></Error><RequestId/></ErrorResponse>; S3 <Error><Code/>
// <Message/></Error>. Which status a JSON 1.1 service gives an IAM denial
// (400), the codes for a request without authentication in the query
// protocol (MissingAuthenticationToken) and S3 (AccessDenied), and the
// messages of the not-found errors of the control plane are guesses.

// Defaults of the emulated account, named as the seed tutorial names its
// resources.
const (
	DefaultGatewayName = "agentcore-gw-asana-integration"
	DefaultSSMPrefix   = "/app/asana/demo/agentcoregwy/"
	// DefaultStackName is the CloudFormation stack the emulator describes.
	// The seed's stack name and output keys are not recorded: both are a
	// guess (outputs in StackOutputs).
	DefaultStackName = "agentcoregwy-asana-demo"
	gatewayRoleName  = "AgentCoreGwyAsanaIntegrationRole"
)

type awsProtocol int

const (
	protoRESTJSON awsProtocol = iota
	protoJSON11
	protoQuery
	protoS3
)

// awsService is what a request addressed, with the XML namespace of a
// query service.
type awsService struct {
	signingName string
	proto       awsProtocol
	xmlns       string
}

var (
	svcControl  = awsService{signingName: "bedrock-agentcore", proto: protoRESTJSON}
	svcSSM      = awsService{signingName: "ssm", proto: protoJSON11}
	svcCognito  = awsService{signingName: "cognito-idp", proto: protoJSON11}
	svcCFN      = awsService{signingName: "cloudformation", proto: protoQuery, xmlns: "http://cloudformation.amazonaws.com/doc/2010-05-15/"}
	svcSTS      = awsService{signingName: "sts", proto: protoQuery, xmlns: "https://sts.amazonaws.com/doc/2011-06-15/"}
	svcS3       = awsService{signingName: "s3", proto: protoS3}
	svcIdentity = awsService{signingName: sigV4Service, proto: protoRESTJSON}
)

// awsErr is an error in the terms of one protocol.
type awsErr struct {
	status        int
	code, message string
}

// sigError translates a sigFailure into svc's protocol.
func (f *sigFailure) in(p awsProtocol) awsErr {
	type row struct {
		rest, query, s3 string
	}
	codes := map[sigKind]row{
		sigMissing:      {"MissingAuthenticationTokenException", "MissingAuthenticationToken", "AccessDenied"},
		sigIncomplete:   {"IncompleteSignatureException", "IncompleteSignature", "AuthorizationHeaderMalformed"},
		sigUnknownKey:   {"UnrecognizedClientException", "InvalidClientTokenId", "InvalidAccessKeyId"},
		sigInvalidToken: {"UnrecognizedClientException", "InvalidClientTokenId", "InvalidToken"},
		sigExpiredToken: {"ExpiredTokenException", "ExpiredToken", "ExpiredToken"},
		sigWrongScope:   {"InvalidSignatureException", "SignatureDoesNotMatch", "AuthorizationHeaderMalformed"},
		sigRequestTime:  {"InvalidSignatureException", "SignatureDoesNotMatch", "RequestTimeTooSkewed"},
		sigMismatch:     {"InvalidSignatureException", "SignatureDoesNotMatch", "SignatureDoesNotMatch"},
		sigAccessDenied: {"AccessDeniedException", "AccessDenied", "AccessDenied"},
	}
	c := codes[f.kind]
	switch p {
	case protoJSON11:
		return awsErr{http.StatusBadRequest, c.rest, f.message}
	case protoQuery:
		return awsErr{http.StatusForbidden, c.query, f.message}
	case protoS3:
		e := awsErr{http.StatusForbidden, c.s3, f.message}
		switch f.kind {
		case sigMissing:
			e.message = "Access Denied"
		case sigUnknownKey:
			e.message = "The AWS Access Key Id you provided does not exist in our records."
		case sigInvalidToken:
			e.status, e.message = http.StatusBadRequest, "The provided token is malformed or otherwise invalid."
		case sigExpiredToken:
			e.status, e.message = http.StatusBadRequest, "The provided token has expired."
		case sigIncomplete, sigWrongScope:
			e.status = http.StatusBadRequest
		case sigRequestTime:
			e.message = "The difference between the request time and the current time is too large."
		case sigMismatch:
			e.message = "The request signature we calculated does not match the signature you provided. Check your key and signing method."
		}
		return e
	default:
		return awsErr{http.StatusForbidden, c.rest, f.message}
	}
}

// writeAWSError answers e in svc's protocol.
func writeAWSError(w http.ResponseWriter, svc awsService, e awsErr) {
	id := newUUID()
	switch svc.proto {
	case protoJSON11:
		w.Header().Set("x-amzn-RequestId", id)
		body, _ := json.Marshal(map[string]string{"__type": e.code, "message": e.message})
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(e.status)
		w.Write(body)
	case protoQuery:
		typ := "Sender"
		if e.status >= 500 {
			typ = "Receiver"
		}
		writeXML(w, e.status, id, `<ErrorResponse xmlns="`+svc.xmlns+`"><Error>`+
			xmlElem("Type", typ)+xmlElem("Code", e.code)+xmlElem("Message", e.message)+
			`</Error>`+xmlElem("RequestId", id)+`</ErrorResponse>`)
	case protoS3:
		w.Header().Set("x-amz-request-id", id)
		writeXML(w, e.status, id, `<Error>`+xmlElem("Code", e.code)+xmlElem("Message", e.message)+xmlElem("RequestId", id)+`</Error>`)
	default:
		awsError(w, e.status, e.code, e.message)
	}
}

// writeXML answers an XML document. The emulator writes its few XML
// answers by hand: encoding/xml would add its init to agw-proxy's start.
func writeXML(w http.ResponseWriter, status int, requestID, doc string) {
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("x-amzn-RequestId", requestID)
	w.WriteHeader(status)
	io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+doc)
}

// xmlElem is <name>text</name> with text escaped.
func xmlElem(name, text string) string {
	esc := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&apos;").Replace(text)
	return "<" + name + ">" + esc + "</" + name + ">"
}

// awsAuth verifies a request for svc and the principal's permission for
// action on resource; on failure it answers and returns nil.
func (s *Sim) awsAuth(w http.ResponseWriter, r *http.Request, body []byte, svc awsService, action, resource string) *AWSKey {
	key, f := s.verifyAWS(r, body, svc.signingName)
	if f == nil && action != "" {
		f = authorizeAction(key, action, resource)
	}
	if f != nil {
		s.mu.Lock()
		s.counts.AWSRefused++
		s.mu.Unlock()
		s.log.Debug("gatewaysim: AWS request refused", "service", svc.signingName, "action", action, "kind", f.kind)
		writeAWSError(w, svc, f.in(svc.proto))
		return nil
	}
	return key
}

// awsHandler serves the emulated AWS endpoint.
func (s *Sim) awsHandler() http.Handler {
	control := http.NewServeMux()
	control.HandleFunc("GET /gateways/{$}", s.serveListGateways)
	control.HandleFunc("GET /gateways/{gw}/{$}", s.serveGetGateway)
	control.HandleFunc("GET /gateways/{gw}/targets/{$}", s.serveListGatewayTargets)
	control.HandleFunc("GET /gateways/{gw}/targets/{target}/{$}", s.serveGetGatewayTarget)
	control.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		body := awsBody(r)
		if s.awsAuth(w, r, body, svcControl, "", "") == nil {
			return
		}
		serveUnknownOperation(w, r)
	})
	identity := s.identityHandler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
		r.Body.Close()
		if err != nil {
			http.Error(w, "failed to read body", http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		s.mu.Lock()
		s.counts.AWSRequests++
		s.mu.Unlock()
		target := r.Header.Get("X-Amz-Target")
		ct := r.Header.Get("Content-Type")
		switch {
		case target != "":
			svc, op, _ := strings.Cut(target, ".")
			switch svc {
			case "AmazonSSM":
				s.serveSSM(w, r, body, op)
			case "AWSCognitoIdentityProviderService":
				s.serveCognitoAPI(w, r, body, op)
			default:
				writeAWSError(w, svcSSM, awsErr{http.StatusBadRequest, "UnknownOperationException", ""})
			}
		case strings.HasPrefix(r.URL.Path, "/gateways/"):
			control.ServeHTTP(w, r)
		case strings.HasPrefix(r.URL.Path, "/identities/"):
			identity.ServeHTTP(w, r)
		case r.Method == http.MethodPost && strings.HasPrefix(ct, "application/x-www-form-urlencoded"):
			form, _ := url.ParseQuery(string(body))
			switch form.Get("Version") {
			case "2011-06-15":
				s.serveSTS(w, r, body, form)
			case "2010-05-15":
				s.serveCloudFormation(w, r, body, form)
			default:
				serveUnknownOperation(w, r)
			}
		case r.Method == http.MethodGet || r.Method == http.MethodHead:
			s.serveS3(w, r, body)
		default:
			serveUnknownOperation(w, r)
		}
	})
}

// awsBody returns a request body the AWS handler has already buffered.
func awsBody(r *http.Request) []byte {
	b, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(b))
	return b
}

// ---- IAM keys ----

// awsKey returns the key with id, or nil.
func (s *Sim) awsKey(id string) *AWSKey {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.awsKeys[id]
	if !ok {
		return nil
	}
	c := *k
	c.Actions = slices.Clone(k.Actions)
	if k.Actions != nil && c.Actions == nil {
		c.Actions = []string{}
	}
	return &c
}

// AddAWSKey makes the emulated AWS accept k (replacing a key of the same
// id); an empty ARN means DefaultUserARN.
func (s *Sim) AddAWSKey(k AWSKey) {
	k.ARN = cmp.Or(k.ARN, s.defaultARN())
	s.mu.Lock()
	s.awsKeys[k.AccessKeyID] = &k
	s.mu.Unlock()
}

func (s *Sim) defaultARN() string {
	return "arn:aws:iam::" + s.opts.AccountID + ":user/dev"
}

// SetAWSActions sets the IAM actions the key's principal may call (see
// AWSKey.Actions); nil allows every action.
func (s *Sim) SetAWSActions(accessKeyID string, actions []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if k := s.awsKeys[accessKeyID]; k != nil {
		k.Actions = slices.Clone(actions)
		if actions != nil && k.Actions == nil {
			k.Actions = []string{}
		}
	}
}

// IssueTemporaryCredentials mints temporary credentials (an ASIA access
// key with a session token) valid for lifetime on the emulator's clock,
// for an assumed role of the default account with the permissions of
// actions (nil: all), as STS or IAM Identity Center hands out: what a
// credential_process or SSO cache returns. The emulator accepts them at
// once.
func (s *Sim) IssueTemporaryCredentials(lifetime time.Duration, actions []string) AWSKey {
	k := AWSKey{
		AccessKeyID:     "ASIA" + strings.ToUpper(randomString(16, lowerAlnum)),
		SecretAccessKey: randomString(40, lowerAlnum+"ABCDEFGHIJKLMNOPQRSTUVWXYZ/+"),
		SessionToken:    "IQoJb3JpZ2luX2VjE" + randomString(300, lowerAlnum+"ABCDEFGHIJKLMNOPQRSTUVWXYZ/+"),
		Expires:         s.now().Add(lifetime),
		ARN:             "arn:aws:sts::" + s.opts.AccountID + ":assumed-role/AgwSimDeveloper/dev",
		Actions:         actions,
	}
	s.AddAWSKey(k)
	return k
}

// ---- bedrock-agentcore-control ----

func (s *Sim) gatewayARN() string {
	return "arn:aws:bedrock-agentcore:" + s.opts.Region + ":" + s.opts.AccountID + ":gateway/" + s.GatewayID
}

func awsTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// controlGateway authenticates a control-plane request naming a gateway
// (by id or ARN) for action and returns false after answering when it
// fails or names another gateway.
func (s *Sim) controlGateway(w http.ResponseWriter, r *http.Request, action string) bool {
	body := awsBody(r)
	id := r.PathValue("gw")
	resource := s.gatewayARN()
	if id != s.GatewayID && id != s.gatewayARN() {
		resource = "arn:aws:bedrock-agentcore:" + s.opts.Region + ":" + s.opts.AccountID + ":gateway/" + id
	}
	if s.awsAuth(w, r, body, svcControl, "bedrock-agentcore:"+action, resource) == nil {
		return false
	}
	if id != s.GatewayID && id != s.gatewayARN() {
		// Guess: the message of a missing gateway is not recorded.
		awsError(w, http.StatusNotFound, "ResourceNotFoundException", "Gateway not found: "+id)
		return false
	}
	return true
}

func (s *Sim) serveListGateways(w http.ResponseWriter, r *http.Request) {
	body := awsBody(r)
	if s.awsAuth(w, r, body, svcControl, "bedrock-agentcore:ListGateways", "arn:aws:bedrock-agentcore:"+s.opts.Region+":"+s.opts.AccountID+":gateway/*") == nil {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": []any{map[string]any{
		"gatewayId":      s.GatewayID,
		"name":           s.opts.GatewayName,
		"status":         "READY",
		"description":    "Asana integration gateway (emulated)",
		"createdAt":      awsTime(s.created),
		"updatedAt":      awsTime(s.created),
		"authorizerType": s.opts.AuthorizerType,
		"protocolType":   "MCP",
	}}})
}

func (s *Sim) serveGetGateway(w http.ResponseWriter, r *http.Request) {
	if !s.controlGateway(w, r, "GetGateway") {
		return
	}
	mcpConf := map[string]any{"supportedVersions": protocolVersions}
	if s.opts.Search {
		mcpConf["searchType"] = "SEMANTIC"
	}
	if s.opts.DisableListToolsPagination {
		mcpConf["disableMcpListToolsPagination"] = true
	}
	if s.opts.Sessions {
		mcpConf["sessionConfiguration"] = map[string]any{"sessionTimeoutInSeconds": int(s.opts.SessionTimeout.Seconds())}
	}
	if s.opts.Streaming {
		mcpConf["streamingConfiguration"] = map[string]any{"enableResponseStreaming": true}
	}
	out := map[string]any{
		"gatewayArn":            s.gatewayARN(),
		"gatewayId":             s.GatewayID,
		"gatewayUrl":            s.GatewayURL,
		"name":                  s.opts.GatewayName,
		"description":           "Asana integration gateway (emulated)",
		"status":                "READY",
		"createdAt":             awsTime(s.created),
		"updatedAt":             awsTime(s.created),
		"roleArn":               "arn:aws:iam::" + s.opts.AccountID + ":role/" + gatewayRoleName,
		"protocolType":          "MCP",
		"protocolConfiguration": map[string]any{"mcp": mcpConf},
		"authorizerType":        s.opts.AuthorizerType,
		"workloadIdentityDetails": map[string]any{
			"workloadIdentityArn": "arn:aws:bedrock-agentcore:" + s.opts.Region + ":" + s.opts.AccountID +
				":workload-identity-directory/default/workload-identity/" + s.opts.GatewayName,
		},
	}
	if s.opts.Debug {
		out["exceptionLevel"] = "DEBUG"
	}
	if s.opts.AuthorizerType == AuthorizerCustomJWT {
		jwtConf := map[string]any{"discoveryUrl": s.DiscoveryURL}
		if len(s.opts.AllowedClients) > 0 {
			jwtConf["allowedClients"] = s.opts.AllowedClients
		}
		if len(s.opts.AllowedAudience) > 0 {
			jwtConf["allowedAudience"] = s.opts.AllowedAudience
		}
		if len(s.opts.AllowedScopes) > 0 {
			jwtConf["allowedScopes"] = s.opts.AllowedScopes
		}
		out["authorizerConfiguration"] = map[string]any{"customJWTAuthorizer": jwtConf}
	}
	writeJSON(w, http.StatusOK, out)
}

// targetList returns the targets in creation order.
func (s *Sim) targetList() []*targetState {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*targetState, 0, len(s.targets))
	for _, t := range s.targets {
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b *targetState) int { return cmp.Compare(a.seq, b.seq) })
	return out
}

func (s *Sim) serveListGatewayTargets(w http.ResponseWriter, r *http.Request) {
	if !s.controlGateway(w, r, "ListGatewayTargets") {
		return
	}
	q := r.URL.Query()
	maxResults := 50 // guess: the default page size is not documented
	if v := q.Get("maxResults"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			awsError(w, http.StatusBadRequest, "ValidationException",
				fmt.Sprintf("1 validation error detected: Value '%s' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and 1000", v))
			return
		}
		maxResults = n
	}
	start, ok := decodeNextToken(q.Get("nextToken"))
	if !ok {
		awsError(w, http.StatusBadRequest, "ValidationException", "Invalid nextToken")
		return
	}
	all := s.targetList()
	items := []any{}
	end := min(start+maxResults, len(all))
	for _, t := range all[min(start, len(all)):end] {
		items = append(items, map[string]any{
			"targetId":    t.id,
			"name":        t.Name,
			"status":      "READY",
			"description": t.description(),
			"createdAt":   awsTime(t.created),
			"updatedAt":   awsTime(t.created),
		})
	}
	out := map[string]any{"items": items}
	if end < len(all) {
		out["nextToken"] = encodeNextToken(end)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Sim) serveGetGatewayTarget(w http.ResponseWriter, r *http.Request) {
	if !s.controlGateway(w, r, "GetGatewayTarget") {
		return
	}
	id := r.PathValue("target")
	var t *targetState
	for _, c := range s.targetList() {
		if c.id == id {
			t = c
		}
	}
	if t == nil {
		awsError(w, http.StatusNotFound, "ResourceNotFoundException", "Target not found: "+id)
		return
	}
	schema := map[string]any{"inlinePayload": string(t.Spec)}
	if t.S3URI != "" {
		schema = map[string]any{"s3": map[string]any{"uri": t.S3URI}}
	}
	out := map[string]any{
		"gatewayArn":                       s.gatewayARN(),
		"targetId":                         t.id,
		"name":                             t.Name,
		"description":                      t.description(),
		"status":                           "READY",
		"createdAt":                        awsTime(t.created),
		"updatedAt":                        awsTime(t.created),
		"targetConfiguration":              map[string]any{"mcp": map[string]any{"openApiSchema": schema}},
		"credentialProviderConfigurations": []any{s.credentialProviderConfig(t)},
	}
	if m := t.Metadata; m != nil {
		mc := map[string]any{}
		if len(m.AllowedRequestHeaders) > 0 {
			mc["allowedRequestHeaders"] = m.AllowedRequestHeaders
		}
		if len(m.AllowedResponseHeaders) > 0 {
			mc["allowedResponseHeaders"] = m.AllowedResponseHeaders
		}
		if len(m.AllowedQueryParameters) > 0 {
			mc["allowedQueryParameters"] = m.AllowedQueryParameters
		}
		out["metadataConfiguration"] = mc
	}
	writeJSON(w, http.StatusOK, out)
}

// credentialProviderConfig is a target's outbound auth as the control
// plane reports it. A target without an API key or OAuth provider reports
// GATEWAY_IAM_ROLE (the emulator then sends no credential; AWS would
// sign with the gateway's role).
func (s *Sim) credentialProviderConfig(t *targetState) map[string]any {
	vault := "arn:aws:bedrock-agentcore:" + s.opts.Region + ":" + s.opts.AccountID + ":token-vault/default/"
	switch {
	case t.OAuth != nil:
		p := map[string]any{
			"providerArn": vault + "oauth2credentialprovider/" + t.OAuth.ProviderName,
			"scopes":      t.OAuth.Scopes,
			"grantType":   t.OAuth.GrantType,
		}
		if t.OAuth.DefaultReturnURL != "" {
			p["defaultReturnUrl"] = t.OAuth.DefaultReturnURL
		}
		return map[string]any{"credentialProviderType": "OAUTH", "credentialProvider": map[string]any{"oauthCredentialProvider": p}}
	case t.APIKey != "":
		p := map[string]any{
			"providerArn":             vault + "apikeycredentialprovider/" + t.Name + "-api-key",
			"credentialParameterName": t.APIKeyName,
			"credentialLocation":      t.APIKeyLocation,
		}
		if t.APIKeyPrefix != "" {
			p["credentialPrefix"] = t.APIKeyPrefix
		}
		return map[string]any{"credentialProviderType": "API_KEY", "credentialProvider": map[string]any{"apiKeyCredentialProvider": p}}
	default:
		return map[string]any{"credentialProviderType": "GATEWAY_IAM_ROLE"}
	}
}

func (t *targetState) description() string {
	return "OpenAPI target " + t.Name
}

func encodeNextToken(i int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("agwsim:" + strconv.Itoa(i)))
}

func decodeNextToken(tok string) (int, bool) {
	if tok == "" {
		return 0, true
	}
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimPrefix(string(b), "agwsim:"))
	return n, err == nil && n >= 0 && strings.HasPrefix(string(b), "agwsim:")
}

// ---- SSM ----

// ssmParameter is one Parameter Store parameter.
type ssmParameter struct {
	name, typ, value string
	version          int
	modified         time.Time
}

// PutParameter creates or overwrites an SSM parameter: typ "String",
// "StringList" or "SecureString".
func (s *Sim) PutParameter(name, value, typ string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.ssm[name]
	if p == nil {
		p = &ssmParameter{name: name}
		s.ssm[name] = p
	}
	p.typ, p.value = cmp.Or(typ, "String"), value
	p.version++
	p.modified = s.opts.Now().Add(s.skew)
}

// DeleteParameter removes an SSM parameter.
func (s *Sim) DeleteParameter(name string) {
	s.mu.Lock()
	delete(s.ssm, name)
	s.mu.Unlock()
}

// seedParameters stores the seed tutorial's parameters, from the
// emulator's own state. The seed keeps the same names; api_key as a
// SecureString is a guess (the seed stores the outbound key elsewhere).
func (s *Sim) seedParameters() {
	hosted := strings.TrimSuffix(s.TokenURL, "/oauth2/token")
	for name, value := range map[string]string{
		"machine_client_id":     s.ClientID,
		"web_client_id":         s.WebClientID,
		"userpool_id":           s.opts.PoolID,
		"cognito_auth_scope":    s.Scope,
		"cognito_discovery_url": s.DiscoveryURL,
		"cognito_token_url":     s.TokenURL,
		"cognito_auth_url":      s.AuthorizeURL,
		"cognito_domain":        hosted,
		"gateway_id":            s.GatewayID,
		"gateway_iam_role":      "arn:aws:iam::" + s.opts.AccountID + ":role/" + gatewayRoleName,
		"apigateway_url":        s.BackendURL,
	} {
		s.PutParameter(DefaultSSMPrefix+name, value, "String")
	}
	s.PutParameter(DefaultSSMPrefix+"api_key", DefaultAPIKey, "SecureString")
}

func (s *Sim) ssmARN(name string) string {
	return "arn:aws:ssm:" + s.opts.Region + ":" + s.opts.AccountID + ":parameter" + name
}

// ssmJSON is a parameter as GetParameter answers it; a SecureString
// without decryption shows its (emulated) ciphertext.
func (s *Sim) ssmJSON(p *ssmParameter, decrypt bool) map[string]any {
	value := p.value
	if p.typ == "SecureString" && !decrypt {
		value = "AQICAHh" + base64.StdEncoding.EncodeToString([]byte(hexSHA256([]byte(p.value))))
	}
	return map[string]any{
		"ARN":              s.ssmARN(p.name),
		"DataType":         "text",
		"LastModifiedDate": float64(p.modified.UnixMilli()) / 1000,
		"Name":             p.name,
		"Type":             p.typ,
		"Value":            value,
		"Version":          p.version,
	}
}

func (s *Sim) serveSSM(w http.ResponseWriter, r *http.Request, body []byte, op string) {
	var in struct {
		Name           string
		Path           string
		WithDecryption bool
		Recursive      bool
		MaxResults     *int
		NextToken      string
	}
	if json.Unmarshal(body, &in) != nil {
		if s.awsAuth(w, r, body, svcSSM, "", "") != nil {
			writeAWSError(w, svcSSM, awsErr{http.StatusBadRequest, "SerializationException", ""})
		}
		return
	}
	fail := func(code, msg string) { writeAWSError(w, svcSSM, awsErr{http.StatusBadRequest, code, msg}) }
	switch op {
	case "GetParameter":
		if s.awsAuth(w, r, body, svcSSM, "ssm:GetParameter", s.ssmARN(in.Name)) == nil {
			return
		}
		s.mu.Lock()
		p := s.ssm[in.Name]
		var out map[string]any
		if p != nil {
			out = s.ssmJSON(p, in.WithDecryption)
		}
		s.mu.Unlock()
		if p == nil {
			fail("ParameterNotFound", "") // AWS's message is empty
			return
		}
		writeAWSJSON(w, map[string]any{"Parameter": out})
	case "GetParametersByPath":
		path := strings.TrimSuffix(in.Path, "/")
		if s.awsAuth(w, r, body, svcSSM, "ssm:GetParametersByPath", s.ssmARN(cmp.Or(path, "/"))) == nil {
			return
		}
		if !strings.HasPrefix(in.Path, "/") {
			fail("ValidationException", "The parameter doesn't meet the parameter name requirements. The parameter name must begin with a forward slash \"/\".")
			return
		}
		maxResults := 10
		if in.MaxResults != nil {
			if *in.MaxResults < 1 || *in.MaxResults > 10 {
				fail("ValidationException", fmt.Sprintf("1 validation error detected: Value '%d' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 10", *in.MaxResults))
				return
			}
			maxResults = *in.MaxResults
		}
		start, ok := decodeNextToken(in.NextToken)
		if !ok {
			fail("InvalidNextToken", "The specified token isn't valid.")
			return
		}
		prefix := path + "/"
		s.mu.Lock()
		var names []string
		for n := range s.ssm {
			rest, ok := strings.CutPrefix(n, prefix)
			if ok && rest != "" && (in.Recursive || !strings.Contains(rest, "/")) {
				names = append(names, n)
			}
		}
		slices.Sort(names)
		params := []any{}
		end := min(start+maxResults, len(names))
		for _, n := range names[min(start, len(names)):end] {
			params = append(params, s.ssmJSON(s.ssm[n], in.WithDecryption))
		}
		s.mu.Unlock()
		out := map[string]any{"Parameters": params}
		if end < len(names) {
			out["NextToken"] = encodeNextToken(end)
		}
		writeAWSJSON(w, out)
	default:
		if s.awsAuth(w, r, body, svcSSM, "", "") != nil {
			fail("UnknownOperationException", "")
		}
	}
}

func writeAWSJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("x-amzn-RequestId", newUUID())
	w.Write(b)
}

// ---- Cognito user pools API ----

func (s *Sim) serveCognitoAPI(w http.ResponseWriter, r *http.Request, body []byte, op string) {
	var in struct{ UserPoolId, ClientId string }
	json.Unmarshal(body, &in)
	pool := "arn:aws:cognito-idp:" + s.opts.Region + ":" + s.opts.AccountID + ":userpool/" + in.UserPoolId
	if op != "DescribeUserPoolClient" {
		if s.awsAuth(w, r, body, svcCognito, "", "") != nil {
			writeAWSError(w, svcCognito, awsErr{http.StatusBadRequest, "UnknownOperationException", ""})
		}
		return
	}
	if s.awsAuth(w, r, body, svcCognito, "cognito-idp:DescribeUserPoolClient", pool) == nil {
		return
	}
	if in.UserPoolId != s.opts.PoolID {
		writeAWSError(w, svcCognito, awsErr{http.StatusBadRequest, "ResourceNotFoundException", "User pool " + in.UserPoolId + " does not exist."})
		return
	}
	c := s.clients[in.ClientId]
	if c == nil {
		writeAWSError(w, svcCognito, awsErr{http.StatusBadRequest, "ResourceNotFoundException", "User pool client " + in.ClientId + " does not exist."})
		return
	}
	created := float64(s.created.Unix())
	out := map[string]any{
		"UserPoolId":                      s.opts.PoolID,
		"ClientId":                        c.id,
		"CreationDate":                    created,
		"LastModifiedDate":                created,
		"AccessTokenValidity":             int(math.Round(s.opts.TokenLifetime.Minutes())),
		"IdTokenValidity":                 int(math.Round(s.opts.TokenLifetime.Minutes())),
		"RefreshTokenValidity":            int(math.Round(s.opts.RefreshTokenLifetime.Minutes())),
		"TokenValidityUnits":              map[string]string{"AccessToken": "minutes", "IdToken": "minutes", "RefreshToken": "minutes"},
		"AllowedOAuthScopes":              c.scopes,
		"AllowedOAuthFlowsUserPoolClient": true,
		"SupportedIdentityProviders":      []string{"COGNITO"},
		"EnableTokenRevocation":           true,
		"AuthSessionValidity":             3,
	}
	if c.secret != "" {
		out["ClientName"] = "MachineClient"
		out["ClientSecret"] = c.secret
		out["AllowedOAuthFlows"] = []string{"client_credentials"}
	} else {
		out["ClientName"] = "WebClient"
		out["AllowedOAuthFlows"] = []string{"code"}
		out["CallbackURLs"] = c.redirects
		out["ExplicitAuthFlows"] = []string{"ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_USER_SRP_AUTH"}
		if s.opts.RefreshTokenRotation {
			out["RefreshTokenRotation"] = map[string]any{"Feature": "ENABLED", "RetryGracePeriodSeconds": int(s.opts.RefreshTokenGracePeriod.Seconds())}
		}
	}
	writeAWSJSON(w, map[string]any{"UserPoolClient": out})
}

// ---- CloudFormation ----

// StackOutputs are the outputs of DefaultStackName, from the emulator's
// state (keys are a guess; see DefaultStackName).
func (s *Sim) StackOutputs() map[string]string {
	return map[string]string{
		"GatewayId":           s.GatewayID,
		"GatewayUrl":          s.GatewayURL,
		"GatewayArn":          s.gatewayARN(),
		"UserPoolId":          s.opts.PoolID,
		"MachineClientId":     s.ClientID,
		"WebClientId":         s.WebClientID,
		"CognitoAuthScope":    s.Scope,
		"CognitoDiscoveryUrl": s.DiscoveryURL,
		"CognitoTokenUrl":     s.TokenURL,
		"CognitoAuthUrl":      s.AuthorizeURL,
	}
}

func (s *Sim) stackARN(name string) string {
	return "arn:aws:cloudformation:" + s.opts.Region + ":" + s.opts.AccountID + ":stack/" + name + "/" + s.stackUUID
}

func (s *Sim) serveCloudFormation(w http.ResponseWriter, r *http.Request, body []byte, form url.Values) {
	action := form.Get("Action")
	if action != "DescribeStacks" {
		if s.awsAuth(w, r, body, svcCFN, "", "") != nil {
			writeAWSError(w, svcCFN, awsErr{http.StatusBadRequest, "InvalidAction", "The action " + action + " is not valid for this web service."})
		}
		return
	}
	name := form.Get("StackName")
	resource := "arn:aws:cloudformation:" + s.opts.Region + ":" + s.opts.AccountID + ":stack/" + cmp.Or(name, "*") + "/*"
	if s.awsAuth(w, r, body, svcCFN, "cloudformation:DescribeStacks", resource) == nil {
		return
	}
	if name != "" && name != DefaultStackName && name != s.stackARN(DefaultStackName) {
		writeAWSError(w, svcCFN, awsErr{http.StatusBadRequest, "ValidationError", "Stack with id " + name + " does not exist"})
		return
	}
	outs := s.StackOutputs()
	var b strings.Builder
	b.WriteString(`<DescribeStacksResponse xmlns="` + svcCFN.xmlns + `"><DescribeStacksResult><Stacks><member>`)
	b.WriteString(xmlElem("StackId", s.stackARN(DefaultStackName)) + xmlElem("StackName", DefaultStackName) +
		xmlElem("Description", "AgentCore Gateway with Cognito for the Asana integration (emulated)") +
		xmlElem("CreationTime", awsTime(s.created)) + xmlElem("StackStatus", "CREATE_COMPLETE") + "<Outputs>")
	for _, k := range slices.Sorted(maps.Keys(outs)) {
		b.WriteString("<member>" + xmlElem("OutputKey", k) + xmlElem("OutputValue", outs[k]) + xmlElem("Description", k) + "</member>")
	}
	id := newUUID()
	b.WriteString(`</Outputs></member></Stacks></DescribeStacksResult><ResponseMetadata>` + xmlElem("RequestId", id) + `</ResponseMetadata></DescribeStacksResponse>`)
	writeXML(w, http.StatusOK, id, b.String())
}

// ---- STS ----

func (s *Sim) serveSTS(w http.ResponseWriter, r *http.Request, body []byte, form url.Values) {
	// GetCallerIdentity needs no permission (AWS: "No permissions are
	// required to perform this operation").
	key := s.awsAuth(w, r, body, svcSTS, "", "")
	if key == nil {
		return
	}
	if action := form.Get("Action"); action != "GetCallerIdentity" {
		writeAWSError(w, svcSTS, awsErr{http.StatusBadRequest, "InvalidAction", "Could not find operation " + action + " for version 2011-06-15"})
		return
	}
	// The unique id: AIDA... for a user, AROA...:session for a role session.
	uid := strings.ToUpper(hexSHA256([]byte(key.ARN))[:17])
	userID := "AIDA" + uid
	if strings.Contains(key.ARN, ":assumed-role/") {
		userID = "AROA" + uid + ":" + key.ARN[strings.LastIndex(key.ARN, "/")+1:]
	}
	account := s.opts.AccountID
	if f := strings.Split(key.ARN, ":"); len(f) > 4 {
		account = f[4]
	}
	id := newUUID()
	writeXML(w, http.StatusOK, id, `<GetCallerIdentityResponse xmlns="`+svcSTS.xmlns+`"><GetCallerIdentityResult>`+
		xmlElem("Arn", key.ARN)+xmlElem("UserId", userID)+xmlElem("Account", account)+
		`</GetCallerIdentityResult><ResponseMetadata>`+xmlElem("RequestId", id)+`</ResponseMetadata></GetCallerIdentityResponse>`)
}

// ---- S3 ----

// serveS3 is GetObject (path style) on the OpenAPI schemas of targets with
// an S3URI.
func (s *Sim) serveS3(w http.ResponseWriter, r *http.Request, body []byte) {
	bucketKey := strings.TrimPrefix(r.URL.Path, "/")
	if s.awsAuth(w, r, body, svcS3, "s3:GetObject", "arn:aws:s3:::"+bucketKey) == nil {
		return
	}
	for _, t := range s.targetList() {
		if t.S3URI == "s3://"+bucketKey {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Length", strconv.Itoa(len(t.Spec)))
			w.Header().Set("ETag", `"`+hexSHA256(t.Spec)[:32]+`"`)
			w.Header().Set("x-amz-request-id", newUUID())
			w.WriteHeader(http.StatusOK)
			if r.Method != http.MethodHead {
				w.Write(t.Spec)
			}
			return
		}
	}
	writeAWSError(w, svcS3, awsErr{http.StatusNotFound, "NoSuchKey", "The specified key does not exist."})
}

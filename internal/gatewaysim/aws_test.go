package gatewaysim

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/bedrockagentcorecontrol"
	actypes "github.com/aws/aws-sdk-go-v2/service/bedrockagentcorecontrol/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/agw-proxy/agw-proxy/configs"
)

// The tests in this file talk to the emulated AWS with the real
// aws-sdk-go-v2 service clients (static credentials, BaseEndpoint set to
// Sim.AWSEndpointURL, no retries), which proves the wire shapes are what
// the SDK parses, and with raw requests signed by aws/signer/v4 for the
// error shapes.

func staticCreds(k AWSKey) aws.CredentialsProvider {
	return credentials.NewStaticCredentialsProvider(k.AccessKeyID, k.SecretAccessKey, k.SessionToken)
}

func testKey() AWSKey {
	return AWSKey{AccessKeyID: TestAccessKeyID, SecretAccessKey: TestSecretAccessKey}
}

func controlClient(s *Sim, k AWSKey) *bedrockagentcorecontrol.Client {
	return bedrockagentcorecontrol.New(bedrockagentcorecontrol.Options{
		Region: "us-east-1", Credentials: staticCreds(k), BaseEndpoint: aws.String(s.AWSEndpointURL), RetryMaxAttempts: 1,
	})
}

func ssmClient(s *Sim, k AWSKey) *ssm.Client {
	return ssm.New(ssm.Options{Region: "us-east-1", Credentials: staticCreds(k), BaseEndpoint: aws.String(s.AWSEndpointURL), RetryMaxAttempts: 1})
}

func cfnClient(s *Sim, k AWSKey) *cloudformation.Client {
	return cloudformation.New(cloudformation.Options{Region: "us-east-1", Credentials: staticCreds(k), BaseEndpoint: aws.String(s.AWSEndpointURL), RetryMaxAttempts: 1})
}

func cognitoClient(s *Sim, k AWSKey) *cognitoidentityprovider.Client {
	return cognitoidentityprovider.New(cognitoidentityprovider.Options{Region: "us-east-1", Credentials: staticCreds(k), BaseEndpoint: aws.String(s.AWSEndpointURL), RetryMaxAttempts: 1})
}

func stsClient(s *Sim, k AWSKey) *sts.Client {
	return sts.New(sts.Options{Region: "us-east-1", Credentials: staticCreds(k), BaseEndpoint: aws.String(s.AWSEndpointURL), RetryMaxAttempts: 1})
}

// apiError returns err's AWS error code and message as the SDK parsed them.
func apiError(t *testing.T, err error) (string, string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("not an AWS API error: %v", err)
	}
	return ae.ErrorCode(), ae.ErrorMessage()
}

// threeTargets is a Gateway with the default API-key target, a 3LO one
// with its schema in S3, and a header-propagating one.
func threeTargets() Options {
	return Options{Targets: []Target{
		{Name: DefaultTargetName, Spec: configs.AsanaOpenAPI, APIKey: DefaultAPIKey},
		{Name: "AsanaOAuth", Spec: configs.AsanaOpenAPI, OAuth: &OAuthCredentialProvider{}, S3URI: "s3://agwsim-schemas/asana/openapi spec.json"},
		{Name: "Headers", Spec: configs.AsanaOpenAPI, APIKey: "k2", APIKeyLocation: "HEADER", APIKeyName: "X-Api-Key", APIKeyPrefix: "Key ",
			Metadata: &MetadataConfiguration{AllowedRequestHeaders: []string{"X-Trace"}}},
	}}
}

func TestControlPlaneWithTheSDK(t *testing.T) {
	s := start(t, threeTargets())
	ctx := testCtx(t)
	c := controlClient(s, testKey())

	gw, err := c.GetGateway(ctx, &bedrockagentcorecontrol.GetGatewayInput{GatewayIdentifier: aws.String(s.GatewayID)})
	if err != nil {
		t.Fatalf("GetGateway: %v", err)
	}
	if aws.ToString(gw.GatewayUrl) != s.GatewayURL || aws.ToString(gw.GatewayId) != s.GatewayID || gw.AuthorizerType != actypes.AuthorizerTypeCustomJwt || gw.Status != actypes.GatewayStatusReady {
		t.Errorf("GetGateway = url %s id %s %s %s, want %s %s CUSTOM_JWT READY", aws.ToString(gw.GatewayUrl), aws.ToString(gw.GatewayId), gw.AuthorizerType, gw.Status, s.GatewayURL, s.GatewayID)
	}
	if !strings.HasPrefix(s.GatewayID, DefaultGatewayName+"-") || len(s.GatewayID) != len(DefaultGatewayName)+11 {
		t.Errorf("gateway id %q is not {name}-{10 alnum}", s.GatewayID)
	}
	jwtAuth, ok := gw.AuthorizerConfiguration.(*actypes.AuthorizerConfigurationMemberCustomJWTAuthorizer)
	if !ok {
		t.Fatalf("authorizerConfiguration = %T, want customJWTAuthorizer", gw.AuthorizerConfiguration)
	}
	if got := jwtAuth.Value; aws.ToString(got.DiscoveryUrl) != s.DiscoveryURL ||
		!slices.Equal(got.AllowedClients, []string{s.ClientID, s.WebClientID}) || !slices.Equal(got.AllowedScopes, []string{s.Scope}) || got.AllowedAudience != nil {
		t.Errorf("customJWTAuthorizer = %+v", got)
	}
	mcpConf, ok := gw.ProtocolConfiguration.(*actypes.GatewayProtocolConfigurationMemberMcp)
	if !ok || !slices.Equal(mcpConf.Value.SupportedVersions, ProtocolVersions()) {
		t.Errorf("protocolConfiguration = %#v", gw.ProtocolConfiguration)
	}
	// By ARN too.
	if _, err := c.GetGateway(ctx, &bedrockagentcorecontrol.GetGatewayInput{GatewayIdentifier: gw.GatewayArn}); err != nil {
		t.Errorf("GetGateway by ARN: %v", err)
	}
	_, err = c.GetGateway(ctx, &bedrockagentcorecontrol.GetGatewayInput{GatewayIdentifier: aws.String("nope-0123456789")})
	if code, _ := apiError(t, err); code != "ResourceNotFoundException" {
		t.Errorf("unknown gateway: %s", code)
	}

	// ListGatewayTargets, one per page.
	var ids, names []string
	var token *string
	for pages := 0; ; pages++ {
		out, err := c.ListGatewayTargets(ctx, &bedrockagentcorecontrol.ListGatewayTargetsInput{GatewayIdentifier: aws.String(s.GatewayID), MaxResults: aws.Int32(1), NextToken: token})
		if err != nil {
			t.Fatalf("ListGatewayTargets: %v", err)
		}
		if len(out.Items) != 1 {
			t.Fatalf("page of %d items, want 1", len(out.Items))
		}
		ids, names = append(ids, aws.ToString(out.Items[0].TargetId)), append(names, aws.ToString(out.Items[0].Name))
		if token = out.NextToken; token == nil {
			break
		}
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
	}
	if !slices.Equal(names, []string{DefaultTargetName, "AsanaOAuth", "Headers"}) {
		t.Fatalf("targets %v", names)
	}
	_, err = c.ListGatewayTargets(ctx, &bedrockagentcorecontrol.ListGatewayTargetsInput{GatewayIdentifier: aws.String(s.GatewayID), MaxResults: aws.Int32(1001)})
	if code, _ := apiError(t, err); code != "ValidationException" {
		t.Errorf("maxResults 1001: %s", code)
	}

	get := func(id string) *bedrockagentcorecontrol.GetGatewayTargetOutput {
		t.Helper()
		out, err := c.GetGatewayTarget(ctx, &bedrockagentcorecontrol.GetGatewayTargetInput{GatewayIdentifier: aws.String(s.GatewayID), TargetId: aws.String(id)})
		if err != nil {
			t.Fatalf("GetGatewayTarget %s: %v", id, err)
		}
		return out
	}
	openAPI := func(out *bedrockagentcorecontrol.GetGatewayTargetOutput) actypes.ApiSchemaConfiguration {
		t.Helper()
		m, ok := out.TargetConfiguration.(*actypes.TargetConfigurationMemberMcp)
		if !ok {
			t.Fatalf("targetConfiguration = %T", out.TargetConfiguration)
		}
		o, ok := m.Value.(*actypes.McpTargetConfigurationMemberOpenApiSchema)
		if !ok {
			t.Fatalf("mcp = %T", m.Value)
		}
		return o.Value
	}

	apiKeyTarget := get(ids[0])
	inline, ok := openAPI(apiKeyTarget).(*actypes.ApiSchemaConfigurationMemberInlinePayload)
	if !ok || inline.Value != string(configs.AsanaOpenAPI) {
		t.Errorf("target 1 schema = %T, want the inline spec", openAPI(apiKeyTarget))
	}
	if len(apiKeyTarget.CredentialProviderConfigurations) != 1 {
		t.Fatalf("credential providers %+v", apiKeyTarget.CredentialProviderConfigurations)
	}
	cp := apiKeyTarget.CredentialProviderConfigurations[0]
	ak, ok := cp.CredentialProvider.(*actypes.CredentialProviderMemberApiKeyCredentialProvider)
	if cp.CredentialProviderType != actypes.CredentialProviderTypeApiKey || !ok ||
		aws.ToString(ak.Value.CredentialParameterName) != "api_key" || ak.Value.CredentialLocation != actypes.ApiKeyCredentialLocationQueryParameter {
		t.Errorf("target 1 credential provider = %s %#v", cp.CredentialProviderType, cp.CredentialProvider)
	}

	oauthTarget := get(ids[1])
	s3Schema, ok := openAPI(oauthTarget).(*actypes.ApiSchemaConfigurationMemberS3)
	if !ok || aws.ToString(s3Schema.Value.Uri) != "s3://agwsim-schemas/asana/openapi spec.json" {
		t.Errorf("target 2 schema = %#v, want its S3 URI", openAPI(oauthTarget))
	}
	oc, ok := oauthTarget.CredentialProviderConfigurations[0].CredentialProvider.(*actypes.CredentialProviderMemberOauthCredentialProvider)
	if oauthTarget.CredentialProviderConfigurations[0].CredentialProviderType != actypes.CredentialProviderTypeOauth || !ok ||
		oc.Value.GrantType != actypes.OAuthGrantTypeAuthorizationCode || aws.ToString(oc.Value.DefaultReturnUrl) != s.ReturnAppURL {
		t.Errorf("target 2 credential provider = %#v", oauthTarget.CredentialProviderConfigurations[0])
	}

	headerTarget := get(ids[2])
	hk := headerTarget.CredentialProviderConfigurations[0].CredentialProvider.(*actypes.CredentialProviderMemberApiKeyCredentialProvider)
	if hk.Value.CredentialLocation != actypes.ApiKeyCredentialLocationHeader || aws.ToString(hk.Value.CredentialPrefix) != "Key " {
		t.Errorf("target 3 credential provider = %+v", hk.Value)
	}
	if m := headerTarget.MetadataConfiguration; m == nil || !slices.Equal(m.AllowedRequestHeaders, []string{"X-Trace"}) {
		t.Errorf("target 3 metadataConfiguration = %+v", m)
	}
	_, err = c.GetGatewayTarget(ctx, &bedrockagentcorecontrol.GetGatewayTargetInput{GatewayIdentifier: aws.String(s.GatewayID), TargetId: aws.String("NOPE000000")})
	if code, _ := apiError(t, err); code != "ResourceNotFoundException" {
		t.Errorf("unknown target: %s", code)
	}

	// The schema in S3, GetObject signed as the S3 client signs (path not
	// escaped twice).
	resp, body := awsDo(t, s, "GET", "/agwsim-schemas/asana/openapi%20spec.json", nil, nil, signWith(testKey(), "us-east-1", "s3", s.now(), true))
	if resp.StatusCode != 200 || !bytes.Equal(body, configs.AsanaOpenAPI) {
		t.Errorf("S3 GetObject: HTTP %d, %d bytes", resp.StatusCode, len(body))
	}
	resp, body = awsDo(t, s, "GET", "/agwsim-schemas/missing.json", nil, nil, signWith(testKey(), "us-east-1", "s3", s.now(), true))
	if code, _ := s3ErrorCode(body); resp.StatusCode != 404 || code != "NoSuchKey" {
		t.Errorf("missing object: HTTP %d %s", resp.StatusCode, code)
	}
}

func TestControlPlaneAuthorizers(t *testing.T) {
	ctx := testCtx(t)
	s := start(t, Options{WebClientID: "webclient0000000000000000a", AllowedAudience: []string{"webclient0000000000000000a"}})
	gw, err := controlClient(s, testKey()).GetGateway(ctx, &bedrockagentcorecontrol.GetGatewayInput{GatewayIdentifier: aws.String(s.GatewayID)})
	if err != nil {
		t.Fatal(err)
	}
	a := gw.AuthorizerConfiguration.(*actypes.AuthorizerConfigurationMemberCustomJWTAuthorizer).Value
	if !slices.Equal(a.AllowedAudience, []string{s.WebClientID}) || a.AllowedClients != nil || a.AllowedScopes != nil {
		t.Errorf("allowedAudience gateway: %+v", a)
	}

	s = start(t, Options{AuthorizerType: AuthorizerAWSIAM, Sessions: true, Search: true})
	gw, err = controlClient(s, testKey()).GetGateway(ctx, &bedrockagentcorecontrol.GetGatewayInput{GatewayIdentifier: aws.String(s.GatewayID)})
	if err != nil {
		t.Fatal(err)
	}
	if gw.AuthorizerType != actypes.AuthorizerTypeAwsIam || gw.AuthorizerConfiguration != nil {
		t.Errorf("AWS_IAM gateway: %s %#v", gw.AuthorizerType, gw.AuthorizerConfiguration)
	}
	m := gw.ProtocolConfiguration.(*actypes.GatewayProtocolConfigurationMemberMcp).Value
	if m.SearchType != actypes.SearchTypeSemantic || m.SessionConfiguration == nil || aws.ToInt32(m.SessionConfiguration.SessionTimeoutInSeconds) != 3600 {
		t.Errorf("mcp configuration %+v", m)
	}
}

func TestSSMWithTheSDK(t *testing.T) {
	s := start(t, Options{})
	ctx := testCtx(t)
	c := ssmClient(s, testKey())

	p, err := c.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(DefaultSSMPrefix + "gateway_id")})
	if err != nil {
		t.Fatalf("GetParameter: %v", err)
	}
	if aws.ToString(p.Parameter.Value) != s.GatewayID || p.Parameter.Type != "String" || p.Parameter.LastModifiedDate == nil {
		t.Errorf("gateway_id = %+v", p.Parameter)
	}
	// A SecureString: ciphertext unless decrypted.
	p, err = c.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(DefaultSSMPrefix + "api_key")})
	if err != nil || aws.ToString(p.Parameter.Value) == DefaultAPIKey || p.Parameter.Type != "SecureString" {
		t.Errorf("api_key without decryption: %v %+v", err, p)
	}
	p, err = c.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(DefaultSSMPrefix + "api_key"), WithDecryption: aws.Bool(true)})
	if err != nil || aws.ToString(p.Parameter.Value) != DefaultAPIKey {
		t.Errorf("api_key with decryption: %v %+v", err, p)
	}
	_, err = c.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(DefaultSSMPrefix + "nope")})
	if code, _ := apiError(t, err); code != "ParameterNotFound" {
		t.Errorf("missing parameter: %s", code)
	}

	// GetParametersByPath: pages of 3, recursive or not.
	s.PutParameter(DefaultSSMPrefix+"nested/deeper", "x", "")
	byPath := func(recursive bool) map[string]string {
		got := map[string]string{}
		var token *string
		for range 20 {
			out, err := c.GetParametersByPath(ctx, &ssm.GetParametersByPathInput{
				Path: aws.String(strings.TrimSuffix(DefaultSSMPrefix, "/")), Recursive: aws.Bool(recursive),
				WithDecryption: aws.Bool(true), MaxResults: aws.Int32(3), NextToken: token,
			})
			if err != nil {
				t.Fatalf("GetParametersByPath: %v", err)
			}
			if len(out.Parameters) > 3 {
				t.Fatalf("page of %d", len(out.Parameters))
			}
			for _, p := range out.Parameters {
				got[strings.TrimPrefix(aws.ToString(p.Name), DefaultSSMPrefix)] = aws.ToString(p.Value)
			}
			if token = out.NextToken; token == nil {
				return got
			}
		}
		t.Fatal("pagination does not end")
		return nil
	}
	flat := byPath(false)
	want := map[string]string{
		"gateway_id": s.GatewayID, "machine_client_id": s.ClientID, "web_client_id": s.WebClientID,
		"userpool_id": s.opts.PoolID, "cognito_auth_scope": s.Scope, "cognito_discovery_url": s.DiscoveryURL,
		"cognito_token_url": s.TokenURL, "cognito_auth_url": s.AuthorizeURL, "api_key": DefaultAPIKey,
	}
	for k, v := range want {
		if flat[k] != v {
			t.Errorf("%s = %q, want %q", k, flat[k], v)
		}
	}
	if _, ok := flat["nested/deeper"]; ok {
		t.Error("a non-recursive listing holds a nested parameter")
	}
	if rec := byPath(true); rec["nested/deeper"] != "x" || len(rec) != len(flat)+1 {
		t.Errorf("recursive listing: %d parameters, nested = %q", len(rec), rec["nested/deeper"])
	}
	_, err = c.GetParametersByPath(ctx, &ssm.GetParametersByPathInput{Path: aws.String("/app"), MaxResults: aws.Int32(11)})
	if code, _ := apiError(t, err); code != "ValidationException" {
		t.Errorf("MaxResults 11: %s", code)
	}
}

func TestCloudFormationCognitoSTSWithTheSDK(t *testing.T) {
	s := start(t, Options{})
	ctx := testCtx(t)

	out, err := cfnClient(s, testKey()).DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(DefaultStackName)})
	if err != nil {
		t.Fatalf("DescribeStacks: %v", err)
	}
	if len(out.Stacks) != 1 || out.Stacks[0].StackStatus != "CREATE_COMPLETE" {
		t.Fatalf("stacks %+v", out.Stacks)
	}
	got := map[string]string{}
	for _, o := range out.Stacks[0].Outputs {
		got[aws.ToString(o.OutputKey)] = aws.ToString(o.OutputValue)
	}
	if got["GatewayId"] != s.GatewayID || got["GatewayUrl"] != s.GatewayURL || got["MachineClientId"] != s.ClientID ||
		got["CognitoDiscoveryUrl"] != s.DiscoveryURL || got["CognitoTokenUrl"] != s.TokenURL || got["CognitoAuthScope"] != s.Scope {
		t.Errorf("outputs %v", got)
	}
	_, err = cfnClient(s, testKey()).DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String("other")})
	if code, msg := apiError(t, err); code != "ValidationError" || msg != "Stack with id other does not exist" {
		t.Errorf("unknown stack: %s %q", code, msg)
	}

	cg := cognitoClient(s, testKey())
	pc, err := cg.DescribeUserPoolClient(ctx, &cognitoidentityprovider.DescribeUserPoolClientInput{UserPoolId: aws.String(s.opts.PoolID), ClientId: aws.String(s.ClientID)})
	if err != nil {
		t.Fatalf("DescribeUserPoolClient: %v", err)
	}
	if aws.ToString(pc.UserPoolClient.ClientSecret) != s.ClientSecret || aws.ToString(pc.UserPoolClient.ClientId) != s.ClientID {
		t.Errorf("machine client: secret %v id %v", pc.UserPoolClient.ClientSecret != nil, aws.ToString(pc.UserPoolClient.ClientId))
	}
	pc, err = cg.DescribeUserPoolClient(ctx, &cognitoidentityprovider.DescribeUserPoolClientInput{UserPoolId: aws.String(s.opts.PoolID), ClientId: aws.String(s.WebClientID)})
	if err != nil || pc.UserPoolClient.ClientSecret != nil || !slices.Equal(pc.UserPoolClient.CallbackURLs, []string{s.RedirectURL}) {
		t.Errorf("web client: %v %+v", err, pc)
	}
	_, err = cg.DescribeUserPoolClient(ctx, &cognitoidentityprovider.DescribeUserPoolClientInput{UserPoolId: aws.String(s.opts.PoolID), ClientId: aws.String("nope")})
	if code, _ := apiError(t, err); code != "ResourceNotFoundException" {
		t.Errorf("unknown client: %s", code)
	}

	id, err := stsClient(s, testKey()).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("GetCallerIdentity: %v", err)
	}
	if aws.ToString(id.Arn) != DefaultUserARN || aws.ToString(id.Account) != DefaultAccountID || !strings.HasPrefix(aws.ToString(id.UserId), "AIDA") {
		t.Errorf("identity %s %s %s", aws.ToString(id.Arn), aws.ToString(id.Account), aws.ToString(id.UserId))
	}
	tmp := s.IssueTemporaryCredentials(time.Hour, nil)
	id, err = stsClient(s, tmp).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(id.Arn) != tmp.ARN || !strings.HasPrefix(aws.ToString(id.UserId), "AROA") {
		t.Errorf("temporary credentials: %v %+v", err, id)
	}
}

// The SDK parses the emulator's authentication and permission errors
// into the codes and messages of each protocol.
func TestAWSErrorsThroughTheSDK(t *testing.T) {
	s := start(t, Options{})
	ctx := testCtx(t)
	denied := s.IssueTemporaryCredentials(time.Hour, []string{"sts:*"})
	bad := AWSKey{AccessKeyID: TestAccessKeyID, SecretAccessKey: "wrong"}
	calls := []struct {
		name string
		call func(AWSKey) error
		// codes for a wrong secret and for a missing permission, and the
		// action the denial names
		badSig, denied, action string
	}{
		{"GetGateway", func(k AWSKey) error {
			_, err := controlClient(s, k).GetGateway(ctx, &bedrockagentcorecontrol.GetGatewayInput{GatewayIdentifier: aws.String(s.GatewayID)})
			return err
		}, "InvalidSignatureException", "AccessDeniedException", "bedrock-agentcore:GetGateway"},
		{"GetParameter", func(k AWSKey) error {
			_, err := ssmClient(s, k).GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(DefaultSSMPrefix + "gateway_id")})
			return err
		}, "InvalidSignatureException", "AccessDeniedException", "ssm:GetParameter"},
		{"DescribeStacks", func(k AWSKey) error {
			_, err := cfnClient(s, k).DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(DefaultStackName)})
			return err
		}, "SignatureDoesNotMatch", "AccessDenied", "cloudformation:DescribeStacks"},
		{"DescribeUserPoolClient", func(k AWSKey) error {
			_, err := cognitoClient(s, k).DescribeUserPoolClient(ctx, &cognitoidentityprovider.DescribeUserPoolClientInput{UserPoolId: aws.String(s.opts.PoolID), ClientId: aws.String(s.ClientID)})
			return err
		}, "InvalidSignatureException", "AccessDeniedException", "cognito-idp:DescribeUserPoolClient"},
		{"GetCallerIdentity", func(k AWSKey) error {
			_, err := stsClient(s, k).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
			return err
		}, "SignatureDoesNotMatch", "", ""},
	}
	for _, c := range calls {
		if code, msg := apiError(t, c.call(bad)); code != c.badSig || !strings.HasPrefix(msg, "The request signature we calculated does not match") {
			t.Errorf("%s with a wrong secret: %s %q, want %s", c.name, code, msg, c.badSig)
		}
		if c.denied == "" {
			continue
		}
		code, msg := apiError(t, c.call(denied))
		wantPrefix := "User: " + denied.ARN + " is not authorized to perform: " + c.action + " on resource: arn:aws:"
		if code != c.denied || !strings.HasPrefix(msg, wantPrefix) || !strings.HasSuffix(msg, "because no identity-based policy allows the "+c.action+" action") {
			t.Errorf("%s without permission: %s %q, want %s naming %s", c.name, code, msg, c.denied, c.action)
		}
	}
}

func TestAWSPermissions(t *testing.T) {
	s := start(t, Options{AWSKeys: []AWSKey{
		{AccessKeyID: TestAccessKeyID, SecretAccessKey: TestSecretAccessKey, Actions: []string{"bedrock-agentcore:Get*", "ssm:GetParameter"}},
	}})
	ctx := testCtx(t)
	c := controlClient(s, testKey())
	if _, err := c.GetGateway(ctx, &bedrockagentcorecontrol.GetGatewayInput{GatewayIdentifier: aws.String(s.GatewayID)}); err != nil {
		t.Errorf("GetGateway with bedrock-agentcore:Get*: %v", err)
	}
	_, err := c.ListGatewayTargets(ctx, &bedrockagentcorecontrol.ListGatewayTargetsInput{GatewayIdentifier: aws.String(s.GatewayID)})
	code, msg := apiError(t, err)
	want := "User: " + DefaultUserARN + " is not authorized to perform: bedrock-agentcore:ListGatewayTargets on resource: " + s.gatewayARN() +
		" because no identity-based policy allows the bedrock-agentcore:ListGatewayTargets action"
	if code != "AccessDeniedException" || msg != want {
		t.Errorf("ListGatewayTargets: %s %q\nwant %q", code, msg, want)
	}
	if _, err := ssmClient(s, testKey()).GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(DefaultSSMPrefix + "gateway_id")}); err != nil {
		t.Errorf("GetParameter: %v", err)
	}
	_, err = ssmClient(s, testKey()).GetParametersByPath(ctx, &ssm.GetParametersByPathInput{Path: aws.String("/app/asana/demo/agentcoregwy")})
	if _, msg := apiError(t, err); !strings.Contains(msg, "ssm:GetParametersByPath on resource: arn:aws:ssm:us-east-1:"+DefaultAccountID+":parameter/app/asana/demo/agentcoregwy ") {
		t.Errorf("GetParametersByPath: %q", msg)
	}
	// Permissions change at run time.
	s.SetAWSActions(TestAccessKeyID, nil)
	if _, err := c.ListGatewayTargets(ctx, &bedrockagentcorecontrol.ListGatewayTargetsInput{GatewayIdentifier: aws.String(s.GatewayID)}); err != nil {
		t.Errorf("after SetAWSActions(nil): %v", err)
	}
	s.SetAWSActions(TestAccessKeyID, []string{})
	if _, err := ssmClient(s, testKey()).GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(DefaultSSMPrefix + "gateway_id")}); err == nil {
		t.Error("GetParameter allowed with no actions")
	}
	if s.Counts().AWSRefused < 3 {
		t.Errorf("AWSRefused = %d", s.Counts().AWSRefused)
	}
}

// ---- raw requests ----

// signWith signs as aws/signer/v4 does, at t; s3 disables the second
// escaping of the path, as the S3 client does.
func signWith(k AWSKey, region, service string, at time.Time, s3 bool) func(*http.Request, []byte) {
	return func(r *http.Request, body []byte) {
		h := sha256.Sum256(body)
		err := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = s3 }).SignHTTP(context.Background(),
			aws.Credentials{AccessKeyID: k.AccessKeyID, SecretAccessKey: k.SecretAccessKey, SessionToken: k.SessionToken},
			r, hex.EncodeToString(h[:]), service, region, at)
		if err != nil {
			panic(err)
		}
	}
}

func awsDo(t *testing.T, s *Sim, method, path string, hdr map[string]string, body []byte, sign func(*http.Request, []byte)) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, s.AWSEndpointURL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body == nil {
		req.Body, req.ContentLength = nil, 0
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	if sign != nil {
		sign(req, body)
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func s3ErrorCode(body []byte) (string, string) {
	var e struct{ Code, Message string }
	xml.Unmarshal(body, &e)
	return e.Code, e.Message
}

// awsRawCall is one operation of each protocol, and how to read its error.
type awsRawCall struct {
	name, method, path, service string
	hdr                         map[string]string
	body                        []byte
	proto                       awsProtocol
}

func rawCalls(s *Sim) []awsRawCall {
	form := func(v url.Values) []byte { return []byte(v.Encode()) }
	formHdr := map[string]string{"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
	return []awsRawCall{
		{"GetGateway (REST-JSON)", "GET", "/gateways/" + s.GatewayID + "/", "bedrock-agentcore", nil, nil, protoRESTJSON},
		{"GetParameter (JSON 1.1)", "POST", "/", "ssm", map[string]string{"X-Amz-Target": "AmazonSSM.GetParameter", "Content-Type": "application/x-amz-json-1.1"},
			[]byte(`{"Name":"` + DefaultSSMPrefix + `gateway_id"}`), protoJSON11},
		{"DescribeUserPoolClient (JSON 1.1)", "POST", "/", "cognito-idp", map[string]string{"X-Amz-Target": "AWSCognitoIdentityProviderService.DescribeUserPoolClient", "Content-Type": "application/x-amz-json-1.1"},
			[]byte(`{"UserPoolId":"` + s.opts.PoolID + `","ClientId":"` + s.ClientID + `"}`), protoJSON11},
		{"DescribeStacks (query)", "POST", "/", "cloudformation", formHdr, form(url.Values{"Action": {"DescribeStacks"}, "Version": {"2010-05-15"}, "StackName": {DefaultStackName}}), protoQuery},
		{"GetCallerIdentity (query)", "POST", "/", "sts", formHdr, form(url.Values{"Action": {"GetCallerIdentity"}, "Version": {"2011-06-15"}}), protoQuery},
	}
}

// readAWSError decodes an error answer of proto: status, code, message;
// it fails the test when the shape is not the protocol's.
func readAWSError(t *testing.T, proto awsProtocol, resp *http.Response, body []byte) (string, string) {
	t.Helper()
	switch proto {
	case protoRESTJSON:
		var e map[string]string
		if err := json.Unmarshal(body, &e); err != nil || len(e) != 1 {
			t.Fatalf("REST-JSON error body %s, want {\"message\"}", body)
		}
		return resp.Header.Get("x-amzn-ErrorType"), e["message"]
	case protoJSON11:
		var e map[string]string
		if err := json.Unmarshal(body, &e); err != nil || e["__type"] == "" {
			t.Fatalf("JSON 1.1 error body %s, want {\"__type\",\"message\"}", body)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/x-amz-json-1.1" {
			t.Errorf("JSON 1.1 error Content-Type %q", ct)
		}
		return e["__type"], e["message"]
	default:
		var e struct {
			XMLName xml.Name
			Error   struct{ Type, Code, Message string }
			ReqID   string `xml:"RequestId"`
		}
		if err := xml.Unmarshal(body, &e); err != nil || e.XMLName.Local != "ErrorResponse" || e.Error.Type != "Sender" || e.ReqID == "" {
			t.Fatalf("query error body %s, want <ErrorResponse><Error><Type>Sender</Type>...", body)
		}
		return e.Error.Code, e.Error.Message
	}
}

func TestAWSErrorShapes(t *testing.T) {
	s := start(t, Options{})
	now := s.now()
	good := testKey()
	tmp := s.IssueTemporaryCredentials(time.Minute, nil)
	expiring := s.IssueTemporaryCredentials(time.Minute, nil)

	type want struct {
		status int
		code   string
	}
	// status and code per protocol: REST-JSON, JSON 1.1, query.
	cases := []struct {
		name          string
		sign          func(call awsRawCall) func(*http.Request, []byte)
		rest, j, q    want
		message       string // prefix
		skewAfterSign time.Duration
	}{
		{"unsigned", func(awsRawCall) func(*http.Request, []byte) { return nil },
			want{403, "MissingAuthenticationTokenException"}, want{400, "MissingAuthenticationTokenException"}, want{403, "MissingAuthenticationToken"}, msgMissingToken, 0},
		{"a bearer token", func(awsRawCall) func(*http.Request, []byte) {
			return func(r *http.Request, _ []byte) { r.Header.Set("Authorization", "Bearer eyJraWQiOi") }
		}, want{403, "IncompleteSignatureException"}, want{400, "IncompleteSignatureException"}, want{403, "IncompleteSignature"}, "Authorization header requires 'Credential'", 0},
		{"unknown access key", func(c awsRawCall) func(*http.Request, []byte) {
			return signWith(AWSKey{AccessKeyID: "AKIAUNKNOWNUNKNOWN00", SecretAccessKey: "x"}, "us-east-1", c.service, now, false)
		}, want{403, "UnrecognizedClientException"}, want{400, "UnrecognizedClientException"}, want{403, "InvalidClientTokenId"}, msgInvalidToken, 0},
		{"wrong secret", func(c awsRawCall) func(*http.Request, []byte) {
			return signWith(AWSKey{AccessKeyID: TestAccessKeyID, SecretAccessKey: "wrong"}, "us-east-1", c.service, now, false)
		}, want{403, "InvalidSignatureException"}, want{400, "InvalidSignatureException"}, want{403, "SignatureDoesNotMatch"}, "The request signature we calculated does not match the signature you provided.", 0},
		{"signed 6 minutes ago", func(c awsRawCall) func(*http.Request, []byte) {
			return signWith(good, "us-east-1", c.service, now.Add(-6*time.Minute), false)
		}, want{403, "InvalidSignatureException"}, want{400, "InvalidSignatureException"}, want{403, "SignatureDoesNotMatch"}, "Signature expired: ", 0},
		{"signed 6 minutes ahead", func(c awsRawCall) func(*http.Request, []byte) {
			return signWith(good, "us-east-1", c.service, now.Add(6*time.Minute), false)
		}, want{403, "InvalidSignatureException"}, want{400, "InvalidSignatureException"}, want{403, "SignatureDoesNotMatch"}, "Signature not yet current: ", 0},
		{"wrong region", func(c awsRawCall) func(*http.Request, []byte) {
			return signWith(good, "eu-west-1", c.service, now, false)
		}, want{403, "InvalidSignatureException"}, want{400, "InvalidSignatureException"}, want{403, "SignatureDoesNotMatch"}, "Credential should be scoped to a valid region, not 'eu-west-1'. ", 0},
		{"wrong service", func(c awsRawCall) func(*http.Request, []byte) {
			return signWith(good, "us-east-1", "execute-api", now, false)
		}, want{403, "InvalidSignatureException"}, want{400, "InvalidSignatureException"}, want{403, "SignatureDoesNotMatch"}, "Credential should be scoped to correct service: '", 0},
		{"temporary key without its session token", func(c awsRawCall) func(*http.Request, []byte) {
			return signWith(AWSKey{AccessKeyID: tmp.AccessKeyID, SecretAccessKey: tmp.SecretAccessKey}, "us-east-1", c.service, now, false)
		}, want{403, "UnrecognizedClientException"}, want{400, "UnrecognizedClientException"}, want{403, "InvalidClientTokenId"}, msgInvalidToken, 0},
		{"expired session token", func(c awsRawCall) func(*http.Request, []byte) {
			return signWith(expiring, "us-east-1", c.service, now.Add(2*time.Minute), false)
		}, want{403, "ExpiredTokenException"}, want{400, "ExpiredTokenException"}, want{403, "ExpiredToken"}, msgExpiredToken, 2 * time.Minute},
	}
	for _, c := range cases {
		s.SetClockSkew(c.skewAfterSign)
		for _, call := range rawCalls(s) {
			resp, body := awsDo(t, s, call.method, call.path, call.hdr, call.body, c.sign(call))
			w := map[awsProtocol]want{protoRESTJSON: c.rest, protoJSON11: c.j, protoQuery: c.q}[call.proto]
			code, msg := readAWSError(t, call.proto, resp, body)
			if resp.StatusCode != w.status || code != w.code || !strings.HasPrefix(msg, c.message) {
				t.Errorf("%s, %s: HTTP %d %s %q, want %d %s %q...", c.name, call.name, resp.StatusCode, code, msg, w.status, w.code, c.message)
			}
		}
	}
	s.SetClockSkew(0)
	// Signed right, with and without a session token: all succeed.
	for _, k := range []AWSKey{good, tmp} {
		for _, call := range rawCalls(s) {
			if resp, body := awsDo(t, s, call.method, call.path, call.hdr, call.body, signWith(k, "us-east-1", call.service, now, false)); resp.StatusCode != 200 {
				t.Errorf("%s signed by %s: HTTP %d %s", call.name, k.AccessKeyID, resp.StatusCode, body)
			}
		}
	}
}

// The emulator's canonical request agrees with aws/signer/v4 on what
// needs escaping: a query with reserved characters and spaces, a path
// whose segments the signer escapes once more, repeated headers, a
// session token.
func TestCanonicalRequestMatchesTheSDKSigner(t *testing.T) {
	s := start(t, Options{})
	tmp := s.IssueTemporaryCredentials(time.Hour, nil)
	for _, k := range []AWSKey{testKey(), tmp} {
		// The signature verifies, so the listing's own validation answers.
		resp, body := awsDo(t, s, "GET", "/gateways/"+s.GatewayID+"/targets/?maxResults=2&nextToken=a%2Bb%2Fc%3D%20d~*", map[string]string{"X-Custom": "  a   b  "}, nil,
			signWith(k, "us-east-1", "bedrock-agentcore", s.now(), false))
		if code, _ := readAWSError(t, protoRESTJSON, resp, body); resp.StatusCode != 400 || code != "ValidationException" {
			t.Errorf("odd query: HTTP %d %s, want the listing's 400 ValidationException", resp.StatusCode, code)
		}
		resp, body = awsDo(t, s, "GET", "/gateways/"+url.PathEscape(s.gatewayARN())+"/", nil, nil, signWith(k, "us-east-1", "bedrock-agentcore", s.now(), false))
		if resp.StatusCode != 200 {
			t.Errorf("escaped ARN in the path: HTTP %d %s", resp.StatusCode, body)
		}
	}
	// The package's own SignV4 signs what the verifier accepts.
	body := []byte(`{"Name":"` + DefaultSSMPrefix + `gateway_id"}`)
	resp, got := awsDo(t, s, "POST", "/", map[string]string{"X-Amz-Target": "AmazonSSM.GetParameter", "Content-Type": "application/x-amz-json-1.1"}, body,
		func(r *http.Request, b []byte) { SignV4Session(r, b, tmp, "us-east-1", "ssm", s.now()) })
	if resp.StatusCode != 200 {
		t.Errorf("SignV4Session: HTTP %d %s", resp.StatusCode, got)
	}
	// A body changed after signing does not verify.
	req, _ := http.NewRequest("POST", s.AWSEndpointURL+"/", bytes.NewReader(body))
	req.Header.Set("X-Amz-Target", "AmazonSSM.GetParameter")
	signWith(testKey(), "us-east-1", "ssm", s.now(), false)(req, body)
	other := []byte(`{"Name":"` + DefaultSSMPrefix + `api_key"}`)
	req.Body, req.ContentLength = io.NopCloser(bytes.NewReader(other)), int64(len(other))
	r2, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b2, _ := io.ReadAll(r2.Body)
	r2.Body.Close()
	if code, _ := readAWSError(t, protoJSON11, r2, b2); code != "InvalidSignatureException" {
		t.Errorf("changed body: %s", code)
	}
}

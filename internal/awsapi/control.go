package awsapi

import (
	"context"
	"net/url"
	"strings"
)

// The AgentCore control plane (bedrock-agentcore-control, REST-JSON,
// signing name bedrock-agentcore).

// maxPages bounds the pages of a list: a loop that never ends (a
// nextToken that repeats) ends here.
const maxPages = 50

// A Gateway is what GetGateway says of a Gateway.
type Gateway struct {
	ID             string
	ARN            string
	Name           string
	URL            string // its MCP endpoint
	Status         string
	AuthorizerType string // CUSTOM_JWT, AWS_IAM, NONE
	JWT            *JWTAuthorizer
}

// Region returns the region the Gateway's ARN names, "" if none.
func (g *Gateway) Region() string {
	if f := strings.Split(g.ARN, ":"); len(f) > 3 {
		return f[3]
	}
	return ""
}

// JWTAuthorizer is a CUSTOM_JWT authorizer's configuration.
type JWTAuthorizer struct {
	DiscoveryURL    string   `json:"discoveryUrl"`
	AllowedClients  []string `json:"allowedClients"`
	AllowedAudience []string `json:"allowedAudience"`
	AllowedScopes   []string `json:"allowedScopes"`
}

// GetGateway describes the Gateway id (its id or ARN).
func (c *Client) GetGateway(ctx context.Context, id string) (*Gateway, error) {
	const action = "bedrock-agentcore:GetGateway"
	data, err := c.call(ctx, svcControl, action, MaxAnswer, getRequest("/gateways/"+url.PathEscape(id)+"/", ""))
	if err != nil {
		return nil, err
	}
	var out struct {
		GatewayID               string `json:"gatewayId"`
		GatewayARN              string `json:"gatewayArn"`
		GatewayURL              string `json:"gatewayUrl"`
		Name                    string `json:"name"`
		Status                  string `json:"status"`
		AuthorizerType          string `json:"authorizerType"`
		AuthorizerConfiguration struct {
			CustomJWTAuthorizer *JWTAuthorizer `json:"customJWTAuthorizer"`
		} `json:"authorizerConfiguration"`
	}
	if err := decode(action, data, &out); err != nil {
		return nil, err
	}
	return &Gateway{ID: out.GatewayID, ARN: out.GatewayARN, URL: out.GatewayURL, Name: out.Name, Status: out.Status,
		AuthorizerType: out.AuthorizerType, JWT: out.AuthorizerConfiguration.CustomJWTAuthorizer}, nil
}

// A GatewaySummary is one item of ListGateways.
type GatewaySummary struct {
	ID   string `json:"gatewayId"`
	Name string `json:"name"`
}

// ListGateways lists the region's Gateways.
func (c *Client) ListGateways(ctx context.Context) ([]GatewaySummary, error) {
	return listAll[GatewaySummary](ctx, c, "bedrock-agentcore:ListGateways", "/gateways/")
}

// listAll follows a control-plane list's nextToken (maxPages at most, and
// never the same token twice) and returns every item.
func listAll[T any](ctx context.Context, c *Client, action, path string) ([]T, error) {
	var all []T
	token := ""
	for range maxPages {
		q := url.Values{"maxResults": {"100"}}
		if token != "" {
			q.Set("nextToken", token)
		}
		data, err := c.call(ctx, svcControl, action, MaxAnswer, getRequest(path, q.Encode()))
		if err != nil {
			return nil, err
		}
		var out struct {
			Items     []T    `json:"items"`
			NextToken string `json:"nextToken"`
		}
		if err := decode(action, data, &out); err != nil {
			return nil, err
		}
		all = append(all, out.Items...)
		if out.NextToken == "" || out.NextToken == token {
			break
		}
		token = out.NextToken
	}
	return all, nil
}

// A TargetSummary is one item of ListGatewayTargets.
type TargetSummary struct {
	ID   string `json:"targetId"`
	Name string `json:"name"`
}

// ListGatewayTargets lists the targets of Gateway gw.
func (c *Client) ListGatewayTargets(ctx context.Context, gw string) ([]TargetSummary, error) {
	return listAll[TargetSummary](ctx, c, "bedrock-agentcore:ListGatewayTargets", "/gateways/"+url.PathEscape(gw)+"/targets/")
}

// A Target is what GetGatewayTarget says of a target.
type Target struct {
	ID   string
	Name string
	// OpenAPIInline is the target's OpenAPI schema (JSON or YAML) when it
	// is inline; OpenAPIS3URI its S3 object ("s3://bucket/key") when it
	// is in S3. Both are empty for a target of another kind (Lambda,
	// Smithy, an MCP server).
	OpenAPIInline string
	OpenAPIS3URI  string
	// Credentials are its outbound credential providers.
	Credentials []CredentialProvider
	// AllowedRequestHeaders is its metadataConfiguration's list of the
	// request headers the Gateway propagates.
	AllowedRequestHeaders []string
}

// A CredentialProvider is one of a target's outbound credential providers.
type CredentialProvider struct {
	Type string // GATEWAY_IAM_ROLE, API_KEY, OAUTH
	// OAuthGrantType is an OAUTH provider's grant: AUTHORIZATION_CODE is
	// a Gateway-held 3LO consent per user.
	OAuthGrantType string
	OAuthScopes    []string
	ProviderARN    string
}

// GetGatewayTarget describes target tid of Gateway gw.
func (c *Client) GetGatewayTarget(ctx context.Context, gw, tid string) (*Target, error) {
	const action = "bedrock-agentcore:GetGatewayTarget"
	data, err := c.call(ctx, svcControl, action, MaxSchema, getRequest("/gateways/"+url.PathEscape(gw)+"/targets/"+url.PathEscape(tid)+"/", ""))
	if err != nil {
		return nil, err
	}
	var out struct {
		TargetID            string `json:"targetId"`
		Name                string `json:"name"`
		TargetConfiguration struct {
			MCP struct {
				OpenAPISchema *struct {
					InlinePayload string `json:"inlinePayload"`
					S3            *struct {
						URI string `json:"uri"`
					} `json:"s3"`
				} `json:"openApiSchema"`
			} `json:"mcp"`
		} `json:"targetConfiguration"`
		CredentialProviderConfigurations []struct {
			Type     string `json:"credentialProviderType"`
			Provider struct {
				OAuth *struct {
					ProviderARN string   `json:"providerArn"`
					Scopes      []string `json:"scopes"`
					GrantType   string   `json:"grantType"`
				} `json:"oauthCredentialProvider"`
				APIKey *struct {
					ProviderARN string `json:"providerArn"`
				} `json:"apiKeyCredentialProvider"`
			} `json:"credentialProvider"`
		} `json:"credentialProviderConfigurations"`
		MetadataConfiguration struct {
			AllowedRequestHeaders []string `json:"allowedRequestHeaders"`
		} `json:"metadataConfiguration"`
	}
	if err := decode(action, data, &out); err != nil {
		return nil, err
	}
	t := &Target{ID: out.TargetID, Name: out.Name, AllowedRequestHeaders: out.MetadataConfiguration.AllowedRequestHeaders}
	if s := out.TargetConfiguration.MCP.OpenAPISchema; s != nil {
		t.OpenAPIInline = s.InlinePayload
		if s.S3 != nil {
			t.OpenAPIS3URI = s.S3.URI
		}
	}
	for _, p := range out.CredentialProviderConfigurations {
		cp := CredentialProvider{Type: p.Type}
		if o := p.Provider.OAuth; o != nil {
			cp.OAuthGrantType, cp.OAuthScopes, cp.ProviderARN = o.GrantType, o.Scopes, o.ProviderARN
		}
		if k := p.Provider.APIKey; k != nil {
			cp.ProviderARN = k.ProviderARN
		}
		t.Credentials = append(t.Credentials, cp)
	}
	return t, nil
}

package awsapi

import (
	"context"

	"github.com/agw-proxy/agw-proxy/tokenstore"
)

// Cognito user pools (JSON 1.1, X-Amz-Target
// AWSCognitoIdentityProviderService.*).

// A UserPoolClient is what DescribeUserPoolClient says of an app client.
type UserPoolClient struct {
	ClientID           string
	Name               string
	AllowedOAuthFlows  []string // client_credentials, code, implicit
	AllowedOAuthScopes []string
	CallbackURLs       []string
	// Secret is the client's secret ("" for a public client). It is a
	// tokenstore.Secret: it prints redacted.
	Secret tokenstore.Secret
}

// DescribeUserPoolClient describes app client client of user pool pool.
func (c *Client) DescribeUserPoolClient(ctx context.Context, pool, client string) (*UserPoolClient, error) {
	const action = "cognito-idp:DescribeUserPoolClient"
	data, err := c.call(ctx, svcCognito, action, MaxAnswer, jsonRequest("AWSCognitoIdentityProviderService.DescribeUserPoolClient",
		map[string]string{"UserPoolId": pool, "ClientId": client}))
	if err != nil {
		return nil, err
	}
	var out struct {
		UserPoolClient struct {
			ClientID           string   `json:"ClientId"`
			ClientName         string   `json:"ClientName"`
			ClientSecret       string   `json:"ClientSecret"`
			AllowedOAuthFlows  []string `json:"AllowedOAuthFlows"`
			AllowedOAuthScopes []string `json:"AllowedOAuthScopes"`
			CallbackURLs       []string `json:"CallbackURLs"`
		} `json:"UserPoolClient"`
	}
	if err := decode(action, data, &out); err != nil {
		return nil, err
	}
	u := out.UserPoolClient
	return &UserPoolClient{ClientID: u.ClientID, Name: u.ClientName, AllowedOAuthFlows: u.AllowedOAuthFlows,
		AllowedOAuthScopes: u.AllowedOAuthScopes, CallbackURLs: u.CallbackURLs, Secret: tokenstore.Secret(u.ClientSecret)}, nil
}

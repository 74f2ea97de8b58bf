// Package gatewayinit proposes an agw-proxy profile from what AWS says of
// a deployed Gateway: its URL and inbound authorizer (GetGateway), its
// targets and their OpenAPI operations (ListGatewayTargets,
// GetGatewayTarget, S3 for a schema kept there), and what the user's SSM
// parameters or CloudFormation outputs name (the app clients, the token
// URL, the scope). "agw-proxy init --gateway" is its command.
//
//	d, err := gatewayinit.Describe(ctx, client, "agentcore-gw-asana-integration-abcdefghij")
//	p := gatewayinit.Propose(gatewayinit.Facts{}, d, nil)
//	os.Stdout.Write(p.YAML())
package gatewayinit

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/agw-proxy/agw-proxy/internal/awsapi"
)

// maxTargets bounds the targets described (one GetGatewayTarget each).
const maxTargets = 100

// Facts are what the user's own records say of the deployment (SSM
// parameters, stack outputs): each may be empty.
type Facts struct {
	GatewayID       string
	GatewayURL      string
	MachineClientID string
	WebClientID     string
	Scopes          []string
	TokenURL        string
	DiscoveryURL    string
	UserPoolID      string
}

// A Deployment is a Gateway as AWS describes it.
type Deployment struct {
	Gateway *awsapi.Gateway
	Targets []TargetInfo
	// Clients are the app clients DescribeUserPoolClient described, by
	// id; a client missing was not described (ClientsErr says why).
	Clients    map[string]*awsapi.UserPoolClient
	ClientsErr error
}

// TargetInfo is a target with its operations.
type TargetInfo struct {
	*awsapi.Target
	Operations []Operation
	// SchemaErr says why the operations are not known (no OpenAPI schema,
	// one that does not parse, S3 refused).
	SchemaErr error
}

// GatewayID returns the Gateway id that ref names: an id, an ARN
// (…:gateway/ID) or an AgentCore Gateway URL (https://ID.gateway.
// bedrock-agentcore.REGION.amazonaws.com/mcp); "" for another URL, whose
// Gateway only ListGateways can find. region is the one ref names, if any.
func GatewayID(ref string) (id, region string) {
	if strings.HasPrefix(ref, "arn:") {
		f := strings.Split(ref, ":")
		if len(f) > 5 {
			return strings.TrimPrefix(f[5], "gateway/"), f[3]
		}
		return "", ""
	}
	if !strings.Contains(ref, "://") {
		return ref, ""
	}
	u, err := url.Parse(ref)
	if err != nil {
		return "", ""
	}
	labels := strings.Split(u.Hostname(), ".")
	if len(labels) >= 6 && labels[1] == "gateway" && labels[2] == "bedrock-agentcore" {
		return labels[0], labels[3]
	}
	return "", ""
}

// Describe reads the Gateway ref (an id, ARN or URL) and its targets.
func Describe(ctx context.Context, c *awsapi.Client, ref string) (*Deployment, error) {
	id, _ := GatewayID(ref)
	var gw *awsapi.Gateway
	var err error
	if id != "" {
		gw, err = c.GetGateway(ctx, id)
	} else {
		gw, err = findByURL(ctx, c, ref)
	}
	if err != nil {
		return nil, err
	}
	d := &Deployment{Gateway: gw, Clients: map[string]*awsapi.UserPoolClient{}}
	list, err := c.ListGatewayTargets(ctx, gw.ID)
	if err != nil {
		return nil, err
	}
	if len(list) > maxTargets {
		list = list[:maxTargets]
	}
	for _, ts := range list {
		t, err := c.GetGatewayTarget(ctx, gw.ID, ts.ID)
		if err != nil {
			return nil, err
		}
		info := TargetInfo{Target: t}
		spec := []byte(t.OpenAPIInline)
		switch {
		case t.OpenAPIS3URI != "":
			spec, err = c.GetObject(ctx, t.OpenAPIS3URI)
			if err != nil {
				info.SchemaErr = err
			}
		case t.OpenAPIInline == "":
			info.SchemaErr = errors.New("not an OpenAPI target")
		}
		if info.SchemaErr == nil {
			if info.Operations, err = Operations(spec); err != nil {
				info.SchemaErr = fmt.Errorf("its OpenAPI schema does not parse: %v", err)
			}
		}
		d.Targets = append(d.Targets, info)
	}
	return d, nil
}

// findByURL finds the Gateway whose URL is u among the region's.
func findByURL(ctx context.Context, c *awsapi.Client, u string) (*awsapi.Gateway, error) {
	list, err := c.ListGateways(ctx)
	if err != nil {
		return nil, err
	}
	want := strings.TrimSuffix(u, "/")
	for _, s := range list[:min(len(list), maxTargets)] {
		gw, err := c.GetGateway(ctx, s.ID)
		if err != nil {
			return nil, err
		}
		if strings.TrimSuffix(gw.URL, "/") == want {
			return gw, nil
		}
	}
	return nil, fmt.Errorf("no Gateway of region %s has the URL %s (%d listed): give its id instead", c.Region, u, len(list))
}

// DescribeClients describes the app clients ids of pool (bounded), into
// d.Clients; the first failure is kept in d.ClientsErr and ends it.
func (d *Deployment) DescribeClients(ctx context.Context, c *awsapi.Client, pool string, ids []string) {
	for _, id := range ids[:min(len(ids), 10)] {
		if _, ok := d.Clients[id]; ok || id == "" {
			continue
		}
		uc, err := c.DescribeUserPoolClient(ctx, pool, id)
		if err != nil {
			d.ClientsErr = err
			return
		}
		d.Clients[id] = uc
	}
}

// PoolFromDiscoveryURL returns the user pool id a Cognito discovery URL
// names (…/{poolId}/.well-known/openid-configuration), "" if none.
func PoolFromDiscoveryURL(discovery string) string {
	u, err := url.Parse(discovery)
	if err != nil {
		return ""
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	i := slices.Index(parts, ".well-known")
	if i < 1 {
		return ""
	}
	pool := parts[i-1]
	if !strings.Contains(pool, "_") {
		return ""
	}
	return pool
}

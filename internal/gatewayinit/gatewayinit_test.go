package gatewayinit

import (
	"slices"
	"strings"
	"testing"

	"github.com/agw-proxy/agw-proxy/internal/awsapi"
)

// Header parameters of operations: the path's and the operation's own,
// through $ref, in JSON and YAML.
func TestOperationsFindHeaderParameters(t *testing.T) {
	const yamlSpec = `openapi: 3.0.0
paths:
  /tasks:
    parameters:
      - $ref: '#/components/parameters/Tenant'
    get:
      operationId: listTasks
      parameters:
        - {name: X-Api-Key, in: header}
        - {name: limit, in: query}
    post:
      operationId: createTask
      parameters:
        - $ref: '#/components/parameters/Auth'
    delete:
      summary: no operationId, no tool
components:
  parameters:
    Tenant: {name: X-Tenant, in: header}
    Auth: {name: Authorization, in: header}
`
	ops, err := Operations([]byte(yamlSpec))
	if err != nil {
		t.Fatal(err)
	}
	want := []Operation{{ID: "listTasks", Method: "get", Headers: []string{"X-Tenant", "X-Api-Key"}}, {ID: "createTask", Method: "post", Headers: []string{"X-Tenant", "Authorization"}}}
	if len(ops) != len(want) {
		t.Fatalf("got %+v", ops)
	}
	for i := range want {
		if ops[i].ID != want[i].ID || !slices.Equal(ops[i].Headers, want[i].Headers) {
			t.Errorf("op %d: %+v, want %+v", i, ops[i], want[i])
		}
	}
	json, err := Operations([]byte(`{"paths":{"/a":{"post":{"operationId":"a","parameters":[{"name":"X-Asana-Token","in":"header"}]}}}}`))
	if err != nil || len(json) != 1 || !slices.Equal(json[0].Headers, []string{"X-Asana-Token"}) {
		t.Errorf("JSON: %v %+v", err, json)
	}
}

func TestLooksLikeCredential(t *testing.T) {
	for h, want := range map[string]bool{"X-Asana-Token": true, "authorization": true, "X-API-KEY": true, "X-Client-Secret": true,
		"X-Tenant": false, "X-Request-Id": false, "Accept-Language": false} {
		if LooksLikeCredential(h) != want {
			t.Errorf("%s: %v", h, !want)
		}
	}
}

// Credential-looking headers become rules (a key raw, a token as Bearer),
// one secret per header when a target has several; the others are listed.
func TestProposeInjectRules(t *testing.T) {
	d := &Deployment{Gateway: &awsapi.Gateway{Name: "gw", URL: "https://x/mcp", AuthorizerType: "AWS_IAM", ARN: "arn:aws:bedrock-agentcore:eu-west-1:1:gateway/gw"},
		Targets: []TargetInfo{{Target: &awsapi.Target{Name: "Jira"}, Operations: []Operation{
			{ID: "a", Method: "get", Headers: []string{"X-Api-Key", "X-Tenant"}},
			{ID: "b", Method: "post", Headers: []string{"Authorization"}},
		}}}}
	p := Propose(Facts{}, d, Options{AWSProfile: "dev"})
	if len(p.Inject) != 2 || p.Inject[0].Secret != "jira-x-api-key" || p.Inject[0].Format != "{secret}" ||
		p.Inject[1].Secret != "jira-authorization" || p.Inject[1].Format != "" || p.Inject[1].Tools[0] != "Jira___*" {
		t.Errorf("rules: %+v", p.Inject)
	}
	if len(p.Unselected) != 1 || p.Unselected[0].Name != "X-Tenant" {
		t.Errorf("unselected: %+v", p.Unselected)
	}
	if p.Auth.Type != "aws_iam" || p.Auth.Region != "eu-west-1" || p.Auth.AWSProfile != "dev" {
		t.Errorf("auth: %+v", p.Auth)
	}
	if y := string(p.YAML()); !strings.Contains(y, "#   X-Tenant of Jira___*") {
		t.Errorf("YAML:\n%s", y)
	}
}

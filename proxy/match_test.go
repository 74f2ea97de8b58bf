package proxy

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// matchTools is a Gateway tool list as the go-sdk client returns it: schemas
// are decoded JSON.
func matchTools(t *testing.T) []*mcp.Tool {
	t.Helper()
	var tools []*mcp.Tool
	for name, schema := range map[string]string{
		"AgentCoreGwyAPIGatewayTarget___asanaInvoke": `{"type":"object","properties":{"X-Asana-Token":{"type":"string"},"tool_name":{"type":"string"}},"required":["X-Asana-Token","tool_name"]}`,
		"AgentCoreGwyAPIGatewayTarget___listUsers":   `{"type":"object","properties":{"x-asana-token":{"type":"string"}}}`,
		"AgentCoreGwyAPIGatewayTarget___ping":        `{"type":"object","properties":{}}`,
		"JiraTarget___search":                        `{"type":"object","properties":{"X-Jira-Token":{"type":"string"},"jql":{"type":"string"}}}`,
		"JiraTarget___requiredOnly":                  `{"type":"object","required":["X-Jira-Tokn"]}`,
		"x_amz_bedrock_agentcore_search":             `{"type":"object","properties":{"query":{"type":"string"}}}`,
	} {
		var s map[string]any
		if err := json.Unmarshal([]byte(schema), &s); err != nil {
			t.Fatal(err)
		}
		tools = append(tools, &mcp.Tool{Name: name, InputSchema: s})
	}
	slices.SortFunc(tools, func(a, b *mcp.Tool) int {
		if a.Name < b.Name {
			return -1
		}
		return 1
	})
	return tools
}

func TestMatchRule(t *testing.T) {
	tools := matchTools(t)
	for _, tc := range []struct {
		name string
		rule Rule
		want RuleMatch
	}{
		{
			name: "glob over a target fills the tools that declare the argument",
			rule: Rule{Argument: "X-Asana-Token", Secret: "asana", Tools: []string{"AgentCoreGwyAPIGatewayTarget___*"}},
			want: RuleMatch{
				Filled: []string{"AgentCoreGwyAPIGatewayTarget___asanaInvoke"},
				Named:  []string{"AgentCoreGwyAPIGatewayTarget___asanaInvoke", "AgentCoreGwyAPIGatewayTarget___listUsers", "AgentCoreGwyAPIGatewayTarget___ping"},
			},
		},
		{
			name: "an argument only in required counts as declared",
			rule: Rule{Argument: "X-Jira-Tokn", Secret: "jira", Tools: []string{"JiraTarget___*"}},
			want: RuleMatch{
				Filled: []string{"JiraTarget___requiredOnly"},
				Named:  []string{"JiraTarget___requiredOnly", "JiraTarget___search"},
			},
		},
		{
			name: "target name typo: near misses share the prefix",
			rule: Rule{Argument: "X-Asana-Token", Secret: "asana", Tools: []string{"AgentCoreGwyAPIGatewayTaget___*"}},
			want: RuleMatch{NearNames: []string{"AgentCoreGwyAPIGatewayTarget___asanaInvoke", "AgentCoreGwyAPIGatewayTarget___listUsers", "AgentCoreGwyAPIGatewayTarget___ping"}},
		},
		{
			name: "wrong case: the tools it matches ignoring case",
			rule: Rule{Argument: "X-Asana-Token", Secret: "asana", Tools: []string{"agentcoregwyapigatewaytarget___asana*"}},
			want: RuleMatch{NearNames: []string{"AgentCoreGwyAPIGatewayTarget___asanaInvoke"}},
		},
		{
			name: "exact name with a typo",
			rule: Rule{Argument: "X-Asana-Token", Secret: "asana", Tools: []string{"AgentCoreGwyAPIGatewayTarget___asanaInvok"}},
			want: RuleMatch{NearNames: []string{"AgentCoreGwyAPIGatewayTarget___asanaInvoke"}},
		},
		{
			name: "unrelated glob: no near misses",
			rule: Rule{Argument: "X-Asana-Token", Secret: "asana", Tools: []string{"SlackTarget___*"}},
			want: RuleMatch{},
		},
		{
			name: "misspelled argument: similar arguments of the matched tools",
			rule: Rule{Argument: "X-Asana-Tokn", Secret: "asana", Tools: []string{"AgentCoreGwyAPIGatewayTarget___*"}},
			want: RuleMatch{
				Named:         []string{"AgentCoreGwyAPIGatewayTarget___asanaInvoke", "AgentCoreGwyAPIGatewayTarget___listUsers", "AgentCoreGwyAPIGatewayTarget___ping"},
				NearArguments: []string{"X-Asana-Token", "x-asana-token"},
				Arguments:     []string{"X-Asana-Token", "tool_name", "x-asana-token"},
			},
		},
		{
			name: "argument differing in case and separators",
			rule: Rule{Argument: "X_JIRA_TOKEN", Secret: "jira", Tools: []string{"JiraTarget___search"}},
			want: RuleMatch{Named: []string{"JiraTarget___search"}, NearArguments: []string{"X-Jira-Token"}, Arguments: []string{"X-Jira-Token", "jql"}},
		},
		{
			name: "argument nothing like the declared ones",
			rule: Rule{Argument: "Authorization", Secret: "jira", Tools: []string{"JiraTarget___*"}},
			want: RuleMatch{
				Named:     []string{"JiraTarget___requiredOnly", "JiraTarget___search"},
				Arguments: []string{"X-Jira-Token", "X-Jira-Tokn", "jql"},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := MatchRule(tc.rule, tools)
			for _, f := range []struct {
				field     string
				got, want []string
			}{
				{"Filled", got.Filled, tc.want.Filled},
				{"Named", got.Named, tc.want.Named},
				{"NearNames", got.NearNames, tc.want.NearNames},
				{"NearArguments", got.NearArguments, tc.want.NearArguments},
				{"Arguments", got.Arguments, tc.want.Arguments},
			} {
				if !slices.Equal(f.got, f.want) {
					t.Errorf("%s = %q, want %q", f.field, f.got, f.want)
				}
			}
		})
	}
}

// TestMatchRuleAgreesWithProxy: the tools MatchRule says a rule fills are
// exactly those the proxy's tool list strips and fills.
func TestMatchRuleAgreesWithProxy(t *testing.T) {
	tools := matchTools(t)
	rules := []Rule{
		{Argument: "X-Asana-Token", Secret: "asana", Tools: []string{"AgentCoreGwyAPIGatewayTarget___*"}},
		{Argument: "x-asana-token", Secret: "asana", Tools: []string{"*"}},
		{Argument: "X-Jira-Token", Secret: "jira", Tools: []string{"JiraTarget___s*", "nothing"}},
	}
	for _, r := range rules {
		var want []string
		for _, tool := range tools {
			def, err := json.Marshal(tool)
			if err != nil {
				t.Fatal(err)
			}
			if _, applied, _ := stripToolDef([]Rule{r}, def); len(applied) == 1 {
				want = append(want, tool.Name)
			}
		}
		if got := MatchRule(r, tools).Filled; !slices.Equal(got, want) {
			t.Errorf("rule %s %q: MatchRule fills %q, the proxy %q", r.Argument, r.Tools, got, want)
		}
	}
}

func TestMatchRuleCapsNearMisses(t *testing.T) {
	var tools []*mcp.Tool
	for _, c := range "abcdefgh" {
		tools = append(tools, &mcp.Tool{Name: "Target___" + string(c), InputSchema: map[string]any{}})
	}
	m := MatchRule(Rule{Argument: "a", Secret: "s", Tools: []string{"Targt___*"}}, tools)
	if len(m.NearNames) != MaxNear {
		t.Errorf("%d near names, want %d", len(m.NearNames), MaxNear)
	}
}

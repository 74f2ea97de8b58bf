package gatewaysim_test

import (
	"context"
	"fmt"
	"log"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/agw-proxy/agw-proxy/internal/gatewaysim"
)

func ExampleStart() {
	sim, err := gatewaysim.Start(gatewaysim.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer sim.Close()
	ctx := context.Background()

	// A Cognito machine token, as the seed tutorial fetches it.
	cc := clientcredentials.Config{ClientID: sim.ClientID, ClientSecret: sim.ClientSecret, TokenURL: sim.TokenURL}
	httpClient := oauth2.NewClient(ctx, cc.TokenSource(ctx))

	client := mcp.NewClient(&mcp.Implementation{Name: "example"}, nil)
	cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: sim.GatewayURL, HTTPClient: httpClient},
		&mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
	if err != nil {
		log.Fatal(err)
	}
	defer cs.Close()
	for tool, err := range cs.Tools(ctx, nil) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(tool.Name, tool.InputSchema.(map[string]any)["required"])
	}
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{
		Name:      "AgentCoreGwyAPIGatewayTarget___asanaInvoke",
		Arguments: map[string]any{"X-Asana-Token": "Bearer my-asana-token", "tool_name": "list_projects"},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Content[0].(*mcp.TextContent).Text)
	got := sim.Received()[0]
	fmt.Println(got.Method, got.Path, string(got.Body))
	// Output:
	// AgentCoreGwyAPIGatewayTarget___asanaInvoke [X-Asana-Token tool_name]
	// {"message":"Asana operation 'list_projects' handled by the emulator","received":{"tool_name":"list_projects"}}
	// POST /asana {"tool_name":"list_projects"}
}

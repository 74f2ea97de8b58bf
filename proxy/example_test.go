package proxy_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"slices"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agw-proxy/agw-proxy/internal/gatewaysim"
	"github.com/agw-proxy/agw-proxy/oauth"
	"github.com/agw-proxy/agw-proxy/proxy"
	"github.com/agw-proxy/agw-proxy/tokenstore"
	"github.com/agw-proxy/agw-proxy/tokenstore/tokenstoretest"
)

// A proxy in front of the emulated Gateway, driven by an MCP client over a
// pipe, as a desktop client drives `agw-proxy serve` over stdio.
func Example() {
	sim, err := gatewaysim.Start(gatewaysim.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer sim.Close()

	secrets := tokenstoretest.NewFake()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	secrets.Set(ctx, "default", "asana", "example-asana-token")
	secrets.Set(ctx, "default", tokenstore.ClientSecretName, tokenstore.Secret(sim.ClientSecret))

	p, err := proxy.New(proxy.Options{
		GatewayURL: sim.GatewayURL,
		OAuthHandler: oauth.NewClientCredentials(oauth.Config{
			TokenURL: sim.TokenURL, ClientID: sim.ClientID, Secrets: secrets,
		}),
		Rules: []proxy.Rule{{
			Argument: "X-Asana-Token",
			Secret:   "asana",
			Tools:    []string{"AgentCoreGwyAPIGatewayTarget___*"},
		}},
		Secrets: secretSource{secrets},
	})
	if err != nil {
		log.Fatal(err)
	}
	toProxy, clientOut := io.Pipe()
	clientIn, fromProxy := io.Pipe()
	go p.Run(ctx, toProxy, fromProxy)
	defer clientOut.Close() // stdin EOF ends Run

	client := mcp.NewClient(&mcp.Implementation{Name: "example", Version: "1"}, nil)
	cs, err := client.Connect(ctx, &mcp.IOTransport{Reader: clientIn, Writer: clientOut}, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer cs.Close()

	res, err := cs.ListTools(ctx, nil)
	if err != nil {
		log.Fatal(err)
	}
	for _, t := range res.Tools {
		props := t.InputSchema.(map[string]any)["properties"].(map[string]any)
		var args []string
		for name := range props {
			args = append(args, name)
		}
		slices.Sort(args)
		fmt.Println(t.Name, strings.Join(args, " "))
	}

	call, err := cs.CallTool(ctx, &mcp.CallToolParams{
		Name:      "AgentCoreGwyAPIGatewayTarget___asanaInvoke",
		Arguments: map[string]any{"tool_name": "list_projects"},
	})
	if err != nil {
		log.Fatal(err)
	}
	got := sim.Received()[0]
	fmt.Println("isError:", call.IsError)
	fmt.Println("the target got X-Asana-Token:", got.Header.Get("X-Asana-Token"))
	// Output:
	// AgentCoreGwyAPIGatewayTarget___asanaInvoke name notes project task_gid tool_name workspace
	// isError: false
	// the target got X-Asana-Token: Bearer example-asana-token
}

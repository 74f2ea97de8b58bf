package toolcache_test

import (
	"fmt"
	"os"

	"github.com/agw-proxy/agw-proxy/internal/toolcache"
)

func Example() {
	dir, _ := os.MkdirTemp("", "toolcache-example-")
	defer os.RemoveAll(dir)
	c := toolcache.New(dir)
	k := toolcache.Key{Profile: "work", GatewayURL: "https://gw.example/mcp", Identity: "client_credentials:abc", Rules: "digest"}
	if _, ok := c.Load(k); !ok {
		fmt.Println("cold start")
	}
	_ = c.Store(k, []byte(`{"tools":[{"name":"T___op","inputSchema":{"type":"object"}}]}`), 1)
	e, _ := c.Load(k)
	fmt.Println(e.Tools, string(e.List))
	n, _ := c.Clear()
	fmt.Println("cleared", n)
	// Output:
	// cold start
	// 1 {"tools":[{"name":"T___op","inputSchema":{"type":"object"}}]}
	// cleared 1
}

package clients_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/agw-proxy/agw-proxy/internal/clients"
)

// Installing agw-proxy into a VS Code workspace file that has comments and
// another server: both stay as they were, and the entry is added after them.
func ExampleClient_Install() {
	path := filepath.Join(os.TempDir(), "example-mcp.json")
	defer os.Remove(path)
	defer os.Remove(path + ".bak")
	os.WriteFile(path, []byte(`{
  // GitHub's hosted server
  "servers": {
    "github": {"type": "http", "url": "https://api.githubcopilot.com/mcp/"},
  },
}
`), 0o644)

	vscode := clients.Lookup("vscode")
	server := clients.Server{Command: "/usr/local/bin/agw-proxy", Args: []string{"serve", "--profile", "work"}}
	res, err := vscode.Install(path, "agw-proxy-work", server, false)
	if err != nil {
		fmt.Println(err)
		return
	}
	data, _ := os.ReadFile(path)
	fmt.Printf("%s\n%s", res.Action, data)
	// Output:
	// added
	// {
	//   // GitHub's hosted server
	//   "servers": {
	//     "github": {"type": "http", "url": "https://api.githubcopilot.com/mcp/"},
	//     "agw-proxy-work": {
	//       "type": "stdio",
	//       "command": "/usr/local/bin/agw-proxy",
	//       "args": [
	//         "serve",
	//         "--profile",
	//         "work"
	//       ]
	//     },
	//   },
	// }
}

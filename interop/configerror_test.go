package interop

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestInspectorCLIShowsAConfigError: MCP Inspector's CLI launches serve with
// a broken config file and shows the user what agw-proxy prints (file:line
// and the hint), not only "Connection closed".
func TestInspectorCLIShowsAConfigError(t *testing.T) {
	_, dir := requireNode(t)
	bin := agwProxy(t)
	s := newSetup(t)
	path := filepath.Join(t.TempDir(), "broken.yaml")
	if err := os.WriteFile(path, []byte("profiles:\n  work:\n    gatway_url: https://gw.example.com/mcp\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	build := filepath.Join(dir, "node_modules", "@modelcontextprotocol", "inspector-cli", "build")
	want := []string{
		"agw-proxy: error: " + path + `:3:5: unknown key "gatway_url" in profile "work"`,
		`agw-proxy: hint: did you mean "gateway_url"?`,
	}
	for _, method := range [][]string{
		{"--method", "tools/list"},
		{"--method", "tools/call", "--tool-name", tool, "--tool-arg", "tool_name=list_projects"},
	} {
		args := append([]string{"index.js", bin}, method...)
		args = append(args, "--", "serve", "--config", path, "--profile", "work")
		out, err := s.runNode(t, build, nil, args...)
		if err == nil {
			t.Errorf("inspector %s succeeded against a broken config:\n%s", method[1], out)
		}
		for _, w := range want {
			if !strings.Contains(out, w) {
				t.Errorf("inspector %s does not show %q:\n%s", method[1], w, out)
			}
		}
	}
}

package profile

import (
	"errors"
	"strings"
	"testing"
)

const newBody = "gateway_url: https://new.example/mcp\nauth:\n  type: none\n"

// A profile is added at the end of profiles:, the rest of the file byte
// for byte as it was; an existing one is refused, or replaced with
// replace, its neighbours and their comments kept.
func TestAddProfileKeepsTheFile(t *testing.T) {
	const file = `# my config
profiles:
  # the default one
  default:
    gateway_url: https://a.example/mcp   # inline comment
    auth: {type: none}

  # work, heading comment
  work:
    gateway_url: https://b.example/mcp
    auth:
      type: none
# trailing comment of the file
x-shared: &s
  call: 10s
`
	for _, tc := range []struct {
		name, profile string
		data          string
		replace       bool
		want          string
		err           string
	}{
		{name: "a new file", profile: "new", data: "", want: "profiles:\n  new:\n    gateway_url: https://new.example/mcp\n    auth:\n      type: none\n"},
		{name: "added after the last profile", profile: "new", data: file,
			want: strings.Replace(file, "      type: none\n# trailing", "      type: none\n  new:\n    gateway_url: https://new.example/mcp\n    auth:\n      type: none\n# trailing", 1)},
		{name: "an existing profile is refused", profile: "work", data: file, err: "cfg.yaml:9:3: profile \"work\" already exists"},
		{name: "replaced, the next one's comment kept", profile: "default", data: file, replace: true,
			want: strings.Replace(file, "  default:\n    gateway_url: https://a.example/mcp   # inline comment\n    auth: {type: none}\n",
				"  default:\n    gateway_url: https://new.example/mcp\n    auth:\n      type: none\n", 1)},
		{name: "the last one replaced", profile: "work", data: file, replace: true,
			want: strings.Replace(file, "    gateway_url: https://b.example/mcp\n    auth:\n      type: none\n", "    gateway_url: https://new.example/mcp\n    auth:\n      type: none\n", 1)},
		{name: "four-space indentation kept", profile: "new", data: "profiles:\n    a:\n        gateway_url: https://a.example/mcp\n",
			want: "profiles:\n    a:\n        gateway_url: https://a.example/mcp\n    new:\n      gateway_url: https://new.example/mcp\n      auth:\n        type: none\n"},
		{name: "no profiles key", profile: "new", data: "# only a comment\n", want: "# only a comment\nprofiles:\n  new:\n    gateway_url: https://new.example/mcp\n    auth:\n      type: none\n"},
		{name: "a flow mapping is left alone", profile: "new", data: "profiles: {a: {gateway_url: 'https://a.example/mcp'}}\n", err: "flow style"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := AddProfile("cfg.yaml", []byte(tc.data), tc.profile, []byte(newBody), tc.replace)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				var ee *ExistsError
				if strings.Contains(tc.err, "exists") && !errors.As(err, &ee) {
					t.Errorf("not an *ExistsError: %T", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

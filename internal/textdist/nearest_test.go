package textdist

import "testing"

func TestNearest(t *testing.T) {
	for word, want := range map[string]string{
		"gatway_url": "gateway_url",
		"gatewayUrl": "gateway_url",
		"inejct":     "inject",
		"colour":     "",
		"x":          "",
	} {
		if got := Nearest(word, []string{"gateway_url", "auth", "inject", "timeouts", "ca_file"}); got != want {
			t.Errorf("Nearest(%q) = %q, want %q", word, got, want)
		}
	}
}

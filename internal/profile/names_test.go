package profile

import (
	"strings"
	"testing"
)

func TestNames(t *testing.T) {
	long := strings.Repeat("a", 64)
	for name, want := range map[string]bool{
		"asana": true, "jira-cloud_2": true, "0day": true, long: true,
		"": false, long + "a": false, "Asana": false, "-x": false, "_x": false, "a.b": false, "a b": false, "a:b": false,
	} {
		if got := ValidSecretName(name); got != want {
			t.Errorf("validSecretName(%q) = %v, want %v", name, got, want)
		}
	}
	for name, want := range map[string]bool{
		"default": true, "Work.EU-1_x": true, long: true,
		"": false, long + "a": false, ".hidden": false, "a:b": false, "a/b": false, "a b": false,
	} {
		if got := checkProfileName(name) == nil; got != want {
			t.Errorf("checkProfileName(%q) ok = %v, want %v", name, got, want)
		}
	}
}

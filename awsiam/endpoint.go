package awsiam

import (
	"strings"
)

// EndpointURL returns the endpoint a call to the service whose SDK ID is
// id ("SSM", "BEDROCK_AGENTCORE_CONTROL", "COGNITO_IDENTITY_PROVIDER")
// goes to instead of AWS's own, as the SDKs choose it: the environment's
// AWS_ENDPOINT_URL_<ID>, then AWS_ENDPOINT_URL, then the profile's
// services section ("services = NAME", [services NAME], "ssm =" then
// "  endpoint_url = URL"), then the profile's endpoint_url. All but the
// first two are ignored when AWS_IGNORE_CONFIGURED_ENDPOINT_URLS or the
// profile's ignore_configured_endpoint_urls is true. "" means AWS's
// endpoint. profile "" means $AWS_PROFILE, else default; a config file
// that cannot be read is an error.
func EndpointURL(getenv func(string) string, profile, id string) (string, error) {
	if v := getenv("AWS_ENDPOINT_URL_" + id); v != "" {
		return strings.TrimSuffix(v, "/"), nil
	}
	if v := getenv("AWS_ENDPOINT_URL"); v != "" {
		return strings.TrimSuffix(v, "/"), nil
	}
	if strings.EqualFold(getenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"), "true") {
		return "", nil
	}
	sc, err := loadSharedConfig(getenv)
	if err != nil {
		return "", err
	}
	sec := sc.profiles[profileName(getenv, profile)]
	if sec == nil || strings.EqualFold(sec.get("ignore_configured_endpoint_urls"), "true") {
		return "", nil
	}
	if name := sec.get("services"); name != "" {
		if v := sc.services[name].get(strings.ToLower(id) + ".endpoint_url"); v != "" {
			return strings.TrimSuffix(v, "/"), nil
		}
	}
	return strings.TrimSuffix(sec.get("endpoint_url"), "/"), nil
}

// Region returns the region the SDKs would use with profile: $AWS_REGION,
// $AWS_DEFAULT_REGION, else the profile's region; "" when none says.
// profile "" means $AWS_PROFILE, else default.
func Region(getenv func(string) string, profile string) string {
	if v := getenv("AWS_REGION"); v != "" {
		return v
	}
	if v := getenv("AWS_DEFAULT_REGION"); v != "" {
		return v
	}
	sc, err := loadSharedConfig(getenv)
	if err != nil {
		return ""
	}
	return sc.profiles[profileName(getenv, profile)].get("region")
}

func profileName(getenv func(string) string, profile string) string {
	if profile != "" {
		return profile
	}
	if v := getenv("AWS_PROFILE"); v != "" {
		return v
	}
	return "default"
}

package awsiam_test

import (
	"testing"

	"github.com/agw-proxy/agw-proxy/awsiam"
)

// The endpoint of a service, in the SDKs' order: AWS_ENDPOINT_URL_<ID>,
// AWS_ENDPOINT_URL, the profile's services section, the profile's
// endpoint_url; the configured ones ignored on request.
func TestEndpointURLOrder(t *testing.T) {
	const config = `[default]
endpoint_url = http://default.example/
services = local

[profile dev]
region = eu-west-1
endpoint_url = http://dev-global.example
services = dev-services

[profile quiet]
endpoint_url = http://quiet.example
ignore_configured_endpoint_urls = true

[services dev-services]
ssm =
  endpoint_url = http://dev-ssm.example/
cloudformation =
  endpoint_url = http://dev-cfn.example

[services local]
bedrock_agentcore_control =
  endpoint_url = http://default-control.example
`
	for _, tc := range []struct {
		name, profile, id string
		env               map[string]string
		want              string
	}{
		{"service variable first", "dev", "SSM", map[string]string{"AWS_ENDPOINT_URL_SSM": "http://env-ssm/", "AWS_ENDPOINT_URL": "http://env-all"}, "http://env-ssm"},
		{"then the global variable", "dev", "SSM", map[string]string{"AWS_ENDPOINT_URL_STS": "http://env-sts", "AWS_ENDPOINT_URL": "http://env-all"}, "http://env-all"},
		{"then the services section", "dev", "SSM", nil, "http://dev-ssm.example"},
		{"another service of the section", "dev", "CLOUDFORMATION", nil, "http://dev-cfn.example"},
		{"then the profile's endpoint_url", "dev", "S3", nil, "http://dev-global.example"},
		{"AWS_PROFILE picks the profile", "", "SSM", map[string]string{"AWS_PROFILE": "dev"}, "http://dev-ssm.example"},
		{"default without a profile", "", "BEDROCK_AGENTCORE_CONTROL", nil, "http://default-control.example"},
		{"default's global", "", "SSM", nil, "http://default.example"},
		{"ignored by the profile", "quiet", "SSM", nil, ""},
		{"ignored by the environment", "dev", "SSM", map[string]string{"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"}, ""},
		{"the environment is never ignored", "dev", "SSM", map[string]string{"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true", "AWS_ENDPOINT_URL": "http://env-all"}, "http://env-all"},
		{"no such profile", "nobody", "SSM", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			getenv := awsHome(t, config, tc.env)
			got, err := awsiam.EndpointURL(getenv, tc.profile, tc.id)
			if err != nil || got != tc.want {
				t.Errorf("EndpointURL(%q, %s) = %q, %v; want %q", tc.profile, tc.id, got, err, tc.want)
			}
		})
	}
}

func TestRegionOrder(t *testing.T) {
	const config = "[profile dev]\nregion = eu-west-1\n[default]\nregion = ap-south-1\n"
	for _, tc := range []struct {
		profile string
		env     map[string]string
		want    string
	}{
		{"dev", nil, "eu-west-1"},
		{"", nil, "ap-south-1"},
		{"dev", map[string]string{"AWS_DEFAULT_REGION": "us-east-2"}, "us-east-2"},
		{"dev", map[string]string{"AWS_REGION": "us-west-1", "AWS_DEFAULT_REGION": "us-east-2"}, "us-west-1"},
		{"nobody", nil, ""},
	} {
		if got := awsiam.Region(awsHome(t, config, tc.env), tc.profile); got != tc.want {
			t.Errorf("Region(%q, %v) = %q, want %q", tc.profile, tc.env, got, tc.want)
		}
	}
}

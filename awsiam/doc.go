// Package awsiam signs requests to an AgentCore Gateway whose inbound auth
// is AWS_IAM: AWS credentials from the standard chain a developer already
// has, and SigV4 on every request.
//
// The chain is the AWS SDKs' default one: with no profile named
// (Config.Profile, else $AWS_PROFILE), the environment's keys, then web
// identity ($AWS_WEB_IDENTITY_TOKEN_FILE), then the default profile; a
// profile of ~/.aws/config and ~/.aws/credentials gives static keys,
// IAM Identity Center (SSO, with "aws sso login"'s cached token, refreshed
// as the AWS CLI does for an sso_session),
// credential_process, or a role (role_arn over source_profile or
// credential_source); a profile without credentials, or none, falls back to
// the container's role (AWS_CONTAINER_CREDENTIALS_*) and the instance's
// (IMDS). Credentials are cached and fetched again before they expire.
//
//	creds := awsiam.New(awsiam.Config{Profile: "dev", Region: "us-east-1"})
//	client := &http.Client{Transport: &awsiam.Transport{
//		Base: http.DefaultTransport, Credentials: creds, Region: "us-east-1",
//	}}
//
// # Why not the SDK's config package
//
// Every package linked into agw-proxy runs its init at every start of
// serve, and serve's start-up is a budget. Measured with
// GODEBUG=inittrace=1 on the built binary ("agw-proxy version", median of
// 41 runs, sum of every package's init; the binary before this package
// was 0.71 ms, 192 kB, 1300 allocations, 17.69 MB):
//
//	linked in addition                      init ms   init bytes  allocs   binary
//	aws + aws/signer/v4                     +0.0-0.1      +11 kB     +15   +0.02 MB
//	+ credentials (static), processcreds    +0.0          +11 kB     +14   +0.02 MB
//	+ endpointcreds, ec2rolecreds, imds     +0.0-0.1      +12 kB     +28   +0.03 MB
//	credentials/ssocreds (sso, ssooidc)     +0.3-0.4     +265 kB   +1986   +0.24 MB
//	credentials/stscreds (sts)              +0.2-0.35    +212 kB   +1378   +0.22 MB
//	config (sts, sso, ssooidc, signin)      +0.45-0.7    +603 kB   +4583   +0.58 MB
//
// The binary with this package in use (code linked, not only inits):
// +0.07-0.09 ms of init, +32 kB, +45 allocations, +1.04 MB; a whole
// "agw-proxy version" run costs the same CPU as before (median ratio 1.01
// over 40 pairs), where config costs 1.26.
//
// The service clients' generated endpoint tables and schemas are what
// costs (sts/schemas, sso/internal/endpoints, signin/schemas: 0.04-0.17 ms
// each). So this package links the first three rows only (the signer and
// the providers that need no service client) and does the rest itself:
// the shared config files (a small INI reader), SSO's GetRoleCredentials
// (one REST GET), SSO OIDC's CreateToken to refresh an sso_session's token
// (one JSON POST) and STS's AssumeRole, AssumeRoleWithWebIdentity and
// GetCallerIdentity (form-encoded POSTs signed with the SDK's signer).
package awsiam

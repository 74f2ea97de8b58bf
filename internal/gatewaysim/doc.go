// Package gatewaysim is a local emulator of an Amazon Bedrock AgentCore
// Gateway, the Amazon Cognito user pool that guards it, and an Asana-like
// OpenAPI target. Tests, benchmarks and `agw-proxy demo` use it in place of
// AWS, so it reproduces what the real services do, not what is convenient:
//
//   - Cognito: /oauth2/token (client_credentials with client_secret_basic or
//     client_secret_post; authorization_code with PKCE; refresh_token, which
//     returns no new refresh token unless RefreshTokenRotation is on, with
//     its grace period), /oauth2/authorize (auto-approves the pool's one
//     user; exact redirect_uri match, else redirect_mismatch),
//     /oauth2/revoke (HTTP Basic for confidential clients; it revokes the
//     login's access tokens too, which the offline Gateway still accepts
//     unless AuthorizerChecksRevocation), /oauth2/userInfo, OIDC discovery
//     and JWKS. Access tokens are RS256 JWTs with Cognito's claims and no
//     aud. Errors are HTTP 400 {"error":"invalid_client"} etc.
//   - Gateway: MCP over Streamable HTTP at /mcp (go-sdk's handler) in the
//     versions the Gateway accepts: 2026-07-28, 2025-11-25, 2025-06-18 and
//     2025-03-26. 2026-07-28 is stateless with or without sessions:
//     server/discover, _meta and the MCP-Protocol-Version, Mcp-Method and
//     Mcp-Name headers checked against the body (-32020, -32602), resultType
//     on results, -32022 listing the Gateway's versions for another one.
//     The 2025 revisions get stateless JSON by default; SSE, and
//     Mcp-Session-Id sessions with an absolute timeout from initialize
//     (900-28800 s, default 3600) bound to the token's subject, as options.
//     tools/list pages of 30 with nextCursor (DisableListToolsPagination
//     for one page); payloads up to 6 MB, HTTP 413 beyond; a CUSTOM_JWT
//     authorizer with the Gateway's exact 401 body and WWW-Authenticate
//     (error, scope, resource_metadata); the protected-resource metadata
//     document (resource, authorization_servers, scopes_supported);
//     <UnknownOperationException/> for any other path; isError results
//     with the generic text, or with Debug the detail and _meta.debug; the
//     semantic search tool.
//   - OpenAPI targets: tool {target}___{operationId}; header, path and query
//     parameters and top-level JSON body properties flattened into one
//     inputSchema with required unioned; on tools/call header arguments
//     become HTTP headers and the rest the JSON body, the outbound API key
//     goes in the query or a header, and a 2xx body comes back verbatim.
//   - A recording backend for every target (see Sim.Received).
//   - 3LO targets (Target.OAuth: an OAuth authorization-code credential
//     provider) through an emulated AgentCore Identity (IdentityURL) and an
//     Asana-like OAuth provider (ProviderURL, /-/oauth_authorize with a
//     consent form, /-/oauth_token). A user (the token's sub) with no token
//     in the vault gets -32042 whose data.elicitations holds one URL-mode
//     elicitation (2025 revisions) or an input_required result with it
//     (2026-07-28); the URL, valid ConsentURLLifetime (10 minutes), leads
//     to the consent page, back through Identity to the return URL with
//     ?session_id=<session URI>; only CompleteResourceTokenAuth (SigV4 with
//     the emulator's IAM key, the user's JWT as userToken) vaults the token,
//     which later calls send as Authorization: Bearer. The default return
//     URL is ReturnAppURL, a stand-in for the Gateway owner's application
//     that binds for the user who started the flow. _meta
//     CredentialProviderMetaKey .oauthCredentialProvider {returnUrl
//     (allowed: Options.AllowedReturnURLs, AllowReturnURL),
//     forceAuthentication (empties the vault first)} is honoured per call.
//     ConsentInBrowser plays the browser; VaultedTokens, Counts and
//     SetClockSkew (to expire a URL) let tests look. identity.go says what
//     AWS documents and what is guessed, and why a desktop program with
//     only the user's Cognito token cannot bind a session itself.
//   - Header propagation (Target.Metadata, metadataConfiguration): 1 to 10
//     names per list, restricted headers (Authorization, Cookie,
//     Content-Type, Mcp-Session-Id, ...) refused when the target is
//     configured; allowlisted headers and query parameters of the POST to
//     /mcp reach that target's backend requests, others do not.
//   - AWS itself (aws.go, sigv4.go), on one loopback listener
//     (AWSEndpointURL, what AWS_ENDPOINT_URL points at): the AgentCore
//     control plane's ListGateways, GetGateway, ListGatewayTargets and
//     GetGatewayTarget (REST-JSON), SSM GetParameter and GetParametersByPath
//     (JSON 1.1) seeded with the seed tutorial's parameters under
//     DefaultSSMPrefix, CloudFormation DescribeStacks (query, XML) with
//     StackOutputs, Cognito DescribeUserPoolClient (the machine client's
//     secret), STS GetCallerIdentity and S3 GetObject (Target.S3URI), all
//     from the emulator's own state. Every request is verified as AWS does
//     (SigV4 against Options.AWSKeys, by default the fixed test pair
//     TestAccessKeyID; session tokens with expiry; X-Amz-Date within 5
//     minutes; the credential scope's region and service) and authorized
//     per key (AWSKey.Actions), with each protocol's real error shapes:
//     InvalidSignatureException, UnrecognizedClientException,
//     ExpiredTokenException, SignatureDoesNotMatch, AccessDenied(Exception)
//     naming the action.
//   - AuthorizerType AWS_IAM: /mcp takes SigV4 (service bedrock-agentcore,
//     the Gateway's region, bedrock-agentcore:InvokeGateway) instead of a
//     JWT; the key's ARN is the caller's identity for sessions and 3LO.
//     Refusals are REST-JSON 403s (a guess: AWS does not document them).
//   - AllowedAudience: the CUSTOM_JWT authorizer checks aud, which only
//     Cognito ID tokens (authorization_code grant with openid) carry.
//
// The Cognito issuer differs from AWS in one respect: it is
// http://127.0.0.1:PORT/{poolId} rather than
// https://cognito-idp.{region}.amazonaws.com/{poolId}, so that discovery
// and JWKS resolve locally. As on AWS, the issuer (discovery, JWKS) and the
// hosted domain (token, authorize) are different hosts.
//
// Fault hooks (FailNext, ThrottleNext, FailTokenNext, FailBackendNext,
// SetDelay, ResetNext, ResetConnections, RevokeTokens, RevokeRefreshTokens,
// DropSessions, SetClockSkew, AddTarget, RemoveTool) and Counts let
// reliability tests break things on purpose and count what happened; all
// are safe for concurrent use. Options.Now and SetClockSkew move the
// emulator's clock: token lifetimes, codes and the session timeout.
//
// Where AWS does not document a detail the emulator guesses, and says so
// where it does: the bodies of 413 and 429, the status of unknown paths,
// the answer to another subject's session (404), 6 MB read as 6 MiB, and
// the 3LO and propagation details listed in identity.go and headers.go.
//
// Options.EchoCredentials is not AWS behaviour but a hostile Gateway, for
// tests of a client's secret hygiene: it echoes the credentials the client
// used into its answers (see Sim.Credentials). EchoToken makes
// the backend, not AWS, reflect the X-Asana-Token it received.
// RefreshTokenRotation is Cognito's refresh token rotation, off by default
// as on a new app client.
//
// Facts behind each behaviour: shared/reference/gateway-facts.md.
package gatewaysim

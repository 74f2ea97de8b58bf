// Package gatewaysim is a local emulator of an Amazon Bedrock AgentCore
// Gateway, the Amazon Cognito user pool that guards it, and an Asana-like
// OpenAPI target. Tests, benchmarks and `agw-proxy demo` use it in place of
// AWS, so it reproduces what the real services do, not what is convenient:
//
//   - Cognito: /oauth2/token (client_credentials with client_secret_basic or
//     client_secret_post; authorization_code with PKCE; refresh_token, which
//     returns no new refresh token unless RefreshTokenRotation is on),
//     /oauth2/authorize (auto-approves the pool's one user; exact
//     redirect_uri match, else redirect_mismatch), OIDC discovery and JWKS. Access tokens are RS256 JWTs with Cognito's
//     claims and no aud. Errors are HTTP 400 {"error":"invalid_client"} etc.
//   - Gateway: MCP over Streamable HTTP at /mcp (go-sdk's handler:
//     stateless JSON by default; SSE and Mcp-Session-Id sessions as
//     options), behind a CUSTOM_JWT authorizer that answers the Gateway's
//     exact 401 body and WWW-Authenticate header; the protected-resource
//     metadata document; tools/list pagination; the semantic search tool.
//   - OpenAPI targets: tool {target}___{operationId}; header, path and query
//     parameters and top-level JSON body properties flattened into one
//     inputSchema with required unioned; on tools/call header arguments
//     become HTTP headers and the rest the JSON body, the outbound API key
//     goes in the query or a header, and a 2xx body comes back verbatim.
//   - A recording backend for every target (see Sim.Received).
//
// The Cognito issuer differs from AWS in one respect: it is
// http://127.0.0.1:PORT/{poolId} rather than
// https://cognito-idp.{region}.amazonaws.com/{poolId}, so that discovery
// and JWKS resolve locally. As on AWS, the issuer (discovery, JWKS) and the
// hosted domain (token, authorize) are different hosts.
//
// Fault hooks (FailNext, FailTokenNext, FailBackendNext, SetDelay,
// ResetNext, ResetConnections, RevokeTokens, RevokeRefreshTokens,
// DropSessions, SetClockSkew, AddTarget, RemoveTool) and Counts let
// reliability tests break things on purpose and count what happened; all
// are safe for concurrent use.
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

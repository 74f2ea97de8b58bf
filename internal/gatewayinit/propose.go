package gatewayinit

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/agw-proxy/agw-proxy/internal/awsapi"
	"github.com/agw-proxy/agw-proxy/internal/profile"
)

// Options are the user's choices that shape a Proposal.
type Options struct {
	// AWSProfile is the AWS profile init used: an AWS_IAM Gateway's
	// profile signs with it too.
	AWSProfile string
	// ClientID picks the app client among the authorizer's allowedClients.
	ClientID string
}

// A Proposal is a profile for a Gateway, with what init could not decide.
type Proposal struct {
	GatewayURL   string
	Auth         profile.Auth
	Inject       []profile.InjectRule
	ConsentTools []string
	// Unselected are header parameters that do not look like credentials:
	// listed (as comments) for the user to add.
	Unselected []Header
	// Notes are what the user should know: a 3LO target, a guessed flow.
	Notes []string
	// Gateway names the Gateway, for the comment heading the profile.
	Gateway string
}

// A Header is a header parameter of a target's operations.
type Header struct {
	Target, Name string
}

// Propose makes the profile for d, with facts from the user's records.
func Propose(f Facts, d *Deployment, o Options) *Proposal {
	gw := d.Gateway
	p := &Proposal{GatewayURL: gw.URL, Gateway: fmt.Sprintf("%s (%s)", gw.Name, gw.ARN)}
	if p.GatewayURL == "" {
		p.GatewayURL = f.GatewayURL
	}
	p.auth(f, d, o)
	p.inject(d)
	return p
}

func (p *Proposal) note(format string, a ...any) {
	p.Notes = append(p.Notes, fmt.Sprintf(format, a...))
}

// auth chooses the auth method from the authorizer.
func (p *Proposal) auth(f Facts, d *Deployment, o Options) {
	gw := d.Gateway
	switch gw.AuthorizerType {
	case "AWS_IAM":
		p.Auth = profile.Auth{Type: profile.AuthAWSIAM, AWSProfile: o.AWSProfile}
		if profile.GatewayURLRegion(p.GatewayURL) == "" {
			p.Auth.Region = gw.Region()
		}
		return
	case "NONE":
		p.Auth = profile.Auth{Type: profile.AuthNone}
		return
	}
	jwt := gw.JWT
	if jwt == nil {
		jwt = &awsapi.JWTAuthorizer{}
	}
	a := profile.Auth{DiscoveryURL: jwt.DiscoveryURL, TokenURL: f.TokenURL}
	if a.DiscoveryURL == "" {
		a.DiscoveryURL = f.DiscoveryURL
	}
	flows := func(id string) ([]string, bool) {
		c, ok := d.Clients[id]
		if !ok {
			return nil, false
		}
		return c.AllowedOAuthFlows, true
	}
	if len(jwt.AllowedAudience) > 0 {
		// Only an ID token has an aud (the client id): authorization
		// code with openid, the ID token as the bearer.
		a.Type, a.Token, a.Scopes = profile.AuthAuthorizationCode, profile.TokenID, []string{"openid"}
		a.ClientID = pick(jwt.AllowedAudience, o.ClientID, f.WebClientID, func(id string) bool {
			fl, _ := flows(id)
			return slices.Contains(fl, "code")
		})
		a.RedirectURL = p.redirect(d, a.ClientID)
		p.note("the Gateway's authorizer checks allowedAudience %v: only Cognito ID tokens carry an aud, so the profile signs in with authorization_code and sends the ID token (auth.token: id)", jwt.AllowedAudience)
		p.Auth = a
		return
	}
	allowed := jwt.AllowedClients
	if len(allowed) == 0 {
		allowed = nonEmpty(f.MachineClientID, f.WebClientID)
	}
	machine := func(id string) bool {
		fl, known := flows(id)
		if known {
			return slices.Contains(fl, "client_credentials")
		}
		return id == f.MachineClientID
	}
	a.ClientID = pick(allowed, o.ClientID, f.MachineClientID, machine)
	a.Scopes = f.Scopes
	if len(a.Scopes) == 0 {
		a.Scopes = jwt.AllowedScopes
	}
	fl, known := flows(a.ClientID)
	switch {
	case known && slices.Contains(fl, "client_credentials"), !known && a.ClientID == f.MachineClientID && a.ClientID != "":
		a.Type = profile.AuthClientCredentials
	case known && slices.Contains(fl, "code"), !known && a.ClientID == f.WebClientID && a.ClientID != "":
		a.Type = profile.AuthAuthorizationCode
		a.RedirectURL = p.redirect(d, a.ClientID)
	default:
		a.Type = profile.AuthClientCredentials
		why := "it was not described"
		if d.ClientsErr != nil {
			why = d.ClientsErr.Error()
		}
		p.note("could not tell which OAuth flows app client %s allows (%s): assumed client_credentials; for a client that signs users in, set auth.type: authorization_code and auth.redirect_url", a.ClientID, why)
	}
	if a.ClientID == "" {
		p.note("the authorizer names no allowedClients and no app client is known: set auth.client_id")
	}
	p.Auth = a
}

// pick returns want if it is in list (or list is empty), else preferred if
// in list, else the first that good approves, else the first.
func pick(list []string, want, preferred string, good func(string) bool) string {
	in := func(id string) bool { return id != "" && (len(list) == 0 || slices.Contains(list, id)) }
	switch {
	case in(want):
		return want
	case in(preferred):
		return preferred
	}
	for _, id := range list {
		if good(id) {
			return id
		}
	}
	if len(list) > 0 {
		return list[0]
	}
	return ""
}

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// redirect picks the client's loopback callback URL.
func (p *Proposal) redirect(d *Deployment, client string) string {
	const guess = "http://localhost:8501/"
	c := d.Clients[client]
	if c == nil {
		p.note("auth.redirect_url %s is a guess (app client %s was not described): it must be one of the client's callback URLs", guess, client)
		return guess
	}
	for _, u := range c.CallbackURLs {
		if pu, err := url.Parse(u); err == nil && pu.Scheme == "http" && profile.IsLoopback(pu.Hostname()) {
			return u
		}
	}
	p.note("app client %s has no loopback callback URL (http://localhost:PORT/): add one to it and set auth.redirect_url", client)
	return guess
}

// inject proposes the rules for the targets' header parameters.
func (p *Proposal) inject(d *Deployment) {
	used := map[string]bool{}
	for _, t := range d.Targets {
		for _, cp := range t.Credentials {
			if cp.Type == "OAUTH" && strings.EqualFold(cp.OAuthGrantType, "AUTHORIZATION_CODE") {
				p.note("target %s calls its API with each user's own OAuth token, held by the Gateway (3LO): the first call of its tools asks for consent in the browser (see \"Gateway-held OAuth\" in the README)", t.Name)
				if op := readOnly(t.Operations); op != "" {
					p.ConsentTools = append(p.ConsentTools, t.Name+"___"+op)
				}
			}
		}
		if t.SchemaErr != nil {
			if t.OpenAPIS3URI != "" || t.OpenAPIInline != "" {
				p.note("target %s: its tools' header parameters are not known: %v", t.Name, t.SchemaErr)
			}
			continue
		}
		var selected []string
		for _, op := range t.Operations {
			for _, h := range op.Headers {
				switch {
				case LooksLikeCredential(h):
					if !containsFold(selected, h) {
						selected = append(selected, h)
					}
				case !slices.ContainsFunc(p.Unselected, func(x Header) bool { return x.Target == t.Name && strings.EqualFold(x.Name, h) }):
					p.Unselected = append(p.Unselected, Header{Target: t.Name, Name: h})
				}
			}
		}
		for _, h := range selected {
			name := slug(t.Name)
			if len(selected) > 1 {
				name = slug(t.Name + "-" + h)
			}
			name = unique(name, used)
			r := profile.InjectRule{Argument: h, Secret: name, Tools: []string{t.Name + "___*"}}
			if l := strings.ToLower(h); strings.Contains(l, "key") && !strings.Contains(l, "authorization") {
				r.Format = "{secret}" // an API key goes raw; tokens as Bearer (the default)
			}
			p.Inject = append(p.Inject, r)
		}
	}
}

// readOnly returns a GET operation of ops, one whose id reads as a lookup
// first ("getMe", "listWorkspaces"); "" if none.
func readOnly(ops []Operation) string {
	first := ""
	for _, op := range ops {
		if op.Method != "get" {
			continue
		}
		l := strings.ToLower(op.ID)
		if strings.HasPrefix(l, "get") || strings.HasPrefix(l, "list") {
			return op.ID
		}
		if first == "" {
			first = op.ID
		}
	}
	return first
}

// slug makes a secret name of s: lower case letters, digits and '-'.
func slug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	out := strings.TrimRight(b.String(), "-")
	if len(out) > 60 {
		out = strings.TrimRight(out[:60], "-")
	}
	if out == "" || profile.ReservedSecret(out) {
		out = "secret"
	}
	return out
}

func unique(name string, used map[string]bool) string {
	n := name
	for i := 2; used[n] || profile.ReservedSecret(n); i++ {
		n = fmt.Sprintf("%s-%d", name, i)
	}
	used[n] = true
	return n
}

// YAML is the profile's body: its keys at column 0, to be placed under
// profiles.NAME, with comments saying what to add and why.
func (p *Proposal) YAML() []byte {
	var b strings.Builder
	w := func(indent int, format string, a ...any) {
		b.WriteString(strings.Repeat("  ", indent))
		fmt.Fprintf(&b, format, a...)
		b.WriteByte('\n')
	}
	w(0, "# Gateway %s, as \"agw-proxy init\" read it.", comment(p.Gateway))
	w(0, "gateway_url: %s", q(p.GatewayURL))
	a := p.Auth
	w(0, "auth:")
	w(1, "type: %s", a.Type)
	for _, kv := range [][2]string{{"discovery_url", a.DiscoveryURL}, {"token_url", a.TokenURL}, {"client_id", a.ClientID},
		{"redirect_url", a.RedirectURL}, {"token", a.Token}, {"aws_profile", a.AWSProfile}, {"region", a.Region}} {
		if kv[1] != "" {
			w(1, "%s: %s", kv[0], q(kv[1]))
		}
	}
	if len(a.Scopes) > 0 {
		w(1, "scopes: %s", list(a.Scopes))
	}
	if len(p.Inject) > 0 {
		w(0, "inject:")
		for _, r := range p.Inject {
			w(1, "- argument: %s", q(r.Argument))
			w(1, "  secret: %s", q(r.Secret))
			if r.Format != "" {
				w(1, "  format: %s", q(r.Format))
			}
			w(1, "  tools: %s", list(r.Tools))
		}
	}
	if len(p.Unselected) > 0 {
		w(0, "# Header parameters that do not look like credentials, not injected;")
		w(0, "# add a rule for any that should carry a secret:")
		for _, h := range p.Unselected {
			w(0, "#   %s of %s___*", comment(h.Name), comment(h.Target))
		}
	}
	if len(p.ConsentTools) > 0 {
		w(0, "# Read-only tools of the Gateway-held OAuth targets, to check consent with:")
		w(0, "consent_tools: %s", list(p.ConsentTools))
	}
	return []byte(b.String())
}

// comment makes s safe in a YAML comment: one line of printable text.
func comment(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == 0x85 || r == 0x2028 || r == 0x2029 {
			return ' '
		}
		return r
	}, s)
}

// q quotes s for YAML (a JSON string is a YAML double-quoted scalar).
func q(s string) string {
	plain := s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:", r))
	}) < 0 && !strings.Contains(s, ": ") && !strings.HasPrefix(s, "-") && !strings.HasSuffix(s, ":")
	switch strings.ToLower(s) {
	case "true", "false", "yes", "no", "on", "off", "null", "~", "y", "n":
		plain = false
	}
	if plain {
		return s
	}
	out, _ := json.Marshal(s)
	return string(out)
}

func list(ss []string) string {
	qs := make([]string, len(ss))
	for i, s := range ss {
		qs[i] = q(s)
		if strings.ContainsAny(s, "*[]{},") && qs[i] == s {
			out, _ := json.Marshal(s)
			qs[i] = string(out)
		}
	}
	return "[" + strings.Join(qs, ", ") + "]"
}

package profile

// The config file. It is read with goccy/go-yaml's parser and walked by hand
// rather than decoded into structs: that way every value keeps the
// file:line:col it came from, so both unknown keys and bad values (found
// later, in profile.validate) are reported where the user can fix them.

import (
	"errors"
	"fmt"
	"github.com/agw-proxy/agw-proxy/internal/textdist"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/lexer"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// File is a parsed config file.
type File struct {
	path     string
	profiles map[string]*Profile // partially filled: only what the file sets
	names    []string            // profile names in file order
}

// Names returns the names of the file's profiles, in file order.
func (f *File) Names() []string { return f.names }

// The keys the file accepts at each level, in the order help and hints list them.
var (
	topKeys      = []string{"profiles"}
	profileKeys  = []string{"gateway_url", "auth", "inject", "timeouts", "ca_file", "protocol", "open_browser", "consent_tools", "cache"}
	authKeys     = []string{"type", "discovery_url", "token_url", "authorize_url", "redirect_url", "client_id", "scopes", "token", "aws_profile", "region"}
	injectKeys   = []string{"argument", "secret", "format", "tools", "via", "source", "secret_command", "command_timeout", "cache_ttl", "oauth"}
	oauthKeys    = []string{"authorize_url", "token_url", "issuer", "client_id", "scopes", "redirect_url"}
	timeoutsKeys = []string{"call", "connect", "consent"}
)

// Error is a problem in the configuration, located at a file position
// ("config.yaml:7:5") or a flag ("--gateway-url").
type Error struct {
	at    string // file:line:col, a flag name, or a file path alone
	key   string // config key, e.g. "auth.token_url"; empty when at says it all
	msg   string
	hints []string
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.at != "" {
		b.WriteString(e.at)
		b.WriteString(": ")
	}
	// A flag name already says which setting is meant, but not which of
	// the --inject rules.
	flag := strings.HasPrefix(e.at, "-")
	if key := displayKey(e.key, flag); key != "" && (!flag || key != e.key) {
		b.WriteString(key)
		b.WriteString(": ")
	}
	b.WriteString(e.msg)
	return b.String()
}

// displayKey is how a message names the setting key. Inject rules go by
// their number counted from 1, as every message and doctor count them:
// "inject[1]" is "inject rule 2", "inject[1].tools" is "tools of inject
// rule 2" (after a flag, which names the field, "inject rule 2"). The keys
// themselves (Profile.At, Origin, FieldKey) stay "inject[1]..." as in a
// YAML path.
func displayKey(key string, flag bool) string {
	rest, ok := strings.CutPrefix(key, "inject[")
	if !ok {
		return key
	}
	num, field, ok := strings.Cut(rest, "]")
	i, err := strconv.Atoi(num)
	if !ok || err != nil {
		return key
	}
	rule := fmt.Sprintf("inject rule %d", i+1)
	if field, ok := strings.CutPrefix(field, "."); ok && !flag {
		return field + " of " + rule
	}
	return rule
}

// Hints returns advice printed after the error.
func (e *Error) Hints() []string { return e.hints }

// Load reads and parses the config file at path. The error wraps
// fs.ErrNotExist when the file is missing; a path that is not a regular
// file, or a file over MaxFileSize, is an *Error at once; other errors list
// every problem found (errors.Join of *Error), each with its file:line:col.
func Load(path string) (*File, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// unwrapPathError drops the *fs.PathError layer, whose text repeats the path.
func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Parse parses the contents of a config file; path is used in messages
// and to resolve relative file names in it. The contents are UTF-8, or
// UTF-8 or UTF-16 with a byte order mark, at most MaxFileSize bytes.
func Parse(path string, data []byte) (*File, error) {
	if len(data) > MaxFileSize {
		return nil, tooBig(path, int64(len(data)))
	}
	text, err := decodeText(path, data)
	if err != nil {
		return nil, err
	}
	tokens := lexer.Tokenize(string(text))
	if err := checkShape(path, tokens); err != nil {
		return nil, err
	}
	cfg := &File{path: path, profiles: map[string]*Profile{}}
	f, err := parser.Parse(tokens, 0)
	if err != nil {
		msg := err.Error()
		at := path
		var ye yaml.Error
		if errors.As(err, &ye) {
			msg = ye.GetMessage()
			at = position(path, ye.GetToken())
		}
		return nil, &Error{at: at, msg: "invalid YAML: " + msg}
	}
	d := &configDecoder{path: path, anchors: map[string]ast.Node{}, maxSteps: len(tokens) + aliasSteps}
	d.collectAnchors(f)
	var body ast.Node
	for _, doc := range f.Docs {
		if doc.Body == nil {
			continue
		}
		if body != nil {
			return nil, &Error{at: d.pos(doc.Body), msg: "more than one YAML document; a config file holds one"}
		}
		body = doc.Body
	}
	if body != nil {
		d.top(body, cfg)
	}
	if d.stopped != nil {
		return nil, d.stopped
	}
	if len(d.errs) > 0 {
		return nil, errors.Join(d.errs...)
	}
	return cfg, nil
}

// configDecoder walks the YAML tree, collecting every problem it finds.
type configDecoder struct {
	path    string
	anchors map[string]ast.Node
	errs    []error
	// steps counts the values walked, up to maxSteps. An alias walks its
	// anchor's value again each time, so without a bound a file of aliases
	// of aliases (a "billion laughs") would be walked for ever.
	steps, maxSteps int
	// merges is how deep "<<" merge keys are being expanded.
	merges int
	// stopped is the error that stopped decoding, the only one reported.
	stopped *Error
}

// Bounds on the decoder's work, whatever the file's aliases.
const (
	// aliasSteps is how many values aliases may add to those of the file:
	// a file walks at most one step per token without aliases, and a
	// config file that shares blocks between thousands of profiles needs
	// a few hundred thousand more; a tenth of a second of work.
	aliasSteps = 1 << 18
	// maxMerges is how deep merge keys may nest ("<<: *a" where a merges b...).
	maxMerges = 16
)

// step counts one value walked at n, and reports whether to go on: past
// maxSteps, decoding stops with one error.
func (d *configDecoder) step(n ast.Node) bool {
	if d.stopped != nil {
		return false
	}
	d.steps++
	if d.steps > d.maxSteps {
		d.stop(n, []string{"aliases (*name) and merge keys (<<) repeat the values of an anchor (&name): an alias of an alias of ... multiplies them"},
			"the file's aliases expand to more than %d values; a config file needs far fewer", d.maxSteps)
		return false
	}
	return true
}

// stop ends decoding with an error at n.
func (d *configDecoder) stop(n ast.Node, hints []string, format string, a ...any) {
	if d.stopped == nil {
		d.stopped = &Error{at: d.pos(n), msg: fmt.Sprintf(format, a...), hints: hints}
	}
}

func (d *configDecoder) errorf(n ast.Node, key string, hints []string, format string, a ...any) {
	d.errs = append(d.errs, &Error{at: d.pos(n), key: key, msg: fmt.Sprintf(format, a...), hints: hints})
}

func (d *configDecoder) pos(n ast.Node) string {
	if n == nil {
		return d.path
	}
	// A mapping's own token is its first ':' or '{'; its first key reads better.
	if m, ok := n.(*ast.MappingNode); ok && len(m.Values) > 0 {
		return d.pos(m.Values[0].Key)
	}
	if mv, ok := n.(*ast.MappingValueNode); ok {
		return d.pos(mv.Key)
	}
	return position(d.path, n.GetToken())
}

// position formats a token's place as file:line:col.
func position(path string, tk *token.Token) string {
	if tk == nil || tk.Position == nil {
		return path
	}
	return fmt.Sprintf("%s:%d:%d", path, tk.Position.Line, tk.Position.Column)
}

// collectAnchors records every anchor so aliases (and "<<" merge keys) can be
// resolved: users share inject rules or auth blocks between profiles that way.
func (d *configDecoder) collectAnchors(f *ast.File) {
	for _, doc := range f.Docs {
		if doc.Body != nil {
			ast.Walk(anchorVisitor(d.anchors), doc.Body)
		}
	}
}

type anchorVisitor map[string]ast.Node

func (v anchorVisitor) Visit(n ast.Node) ast.Visitor {
	if a, ok := n.(*ast.AnchorNode); ok && a.Name != nil {
		v[a.Name.GetToken().Value] = a.Value
	}
	return v
}

// resolve looks through anchors, aliases and tags to the node that holds the value.
func (d *configDecoder) resolve(n ast.Node) ast.Node {
	for range 32 { // bounded: an alias cycle must not hang
		switch v := n.(type) {
		case *ast.AnchorNode:
			n = v.Value
		case *ast.TagNode:
			n = v.Value
		case *ast.AliasNode:
			target, ok := d.anchors[v.Value.GetToken().Value]
			if !ok {
				return nil
			}
			n = target
		default:
			return n
		}
	}
	return nil
}

// entry is one key of a mapping.
type entry struct {
	name  string
	key   ast.Node
	value ast.Node
}

// mapping returns the entries of a mapping node, with "<<" merge keys expanded
// (explicit keys win over merged ones). A null value is an empty mapping.
func (d *configDecoder) mapping(n ast.Node, key string) ([]entry, bool) {
	if !d.step(n) {
		return nil, false
	}
	var values []*ast.MappingValueNode
	switch v := d.resolve(n).(type) {
	case *ast.MappingNode:
		values = v.Values
	case *ast.MappingValueNode:
		values = []*ast.MappingValueNode{v}
	case *ast.NullNode:
		return nil, true
	default:
		d.errorf(n, key, nil, "must be a mapping of keys to values")
		return nil, false
	}
	var explicit, merged []entry
	for _, mv := range values {
		if !d.step(mv) {
			return nil, false
		}
		if mv.Key.IsMergeKey() {
			merged = append(merged, d.mergeEntries(mv.Value, key)...)
			continue
		}
		k := ast.Node(mv.Key)
		if mk, ok := k.(*ast.MappingKeyNode); ok {
			k = mk.Value
		}
		name, ok := d.scalar(k)
		if !ok {
			d.errorf(mv.Key, key, nil, "keys must be plain names")
			continue
		}
		explicit = append(explicit, entry{name: name, key: mv.Key, value: mv.Value})
	}
	if len(merged) == 0 {
		return explicit, true
	}
	seen := make(map[string]bool, len(explicit))
	for _, e := range explicit {
		seen[e.name] = true
	}
	for _, m := range merged {
		if !seen[m.name] {
			seen[m.name] = true
			explicit = append(explicit, m)
		}
	}
	return explicit, true
}

// mergeEntries returns the entries a "<<" key merges: those of a mapping,
// or of each mapping in a list.
func (d *configDecoder) mergeEntries(n ast.Node, key string) []entry {
	if seq, ok := d.resolve(n).(*ast.SequenceNode); ok {
		var all []entry
		for _, v := range seq.Values {
			if !d.step(v) {
				return nil
			}
			if _, ok := d.resolve(v).(*ast.SequenceNode); ok {
				d.errorf(v, key, nil, "must be a mapping of keys to values")
				continue
			}
			all = append(all, d.mergeOne(v, key)...)
		}
		return all
	}
	return d.mergeOne(n, key)
}

func (d *configDecoder) mergeOne(n ast.Node, key string) []entry {
	if d.merges >= maxMerges {
		d.stop(n, nil, "merge keys (<<) nested more than %d deep, or an anchor that merges itself", maxMerges)
		return nil
	}
	d.merges++
	defer func() { d.merges-- }()
	entries, _ := d.mapping(n, key)
	return entries
}

// scalar returns the text of a scalar node as written; null is "".
func (d *configDecoder) scalar(n ast.Node) (string, bool) {
	switch v := d.resolve(n).(type) {
	case *ast.StringNode:
		return v.Value, true
	case *ast.LiteralNode:
		return v.Value.Value, true
	case *ast.NullNode:
		return "", true
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.InfinityNode, *ast.NanNode:
		// Keep the text: a client ID of digits only is still a string.
		return v.GetToken().Value, true
	}
	return "", false
}

// str decodes a string value and records where it was set.
func (d *configDecoder) str(p *Profile, key string, n ast.Node, dst *string) {
	s, ok := d.scalar(n)
	if !ok {
		d.errorf(n, key, nil, "must be a single value")
		return
	}
	*dst = s
	p.where[key] = d.pos(n)
}

// list decodes a list of strings; a single value is a list of one.
func (d *configDecoder) list(p *Profile, key string, n ast.Node, dst *[]string) {
	p.where[key] = d.pos(n)
	if seq, ok := d.resolve(n).(*ast.SequenceNode); ok {
		out := []string{}
		for _, v := range seq.Values {
			if !d.step(v) {
				return
			}
			s, ok := d.scalar(v)
			if !ok {
				d.errorf(v, key, nil, "must be a list of values")
				return
			}
			out = append(out, s)
		}
		*dst = out
		return
	}
	s, ok := d.scalar(n)
	if !ok {
		d.errorf(n, key, nil, "must be a list of values")
		return
	}
	if s == "" {
		*dst = []string{}
		return
	}
	*dst = []string{s}
}

// boolean decodes true or false (YAML's other spellings are refused: a
// typo must not pass for one of them).
func (d *configDecoder) boolean(p *Profile, key string, n ast.Node, dst *bool) {
	s, ok := d.scalar(n)
	switch {
	case ok && s == "true":
		*dst = true
	case ok && s == "false":
		*dst = false
	default:
		d.errorf(n, key, nil, "must be true or false")
		return
	}
	p.where[key] = d.pos(n)
}

// duration decodes a Go duration ("300s", "5m").
func (d *configDecoder) duration(p *Profile, key string, n ast.Node, dst *time.Duration) {
	s, ok := d.scalar(n)
	if !ok {
		d.errorf(n, key, nil, "must be a duration such as 30s or 5m")
		return
	}
	if s == "" {
		return // null: keep the default
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		hints := []string{`durations need a unit, e.g. 30s, 5m or 1h30m`}
		d.errorf(n, key, hints, "invalid duration %q", s)
		return
	}
	*dst = v
	p.where[key] = d.pos(n)
}

// unknown reports an unknown key with the nearest valid one as a hint.
func (d *configDecoder) unknown(e entry, where string, valid []string) {
	d.errs = append(d.errs, &Error{
		at:    d.pos(e.key),
		msg:   fmt.Sprintf("unknown key %q %s", e.name, where),
		hints: unknownKeyHints(e.name, valid),
	})
}

// allKeys lists every setting by its full path, to notice a key put at the
// wrong level ("token_url" directly in a profile instead of under "auth").
var allKeys = func() []string {
	var all []string
	all = append(all, profileKeys...)
	for _, k := range authKeys {
		all = append(all, "auth."+k)
	}
	for _, k := range timeoutsKeys {
		all = append(all, "timeouts."+k)
	}
	for _, k := range injectKeys {
		all = append(all, "inject[]."+k)
	}
	return all
}()

func unknownKeyHints(name string, valid []string) []string {
	lower := strings.ToLower(name)
	switch lower {
	case "client_secret", "client-secret", "clientsecret", "secret_value", "token", "password", "refresh_token":
		return []string{
			`secrets never go in the config file: store them with "agw-proxy login" (or "agw-proxy login NAME"), or set AGW_PROXY_CLIENT_SECRET / AGW_PROXY_SECRET_<NAME>`,
		}
	}
	if s := textdist.Nearest(name, valid); s != "" {
		return []string{fmt.Sprintf("did you mean %q?", s)}
	}
	for _, full := range allKeys {
		parent, last, nested := strings.Cut(full, ".")
		if !nested {
			last = parent
		}
		if textdist.Nearest(name, []string{last}) == "" {
			continue
		}
		where := "directly in the profile"
		switch parent {
		case "auth", "timeouts":
			where = "under " + parent + ":"
		case "inject[]":
			where = "in an inject rule"
		}
		return []string{fmt.Sprintf("did you mean %q %s?", last, where), "valid keys here: " + strings.Join(valid, ", ")}
	}
	return []string{"valid keys here: " + strings.Join(valid, ", ")}
}

// top decodes the whole document.
func (d *configDecoder) top(n ast.Node, cfg *File) {
	entries, ok := d.mapping(n, "")
	if !ok {
		return
	}
	for _, e := range entries {
		switch {
		case e.name == "profiles":
			d.profiles(e.value, cfg)
		case strings.HasPrefix(e.name, "x-"):
			// Extension keys, as in Compose files: a place for anchors.
		default:
			hints := unknownKeyHints(e.name, topKeys)
			if slices.Contains(profileKeys, e.name) || slices.Contains(allKeys, e.name) {
				hints = []string{fmt.Sprintf("settings go under a profile, e.g. profiles: default: %s: ...", e.name)}
			}
			d.errs = append(d.errs, &Error{at: d.pos(e.key), msg: fmt.Sprintf("unknown key %q at the top level", e.name), hints: hints})
		}
	}
}

func (d *configDecoder) profiles(n ast.Node, cfg *File) {
	entries, ok := d.mapping(n, "profiles")
	if !ok {
		return
	}
	for _, e := range entries {
		if err := checkProfileName(e.name); err != nil {
			d.errorf(e.key, "", nil, "profile name %q: %v", e.name, err)
			continue
		}
		p := New(e.name)
		p.InFile = true
		p.ConfigPath = cfg.path
		p.where[""] = d.pos(e.key)
		d.profile(e.value, p)
		cfg.profiles[e.name] = p
		cfg.names = append(cfg.names, e.name)
	}
}

func (d *configDecoder) profile(n ast.Node, p *Profile) {
	entries, ok := d.mapping(n, "profiles."+p.Name)
	if !ok {
		return
	}
	in := fmt.Sprintf("in profile %q", p.Name)
	for _, e := range entries {
		switch e.name {
		case "gateway_url":
			d.str(p, "gateway_url", e.value, &p.GatewayURL)
		case "auth":
			d.auth(e.value, p)
		case "inject":
			d.inject(e.value, p)
		case "timeouts":
			d.timeouts(e.value, p)
		case "protocol":
			d.str(p, "protocol", e.value, &p.Protocol)
		case "open_browser":
			d.boolean(p, "open_browser", e.value, &p.OpenBrowser)
		case "cache":
			d.boolean(p, "cache", e.value, &p.Cache)
		case "consent_tools":
			d.list(p, "consent_tools", e.value, &p.ConsentTools)
		case "ca_file":
			d.str(p, "ca_file", e.value, &p.CAFile)
			if p.CAFile != "" {
				p.CAFile = ResolvePath(filepath.Dir(p.ConfigPath), p.CAFile)
			}
		default:
			d.unknown(e, in, profileKeys)
		}
	}
}

func (d *configDecoder) auth(n ast.Node, p *Profile) {
	entries, ok := d.mapping(n, "auth")
	if !ok {
		return
	}
	in := fmt.Sprintf("in auth of profile %q", p.Name)
	for _, e := range entries {
		a := &p.Auth
		key := "auth." + e.name
		switch e.name {
		case "type":
			d.str(p, key, e.value, &a.Type)
		case "discovery_url":
			d.str(p, key, e.value, &a.DiscoveryURL)
		case "token_url":
			d.str(p, key, e.value, &a.TokenURL)
		case "authorize_url":
			d.str(p, key, e.value, &a.AuthorizeURL)
		case "redirect_url":
			d.str(p, key, e.value, &a.RedirectURL)
		case "client_id":
			d.str(p, key, e.value, &a.ClientID)
		case "scopes":
			d.list(p, key, e.value, &a.Scopes)
		case "token":
			d.str(p, key, e.value, &a.Token)
		case "aws_profile":
			d.str(p, key, e.value, &a.AWSProfile)
		case "region":
			d.str(p, key, e.value, &a.Region)
		default:
			d.unknown(e, in, authKeys)
		}
	}
}

func (d *configDecoder) inject(n ast.Node, p *Profile) {
	p.where["inject"] = d.pos(n)
	p.Inject = []InjectRule{}
	var items []ast.Node
	switch v := d.resolve(n).(type) {
	case *ast.SequenceNode:
		items = v.Values
	case *ast.NullNode:
	default:
		hints := []string{"write inject as a list: inject: [{argument: X-Asana-Token, secret: asana, tools: [\"Target___*\"]}]"}
		d.errorf(n, "inject", hints, "must be a list of rules")
		return
	}
	for i, item := range items {
		if !d.step(item) {
			return
		}
		key := fmt.Sprintf("inject[%d]", i)
		entries, ok := d.mapping(item, key)
		if !ok {
			continue
		}
		r := InjectRule{}
		p.where[key] = d.pos(item)
		in := fmt.Sprintf("in inject rule %d of profile %q", i+1, p.Name)
		for _, e := range entries {
			k := key + "." + e.name
			switch e.name {
			case "argument":
				d.str(p, k, e.value, &r.Argument)
			case "secret":
				d.str(p, k, e.value, &r.Secret)
			case "format":
				d.str(p, k, e.value, &r.Format)
			case "tools":
				d.list(p, k, e.value, &r.Tools)
			case "via":
				d.str(p, k, e.value, &r.Via)
			case "source":
				d.str(p, k, e.value, &r.Source)
			case "secret_command":
				d.list(p, k, e.value, &r.Command)
				d.commandWords(k, e.value, r.Command)
				// A program named by a path ("./bin/token", "~/bin/token")
				// is where ca_file would be: not wherever the MCP client
				// happened to start.
				if len(r.Command) > 0 && strings.ContainsAny(r.Command[0], `/\`) {
					r.Command[0] = ResolvePath(filepath.Dir(p.ConfigPath), r.Command[0])
				}
			case "command_timeout":
				d.duration(p, k, e.value, &r.CommandTimeout)
			case "cache_ttl":
				d.duration(p, k, e.value, &r.CacheTTL)
			case "oauth":
				d.injectOAuth(e.value, p, k, &r.OAuth)
			default:
				d.unknown(e, in, injectKeys)
			}
		}
		p.Inject = append(p.Inject, r)
	}
}

// commandWords refuses a secret_command written as one string with blanks
// in it ("op read op://x"): the command runs without a shell, so that would
// be the name of a program. The hint gives the list it likely means.
func (d *configDecoder) commandWords(key string, n ast.Node, argv []string) {
	if _, isList := d.resolve(n).(*ast.SequenceNode); isList || len(argv) != 1 || !strings.ContainsAny(argv[0], " \t") {
		return
	}
	words := strings.Fields(argv[0])
	for i, w := range words {
		words[i] = strconv.Quote(w)
	}
	d.errorf(n, key, []string{"write the program and its arguments as a list: [" + strings.Join(words, ", ") + "] (a program whose path has blanks: a list of one)"},
		"is one string with blanks; the command runs without a shell, so it would be the name of the program")
}

func (d *configDecoder) injectOAuth(n ast.Node, p *Profile, key string, o *InjectOAuth) {
	entries, ok := d.mapping(n, key)
	if !ok {
		return
	}
	p.where[key] = d.pos(n)
	in := fmt.Sprintf("in the oauth of %s of profile %q", displayKey(key, true), p.Name)
	for _, e := range entries {
		k := key + "." + e.name
		switch e.name {
		case "authorize_url":
			d.str(p, k, e.value, &o.AuthorizeURL)
		case "token_url":
			d.str(p, k, e.value, &o.TokenURL)
		case "issuer":
			d.str(p, k, e.value, &o.Issuer)
		case "client_id":
			d.str(p, k, e.value, &o.ClientID)
		case "scopes":
			d.list(p, k, e.value, &o.Scopes)
		case "redirect_url":
			d.str(p, k, e.value, &o.RedirectURL)
		default:
			d.unknown(e, in, oauthKeys)
		}
	}
}

func (d *configDecoder) timeouts(n ast.Node, p *Profile) {
	entries, ok := d.mapping(n, "timeouts")
	if !ok {
		return
	}
	in := fmt.Sprintf("in timeouts of profile %q", p.Name)
	for _, e := range entries {
		switch e.name {
		case "call":
			d.duration(p, "timeouts.call", e.value, &p.CallTimeout)
		case "connect":
			d.duration(p, "timeouts.connect", e.value, &p.ConnectTimeout)
		case "consent":
			d.duration(p, "timeouts.consent", e.value, &p.ConsentTimeout)
		default:
			d.unknown(e, in, timeoutsKeys)
		}
	}
}

// ResolvePath makes a file name from the config file relative to the file's
// directory, and expands a leading "~/".
func ResolvePath(dir, name string) string {
	if rest, ok := strings.CutPrefix(name, "~/"); ok {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, rest)
		}
	}
	if filepath.IsAbs(name) || dir == "" {
		return name
	}
	return filepath.Join(dir, name)
}

package proxy

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"unicode/utf8"
)

// Tool schemas are edited as bytes: a Gateway can list thousands of tools,
// and decoding every schema into maps and encoding it again would cost more
// than everything else the proxy does for a tools/list. The functions here
// walk well-formed JSON (the Gateway's response has been validated before,
// by validJSON, which agrees with json.Valid) and leave every byte they do
// not change as it came.
//
// They are the proxy's only reading of a schema: the tool list, the search
// results and doctor's MatchRule (which marshals the SDK's decoded schema
// back) all go through them, so that one tool cannot be read two ways. The
// tests keep a model on decoded maps to check them against.

var errBadJSON = errors.New("malformed JSON")

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index just past the string starting at b[i].
func skipString(b []byte, i int) (int, error) {
	start := i + 1
	for i = start; ; {
		j := bytes.IndexByte(b[i:], '"')
		if j < 0 {
			return 0, errBadJSON
		}
		end := i + j
		// The quote ends the string unless an odd run of backslashes
		// escapes it.
		n := 0
		for k := end - 1; k >= start && b[k] == '\\'; k-- {
			n++
		}
		if n%2 == 0 {
			return end + 1, nil
		}
		i = end + 1
	}
}

// skipValue returns the index just past the value starting at b[i].
func skipValue(b []byte, i int) (int, error) {
	if i >= len(b) {
		return 0, errBadJSON
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				end, err := skipString(b, i)
				if err != nil {
					return 0, err
				}
				i = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1, nil
				}
			}
		}
		return 0, errBadJSON
	}
	start := i
	for ; i < len(b); i++ { // number, true, false, null
		switch b[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			if i == start {
				// No value here: an error, so that a caller's loop over
				// invalid JSON always moves on (or stops).
				return 0, errBadJSON
			}
			return i, nil
		}
	}
	return i, nil
}

// span is one object member (key start to value end) or array element.
type span struct {
	start, end int // the whole member or element
	key        []byte
	val        []byte
}

// members returns the members of the object b (or an error if b is not one).
func members(b []byte) ([]span, error) {
	var out []span
	err := eachMember(b, func(m span) bool {
		out = append(out, m)
		return true
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// eachMember calls f with each member of the object b in turn, until f
// returns false; it returns an error if b is not an object. Unlike members
// it allocates nothing: for the messages of every call.
func eachMember(b []byte, f func(span) bool) error {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return errBadJSON
	}
	for i = skipSpace(b, i+1); i < len(b) && b[i] != '}'; {
		ks := i
		ke, err := skipString(b, i)
		if err != nil {
			return err
		}
		i = skipSpace(b, ke)
		if i >= len(b) || b[i] != ':' {
			return errBadJSON
		}
		vs := skipSpace(b, i+1)
		ve, err := skipValue(b, vs)
		if err != nil {
			return err
		}
		if !f(span{start: ks, end: ve, key: b[ks:ke], val: b[vs:ve]}) {
			return nil
		}
		i = skipSpace(b, ve)
		if i < len(b) && b[i] == ',' {
			i = skipSpace(b, i+1)
		}
	}
	return nil
}

// elements returns the elements of the array b (or an error if b is not one).
func elements(b []byte) ([]span, error) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '[' {
		return nil, errBadJSON
	}
	var out []span
	for i = skipSpace(b, i+1); i < len(b) && b[i] != ']'; {
		end, err := skipValue(b, i)
		if err != nil {
			return nil, err
		}
		out = append(out, span{start: i, end: end, val: b[i:end]})
		i = skipSpace(b, end)
		if i < len(b) && b[i] == ',' {
			i = skipSpace(b, i+1)
		}
	}
	return out, nil
}

// isString reports whether the JSON string token q equals s.
func isString(q []byte, s string) bool {
	if len(q) < 2 || q[0] != '"' {
		return false
	}
	// Compare the bytes unless decoding would change them: an escape, or
	// bytes that are not UTF-8 (a decoder reads them as U+FFFD, and so does
	// the client).
	if bytes.IndexByte(q, '\\') < 0 && utf8.Valid(q) {
		return string(q[1:len(q)-1]) == s
	}
	var v string
	return json.Unmarshal(q, &v) == nil && v == s
}

// schemaLists returns the properties and required members of a tool input
// schema (nil for one it lacks, or when the schema is not an object). As
// when decoding, a key given twice counts with its last value.
func schemaLists(schema []byte) (props, required []byte) {
	ms, err := members(schema)
	if err != nil {
		return nil, nil
	}
	for _, m := range ms {
		switch {
		case isString(m.key, "properties"):
			props = m.val
		case isString(m.key, "required"):
			required = m.val
		}
	}
	return props, required
}

// declaresRaw reports whether a tool input schema has arg, with that exact
// name, in its properties or its required list.
func declaresRaw(schema []byte, arg string) bool {
	props, required := schemaLists(schema)
	if ps, err := members(props); err == nil {
		for _, p := range ps {
			if isString(p.key, arg) {
				return true
			}
		}
	}
	if es, err := elements(required); err == nil {
		for _, e := range es {
			if isString(e.val, arg) {
				return true
			}
		}
	}
	return false
}

// declaredArguments returns the argument names a tool input schema declares
// in its properties or its required list (as declaresRaw reads them),
// sorted, each once.
func declaredArguments(schema []byte) []string {
	props, required := schemaLists(schema)
	var out []string
	if ps, err := members(props); err == nil {
		for _, p := range ps {
			if s, ok := stringValue(p.key); ok {
				out = append(out, s)
			}
		}
	}
	if es, err := elements(required); err == nil {
		for _, e := range es {
			if s, ok := stringValue(e.val); ok {
				out = append(out, s)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// stringValue returns the value of the JSON string token q.
func stringValue(q []byte) (string, bool) {
	if len(q) < 2 || q[0] != '"' {
		return "", false
	}
	if bytes.IndexByte(q, '\\') < 0 && utf8.Valid(q) {
		return string(q[1 : len(q)-1]), true
	}
	var s string
	return s, json.Unmarshal(q, &s) == nil
}

// stripRaw returns schema without args in its properties and required list,
// each in any letter case (see sameArgument). Bytes it does not change are
// kept as they came.
func stripRaw(schema []byte, args []string) ([]byte, error) {
	ms, err := members(schema)
	if err != nil {
		return nil, err
	}
	drop := func(key []byte) bool {
		s, ok := stringValue(key)
		if !ok {
			return false
		}
		for _, a := range args {
			if sameArgument(s, a) {
				return true
			}
		}
		return false
	}
	out := make([]byte, 0, len(schema))
	last := 0
	for _, m := range ms {
		var kept []span
		var open, close byte
		switch {
		case isString(m.key, "properties"):
			ps, err := members(m.val)
			if err != nil {
				continue // not an object: left as it is
			}
			for _, p := range ps {
				if !drop(p.key) {
					kept = append(kept, p)
				}
			}
			if len(kept) == len(ps) {
				continue
			}
			open, close = '{', '}'
		case isString(m.key, "required"):
			es, err := elements(m.val)
			if err != nil {
				continue
			}
			for _, e := range es {
				if !drop(e.val) {
					kept = append(kept, e)
				}
			}
			if len(kept) == len(es) {
				continue
			}
			open, close = '[', ']'
		default:
			continue
		}
		vs := m.end - len(m.val)
		out = append(out, schema[last:vs]...)
		out = append(out, open)
		for i, k := range kept {
			if i > 0 {
				out = append(out, ',')
			}
			out = append(out, m.val[k.start:k.end]...)
		}
		out = append(out, close)
		last = m.end
	}
	return append(out, schema[last:]...), nil
}

package clients

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/tailscale/hujson"
)

// jsonDocument is a JSON (or JSONC) file as hujson's syntax tree, which
// holds every byte of the input: a change replaces or appends values in the
// tree, and Bytes packs it, so what was not changed is written as it was.
type jsonDocument struct {
	data    []byte // the input the tree was parsed from (offsets point here)
	root    hujson.Value
	unit    string // one level of the file's indentation
	newline string // "\r\n" in a file that has one, else "\n"
}

func (d *jsonDocument) Bytes() []byte { return d.root.Pack() }

func (d *jsonDocument) Server(servers, name string) (Entry, bool, error) {
	_, table, err := d.servers(servers)
	if err != nil || table == nil {
		return Entry{}, false, err
	}
	m := member(table, name)
	if m == nil {
		return Entry{}, false, nil
	}
	obj, ok := m.Value.Value.(*hujson.Object)
	if !ok {
		return Entry{}, true, nil
	}
	e := Entry{Table: true}
	for _, f := range obj.Members {
		v, err := decode(f.Value)
		if err != nil {
			return Entry{}, true, err
		}
		e.Fields = append(e.Fields, Field{Key: f.Name.Value.(hujson.Literal).String(), Value: v})
	}
	return e, true, nil
}

func (d *jsonDocument) PutServer(servers, name string, fields []Field) error {
	sm, table, err := d.servers(servers)
	if err != nil {
		return err
	}
	entry := object(fields)
	switch {
	case sm == nil: // no servers key: add one that holds the entry
		root := d.root.Value.(*hujson.Object)
		d.appendMember(root, d.indentAt(d.root.StartOffset), servers, object{{name, entry}})
	case table == nil: // "servers": null
		sm.Value.Value = d.render(object{{name, entry}}, d.indentAt(sm.Name.StartOffset), false).Value
	default:
		m := member(table, name)
		if m == nil {
			d.appendMember(table, d.indentAt(sm.Name.StartOffset), name, entry)
			break
		}
		d.putFields(m, fields)
	}
	return d.reparse()
}

func (d *jsonDocument) RemoveServer(servers, name string) error {
	_, table, err := d.servers(servers)
	if err != nil || table == nil {
		return err
	}
	i := slices.IndexFunc(table.Members, func(m hujson.ObjectMember) bool {
		return m.Name.Value.(hujson.Literal).String() == name
	})
	if i < 0 {
		return nil
	}
	gone, n := table.Members[i], len(table.Members)
	// The comments before the entry stay, before what comes after it.
	comments := commentsOf(gone.Name.BeforeExtra)
	if i+1 < n {
		next := &table.Members[i+1].Name
		next.BeforeExtra = slices.Concat(comments, next.BeforeExtra)
	} else {
		table.AfterExtra = slices.Concat(comments, table.AfterExtra)
		if i > 0 {
			// The new last member ends the list as the old one did: with a
			// trailing comma or without.
			prev := &table.Members[i-1].Value
			switch {
			case gone.Value.AfterExtra != nil && prev.AfterExtra == nil:
				prev.AfterExtra = hujson.Extra{}
			case gone.Value.AfterExtra == nil && prev.AfterExtra != nil:
				table.AfterExtra = slices.Concat(prev.AfterExtra, table.AfterExtra)
				prev.AfterExtra = nil
			}
		} else if len(bytes.TrimSpace(table.AfterExtra)) == 0 {
			table.AfterExtra = nil // the table is empty again: {}
		}
	}
	table.Members = slices.Delete(table.Members, i, i+1)
	return d.reparse()
}

// commentsOf is the part of extra up to the end of its last comment: what
// is more than whitespace.
func commentsOf(extra hujson.Extra) hujson.Extra {
	trimmed := bytes.TrimRight(extra, " \t\r\n")
	if len(bytes.TrimSpace(trimmed)) == 0 {
		return nil
	}
	return slices.Clone(trimmed)
}

// putFields writes fields into the entry m: a field it has is replaced where
// it stands, keeping the comments around it (and on one line if it was);
// the others are appended.
func (d *jsonDocument) putFields(m *hujson.ObjectMember, fields []Field) {
	indent := d.indentAt(m.Name.StartOffset)
	obj, ok := m.Value.Value.(*hujson.Object)
	if !ok {
		m.Value.Value = d.render(object(fields), indent, false).Value
		return
	}
	for _, f := range fields {
		if fm := member(obj, f.Key); fm != nil {
			at := d.indentAt(fm.Name.StartOffset)
			fm.Value.Value = d.render(f.Value, at, oneLine(fm.Value.Value)).Value
		} else {
			d.appendMember(obj, indent, f.Key, f.Value)
		}
	}
}

// reparse parses the packed tree again, so that offsets (and so the
// indentation read from them) hold for a next change.
func (d *jsonDocument) reparse() error {
	data := d.root.Pack()
	root, err := hujson.Parse(data)
	if err != nil {
		return fmt.Errorf("clients: the changed document does not parse: %w", err) // a bug
	}
	d.data, d.root = data, root
	return nil
}

// servers returns the member holding the servers table and the table; both
// are nil when there is no such key, the table alone when it is null.
func (d *jsonDocument) servers(key string) (*hujson.ObjectMember, *hujson.Object, error) {
	m := member(d.root.Value.(*hujson.Object), key)
	if m == nil {
		return nil, nil, nil
	}
	switch v := m.Value.Value.(type) {
	case *hujson.Object:
		return m, v, nil
	case hujson.Literal:
		if v.Kind() == 'n' {
			return m, nil, nil
		}
	}
	return nil, nil, fmt.Errorf("%q is not a JSON object", key)
}

// member returns the first member of obj named key, or nil. Names compare
// by what they say, escapes decoded.
func member(obj *hujson.Object, key string) *hujson.ObjectMember {
	for i := range obj.Members {
		if obj.Members[i].Name.Value.(hujson.Literal).String() == key {
			return &obj.Members[i]
		}
	}
	return nil
}

// appendMember adds key: value as the last member of obj, whose own line is
// indented by indent. In an object written on one line the member follows
// the others on that line. Otherwise it goes on a line of its own, indented
// like its siblings, after any comments before the closing brace. A
// trailing comma stays a trailing comma.
func (d *jsonDocument) appendMember(obj *hujson.Object, indent, key string, value any) {
	n := len(obj.Members)
	name := hujson.Value{BeforeExtra: hujson.Extra(" "), Value: hujson.Literal(encode(key))}
	var val hujson.Value
	if n > 0 && oneLine(obj) {
		val = d.render(value, "", true)
	} else {
		inner := indent + d.unit
		if n > 0 && bytes.ContainsRune(obj.Members[n-1].Name.BeforeExtra, '\n') {
			inner = d.indentAt(obj.Members[n-1].Name.StartOffset)
		}
		head, tail := obj.AfterExtra, hujson.Extra(d.newline+indent)
		if i := bytes.LastIndexByte(head, '\n'); i >= 0 {
			head, tail = head[:i], hujson.Extra(d.newline+string(head[i+1:]))
		}
		name.BeforeExtra = hujson.Extra(string(bytes.TrimRight(head, " \t\r")) + d.newline + inner)
		obj.AfterExtra = tail
		val = d.render(value, inner, false)
	}
	val.BeforeExtra = hujson.Extra(" ")
	if n > 0 && obj.Members[n-1].Value.AfterExtra != nil {
		val.AfterExtra = hujson.Extra{} // the file ends its members with a comma
	}
	obj.Members = append(obj.Members, hujson.ObjectMember{Name: name, Value: val})
}

// oneLine reports whether v is written on one line.
func oneLine(v hujson.ValueTrimmed) bool {
	return !bytes.ContainsRune(hujson.Value{Value: v}.Pack(), '\n')
}

// indentAt is the indentation of the line that holds position pos.
func (d *jsonDocument) indentAt(pos int) string {
	start := bytes.LastIndexByte(d.data[:pos], '\n') + 1
	line := d.data[start:pos]
	return string(line[:len(line)-len(bytes.TrimLeft(line, " \t"))])
}

// render encodes v as the file is indented, its first line continuing a
// line indented by indent; or, inline, on one line: {"a": 1, "b": [2, 3]}.
func (d *jsonDocument) render(v any, indent string, inline bool) hujson.Value {
	var b bytes.Buffer
	unit := d.unit
	if inline {
		indent, unit = "", ""
	}
	if err := json.Indent(&b, encode(v), indent, unit); err != nil {
		panic(err) // encode writes JSON
	}
	text := b.Bytes()
	switch {
	case inline: // JSON strings hold no newline: each one is between tokens
		text = bytes.ReplaceAll(text, []byte(","+"\n"), []byte(", "))
		text = bytes.ReplaceAll(text, []byte("\n"), nil)
	case d.newline != "\n":
		text = bytes.ReplaceAll(text, []byte("\n"), []byte(d.newline))
	}
	val, err := hujson.Parse(text)
	if err != nil {
		panic(err)
	}
	return val
}

// object is a JSON object in order, for encoding.
type object []Field

func (o object) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, f := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(encode(f.Key))
		b.WriteByte(':')
		b.Write(encode(f.Value))
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// encode is v as compact JSON, with <, > and & as they are.
func encode(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(err) // only called with the value types of Field
	}
	return bytes.TrimSpace(b.Bytes())
}

// decode is the value v holds, comments and trailing commas dropped.
func decode(v hujson.Value) (any, error) {
	c := v.Clone()
	c.Standardize()
	var out any
	if err := json.Unmarshal(c.Pack(), &out); err != nil {
		return nil, err
	}
	return out, nil
}

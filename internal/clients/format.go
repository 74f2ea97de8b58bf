package clients

import (
	"fmt"
	"reflect"
)

// A Format reads and writes one kind of config file. Its documents say
// nothing of their syntax to the rest of the package: entries go in and out
// as [Field] values, so JSON, JSON with comments and (later) TOML are
// interchangeable.
type Format interface {
	// Name is the format's name in messages: "invalid JSON".
	Name() string
	// Parse reads a document. Empty or blank data is an empty document. A
	// document that cannot be read is a *SyntaxError; one of the wrong shape
	// (not an object or table at the top) is an error that says so.
	Parse(data []byte) (Document, error)
}

// A Document is a parsed config file, changed in place. Whatever a change
// does not touch keeps its bytes: comments, layout, other entries.
type Document interface {
	// Server returns the entry name in the table servers; found is false
	// when there is none. A servers key holding anything but a table (or
	// null) is an error.
	Server(servers, name string) (e Entry, found bool, err error)
	// PutServer writes fields into the entry name, creating it and the
	// servers table when missing. A field the entry has is replaced where
	// it stands; the others are appended; the entry's other fields stay. An
	// entry that is not a table is replaced whole.
	PutServer(servers, name string, fields []Field) error
	// RemoveServer takes the entry name out of the table servers, with
	// the layout around it, keeping comments and the other entries; the
	// table itself stays, empty or not. An entry that is not there is not
	// an error.
	RemoveServer(servers, name string) error
	// Bytes is the document as it stands.
	Bytes() []byte
}

// A Field is one key of a server entry. Values written are string,
// []string, bool, int64 and map[string]string; values read are whatever the
// format decodes (for JSON: string, float64, bool, nil, []any and
// map[string]any). [SameValue] compares the two kinds.
type Field struct {
	Key   string
	Value any
}

// An Entry is a server entry as a document holds it.
type Entry struct {
	// Table is false when the entry is not a table (an object): a string, a
	// list. It then has no fields.
	Table  bool
	Fields []Field
}

// Get returns the value of the entry's first field named key.
func (e Entry) Get(key string) (any, bool) { return get(e.Fields, key) }

func get(fields []Field, key string) (any, bool) {
	for _, f := range fields {
		if f.Key == key {
			return f.Value, true
		}
	}
	return nil, false
}

// A SyntaxError is a document that cannot be read, and where. Line and Col
// count from 1; Col counts characters. Line is 0 when the place is unknown.
type SyntaxError struct {
	Format    string // "JSON"
	Line, Col int
	Msg       string
}

func (e *SyntaxError) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("invalid %s: %s", e.Format, e.Msg)
	}
	return fmt.Sprintf("%d:%d: invalid %s: %s", e.Line, e.Col, e.Format, e.Msg)
}

// SameValue reports whether a value read from a document means the same as
// a value written: numbers compare by value, lists element by element,
// tables key by key.
func SameValue(a, b any) bool {
	return reflect.DeepEqual(normalize(a), normalize(b))
}

// normalize maps the value types of [Field] onto one form per meaning.
func normalize(v any) any {
	switch v := v.(type) {
	case int:
		return float64(v)
	case int64:
		return float64(v)
	case uint64:
		return float64(v)
	case []string:
		out := make([]any, len(v))
		for i, s := range v {
			out[i] = s
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = normalize(e)
		}
		return out
	case map[string]string:
		out := make(map[string]any, len(v))
		for k, s := range v {
			out[k] = s
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = normalize(e)
		}
		return out
	}
	return v
}

package mcpb

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"slices"
)

// obj is a JSON object that keeps its keys in order: Claude Desktop shows
// user_config in the manifest's order, and a reader of the manifest expects
// manifest_version and name first.
type obj []kv

type kv struct {
	key   string
	value any
}

func (o obj) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, e := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		for j, v := range []any{e.key, e.value} {
			var part bytes.Buffer
			enc := json.NewEncoder(&part)
			enc.SetEscapeHTML(false)
			if err := enc.Encode(v); err != nil {
				return nil, err
			}
			b.Write(bytes.TrimSuffix(part.Bytes(), []byte("\n")))
			if j == 0 {
				b.WriteByte(':')
			}
		}
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func fileMode(perm uint32) fs.FileMode { return fs.FileMode(perm) }

func sortedKeys(m map[string][]byte) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

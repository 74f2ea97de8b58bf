package clients

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// A Found client is one that is on this machine: its config file exists,
// or one of its programs is on PATH.
type Found struct {
	Client *Client
	Path   string // its default config file
	Exists bool   // whether the file exists
	Binary string // the program found on PATH, if any
}

// Detect returns the clients of [All] that are on this machine, in the
// table's order: their default config file exists in e, or one of their
// [Client.Binaries] is on PATH (e.LookPath). A client whose file cannot be
// located (no home directory) is left out.
func Detect(e Env) []Found {
	var found []Found
	for _, c := range All {
		path, err := c.Path(e)
		if err != nil {
			continue
		}
		f := Found{Client: c, Path: path}
		if _, err := os.Stat(path); err == nil {
			f.Exists = true
		}
		if e.LookPath != nil {
			for _, b := range c.Binaries {
				if p, err := e.LookPath(b); err == nil {
					f.Binary = p
					break
				}
			}
		}
		if f.Exists || f.Binary != "" {
			found = append(found, f)
		}
	}
	return found
}

// State is what a config file holds of agw-proxy's entry.
type State string

const (
	None     State = "none"       // no entry of that name
	UpToDate State = "up to date" // the entry Install would write
	Stale    State = "stale"      // agw-proxy's entry, with another binary, profile, options or timeout
	Other    State = "other"      // an entry of that name that runs another program
	Present  State = "present"    // an entry of that name, not compared (no server given)
)

// Status says what the config file at path holds of the entry name.
type Status struct {
	State State
	// Why says how a Stale or Other entry differs: `runs
	// "/opt/old/agw-proxy"`, "other args", "timeout 70000, not 60000".
	Why string
}

// Status reads the config file at path and compares its entry name with
// the one Install would write for s; with s nil, it only says whether there
// is one (Present). A missing file has None. A file that cannot be read is
// an error (a *FileError when it does not parse).
func (c *Client) Status(path, name string, s *Server) (Status, error) {
	f, err := c.load(path)
	if errors.Is(err, fs.ErrNotExist) || err == nil && !f.exists {
		return Status{State: None}, nil
	}
	if err != nil {
		return Status{}, err
	}
	old, found, err := f.doc.Server(c.Servers, name)
	switch {
	case err != nil:
		return Status{}, &FileError{Path: f.path, Err: err}
	case !found:
		return Status{State: None}, nil
	case !old.Table || !runsAgwProxy(old):
		return Status{State: Other, Why: runs(old, nil)}, nil
	case s == nil:
		return Status{State: Present}, nil
	}
	want := c.Entry(*s)
	var why []string
	for _, key := range append(append([]string{}, c.Owned...), c.Derived...) {
		ov, _ := old.Get(key)
		wv, _ := get(want, key)
		if SameValue(ov, wv) {
			continue
		}
		switch key {
		case "command":
			why = append(why, fmt.Sprintf("runs %s, not %s", showValue(ov), showValue(wv)))
		case "args":
			why = append(why, fmt.Sprintf("args %s, not %s", showValue(ov), showValue(wv)))
		default:
			why = append(why, fmt.Sprintf("%s %s, not %s", key, showValue(ov), showValue(wv)))
		}
	}
	if len(why) == 0 {
		return Status{State: UpToDate}, nil
	}
	return Status{State: Stale, Why: strings.Join(why, "; ")}, nil
}

// showValue is a value read from or written to a file, for a message:
// strings quoted, lists as their elements joined by spaces.
func showValue(v any) string {
	switch v := normalize(v).(type) {
	case nil:
		return "none"
	case string:
		return fmt.Sprintf("%q", v)
	case float64:
		return fmt.Sprint(v)
	case []any:
		parts := make([]string, len(v))
		for i, e := range v {
			if s, ok := e.(string); ok && s != "" && !strings.ContainsAny(s, " \t\"'") {
				parts[i] = s
			} else {
				parts[i] = showValue(e)
			}
		}
		return "[" + strings.Join(parts, " ") + "]"
	}
	return fmt.Sprintf("%v", v)
}

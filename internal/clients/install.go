package clients

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/agw-proxy/agw-proxy/internal/atomicfile"
	"github.com/agw-proxy/agw-proxy/internal/textenc"
)

// Action says what Install did to the file.
type Action string

const (
	Created   Action = "created"   // the file did not exist
	Added     Action = "added"     // the entry is new in the file
	Updated   Action = "updated"   // an entry of the same name was replaced (force)
	Unchanged Action = "unchanged" // the entry was already there (or, for Remove, not there): nothing written
	Removed   Action = "removed"   // the entry was taken out (Remove)
)

// Result says what Install did, and to which file.
type Result struct {
	Path   string // the file written: a symlink's target
	Action Action
}

// A FileError is a client's file that Install cannot change safely: it does
// not parse (Err is then a *SyntaxError), or holds the wrong shape. The file
// is left untouched.
type FileError struct {
	Path string
	Err  error
}

func (e *FileError) Error() string {
	var se *SyntaxError
	if errors.As(e.Err, &se) && se.Line > 0 {
		return e.Path + ":" + e.Err.Error()
	}
	return e.Path + ": " + e.Err.Error()
}

func (e *FileError) Unwrap() error { return e.Err }

// An ExistsError is an entry of the same name that runs something else,
// which Install leaves alone unless forced. The file is left untouched.
type ExistsError struct {
	Path, Name string
	// Runs says what the entry does: `runs "/opt/old/agw-proxy"`.
	Runs string
	// NotOurs says it is Remove that refused: the entry is not agw-proxy's.
	NotOurs bool
}

func (e *ExistsError) Error() string {
	if e.NotOurs {
		return fmt.Sprintf("%s: MCP server %q %s, not agw-proxy", e.Path, e.Name, e.Runs)
	}
	return fmt.Sprintf("%s: MCP server %q already exists and %s", e.Path, e.Name, e.Runs)
}

// Snippet is a new file holding nothing but the entry name for s: what the
// user adds by hand when Install is not wanted.
func (c *Client) Snippet(name string, s Server) ([]byte, error) {
	doc, err := c.Format.Parse(nil)
	if err == nil {
		err = doc.PutServer(c.Servers, name, c.Entry(s))
	}
	if err != nil {
		return nil, err
	}
	return doc.Bytes(), nil
}

// Install merges the server entry name for s into the config file at path,
// keeping every other entry and setting and the file's comments, layout and
// encoding (UTF-8, with or without a byte order mark, or UTF-16 with one:
// editors on Windows save those, and the client reads what it wrote). It
// creates the file and its folders when missing (the file with
// c.NewMode), replaces the file atomically and keeps its previous contents
// as path.bak. Nothing is written when the entry is already there. An
// entry of the same name whose owned fields differ is an *ExistsError
// unless force; then the entry's fields are written and its others kept.
func (c *Client) Install(path, name string, s Server, force bool) (Result, error) {
	f, err := c.load(path)
	res := Result{Path: f.path}
	if err != nil {
		return res, err
	}
	res.Action, err = c.merge(f.doc, f.path, name, c.Entry(s), force)
	if err != nil || res.Action == Unchanged {
		return res, err
	}
	if !f.exists {
		res.Action = Created
	}
	return res, f.save()
}

// Remove takes the server entry name out of the config file at path,
// keeping everything else as Install does (and the previous file as
// path.bak). Only agw-proxy's entry is taken out: one that runs another
// program is an *ExistsError unless force. A file or entry that is not
// there is Unchanged.
func (c *Client) Remove(path, name string, force bool) (Result, error) {
	f, err := c.load(path)
	res := Result{Path: f.path, Action: Unchanged}
	if err != nil || !f.exists {
		return res, err
	}
	old, found, err := f.doc.Server(c.Servers, name)
	switch {
	case err != nil:
		return res, &FileError{Path: f.path, Err: err}
	case !found:
		return res, nil
	case !force && !runsAgwProxy(old):
		return res, &ExistsError{Path: f.path, Name: name, Runs: runs(old, nil), NotOurs: true}
	}
	if err := f.doc.RemoveServer(c.Servers, name); err != nil {
		return res, &FileError{Path: f.path, Err: err}
	}
	res.Action = Removed
	return res, f.save()
}

// runsAgwProxy reports whether the entry runs a program named agw-proxy.
func runsAgwProxy(e Entry) bool {
	cmd, _ := e.Get("command")
	s, ok := cmd.(string)
	base := strings.TrimSuffix(strings.ToLower(filepath.Base(filepath.FromSlash(strings.ReplaceAll(s, `\`, "/")))), ".exe")
	return ok && base == "agw-proxy"
}

// configFile is a client's config file, read and parsed.
type configFile struct {
	path   string // the file to write: a symlink's target
	data   []byte // as read
	exists bool
	mode   fs.FileMode
	enc    textenc.Encoding
	doc    Document
}

// load reads and parses the config file at path (a missing file is an
// empty document).
func (c *Client) load(path string) (*configFile, error) {
	f := &configFile{path: writeThrough(path)}
	var err error
	f.data, f.exists, f.mode, err = c.read(f.path)
	if err != nil {
		return f, err
	}
	text, enc, err := textenc.Decode(f.data)
	if err != nil {
		if te, ok := errors.AsType[*textenc.Error](err); ok {
			err = &SyntaxError{Format: c.Format.Name(), Line: te.Line, Col: te.Col, Msg: te.Msg}
		}
		return f, &FileError{Path: f.path, Err: err}
	}
	f.enc = enc
	if f.doc, err = c.Format.Parse(text); err != nil {
		return f, &FileError{Path: f.path, Err: err}
	}
	return f, nil
}

// save writes the document back, in the file's encoding.
func (f *configFile) save() error {
	return replaceFile(f.path, f.data, f.enc.Encode(f.doc.Bytes()), f.exists, f.mode)
}

// merge puts the entry into doc, unless it is there already or (without
// force) an entry of that name runs something else. An entry that runs the
// same but whose derived fields (the timeouts) differ is updated.
func (c *Client) merge(doc Document, path, name string, fields []Field, force bool) (Action, error) {
	old, found, err := doc.Server(c.Servers, name)
	if err != nil {
		return "", &FileError{Path: path, Err: err}
	}
	same := found && old.Table && c.fieldsEqual(c.Owned, old, fields)
	if same && c.fieldsEqual(c.Derived, old, fields) {
		return Unchanged, nil
	}
	if found && !same && !force {
		return "", &ExistsError{Path: path, Name: name, Runs: runs(old, fields)}
	}
	if err := doc.PutServer(c.Servers, name, fields); err != nil {
		return "", &FileError{Path: path, Err: err}
	}
	if found {
		return Updated, nil
	}
	return Added, nil
}

// ownedEqual reports whether the entry old already has the owned fields of
// want, with the same meaning.
func (c *Client) ownedEqual(old Entry, want []Field) bool { return c.fieldsEqual(c.Owned, old, want) }

// fieldsEqual reports whether the entry old has the fields keys of want,
// with the same meaning.
func (c *Client) fieldsEqual(keys []string, old Entry, want []Field) bool {
	for _, key := range keys {
		ov, ok := get(old.Fields, key)
		wv, wok := get(want, key)
		if !ok || !wok || !SameValue(ov, wv) {
			return false
		}
	}
	return true
}

// runs says how the entry old differs from the one wanted.
func runs(old Entry, want []Field) string {
	if !old.Table {
		return "is not an object"
	}
	cmd, ok := get(old.Fields, "command")
	wcmd, wok := get(want, "command")
	if s, isString := cmd.(string); ok && isString && (!wok || !SameValue(cmd, wcmd)) {
		return fmt.Sprintf("runs %q", s)
	}
	return "runs a different command or args"
}

// writeThrough is the file to write for path: a symlink's target (dotfile
// managers link config files), so the link stays a link.
func writeThrough(path string) string {
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeSymlink != 0 {
		if real, err := filepath.EvalSymlinks(path); err == nil {
			return real
		}
	}
	return path
}

// read returns the file's contents, whether it exists, and the mode a
// rewrite keeps (c.NewMode for a new file).
func (c *Client) read(path string) (data []byte, exists bool, mode fs.FileMode, err error) {
	data, err = os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, false, c.NewMode, nil
	case err != nil:
		return nil, false, 0, fmt.Errorf("%s: %w", path, unwrapPathError(err))
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, false, 0, fmt.Errorf("%s: %w", path, unwrapPathError(err))
	}
	return data, true, fi.Mode().Perm(), nil
}

// replaceFile writes data to path atomically, first keeping old as
// path.bak when the file exists, and creating its folders when missing.
func replaceFile(path string, old, data []byte, exists bool, mode fs.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("%s: %w", filepath.Dir(path), unwrapPathError(err))
	}
	if exists {
		if err := writeFileAtomic(path+".bak", old, mode); err != nil {
			return err
		}
	}
	return writeFileAtomic(path, data, mode)
}

// writeFileAtomic is atomicfile.Write with the error naming path.
func writeFileAtomic(path string, data []byte, mode fs.FileMode) error {
	if err := atomicfile.Write(path, data, mode); err != nil {
		return fmt.Errorf("writing %s: %w", path, unwrapPathError(err))
	}
	return nil
}

// unwrapPathError drops the *fs.PathError layer, whose text repeats the path.
func unwrapPathError(err error) error {
	if pe, ok := errors.AsType[*fs.PathError](err); ok {
		return pe.Err
	}
	return err
}

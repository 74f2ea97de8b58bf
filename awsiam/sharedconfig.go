package awsiam

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// The shared config files, read the way the AWS CLI and SDKs read them:
// ~/.aws/config ($AWS_CONFIG_FILE), whose sections are [default],
// [profile NAME] and [sso-session NAME], and ~/.aws/credentials
// ($AWS_SHARED_CREDENTIALS_FILE), whose sections are [NAME]. A key of the
// credentials file wins over the same key of the config file. A nested
// setting (a key with an empty value followed by indented lines, as
// "ssm =" then "  endpoint_url = ...") is kept as "ssm.endpoint_url". The
// config file's [services NAME] sections hold the per-service
// endpoint_url settings a profile's "services = NAME" names.

// A section is one profile's (or sso-session's) settings, with where each
// came from for messages.
type section struct {
	name   string
	values map[string]string
	at     map[string]string // file:line of each key
}

func (s *section) get(key string) string {
	if s == nil {
		return ""
	}
	return s.values[key]
}

// where says where key was set, "" when it was not.
func (s *section) where(key string) string {
	if s == nil {
		return ""
	}
	return s.at[key]
}

// sharedConfig is what the two files say.
type sharedConfig struct {
	configFile, credentialsFile string
	profiles                    map[string]*section
	ssoSessions                 map[string]*section
	services                    map[string]*section
}

// configFiles returns the paths of the config and the credentials file.
func configFiles(getenv func(string) string) (config, credentials string, err error) {
	config, credentials = getenv("AWS_CONFIG_FILE"), getenv("AWS_SHARED_CREDENTIALS_FILE")
	if config != "" && credentials != "" {
		return expandHome(getenv, config), expandHome(getenv, credentials), nil
	}
	home := homeDir(getenv)
	if home == "" {
		return "", "", errors.New("no home directory (HOME is not set) to find ~/.aws/config in")
	}
	if config == "" {
		config = filepath.Join(home, ".aws", "config")
	}
	if credentials == "" {
		credentials = filepath.Join(home, ".aws", "credentials")
	}
	return expandHome(getenv, config), expandHome(getenv, credentials), nil
}

func homeDir(getenv func(string) string) string {
	if h := getenv("HOME"); h != "" {
		return h
	}
	return getenv("USERPROFILE")
}

func expandHome(getenv func(string) string, path string) string {
	if rest, ok := strings.CutPrefix(path, "~/"); ok {
		if h := homeDir(getenv); h != "" {
			return filepath.Join(h, rest)
		}
	}
	return path
}

// loadSharedConfig reads both files; a missing file is no error.
func loadSharedConfig(getenv func(string) string) (*sharedConfig, error) {
	configPath, credPath, err := configFiles(getenv)
	if err != nil {
		return nil, err
	}
	sc := &sharedConfig{
		configFile:      configPath,
		credentialsFile: credPath,
		profiles:        map[string]*section{},
		ssoSessions:     map[string]*section{},
		services:        map[string]*section{},
	}
	if err := sc.read(configPath, true); err != nil {
		return nil, err
	}
	if err := sc.read(credPath, false); err != nil {
		return nil, err
	}
	return sc, nil
}

// read merges one file into sc. In the config file a profile other than
// default is [profile NAME]; in the credentials file it is [NAME].
func (sc *sharedConfig) read(path string, isConfig bool) error {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cannot read %s: %w", path, unwrapPath(err))
	}
	defer f.Close()
	var cur *section
	nested := "" // the key whose indented lines follow
	scan := bufio.NewScanner(f)
	scan.Buffer(make([]byte, 0, 4096), 1<<20)
	for n := 1; scan.Scan(); n++ {
		raw := scan.Text()
		line := strings.TrimSpace(raw)
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if line[0] == '[' {
			nested = ""
			end := strings.IndexByte(line, ']')
			if end < 0 {
				return fmt.Errorf("%s:%d: section header without ]", path, n)
			}
			cur = sc.section(strings.TrimSpace(line[1:end]), isConfig)
			continue
		}
		parent := ""
		if raw[0] == ' ' || raw[0] == '\t' {
			parent = nested // a nested setting ("ssm =" and its lines)
		} else {
			nested = ""
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok {
			return fmt.Errorf("%s:%d: expected key = value", path, n)
		}
		key = strings.ToLower(strings.TrimSpace(key))
		value = strings.TrimSpace(value)
		if parent != "" {
			key = parent + "." + key
		} else if value == "" {
			nested = key
		}
		if cur == nil {
			continue // before any section: ignored, as the SDKs do
		}
		cur.values[key] = value
		cur.at[key] = fmt.Sprintf("%s:%d", path, n)
	}
	if err := scan.Err(); err != nil {
		return fmt.Errorf("cannot read %s: %w", path, err)
	}
	return nil
}

// section returns the section a header names, creating it; nil for a
// section the chain does not use (a config file's [NAME]
// without "profile ", which the SDKs ignore too).
func (sc *sharedConfig) section(header string, isConfig bool) *section {
	kind, name, spaced := strings.Cut(header, " ")
	name = strings.TrimSpace(name)
	table := sc.profiles
	switch {
	case !isConfig:
		name = header
	case !spaced && header == "default":
		name = header
	case spaced && kind == "profile":
	case spaced && kind == "sso-session":
		table = sc.ssoSessions
	case spaced && kind == "services":
		table = sc.services
	default:
		return &section{values: map[string]string{}, at: map[string]string{}} // read and dropped
	}
	s := table[name]
	if s == nil {
		s = &section{name: name, values: map[string]string{}, at: map[string]string{}}
		table[name] = s
	}
	return s
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

package clients

import (
	"os"
	"path/filepath"
)

// Env is the part of the user's environment that decides where a client's
// file lives, so tests can choose it.
type Env struct {
	// Getenv reads HOME, USERPROFILE (Windows), APPDATA and XDG_CONFIG_HOME.
	Getenv func(string) string
	// GOOS is the operating system, as runtime.GOOS names it.
	GOOS string
	// Getwd is the current directory, for files kept in a project; nil
	// means os.Getwd.
	Getwd func() (string, error)
	// UserHomeDir is the home directory when HOME and USERPROFILE are unset;
	// nil means os.UserHomeDir.
	UserHomeDir func() (string, error)
}

func (e Env) getenv(key string) string {
	if e.Getenv == nil {
		return ""
	}
	return e.Getenv(key)
}

// HomeDir is the user's home directory: $HOME (%USERPROFILE% on Windows).
func (e Env) HomeDir() (string, error) {
	if h := e.getenv("HOME"); h != "" {
		return h, nil
	}
	if h := e.getenv("USERPROFILE"); h != "" && e.GOOS == "windows" {
		return h, nil
	}
	if e.UserHomeDir != nil {
		return e.UserHomeDir()
	}
	return os.UserHomeDir()
}

// homeDir returns a folder function for a folder under the home directory.
func homeDir(elem ...string) func(Env) (string, error) {
	return func(e Env) (string, error) {
		home, err := e.HomeDir()
		if err != nil {
			return "", err
		}
		return filepath.Join(append([]string{home}, elem...)...), nil
	}
}

// workDir is the current directory: a project's own files.
func workDir(e Env) (string, error) {
	if e.Getwd != nil {
		return e.Getwd()
	}
	return os.Getwd()
}

// claudeDir is where Claude Desktop keeps its config on e.GOOS.
func claudeDir(e Env) (string, error) {
	switch e.GOOS {
	case "windows":
		if d := e.getenv("APPDATA"); d != "" {
			return filepath.Join(d, "Claude"), nil
		}
		return homeDir("AppData", "Roaming", "Claude")(e)
	case "darwin":
		return homeDir("Library", "Application Support", "Claude")(e)
	default:
		// Linux builds of Claude Desktop follow XDG.
		if d := e.getenv("XDG_CONFIG_HOME"); d != "" && filepath.IsAbs(d) {
			return filepath.Join(d, "Claude"), nil
		}
		return homeDir(".config", "Claude")(e)
	}
}

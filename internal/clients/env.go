package clients

import (
	"os"
	"path/filepath"
)

// Env is the part of the user's environment that decides where a client's
// file lives, so tests can choose it.
type Env struct {
	// Getenv reads HOME, USERPROFILE (Windows), APPDATA, XDG_CONFIG_HOME,
	// and the clients' own CLAUDE_CONFIG_DIR, CODEX_HOME and COPILOT_HOME.
	Getenv func(string) string
	// GOOS is the operating system, as runtime.GOOS names it.
	GOOS string
	// Getwd is the current directory, for files kept in a project; nil
	// means os.Getwd.
	Getwd func() (string, error)
	// UserHomeDir is the home directory when HOME and USERPROFILE are unset;
	// nil means os.UserHomeDir.
	UserHomeDir func() (string, error)
	// LookPath finds a program on PATH, as exec.LookPath does (Detect);
	// nil means none is looked for.
	LookPath func(string) (string, error)
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

// claudeDir is where Claude Desktop keeps its config on e.GOOS (Linux
// builds follow XDG).
func claudeDir(e Env) (string, error) { return appConfigDir(e, "Claude") }

// envDir returns a folder function for the folder named by the variable
// key when it is set to an absolute path, else for a folder under home.
func envDir(key string, elem ...string) func(Env) (string, error) {
	return func(e Env) (string, error) {
		if d := e.getenv(key); d != "" && filepath.IsAbs(d) {
			return d, nil
		}
		return homeDir(elem...)(e)
	}
}

var (
	// claudeCodeDir holds Claude Code's .claude.json: CLAUDE_CONFIG_DIR
	// moves it.
	claudeCodeDir = envDir("CLAUDE_CONFIG_DIR")
	// codexDir is CODEX_HOME, by default ~/.codex.
	codexDir = envDir("CODEX_HOME", ".codex")
	// copilotDir is COPILOT_HOME, by default ~/.copilot.
	copilotDir = envDir("COPILOT_HOME", ".copilot")
)

// appConfigDir is where desktop apps keep their settings on e.GOOS:
// %APPDATA% on Windows, ~/Library/Application Support on macOS,
// $XDG_CONFIG_HOME (~/.config) on Linux.
func appConfigDir(e Env, app string) (string, error) {
	switch e.GOOS {
	case "windows":
		if d := e.getenv("APPDATA"); d != "" {
			return filepath.Join(d, app), nil
		}
		return homeDir("AppData", "Roaming", app)(e)
	case "darwin":
		return homeDir("Library", "Application Support", app)(e)
	default:
		if d := e.getenv("XDG_CONFIG_HOME"); d != "" && filepath.IsAbs(d) {
			return filepath.Join(d, app), nil
		}
		return homeDir(".config", app)(e)
	}
}

// vscodeUserDir is VS Code's user folder (the default profile's).
func vscodeUserDir(e Env) (string, error) {
	d, err := appConfigDir(e, "Code")
	return filepath.Join(d, "User"), err
}

// clineDir is where the Cline extension keeps its MCP settings, in VS
// Code's user folder.
func clineDir(e Env) (string, error) {
	d, err := vscodeUserDir(e)
	return filepath.Join(d, "globalStorage", "saoudrizwan.claude-dev", "settings"), err
}

// zedDir is Zed's config folder: ~/.config/zed on macOS too (not Library),
// $XDG_CONFIG_HOME/zed on Linux, %APPDATA%\Zed on Windows.
func zedDir(e Env) (string, error) {
	if e.GOOS == "darwin" {
		return homeDir(".config", "zed")(e)
	}
	if e.GOOS == "windows" {
		return appConfigDir(e, "Zed")
	}
	return appConfigDir(e, "zed")
}

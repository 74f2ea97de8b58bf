package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/pflag"

	"github.com/agw-proxy/agw-proxy/configs"
	"github.com/agw-proxy/agw-proxy/internal/profile"
)

func init() {
	register(command{name: "init", summary: "Write an annotated example config file, or print it", run: runInit})
}

const initUsage = `Usage:
    agw-proxy init [--config FILE] [--force]
    agw-proxy init --example

Write the annotated example config file where agw-proxy looks for it, to be
edited for your Gateway: every key is explained in it. The file is created
0600, with its folders; an existing file is never replaced unless --force.
With --example, print the example instead and write nothing.

The file is --config FILE, else $AGW_PROXY_CONFIG, else
<user config dir>/agw-proxy/config.yaml (~/.config/agw-proxy/config.yaml on
Linux, ~/Library/Application Support/agw-proxy/config.yaml on macOS,
%AppData%\agw-proxy\config.yaml on Windows).

Options:
    --example              Print the example config to stdout
    --config FILE          Write FILE instead of the default config file
    --force                Replace an existing file
    -h, --help             Show this help

Examples:
    $ agw-proxy init
    $ agw-proxy init --example > work.yaml
`

func runInit(_ context.Context, e *env, args []string) error {
	fs := pflag.NewFlagSet("init", pflag.ContinueOnError)
	example := fs.Bool("example", false, "Print the example config")
	config := fs.String("config", "", "Config file to write")
	force := fs.Bool("force", false, "Replace an existing file")
	if done, err := parseFlags(e, fs, initUsage, args); done {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return usageErrorf("init", "unexpected argument %q", fs.Arg(0))
	case *example && (fs.Changed("config") || *force):
		return usageErrorf("init", "--example prints the example: it takes no other option")
	case fs.Changed("config") && *config == "":
		return usageErrorf("init", "--config: empty file name")
	case *example:
		_, err := e.stdout.Write(configs.ExampleConfig)
		return err
	}

	path, again := *config, " --config "+profile.ShellQuote(*config)
	if !fs.Changed("config") {
		var err error
		path, _, err = profile.ConfigFile(profile.Env{Getenv: e.getenv, ConfigDir: e.configDir})
		if err != nil {
			return withHints(errors.New("init: there is no user config directory ($HOME, or %AppData% on Windows, is not set)"),
				`name the file: "agw-proxy init --config FILE"`)
		}
		again = ""
	}
	if err := writeConfigFile(path, configs.ExampleConfig, *force); err != nil {
		return err
	}
	writef(e.stdout, "Wrote the example config to %s.\n", path)
	writef(e.stdout, "Edit it for your Gateway (every key is explained), then run %q and %q.\n",
		"agw-proxy login"+again, "agw-proxy doctor"+again)
	return nil
}

// writeConfigFile creates path with data, mode 0600, and its folders (0700).
// An existing file is an error unless force; then it is replaced whole (a
// new file renamed over it), so it ends 0600 whatever its mode was.
func writeConfigFile(path string, data []byte, force bool) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("init: %w", err)
	}
	if !force {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			return withHints(fmt.Errorf("%s already exists: nothing written", path),
				"edit it; or add --force to replace it with the example (\"agw-proxy init --example\" prints it)")
		}
		if err != nil {
			return fmt.Errorf("init: %w", err)
		}
		_, err = f.Write(data)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(path)
			return fmt.Errorf("init: %w", err)
		}
		return nil
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return fmt.Errorf("init: %s is a directory", path)
	}
	tmp, err := os.CreateTemp(dir, ".agw-proxy-init-*") // 0600
	if err != nil {
		return fmt.Errorf("init: %w", err)
	}
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("init: %w", err)
	}
	return nil
}

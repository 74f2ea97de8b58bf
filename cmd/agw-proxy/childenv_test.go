package main

// Tests never touch the developer's keychain. A test that runs agw-proxy as
// a process runs the test binary (TestMain), whose keychain is a test
// keychain; and every such child is started without a D-Bus session bus,
// so that even a released binary would find no keychain (tokenstore reports
// no keychain at once when there is no bus to connect to). checkChildEnv
// makes sure of both before a child starts.

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// checkChildEnv fails the test when cmd could reach the OS keychain.
func checkChildEnv(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if p := childEnvProblem(cmd, e2eBinary(t)); p != "" {
		t.Fatalf("%s could reach the OS keychain: %s", cmd.Path, p)
	}
}

// childEnvProblem says why cmd, run with its environment, could reach the
// OS keychain, or "" when it cannot: no D-Bus session bus
// (DBUS_SESSION_BUS_ADDRESS empty, XDG_RUNTIME_DIR a folder with no bus in
// it), and, for testBinary, a test keychain file under the temporary folder
// and no request for the OS keychain. Any other binary is allowed only where
// the OS keychain is the Secret Service on D-Bus.
func childEnvProblem(cmd *exec.Cmd, testBinary string) string {
	env := cmd.Env
	if env == nil {
		env = os.Environ()
	}
	get := func(key string) string { // the last one wins, as in exec
		v := ""
		for _, kv := range env {
			if k, val, ok := strings.Cut(kv, "="); ok && k == key {
				v = val
			}
		}
		return v
	}
	if get("DBUS_SESSION_BUS_ADDRESS") != "" {
		return "DBUS_SESSION_BUS_ADDRESS is set"
	}
	xdg := get("XDG_RUNTIME_DIR")
	if xdg == "" || !underTemp(xdg) {
		return "XDG_RUNTIME_DIR is not a temporary folder (" + xdg + "), so /run/user/UID/bus may be used"
	}
	for _, bus := range []string{"bus", "dbus-session"} {
		if _, err := os.Stat(filepath.Join(xdg, bus)); err == nil {
			return "XDG_RUNTIME_DIR has a " + bus
		}
	}
	if !sameFile(cmd.Path, testBinary) {
		if runtime.GOOS == "darwin" || runtime.GOOS == "windows" {
			return "it is not the test binary, and this system's keychain needs no D-Bus"
		}
		return ""
	}
	if get(envTestKeyring) == "os" {
		return envTestKeyring + "=os"
	}
	if f := get(envTestKeyringFile); f == "" || !underTemp(f) {
		return envTestKeyringFile + " is not a file in a temporary folder (" + f + ")"
	}
	return ""
}

func underTemp(path string) bool {
	rel, err := filepath.Rel(os.TempDir(), path)
	return err == nil && filepath.IsAbs(path) && !strings.HasPrefix(rel, "..")
}

// TestChildEnvCannotReachTheKeychain: the helpers' environment passes the
// check, and an environment that could reach a keychain does not.
func TestChildEnvCannotReachTheKeychain(t *testing.T) {
	bin := e2eBinary(t)
	ok := exec.Command(bin)
	ok.Env = testChildEnv(t)
	if p := childEnvProblem(ok, bin); p != "" {
		t.Errorf("testChildEnv: %s", p)
	}
	for _, tc := range []struct {
		name string
		vars []string
	}{
		{"a session bus", []string{"DBUS_SESSION_BUS_ADDRESS=unix:path=/run/user/1000/bus"}},
		{"the user's runtime folder", []string{"XDG_RUNTIME_DIR=/run/user/1000"}},
		{"no runtime folder", []string{"XDG_RUNTIME_DIR="}},
		{"the OS keychain asked for", []string{envTestKeyring + "=os"}},
		{"a keychain file in the home folder", []string{envTestKeyringFile + "=/home/someone/keyring.json"}},
	} {
		bad := exec.Command(bin)
		bad.Env = testChildEnv(t, tc.vars...)
		if childEnvProblem(bad, bin) == "" {
			t.Errorf("%s: passes the check", tc.name)
		}
	}
	inherit := exec.Command(bin) // the test's own environment
	inherit.Env = append(os.Environ(), "DBUS_SESSION_BUS_ADDRESS=unix:path=/nowhere")
	if childEnvProblem(inherit, bin) == "" {
		t.Error("the test's own environment passes the check")
	}
}

// TestNoTestBuildsAnotherBinary: the binary tests run the test binary, or
// the released binary (productionBinary) from a function that checks the
// child's environment with checkChildEnv; no other test builds one.
// keychain_e2e_test.go, the real-keychain suite, runs only under its build
// tag.
func TestNoTestBuildsAnotherBinary(t *testing.T) {
	files, err := filepath.Glob("*_test.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			var production, checked bool
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				switch fun := call.Fun.(type) {
				case *ast.Ident:
					production = production || fun.Name == "productionBinary"
					checked = checked || fun.Name == "checkChildEnv"
				case *ast.SelectorExpr:
					if fun.Sel.Name != "Command" && fun.Sel.Name != "CommandContext" || fn.Name.Name == "productionBinary" {
						break
					}
					for _, a := range call.Args {
						if lit, ok := a.(*ast.BasicLit); ok && lit.Value == `"go"` {
							t.Errorf("%s: %s runs the go command: a binary for a test comes from productionBinary", fset.Position(call.Pos()), fn.Name.Name)
						}
					}
				}
				return true
			})
			if production && !checked {
				t.Errorf("%s: %s runs the released binary without checkChildEnv", fset.Position(fn.Pos()), fn.Name.Name)
			}
		}
	}
}

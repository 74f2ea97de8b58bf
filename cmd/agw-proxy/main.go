// Command agw-proxy is a local stdio MCP server that forwards every call to an
// Amazon Bedrock AgentCore Gateway, handles the Gateway's Cognito tokens, and
// fills secret tool arguments from the OS keychain so the model never sees them.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Exit codes, part of the command-line contract.
const (
	exitOK          = 0
	exitError       = 1
	exitUsage       = 2
	exitLoginNeeded = 4
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], newEnv())
	stop()
	os.Exit(code)
}

// env is everything a subcommand may touch outside its arguments, so that
// tests can run subcommands without a process.
type env struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
}

func newEnv() *env {
	return &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}
}

// command is one subcommand: it parses its own flags and returns an exit code.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, e *env, args []string) int
}

// commands lists the subcommands in the order help shows them.
// Each lives in a file of its own.
var commands []command

func register(c command) { commands = append(commands, c) }

const usage = `agw-proxy connects desktop MCP clients to an Amazon Bedrock AgentCore Gateway.

Usage:
    agw-proxy <command> [options]

Commands:
%s
Run "agw-proxy <command> --help" for a command's options.
`

func printUsage(w io.Writer) {
	var list string
	for _, c := range commands {
		list += fmt.Sprintf("    %-11s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, usage, list)
}

func run(ctx context.Context, args []string, e *env) int {
	if len(args) == 0 {
		printUsage(e.stderr)
		return exitUsage
	}
	switch args[0] {
	case "-h", "--help", "help":
		printUsage(e.stdout)
		return exitOK
	case "--version":
		args = []string{"version"}
	}
	for _, c := range commands {
		if c.name == args[0] {
			return c.run(ctx, e, args[1:])
		}
	}
	errorf(e, "unknown command %q", args[0])
	hintf(e, `run "agw-proxy --help" for the list of commands`)
	return exitUsage
}

// errorf prints "agw-proxy: error: ..." to stderr. Never put a secret in it.
func errorf(e *env, format string, a ...any) {
	fmt.Fprintf(e.stderr, "agw-proxy: error: "+format+"\n", a...)
}

// hintf prints "agw-proxy: hint: ..." to stderr.
func hintf(e *env, format string, a ...any) {
	fmt.Fprintf(e.stderr, "agw-proxy: hint: "+format+"\n", a...)
}

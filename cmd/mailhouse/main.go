// Command mailhouse is a complete email server in one binary: SMTP,
// submission, IMAP, POP3 and HTTPS, with its admin commands.
//
// Run `mailhouse help` for the subcommands; `mailhouse dev` starts a
// local test server with no set-up.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

	"mailhouse/internal/app"
	"mailhouse/internal/cli"
	"mailhouse/internal/config"
	"mailhouse/internal/store"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func commands() []cli.Command {
	return []cli.Command{
		{Name: "dev", Summary: "start a local test server with no set-up (127.0.0.1, ports + 10000)", Run: app.Dev},
		{Name: "init", Summary: "write a config file, make a certificate, add the first domain", Run: cli.Init},
		{Name: "serve", Summary: "run the configured services", Run: app.Serve},
		{Name: "domain", Summary: "add, delete or list hosted domains", Run: group("domain", cli.DomainCommands())},
		{Name: "user", Summary: "add, delete or list accounts, set passwords", Run: group("user", cli.UserCommands())},
		{Name: "alias", Summary: "add, delete or list aliases and catch-alls", Run: group("alias", cli.AliasCommands())},
		{Name: "queue", Summary: "list, show, retry or drop outbound messages", Run: group("queue", cli.QueueCommands())},
		{Name: "blocks", Summary: "list or clear addresses and accounts blocked for failed logins", Run: group("blocks", cli.BlocksCommands())},
		{Name: "tls", Summary: "certificate status (ACME)", Run: group("tls", cli.TLSCommands())},
		{Name: "admin", Summary: "admin API tokens and the audit log", Run: group("admin", cli.AdminCommands())},
		{Name: "import", Summary: "import mail from a Maildir, an mbox or another IMAP server", Run: cli.Import},
		{Name: "export", Summary: "export an account to Maildir", Run: cli.Export},
		{Name: "backup", Summary: "take a consistent copy of the store while the server runs", Run: cli.Backup},
		{Name: "restore", Summary: "bring back a backup (server stopped)", Run: cli.Restore},
		{Name: "check", Summary: "verify the store; --repair fixes what it can", Run: cli.Check},
		{Name: "migrate-store", Summary: "copy the SQLite store into PostgreSQL, verified", Run: cli.MigrateStore},
		{Name: "version", Summary: "print the version", Run: app.PrintVersion},
	}
}

func group(name string, subs []cli.Command) func(*cli.Env, []string) error {
	return func(env *cli.Env, args []string) error { return cli.Dispatch(env, name, subs, args) }
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "usage: mailhouse <command> [arguments] [--config FILE]\n\ncommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.Name, c.Summary)
	}
	fmt.Fprintf(w, "\nThe config file is --config FILE, else $%s, else ./%s.\n", config.EnvConfig, config.DefaultPath)
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	env := &cli.Env{
		Stdin: stdin, Stdout: stdout, Stderr: stderr,
		OpenStore: func(c *config.Config) (store.Store, error) {
			return app.OpenStore(c, slog.New(slog.DiscardHandler))
		},
	}
	// A global --config before the subcommand is passed on to it.
	var pre []string
	for len(args) >= 2 && (args[0] == "--config" || args[0] == "-config") {
		pre = append(pre, args[0], args[1])
		args = args[2:]
	}
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stderr)
		if len(args) == 0 {
			return 1
		}
		return 0
	}
	for _, c := range commands() {
		if c.Name != args[0] {
			continue
		}
		err := c.Run(env, append(args[1:], pre...))
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.Is(err, cli.ErrUsage):
			return 1
		default:
			fmt.Fprintf(stderr, "mailhouse: %v\n", err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "mailhouse: unknown command %q (run mailhouse help)\n", args[0])
	return 1
}

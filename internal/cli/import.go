package cli

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"golang.org/x/term"

	"mailhouse/internal/delivery"
	"mailhouse/internal/directory"
	"mailhouse/internal/importer"
	"mailhouse/internal/message"
	"mailhouse/internal/store"
)

// Import and export: `mailhouse import maildir|mbox|imap` and `mailhouse
// export`. They work while the server runs (they add messages through
// the same store); an interrupted import is run again to resume.

// EnvImportPassword names the environment variable that may hold the
// source server's password for `import imap` (instead of
// --password-stdin or the prompt).
const EnvImportPassword = "MAILHOUSE_IMPORT_PASSWORD"

// ImportCommands are the subcommands of `mailhouse import`.
func ImportCommands() []Command {
	return []Command{
		{Name: "maildir", Summary: "import a Maildir (Dovecot, Courier, mbsync) into an account", Run: ImportMaildir},
		{Name: "mbox", Summary: "import an mbox file, or a folder of them (Thunderbird, mutt)", Run: ImportMbox},
		{Name: "imap", Summary: "copy every folder of an account on another IMAP server", Run: ImportIMAP},
	}
}

// Import is `mailhouse import <kind> ...`.
func Import(env *Env, args []string) error {
	return Dispatch(env, "import", ImportCommands(), args)
}

// withImporter opens the store and runs f with an importer that shows
// progress on standard error; Ctrl-C (or SIGTERM) stops it cleanly.
func withImporter(env *Env, cfgFlag, label string, f func(ctx context.Context, im *importer.Importer) (importer.Result, error)) (importer.Result, error) {
	var res importer.Result
	err := withStore(env, cfgFlag, func(st store.Store) error {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		logger := slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
		d := delivery.New(delivery.Options{
			Store: st, Resolver: &directory.Resolver{Dir: st}, Logger: logger,
			Analyze: func(b []byte) []byte { return message.Parse(b).Marshal() },
		})
		p := importer.NewProgress(env.Stderr, label)
		im := importer.New(importer.Options{Store: st, Deliverer: d, Progress: p, Logger: logger})
		start := time.Now()
		var err error
		res, err = f(ctx, im)
		p.Finish()
		if errors.Is(err, context.Canceled) {
			return fmt.Errorf("interrupted after %s (%v); run the same command again to resume", time.Since(start).Round(time.Second), res)
		}
		return err
	})
	return res, err
}

// ImportMaildir is `mailhouse import maildir ADDRESS PATH`.
func ImportMaildir(env *Env, args []string) error {
	fs, cfg := NewFlagSet(env, "import maildir", "ADDRESS PATH",
		"Imports the Maildir at PATH into the account: its folders (Maildir++ \".Sent\", \".Archive.2024\"\n"+
			"or nested folders), flags, keywords (dovecot-keywords) and dates. Running it again adds only\n"+
			"what is missing.")
	pos, err := ParseN(fs, args, 2)
	if err != nil {
		return err
	}
	res, err := withImporter(env, *cfg, "import", func(ctx context.Context, im *importer.Importer) (importer.Result, error) {
		return im.Maildir(ctx, pos[0], pos[1])
	})
	if err != nil {
		return fmt.Errorf("import maildir: %w", err)
	}
	fmt.Fprintf(env.Stdout, "imported into %s: %v\n", pos[0], res)
	return nil
}

// ImportMbox is `mailhouse import mbox ADDRESS PATH [--folder NAME]`.
func ImportMbox(env *Env, args []string) error {
	fs, cfg := NewFlagSet(env, "import mbox", "ADDRESS PATH [--folder NAME]",
		"Imports an mbox file into one mailbox (INBOX unless --folder), or every mbox file under the\n"+
			"folder PATH into mailboxes named after the files (a Thunderbird profile's Mail folder).\n"+
			"Flags come from Status, X-Status, X-Keywords and X-Mozilla-Status headers.")
	folder := fs.String("folder", "", "the mailbox to import a single mbox file into (default INBOX)")
	pos, err := ParseN(fs, args, 2)
	if err != nil {
		return err
	}
	res, err := withImporter(env, *cfg, "import", func(ctx context.Context, im *importer.Importer) (importer.Result, error) {
		return im.Mbox(ctx, pos[0], pos[1], *folder)
	})
	if err != nil {
		return fmt.Errorf("import mbox: %w", err)
	}
	fmt.Fprintf(env.Stdout, "imported into %s: %v\n", pos[0], res)
	return nil
}

// stringList is a repeatable flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

var _ flag.Value = (*stringList)(nil)

// ImportIMAP is `mailhouse import imap ADDRESS --from imaps://user@host`.
func ImportIMAP(env *Env, args []string) error {
	fs, cfg := NewFlagSet(env, "import imap", "ADDRESS --from imaps://USER@HOST[:PORT] [--password-stdin] [--folder NAME]...",
		"Copies every folder of an account on another IMAP server into the account, with flags and\n"+
			"dates; the source is only read. imap:// uses STARTTLS; plaintext is never used. The password\n"+
			"comes from --password-stdin, $"+EnvImportPassword+", or a prompt. Interrupted, it resumes when\n"+
			"run again and never copies a message twice.")
	from := fs.String("from", "", "the source: imaps://user@host[:port] or imap://user@host[:port] (STARTTLS)")
	user := fs.String("user", "", "the login name at the source (default: the user of --from)")
	stdin := fs.Bool("password-stdin", false, "read the source password from the first line of standard input")
	ca := fs.String("ca", "", "PEM file of the certificate authority (or self-signed certificate) to trust for the source")
	timeout := fs.Duration("timeout", importer.DefaultIMAPTimeout, "give up when the source does not answer for this long")
	var folders stringList
	fs.Var(&folders, "folder", "copy only this source folder (repeatable)")
	pos, err := Parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || *from == "" {
		fs.Usage()
		return ErrUsage
	}
	src, err := importer.ParseIMAPURL(*from)
	if err != nil {
		return fmt.Errorf("import imap: %w", err)
	}
	if *user != "" {
		src.Username = *user
	}
	if src.Username == "" {
		return errors.New("import imap: no user name: give it in --from (imaps://user@host) or --user")
	}
	src.Folders, src.Timeout = folders, *timeout
	if *ca != "" {
		pem, err := os.ReadFile(*ca)
		if err != nil {
			return fmt.Errorf("import imap: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return fmt.Errorf("import imap: %s holds no PEM certificate", *ca)
		}
		src.TLS = &tls.Config{RootCAs: pool}
	}
	if src.Password == "" {
		if src.Password, err = sourcePassword(env, *stdin, src.Username); err != nil {
			return fmt.Errorf("import imap: %w", err)
		}
	}
	res, err := withImporter(env, *cfg, "import", func(ctx context.Context, im *importer.Importer) (importer.Result, error) {
		return im.IMAP(ctx, pos[0], src)
	})
	if err != nil {
		return fmt.Errorf("import imap: %w", err)
	}
	fmt.Fprintf(env.Stdout, "imported into %s: %v\n", pos[0], res)
	return nil
}

// sourcePassword reads the source server's password: standard input,
// the environment, or a prompt on the terminal (not echoed).
func sourcePassword(env *Env, stdin bool, user string) (string, error) {
	if stdin {
		line, err := bufio.NewReader(env.Stdin).ReadString('\n')
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			if err != nil {
				return "", fmt.Errorf("reading the password from standard input: %w", err)
			}
			return "", errors.New("the password on standard input is empty")
		}
		return line, nil
	}
	if v := os.Getenv(EnvImportPassword); v != "" {
		return v, nil
	}
	if f, ok := env.Stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprintf(env.Stderr, "password for %s at the source: ", user)
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(env.Stderr)
		if err != nil {
			return "", err
		}
		return string(b), nil
	}
	return "", fmt.Errorf("no password: use --password-stdin or set $%s", EnvImportPassword)
}

// Export is `mailhouse export ADDRESS PATH`.
func Export(env *Env, args []string) error {
	fs, cfg := NewFlagSet(env, "export", "ADDRESS PATH",
		"Writes every mailbox of the account into a new Maildir++ folder at PATH, as Dovecot lays one\n"+
			"out (flags, keywords, dates, UIDs and subscriptions kept), so the mail can go to any server.")
	pos, err := ParseN(fs, args, 2)
	if err != nil {
		return err
	}
	res, err := withImporter(env, *cfg, "export", func(ctx context.Context, im *importer.Importer) (importer.Result, error) {
		return im.Export(ctx, pos[0], pos[1])
	})
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	fmt.Fprintf(env.Stdout, "exported %s to %s: %d folders, %d messages\n", pos[0], pos[1], res.Folders, res.Imported)
	return nil
}

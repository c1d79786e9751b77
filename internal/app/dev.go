package app

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"mailhouse/internal/auth"
	"mailhouse/internal/cli"
	"mailhouse/internal/store"
)

// Dev settings: everything on loopback, standard ports + DevPortOffset.
const (
	DevDir        = "mailhouse-dev"
	DevDomain     = "localhost"
	DevUser       = "demo@localhost"
	DevPortOffset = 10000
)

// Dev is `mailhouse dev`: the zero-config quick start.
func Dev(env *cli.Env, args []string) error {
	fs, _ := cli.NewFlagSet(env, "dev", "[--dir DIR]",
		"Starts a local test server: domain localhost, account demo@localhost, self-signed certificate,\nevery service on 127.0.0.1 at its standard port + 10000. Prints the client settings.")
	dir := fs.String("dir", DevDir, "folder for the dev config and data (created or reused)")
	if pos, err := cli.Parse(fs, args); err != nil {
		return err
	} else if len(pos) != 0 {
		fs.Usage()
		return cli.ErrUsage
	}
	cfg, _, err := cli.Setup(env, cli.InitOptions{
		Dir: *dir, Domain: DevDomain, Hostname: "localhost", ListenHost: "127.0.0.1", PortOffset: DevPortOffset,
	})
	if err != nil {
		return fmt.Errorf("dev: %w", err)
	}
	logger := NewLogger(cfg, env.Stderr)
	a, err := New(Options{Config: cfg, Logger: logger})
	if err != nil {
		return fmt.Errorf("dev: %w", err)
	}
	pw, err := devAccount(a, filepath.Join(*dir, "demo-password"))
	if err != nil {
		_ = a.Store.Close()
		return fmt.Errorf("dev: %w", err)
	}
	if err := a.Start(); err != nil {
		_ = a.Store.Close()
		return fmt.Errorf("dev: %w", err)
	}
	fmt.Fprintf(env.Stdout, "mailhouse %s is running (dev mode, data in %s). Client settings:\n\n", Version, *dir)
	a.PrintSettings(env.Stdout, DevUser, pw)
	fmt.Fprintf(env.Stdout, "\nThe certificate is self-signed: clients will ask you to trust it. Stop with Ctrl-C.\n")
	return a.runUntilSignal(logger)
}

// devAccount makes demo@localhost with a generated password kept in
// pwFile (owner-only), or reads the password of an earlier run.
func devAccount(a *App, pwFile string) (string, error) {
	ctx := context.Background()
	if _, err := a.Store.GetAccount(ctx, DevUser); err == nil {
		b, err := os.ReadFile(pwFile)
		if err != nil {
			return "", fmt.Errorf("%s exists but its password file %s is unreadable: %w", DevUser, pwFile, err)
		}
		return strings.TrimSpace(string(b)), nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return "", err
	}
	pw := auth.GeneratePassword()
	hash, err := a.Auth.HashPassword(pw)
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(pwFile, []byte(pw+"\n"), 0o600); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", err
	}
	if _, err := a.Store.AddAccount(ctx, store.NewAccount{Address: DevUser, PasswordHash: hash}); err != nil {
		return "", err
	}
	return pw, nil
}

package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"

	"mailhouse/internal/auth"
	"mailhouse/internal/directory"
	"mailhouse/internal/store"
)

// MinPasswordLength is the shortest password an admin may set.
const MinPasswordLength = 8

// DomainCommands are `mailhouse domain ...`.
func DomainCommands() []Command {
	return []Command{
		{"add", "add a hosted domain", domainAdd},
		{"del", "delete a domain (it must have no accounts or aliases)", domainDel},
		{"list", "list hosted domains", domainList},
	}
}

// UserCommands are `mailhouse user ...`.
func UserCommands() []Command {
	return []Command{
		{"add", "add an account", userAdd},
		{"del", "delete an account and all its mail", userDel},
		{"list", "list accounts", userList},
		{"passwd", "set an account's password", userPasswd},
	}
}

// AliasCommands are `mailhouse alias ...`.
func AliasCommands() []Command {
	return []Command{
		{"add", "add an alias (ADDRESS or @domain for a catch-all) to one or more targets", aliasAdd},
		{"del", "delete an alias", aliasDel},
		{"list", "list aliases", aliasList},
	}
}

func domainAdd(env *Env, args []string) error {
	fs, cfg := NewFlagSet(env, "domain add", "DOMAIN", "Adds a domain to host mail for.")
	pos, err := Parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return ErrUsage
	}
	d, err := directory.NormalizeDomain(pos[0])
	if err != nil {
		return fmt.Errorf("domain add: %v", err)
	}
	return withStore(env, *cfg, func(st store.Store) error {
		if _, err := st.AddDomain(context.Background(), d); err != nil {
			return fmt.Errorf("domain add: %w", err)
		}
		fmt.Fprintf(env.Stdout, "added domain %s\n", directory.DisplayDomain(d))
		return nil
	})
}

func domainDel(env *Env, args []string) error {
	fs, cfg := NewFlagSet(env, "domain del", "DOMAIN", "Deletes a domain; its accounts and aliases must be deleted first.")
	pos, err := Parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return ErrUsage
	}
	d, err := directory.NormalizeDomain(pos[0])
	if err != nil {
		return fmt.Errorf("domain del: %v", err)
	}
	return withStore(env, *cfg, func(st store.Store) error {
		if err := st.DeleteDomain(context.Background(), d); err != nil {
			return fmt.Errorf("domain del: %w", err)
		}
		fmt.Fprintf(env.Stdout, "deleted domain %s\n", directory.DisplayDomain(d))
		return nil
	})
}

func domainList(env *Env, args []string) error {
	fs, cfg := NewFlagSet(env, "domain list", "", "Lists hosted domains.")
	if pos, err := Parse(fs, args); err != nil {
		return err
	} else if len(pos) != 0 {
		fs.Usage()
		return ErrUsage
	}
	return withStore(env, *cfg, func(st store.Store) error {
		ds, err := st.ListDomains(context.Background())
		if err != nil {
			return err
		}
		for _, d := range ds {
			fmt.Fprintln(env.Stdout, directory.DisplayDomain(d.Name))
		}
		return nil
	})
}

// readPassword takes the first line of stdin.
func readPassword(env *Env) (string, error) {
	line, err := bufio.NewReader(env.Stdin).ReadString('\n')
	if err != nil && line == "" {
		return "", errors.New("no password on standard input")
	}
	pw := strings.TrimRight(line, "\r\n")
	if len(pw) < MinPasswordLength {
		return "", fmt.Errorf("password must have at least %d characters", MinPasswordLength)
	}
	return pw, nil
}

// newPassword reads the password from stdin or generates one; generated
// tells whether to print it.
func newPassword(env *Env, fromStdin bool) (pw string, generated bool, err error) {
	if fromStdin {
		pw, err = readPassword(env)
		return pw, false, err
	}
	return auth.GeneratePassword(), true, nil
}

func userAdd(env *Env, args []string) error {
	fs, cfg := NewFlagSet(env, "user add", "ADDRESS [--password-stdin] [--quota BYTES]",
		"Adds an account. Without --password-stdin a password is generated and printed once.")
	stdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input")
	quota := fs.Int64("quota", 0, "storage quota in bytes (0: the server default)")
	pos, err := Parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return ErrUsage
	}
	addr, err := directory.Normalize(pos[0])
	if err != nil {
		return fmt.Errorf("user add: %v", err)
	}
	if *quota < 0 {
		return errors.New("user add: --quota must not be negative")
	}
	pw, generated, err := newPassword(env, *stdin)
	if err != nil {
		return fmt.Errorf("user add: %v", err)
	}
	hash, err := auth.HashPassword(pw, auth.DefaultParams)
	if err != nil {
		return err
	}
	return withStore(env, *cfg, func(st store.Store) error {
		ctx := context.Background()
		if _, err := st.GetAlias(ctx, addr); err == nil {
			return fmt.Errorf("user add: %s is already an alias", addr)
		}
		if _, err := st.AddAccount(ctx, store.NewAccount{Address: addr, PasswordHash: hash, QuotaBytes: *quota}); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				_, d, _ := directory.Split(addr)
				return fmt.Errorf("user add: domain %s is not hosted here (add it with: mailhouse domain add %s)", d, d)
			}
			return fmt.Errorf("user add: %w", err)
		}
		fmt.Fprintf(env.Stdout, "added user %s\n", directory.DisplayAddress(addr))
		if generated {
			fmt.Fprintf(env.Stdout, "password: %s\n", pw)
		}
		return nil
	})
}

func userDel(env *Env, args []string) error {
	fs, cfg := NewFlagSet(env, "user del", "ADDRESS", "Deletes an account with all its mailboxes and messages.")
	pos, err := Parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return ErrUsage
	}
	addr, err := directory.Normalize(pos[0])
	if err != nil {
		return fmt.Errorf("user del: %v", err)
	}
	return withStore(env, *cfg, func(st store.Store) error {
		if err := st.DeleteAccount(context.Background(), addr); err != nil {
			return fmt.Errorf("user del: %w", err)
		}
		fmt.Fprintf(env.Stdout, "deleted user %s\n", directory.DisplayAddress(addr))
		return nil
	})
}

func userList(env *Env, args []string) error {
	fs, cfg := NewFlagSet(env, "user list", "[DOMAIN]", "Lists accounts, of one domain or of all.")
	pos, err := Parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 1 {
		fs.Usage()
		return ErrUsage
	}
	domain := ""
	if len(pos) == 1 {
		if domain, err = directory.NormalizeDomain(pos[0]); err != nil {
			return fmt.Errorf("user list: %v", err)
		}
	}
	return withStore(env, *cfg, func(st store.Store) error {
		ctx := context.Background()
		as, err := st.ListAccounts(ctx, domain)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ADDRESS\tQUOTA\tUSED\tMESSAGES")
		for _, a := range as {
			u, err := st.AccountUsage(ctx, a.ID)
			if err != nil {
				return err
			}
			q := "default"
			if a.QuotaBytes > 0 {
				q = fmt.Sprint(a.QuotaBytes)
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\n", directory.DisplayAddress(a.Address), q, u.Bytes, u.Messages)
		}
		return tw.Flush()
	})
}

func userPasswd(env *Env, args []string) error {
	fs, cfg := NewFlagSet(env, "user passwd", "ADDRESS [--password-stdin]",
		"Sets an account's password. Without --password-stdin a password is generated and printed once.")
	stdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input")
	pos, err := Parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return ErrUsage
	}
	addr, err := directory.Normalize(pos[0])
	if err != nil {
		return fmt.Errorf("user passwd: %v", err)
	}
	pw, generated, err := newPassword(env, *stdin)
	if err != nil {
		return fmt.Errorf("user passwd: %v", err)
	}
	hash, err := auth.HashPassword(pw, auth.DefaultParams)
	if err != nil {
		return err
	}
	return withStore(env, *cfg, func(st store.Store) error {
		if err := st.SetPassword(context.Background(), addr, hash); err != nil {
			return fmt.Errorf("user passwd: %w", err)
		}
		fmt.Fprintf(env.Stdout, "password changed for %s\n", directory.DisplayAddress(addr))
		if generated {
			fmt.Fprintf(env.Stdout, "password: %s\n", pw)
		}
		return nil
	})
}

// normalizeAliasAddress accepts an address or "@domain".
func normalizeAliasAddress(a string) (string, error) {
	if strings.HasPrefix(a, "@") {
		d, err := directory.NormalizeDomain(a[1:])
		if err != nil {
			return "", err
		}
		return "@" + d, nil
	}
	return directory.Normalize(a)
}

func aliasAdd(env *Env, args []string) error {
	fs, cfg := NewFlagSet(env, "alias add", "ADDRESS TARGET...",
		"Adds an alias delivering to each TARGET (local accounts, other aliases, or external addresses).\nADDRESS @domain is the domain's catch-all.")
	pos, err := Parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) < 2 {
		fs.Usage()
		return ErrUsage
	}
	addr, err := normalizeAliasAddress(pos[0])
	if err != nil {
		return fmt.Errorf("alias add: %v", err)
	}
	var targets []string
	for _, t := range pos[1:] {
		nt, err := directory.Normalize(t)
		if err != nil {
			return fmt.Errorf("alias add: target: %v", err)
		}
		targets = append(targets, nt)
	}
	return withStore(env, *cfg, func(st store.Store) error {
		ctx := context.Background()
		a := store.Alias{Address: addr, Targets: targets}
		domain := strings.TrimPrefix(addr[strings.LastIndexByte(addr, '@'):], "@")
		if _, err := st.GetDomain(ctx, domain); err != nil {
			return fmt.Errorf("alias add: domain %s is not hosted here", domain)
		}
		r := &directory.Resolver{Dir: st}
		if err := r.ValidateAlias(ctx, a); err != nil {
			return fmt.Errorf("alias add: %v", err)
		}
		if err := st.AddAlias(ctx, a); err != nil {
			return fmt.Errorf("alias add: %w", err)
		}
		fmt.Fprintf(env.Stdout, "added alias %s -> %s\n", directory.DisplayAddress(addr), strings.Join(targets, ", "))
		return nil
	})
}

func aliasDel(env *Env, args []string) error {
	fs, cfg := NewFlagSet(env, "alias del", "ADDRESS", "Deletes an alias.")
	pos, err := Parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return ErrUsage
	}
	addr, err := normalizeAliasAddress(pos[0])
	if err != nil {
		return fmt.Errorf("alias del: %v", err)
	}
	return withStore(env, *cfg, func(st store.Store) error {
		if err := st.DeleteAlias(context.Background(), addr); err != nil {
			return fmt.Errorf("alias del: %w", err)
		}
		fmt.Fprintf(env.Stdout, "deleted alias %s\n", directory.DisplayAddress(addr))
		return nil
	})
}

func aliasList(env *Env, args []string) error {
	fs, cfg := NewFlagSet(env, "alias list", "[DOMAIN]", "Lists aliases, of one domain or of all.")
	pos, err := Parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 1 {
		fs.Usage()
		return ErrUsage
	}
	domain := ""
	if len(pos) == 1 {
		if domain, err = directory.NormalizeDomain(pos[0]); err != nil {
			return fmt.Errorf("alias list: %v", err)
		}
	}
	return withStore(env, *cfg, func(st store.Store) error {
		as, err := st.ListAliases(context.Background(), domain)
		if err != nil {
			return err
		}
		for _, a := range as {
			fmt.Fprintf(env.Stdout, "%s -> %s\n", directory.DisplayAddress(a.Address), strings.Join(a.Targets, ", "))
		}
		return nil
	})
}

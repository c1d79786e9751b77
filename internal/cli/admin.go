package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"strconv"
	"strings"
	"text/tabwriter"

	"mailhouse/internal/auth"
	"mailhouse/internal/directory"
	"mailhouse/internal/store"
	"mailhouse/internal/web/admin/ops"
)

// Admin commands: account flags, API tokens and the audit log. They go
// through package ops, the code the admin console and API use, so every
// change is audited as "cli:<login name>".

// cliActor names the person running the CLI in the audit log.
func cliActor() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return "cli:" + u.Username
	}
	if n := os.Getenv("USER"); n != "" {
		return "cli:" + n
	}
	return "cli"
}

// withOps opens the store and runs f with audited operations.
func withOps(env *Env, cfgFlag string, f func(o *ops.Ops) error) error {
	return withStore(env, cfgFlag, func(st store.Store) error {
		o := ops.New(st, cliActor())
		o.Hash = func(pw string) (string, error) { return auth.HashPassword(pw, auth.DefaultParams) }
		return f(o)
	})
}

// opsErr prefixes an operation's message with the command.
func opsErr(cmd string, err error) error {
	if err == nil {
		return nil
	}
	var e *ops.Error
	if errors.As(err, &e) {
		return fmt.Errorf("%s: %s", cmd, e.Message)
	}
	return fmt.Errorf("%s: %w", cmd, err)
}

// UserAddAdmin is `mailhouse user add ADDRESS [--admin] [--password-stdin]
// [--quota BYTES]`: the user add command with --admin, audited. It is
// meant to replace the user add of directory.go.
func UserAddAdmin(env *Env, args []string) error {
	fs, cfg := NewFlagSet(env, "user add", "ADDRESS [--admin] [--password-stdin] [--quota SIZE]",
		"Adds an account. Without --password-stdin a password is generated and printed once.\n--admin lets it use the admin console.")
	stdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input")
	quota := fs.String("quota", "", "storage quota, e.g. 2G (empty: the server default)")
	admin := fs.Bool("admin", false, "make the account an administrator (admin console)")
	pos, err := ParseN(fs, args, 1)
	if err != nil {
		return err
	}
	q, err := ops.ParseSize(*quota)
	if err != nil {
		return opsErr("user add", err)
	}
	pw := ""
	if *stdin {
		if pw, err = readPassword(env); err != nil {
			return fmt.Errorf("user add: %v", err)
		}
	}
	return withOps(env, *cfg, func(o *ops.Ops) error {
		a, generated, err := o.AddAccount(context.Background(), ops.NewAccount{Address: pos[0], Password: pw, QuotaBytes: q, Admin: *admin})
		if err != nil {
			return opsErr("user add", err)
		}
		kind := "user"
		if a.Admin {
			kind = "administrator"
		}
		fmt.Fprintf(env.Stdout, "added %s %s\n", kind, a.Display)
		if generated != "" {
			fmt.Fprintf(env.Stdout, "password: %s\n", generated)
		}
		return nil
	})
}

// UserAdmin is `mailhouse user admin ADDRESS [--revoke]`.
func UserAdmin(env *Env, args []string) error {
	fs, cfg := NewFlagSet(env, "user admin", "ADDRESS [--revoke]", "Makes an account an administrator (admin console), or with --revoke no longer one.")
	revoke := fs.Bool("revoke", false, "remove admin rights")
	pos, err := ParseN(fs, args, 1)
	if err != nil {
		return err
	}
	return withOps(env, *cfg, func(o *ops.Ops) error {
		if err := o.SetAdmin(context.Background(), pos[0], !*revoke); err != nil {
			return opsErr("user admin", err)
		}
		addr, _ := directory.Normalize(pos[0])
		if *revoke {
			fmt.Fprintf(env.Stdout, "%s is no longer an administrator\n", directory.DisplayAddress(addr))
		} else {
			fmt.Fprintf(env.Stdout, "%s is now an administrator\n", directory.DisplayAddress(addr))
		}
		return nil
	})
}

// UserDisable is `mailhouse user disable ADDRESS [--enable]`.
func UserDisable(env *Env, args []string) error {
	fs, cfg := NewFlagSet(env, "user disable", "ADDRESS [--enable]", "Disables an account (it cannot log in; its mail is kept), or with --enable enables it again.")
	enable := fs.Bool("enable", false, "enable the account again")
	pos, err := ParseN(fs, args, 1)
	if err != nil {
		return err
	}
	return withOps(env, *cfg, func(o *ops.Ops) error {
		if err := o.SetDisabled(context.Background(), pos[0], !*enable); err != nil {
			return opsErr("user disable", err)
		}
		addr, _ := directory.Normalize(pos[0])
		state := "disabled"
		if *enable {
			state = "enabled"
		}
		fmt.Fprintf(env.Stdout, "%s %s\n", state, directory.DisplayAddress(addr))
		return nil
	})
}

// AdminCommands are `mailhouse admin ...`.
func AdminCommands() []Command {
	return []Command{
		{"token", "add, list or revoke admin API tokens", func(env *Env, args []string) error {
			return Dispatch(env, "admin token", []Command{
				{"add", "create an API token (printed once)", tokenAdd},
				{"list", "list API tokens", tokenList},
				{"del", "revoke an API token", tokenDel},
			}, args)
		}},
		{"audit", "show the audit log of admin changes", auditLog},
	}
}

func tokenAdd(env *Env, args []string) error {
	fs, cfg := NewFlagSet(env, "admin token add", "NAME", "Creates a token for the admin JSON API and prints it once.")
	pos, err := ParseN(fs, args, 1)
	if err != nil {
		return err
	}
	return withOps(env, *cfg, func(o *ops.Ops) error {
		t, text, err := o.AddToken(context.Background(), pos[0])
		if err != nil {
			return opsErr("admin token add", err)
		}
		fmt.Fprintf(env.Stdout, "token %d (%s): %s\n", t.ID, t.Name, text)
		return nil
	})
}

func tokenList(env *Env, args []string) error {
	fs, cfg := NewFlagSet(env, "admin token list", "", "Lists admin API tokens (never their secrets).")
	if pos, err := Parse(fs, args); err != nil {
		return err
	} else if len(pos) != 0 {
		fs.Usage()
		return ErrUsage
	}
	return withOps(env, *cfg, func(o *ops.Ops) error {
		ts, err := o.ListTokens(context.Background())
		if err != nil {
			return opsErr("admin token list", err)
		}
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tCREATED\tBY")
		for _, t := range ts {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", t.ID, t.Name, t.Created.UTC().Format("2006-01-02 15:04"), t.CreatedBy)
		}
		return tw.Flush()
	})
}

func tokenDel(env *Env, args []string) error {
	fs, cfg := NewFlagSet(env, "admin token del", "ID", "Revokes an admin API token.")
	pos, err := ParseN(fs, args, 1)
	if err != nil {
		return err
	}
	id, err := strconv.ParseInt(pos[0], 10, 64)
	if err != nil {
		return fmt.Errorf("admin token del: %q is not a token id", pos[0])
	}
	return withOps(env, *cfg, func(o *ops.Ops) error {
		if err := o.DeleteToken(context.Background(), id); err != nil {
			return opsErr("admin token del", err)
		}
		fmt.Fprintf(env.Stdout, "revoked token %d\n", id)
		return nil
	})
}

func auditLog(env *Env, args []string) error {
	fs, cfg := NewFlagSet(env, "admin audit", "[--limit N]", "Shows the newest admin changes: who changed what, when.")
	limit := fs.Int("limit", 50, "how many entries")
	if pos, err := Parse(fs, args); err != nil {
		return err
	} else if len(pos) != 0 || *limit < 1 || *limit > 1000 {
		fs.Usage()
		return ErrUsage
	}
	return withOps(env, *cfg, func(o *ops.Ops) error {
		es, err := o.Audit(context.Background(), 0, *limit)
		if err != nil {
			return opsErr("admin audit", err)
		}
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "TIME (UTC)\tWHO\tWHAT\tTARGET\tDETAIL")
		for _, e := range es {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", e.Time.UTC().Format("2006-01-02 15:04:05"), e.Actor, e.Action, e.Target, e.Detail)
		}
		return tw.Flush()
	})
}

// Audited command sets: the domain, user and alias commands with every
// change going through package ops (audited, the console's checks). The
// list commands are directory.go's. They are meant to replace
// DomainCommands, UserCommands and AliasCommands in the command table.

// DomainCommands are `mailhouse domain ...`.
func DomainCommands() []Command {
	return []Command{
		{"add", "add a hosted domain", auditedDomainAdd},
		{"del", "delete a domain (it must have no accounts or aliases)", auditedDomainDel},
		{"list", "list hosted domains", domainList},
		{"dns", "print the DNS records to publish for a domain", DomainDNS},
	}
}

// UserCommands are `mailhouse user ...`.
func UserCommands() []Command {
	return []Command{
		{"add", "add an account (--admin: an administrator)", UserAddAdmin},
		{"del", "delete an account and all its mail", auditedUserDel},
		{"list", "list accounts", userList},
		{"passwd", "set an account's password", auditedUserPasswd},
		{"admin", "make an account an administrator, or not (--revoke)", UserAdmin},
		{"disable", "disable an account, or enable it (--enable)", UserDisable},
	}
}

// AliasCommands are `mailhouse alias ...`.
func AliasCommands() []Command {
	return []Command{
		{"add", "add an alias (ADDRESS or @domain for a catch-all) to one or more targets", auditedAliasAdd},
		{"del", "delete an alias", auditedAliasDel},
		{"list", "list aliases", aliasList},
	}
}

// oneArg parses a command that takes exactly one positional argument.
func oneArg(env *Env, name, usage, summary string, args []string) (string, *string, error) {
	fs, cfg := NewFlagSet(env, name, usage, summary)
	pos, err := ParseN(fs, args, 1)
	if err != nil {
		return "", nil, err
	}
	return pos[0], cfg, nil
}

func auditedDomainAdd(env *Env, args []string) error {
	d, cfg, err := oneArg(env, "domain add", "DOMAIN", "Adds a domain to host mail for.", args)
	if err != nil {
		return err
	}
	return withOps(env, *cfg, func(o *ops.Ops) error {
		info, err := o.AddDomain(context.Background(), d)
		if err != nil {
			return opsErr("domain add", err)
		}
		fmt.Fprintf(env.Stdout, "added domain %s\n", info.Display)
		return nil
	})
}

func auditedDomainDel(env *Env, args []string) error {
	d, cfg, err := oneArg(env, "domain del", "DOMAIN", "Deletes a domain; its accounts and aliases must be deleted first.", args)
	if err != nil {
		return err
	}
	return withOps(env, *cfg, func(o *ops.Ops) error {
		if err := o.DeleteDomain(context.Background(), d); err != nil {
			return opsErr("domain del", err)
		}
		nd, _ := directory.NormalizeDomain(d)
		fmt.Fprintf(env.Stdout, "deleted domain %s\n", directory.DisplayDomain(nd))
		return nil
	})
}

func auditedUserDel(env *Env, args []string) error {
	a, cfg, err := oneArg(env, "user del", "ADDRESS", "Deletes an account with all its mailboxes and messages.", args)
	if err != nil {
		return err
	}
	return withOps(env, *cfg, func(o *ops.Ops) error {
		if err := o.DeleteAccount(context.Background(), a); err != nil {
			return opsErr("user del", err)
		}
		na, _ := directory.Normalize(a)
		fmt.Fprintf(env.Stdout, "deleted user %s\n", directory.DisplayAddress(na))
		return nil
	})
}

func auditedUserPasswd(env *Env, args []string) error {
	fs, cfg := NewFlagSet(env, "user passwd", "ADDRESS [--password-stdin]",
		"Sets an account's password. Without --password-stdin a password is generated and printed once.")
	stdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input")
	pos, err := ParseN(fs, args, 1)
	if err != nil {
		return err
	}
	pw := ""
	if *stdin {
		if pw, err = readPassword(env); err != nil {
			return fmt.Errorf("user passwd: %v", err)
		}
	}
	return withOps(env, *cfg, func(o *ops.Ops) error {
		generated, err := o.SetPassword(context.Background(), pos[0], pw)
		if err != nil {
			return opsErr("user passwd", err)
		}
		na, _ := directory.Normalize(pos[0])
		fmt.Fprintf(env.Stdout, "password changed for %s\n", directory.DisplayAddress(na))
		if generated != "" {
			fmt.Fprintf(env.Stdout, "password: %s\n", generated)
		}
		return nil
	})
}

func auditedAliasAdd(env *Env, args []string) error {
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
	return withOps(env, *cfg, func(o *ops.Ops) error {
		a, err := o.AddAlias(context.Background(), pos[0], pos[1:])
		if err != nil {
			return opsErr("alias add", err)
		}
		fmt.Fprintf(env.Stdout, "added alias %s -> %s\n", directory.DisplayAddress(a.Address), strings.Join(a.Targets, ", "))
		return nil
	})
}

func auditedAliasDel(env *Env, args []string) error {
	a, cfg, err := oneArg(env, "alias del", "ADDRESS", "Deletes an alias.", args)
	if err != nil {
		return err
	}
	return withOps(env, *cfg, func(o *ops.Ops) error {
		al, err := o.GetAlias(context.Background(), a)
		if err != nil {
			return opsErr("alias del", err)
		}
		if err := o.DeleteAlias(context.Background(), al.Address); err != nil {
			return opsErr("alias del", err)
		}
		fmt.Fprintf(env.Stdout, "deleted alias %s\n", directory.DisplayAddress(al.Address))
		return nil
	})
}

package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"

	"mailhouse/internal/directory"
	"mailhouse/internal/store"
)

// MinPasswordLength is the shortest password an admin may set.
const MinPasswordLength = 8

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

func userList(env *Env, args []string) error {
	fs, cfg := NewFlagSet(env, "user list", "[DOMAIN]", "Lists accounts, of one domain or of all.")
	domain, err := ParseDomain(fs, args)
	if err != nil {
		return err
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

func aliasList(env *Env, args []string) error {
	fs, cfg := NewFlagSet(env, "alias list", "[DOMAIN]", "Lists aliases, of one domain or of all.")
	domain, err := ParseDomain(fs, args)
	if err != nil {
		return err
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

package cli

import (
	"context"
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"mailhouse/internal/store"
)

// BlocksCommands are `mailhouse blocks ...`: the login blocks started
// after too many failed logins (internal/auth). They work on the store
// while the server runs; a cleared block stops refusing within seconds.
func BlocksCommands() []Command {
	return []Command{
		{"list", "list the blocked client addresses, networks and accounts", blocksList},
		{"clear", "lift one block (KEY as listed, e.g. ip:192.0.2.1) or, with --all, every block", blocksClear},
	}
}

func withLimits(env *Env, cfgFlag string, f func(store.Limits) error) error {
	cfg, err := LoadConfig(cfgFlag)
	if err != nil {
		return err
	}
	st, err := env.OpenStore(cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	l, ok := st.(store.Limits)
	if !ok {
		return errors.New("this store keeps no login blocks")
	}
	return f(l)
}

func blocksList(env *Env, args []string) error {
	fs, cfgFlag := NewFlagSet(env, "blocks list", "", "Lists the login blocks in force: key, until, reason.")
	if pos, err := Parse(fs, args); err != nil {
		return err
	} else if len(pos) != 0 {
		fs.Usage()
		return ErrUsage
	}
	return withLimits(env, *cfgFlag, func(l store.Limits) error {
		bs, err := l.ListBlocks(context.Background(), time.Now())
		if err != nil {
			return err
		}
		if len(bs) == 0 {
			fmt.Fprintln(env.Stdout, "no blocks")
			return nil
		}
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "KEY\tUNTIL\tREASON")
		for _, b := range bs {
			fmt.Fprintf(tw, "%s\t%s (in %s)\t%s\n", b.Key, b.Until.UTC().Format(time.RFC3339),
				time.Until(b.Until).Round(time.Second), b.Reason)
		}
		return tw.Flush()
	})
}

func blocksClear(env *Env, args []string) error {
	fs, cfgFlag := NewFlagSet(env, "blocks clear", "KEY | --all", "Lifts a login block (KEY as blocks list shows it), or every block with --all.")
	all := fs.Bool("all", false, "clear every block")
	pos, err := Parse(fs, args)
	if err != nil {
		return err
	}
	if (*all) == (len(pos) == 1) || len(pos) > 1 {
		fs.Usage()
		return ErrUsage
	}
	key := ""
	if !*all {
		key = pos[0]
	}
	return withLimits(env, *cfgFlag, func(l store.Limits) error {
		n, err := l.ClearBlocks(context.Background(), key)
		if err != nil {
			return err
		}
		if key != "" && n == 0 {
			return fmt.Errorf("no block %q", key)
		}
		fmt.Fprintf(env.Stdout, "cleared %d block(s)\n", n)
		return nil
	})
}

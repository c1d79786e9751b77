// Package cli implements mailhouse's admin subcommands: init, and the
// domain, user and alias commands that change the directory. They work
// while a server runs: both open the same store, and the server reads the
// directory on every lookup, so a change takes effect at once.
//
// The subcommand table itself is in cmd/mailhouse; serving is in
// internal/app.
package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"mailhouse/internal/config"
	"mailhouse/internal/directory"
	"mailhouse/internal/store"
)

// Env is what a subcommand gets from main.
type Env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// OpenStore opens the store the config names (internal/app picks the
	// implementation).
	OpenStore func(*config.Config) (store.Store, error)
}

// ErrUsage is returned after a subcommand printed its usage for bad
// arguments.
var ErrUsage = errors.New("usage")

// Command is one subcommand.
type Command struct {
	Name    string
	Summary string
	Run     func(env *Env, args []string) error
}

// NewFlagSet makes a FlagSet with the --config flag every subcommand has.
// usage is the argument synopsis shown by --help.
func NewFlagSet(env *Env, name, usage, summary string) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	cfg := fs.String("config", "", "config file (default $MAILHOUSE_CONFIG or ./mailhouse.toml)")
	fs.Usage = func() {
		fmt.Fprintf(env.Stderr, "usage: mailhouse %s %s\n\n%s\n\nflags:\n", name, usage, summary)
		fs.PrintDefaults()
	}
	return fs, cfg
}

// Parse parses flags given anywhere among args (flags after positional
// arguments too, as admins type them) and returns the positional ones.
func Parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, flag.ErrHelp
			}
			return nil, ErrUsage
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// ParseN is Parse for a command that takes exactly n positional
// arguments: any other number prints the usage and gives ErrUsage.
func ParseN(fs *flag.FlagSet, args []string, n int) ([]string, error) {
	pos, err := Parse(fs, args)
	if err != nil {
		return nil, err
	}
	if len(pos) != n {
		fs.Usage()
		return nil, ErrUsage
	}
	return pos, nil
}

// ParseOptional is Parse for a command that takes at most one positional
// argument; it returns that argument, or "" without one.
func ParseOptional(fs *flag.FlagSet, args []string) (string, error) {
	pos, err := Parse(fs, args)
	if err != nil {
		return "", err
	}
	switch len(pos) {
	case 0:
		return "", nil
	case 1:
		return pos[0], nil
	}
	fs.Usage()
	return "", ErrUsage
}

// ParseDomain is ParseOptional for a command whose one optional argument
// is a domain; it returns the domain normalised, or "" without one.
func ParseDomain(fs *flag.FlagSet, args []string) (string, error) {
	arg, err := ParseOptional(fs, args)
	if err != nil || arg == "" {
		return "", err
	}
	d, err := directory.NormalizeDomain(arg)
	if err != nil {
		return "", fmt.Errorf("%s: %v", fs.Name(), err)
	}
	return d, nil
}

// LoadConfig loads the config named by the flag or the environment.
func LoadConfig(flagValue string) (*config.Config, error) {
	return config.Load(config.ConfigPath(flagValue))
}

// withStore loads the config, opens the store, runs f and closes it.
func withStore(env *Env, cfgFlag string, f func(store.Store) error) error {
	cfg, err := LoadConfig(cfgFlag)
	if err != nil {
		return err
	}
	st, err := env.OpenStore(cfg)
	if err != nil {
		return err
	}
	ferr := f(st)
	if cerr := st.Close(); ferr == nil {
		ferr = cerr
	}
	return ferr
}

// Dispatch runs the subcommand of a group (such as "domain add").
func Dispatch(env *Env, group string, subs []Command, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintf(env.Stderr, "usage: mailhouse %s <command> [arguments]\n\ncommands:\n", group)
		for _, c := range subs {
			fmt.Fprintf(env.Stderr, "  %-8s %s\n", c.Name, c.Summary)
		}
		if len(args) == 0 {
			return ErrUsage
		}
		return flag.ErrHelp
	}
	for _, c := range subs {
		if c.Name == args[0] {
			return c.Run(env, args[1:])
		}
	}
	var names []string
	for _, c := range subs {
		names = append(names, c.Name)
	}
	return fmt.Errorf("unknown command %q for %s (one of: %s)", args[0], group, strings.Join(names, ", "))
}

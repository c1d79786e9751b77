// Command benchaccounts prepares the benchmark accounts with one argon2id
// hash shared by mailhouse and Dovecot, so both servers pay exactly the
// same key-derivation cost per login.
//
//	benchaccounts hash -pass P [-m KiB] [-t N]           # prints the PHC hash
//	benchaccounts add -db data/mailhouse.db -hash H -users 'bench%d@bench.test' -n 21
//
// "add" writes to a mailhouse SQLite store that no server has open (run
// it between `mailhouse init` and `mailhouse serve`). The hash uses one
// lane (p=1), the only parallelism libsodium (Dovecot's ARGON2ID)
// verifies.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"

	"mailhouse/internal/auth"
	"mailhouse/internal/store"
	"mailhouse/internal/store/sqlstore"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "benchaccounts:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		return errors.New("usage: benchaccounts hash|add [flags]")
	}
	fs := flag.NewFlagSet("benchaccounts "+args[0], flag.ContinueOnError)
	pass := fs.String("pass", "", "hash: the password")
	mem := fs.Uint("m", 19456, "hash: argon2id memory in KiB (default: OWASP's minimum profile, 19 MiB)")
	passes := fs.Uint("t", 2, "hash: argon2id passes")
	db := fs.String("db", "", "add: the mailhouse database file")
	hash := fs.String("hash", "", "add: the password hash for every account")
	users := fs.String("users", "bench%d@bench.test", "add: account pattern (%d is 1..n)")
	n := fs.Int("n", 21, "add: number of accounts")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	switch args[0] {
	case "hash":
		if *pass == "" {
			return errors.New("hash: -pass is required")
		}
		h, err := auth.HashPassword(*pass, auth.Params{Time: uint32(*passes), Memory: uint32(*mem), Threads: 1, KeyLen: 32})
		if err != nil {
			return err
		}
		fmt.Println(h)
		return nil
	case "add":
		if *db == "" || *hash == "" {
			return errors.New("add: -db and -hash are required")
		}
		ctx := context.Background()
		st, err := sqlstore.Open(ctx, sqlstore.Options{Path: *db})
		if err != nil {
			return err
		}
		defer st.Close()
		for i := 1; i <= *n; i++ {
			addr := strings.ReplaceAll(*users, "%d", strconv.Itoa(i))
			if _, err := st.AddAccount(ctx, store.NewAccount{Address: addr, PasswordHash: *hash}); err != nil {
				return fmt.Errorf("%s: %w", addr, err)
			}
		}
		return nil
	}
	return fmt.Errorf("unknown command %q", args[0])
}

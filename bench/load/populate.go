package load

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// PopulateOptions configure filling mailboxes before the IMAP and POP3
// scenarios.
type PopulateOptions struct {
	Target   Target
	Users    []string
	Pass     string
	Messages int // each user's INBOX is filled up to this many messages
	Size     int // default 4096
	Parallel int // users filled at once; default 4
}

// Populate APPENDs messages to each user's INBOX until it holds
// Messages; about two thirds are marked \Seen, as in a real mailbox. It
// returns the number appended.
func Populate(ctx context.Context, o PopulateOptions) (int, error) {
	if err := o.Target.Validate(); err != nil {
		return 0, err
	}
	if o.Size <= 0 {
		o.Size = 4096
	}
	if o.Parallel <= 0 {
		o.Parallel = 4
	}
	var mu sync.Mutex
	added := 0
	var errs []error
	var wg sync.WaitGroup
	sem := make(chan struct{}, o.Parallel)
	for ui, user := range o.Users {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			n, err := populateUser(ctx, o, ui, user)
			mu.Lock()
			added += n
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", user, err))
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	return added, errors.Join(errs...)
}

func populateUser(ctx context.Context, o PopulateOptions, ui int, user string) (int, error) {
	c, err := dialIMAP(o.Target)
	if err != nil {
		return 0, err
	}
	defer c.logout()
	if err := c.login(user, o.Pass); err != nil {
		return 0, fmt.Errorf("login: %w", err)
	}
	have, err := c.status("INBOX")
	if err != nil {
		return 0, err
	}
	n := 0
	for i := have; i < o.Messages; i++ {
		if ctx.Err() != nil {
			return n, ctx.Err()
		}
		flags := ""
		if i%3 != 0 {
			flags = `\Seen`
		}
		if _, err := c.appendMsg("INBOX", flags, Message("sender@loadgen.test", user, o.Size, 200000+ui, i)); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

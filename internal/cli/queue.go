package cli

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"mailhouse/internal/config"
	"mailhouse/internal/mailauth"
	"mailhouse/internal/queue"
	"mailhouse/internal/store"
	"mailhouse/internal/web/autoconfig"
)

// QueueCommands are `mailhouse queue ...`. They work on the store while
// the server runs: a retried entry is picked up at the worker's next look
// (within queue.Config.Poll), a dropped one is gone for it.
func QueueCommands() []Command {
	return []Command{
		{"list", "list queued messages with their state and last error", queueList},
		{"show", "show one queued message: recipients, attempts, errors, header", queueShow},
		{"retry", "try a queued message (or all, without ID) again now", queueRetry},
		{"drop", "remove a message from the queue (its sender gets a bounce unless --silent)", queueDrop},
	}
}

// queueStore opens the store and checks that it has a queue.
func withQueue(env *Env, cfgFlag string, f func(*config.Config, store.Store, store.Queue) error) error {
	cfg, err := LoadConfig(cfgFlag)
	if err != nil {
		return err
	}
	st, err := env.OpenStore(cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	q, ok := st.(store.Queue)
	if !ok {
		return errors.New("this store has no outbound queue")
	}
	return f(cfg, st, q)
}

func queueList(env *Env, args []string) error {
	fs, cfgFlag := NewFlagSet(env, "queue list", "", "Lists queued messages: ID, age, sender, pending recipients, attempts, next try and last error.")
	if pos, err := Parse(fs, args); err != nil {
		return err
	} else if len(pos) != 0 {
		fs.Usage()
		return ErrUsage
	}
	return withQueue(env, *cfgFlag, func(_ *config.Config, _ store.Store, q store.Queue) error {
		es, err := q.QueueList(context.Background())
		if err != nil {
			return err
		}
		if len(es) == 0 {
			fmt.Fprintln(env.Stdout, "queue is empty")
			return nil
		}
		now := time.Now()
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tAGE\tFROM\tTO\tSIZE\tATTEMPTS\tNEXT\tLAST ERROR")
		for _, e := range es {
			next := "now"
			if d := e.NextAttempt.Sub(now); d > 0 {
				next = "in " + d.Round(time.Second).String()
			}
			if e.LeaseOwner != "" && e.LeaseUntil.After(now) {
				next = "sending"
			}
			from := e.From
			if from == "" {
				from = "<> (report)"
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%d\t%s\t%s\n", e.ID, now.Sub(e.Created).Round(time.Second), from,
				strings.Join(e.Pending(), ","), e.Size, e.Attempts, next, oneLine(e.LastError, 120))
		}
		return tw.Flush()
	})
}

func parseQueueID(s string) (store.QueueID, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%q is not a queue ID (see mailhouse queue list)", s)
	}
	return store.QueueID(n), nil
}

func queueShow(env *Env, args []string) error {
	fs, cfgFlag := NewFlagSet(env, "queue show", "ID", "Shows a queued message: its recipients with their state and last error, and its header.")
	pos, err := ParseN(fs, args, 1)
	if err != nil {
		return err
	}
	id, err := parseQueueID(pos[0])
	if err != nil {
		return err
	}
	return withQueue(env, *cfgFlag, func(_ *config.Config, _ store.Store, q store.Queue) error {
		ctx := context.Background()
		e, err := q.QueueGet(ctx, id)
		if err != nil {
			return fmt.Errorf("queue show: %w", err)
		}
		data, err := q.QueueData(ctx, id)
		if err != nil {
			return fmt.Errorf("queue show: %w", err)
		}
		w := env.Stdout
		fmt.Fprintf(w, "id:         %d\nfrom:       <%s>\nsize:       %d\nqueued:     %s\nattempts:   %d\nnext try:   %s\nlast error: %s\n",
			e.ID, e.From, e.Size, e.Created.Local().Format(time.RFC1123Z), e.Attempts, e.NextAttempt.Local().Format(time.RFC1123Z), e.LastError)
		fmt.Fprintln(w, "recipients:")
		for _, r := range e.Recipients {
			fmt.Fprintf(w, "  %s\t%s\t%d attempts\t%s\n", r.Address, r.Status, r.Attempts, r.LastError)
		}
		fmt.Fprintln(w, "header:")
		head, _, _ := strings.Cut(string(data), "\r\n\r\n")
		for _, l := range strings.Split(head, "\r\n") {
			fmt.Fprintf(w, "  %s\n", l)
		}
		return nil
	})
}

func queueRetry(env *Env, args []string) error {
	fs, cfgFlag := NewFlagSet(env, "queue retry", "[ID]", "Makes a queued message (every message, without ID) due now.")
	arg, err := ParseOptional(fs, args)
	if err != nil {
		return err
	}
	var id store.QueueID
	if arg != "" {
		if id, err = parseQueueID(arg); err != nil {
			return err
		}
	}
	return withQueue(env, *cfgFlag, func(_ *config.Config, _ store.Store, q store.Queue) error {
		n, err := q.QueueRetry(context.Background(), id, time.Now())
		if err != nil {
			return fmt.Errorf("queue retry: %w", err)
		}
		fmt.Fprintf(env.Stdout, "%d message(s) due now\n", n)
		return nil
	})
}

func queueDrop(env *Env, args []string) error {
	fs, cfgFlag := NewFlagSet(env, "queue drop", "ID", "Removes a message from the queue; its sender gets a bounce for the recipients not yet delivered unless --silent.")
	silent := fs.Bool("silent", false, "do not bounce to the sender")
	pos, err := ParseN(fs, args, 1)
	if err != nil {
		return err
	}
	id, err := parseQueueID(pos[0])
	if err != nil {
		return err
	}
	return withQueue(env, *cfgFlag, func(cfg *config.Config, _ store.Store, q store.Queue) error {
		ctx := context.Background()
		e, err := q.QueueGet(ctx, id)
		if err != nil {
			return fmt.Errorf("queue drop: %w", err)
		}
		var reports []store.NewQueueEntry
		if !*silent {
			data, err := q.QueueData(ctx, id)
			if err != nil {
				return fmt.Errorf("queue drop: %w", err)
			}
			if r, ok := queue.DropReport(cfg.Hostname, e, data, 0, time.Now()); ok {
				reports = append(reports, r)
			}
		}
		if _, err := q.QueueDrop(ctx, id, reports); err != nil {
			return fmt.Errorf("queue drop: %w", err)
		}
		if len(reports) > 0 {
			fmt.Fprintf(env.Stdout, "dropped %d; bounce queued to <%s>\n", id, e.From)
		} else {
			fmt.Fprintf(env.Stdout, "dropped %d\n", id)
		}
		return nil
	})
}

func oneLine(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > max {
		s = s[:max] + "..."
	}
	return s
}

// OutboundDNSSource is the record source of DKIM, DMARC, MTA-STS and
// TLS-RPT records (mailauth.DNSRecords) for autoconfig.Zone; DNSSources
// should return it.
func OutboundDNSSource(cfg *config.Config, st store.Store) autoconfig.RecordSource {
	return func(ctx context.Context, domain string) ([]autoconfig.Record, error) {
		keys, ok := st.(store.DKIMKeys)
		if !ok {
			return nil, nil
		}
		recs, err := mailauth.DNSRecords(ctx, keys, domain, mailauth.RecordOptions{Hostname: cfg.Hostname, TTL: autoconfig.DefaultTTL})
		if err != nil {
			return nil, err
		}
		out := make([]autoconfig.Record, 0, len(recs))
		for _, r := range recs {
			data := r.Value
			if r.Type == "TXT" {
				data = autoconfig.TXT(r.Value)
			}
			out = append(out, autoconfig.Record{Name: r.Name, TTL: r.TTL, Type: r.Type, Data: data, Comment: r.Comment})
		}
		return out, nil
	}
}

// AddDomainKeys creates a new domain's DKIM keys (Ed25519 and RSA-2048);
// `domain add` and the admin console call it after AddDomain.
func AddDomainKeys(ctx context.Context, st store.Store, domain string) error {
	keys, ok := st.(store.DKIMKeys)
	if !ok {
		return nil
	}
	_, err := mailauth.GenerateKeys(ctx, keys, domain, time.Now())
	return err
}

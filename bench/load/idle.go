package load

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// IdleOptions configure the idle-connections scenario.
type IdleOptions struct {
	Target   Target
	Users    []string // connection i logs in as Users[i%len(Users)]
	Pass     string
	Conns    int // connections to hold
	Parallel int // connections being set up at once; default 16
	// Settle is the wait before memory is read, both before the first
	// connection and after the last one is IDLEing (lets the server's
	// allocator settle). Default 5s.
	Settle time.Duration
	// PID, when non-zero, is the server's (or its master process's) pid:
	// its process tree's memory is read before and while the connections
	// are held.
	PID int
}

// IdleResult is the outcome of the idle scenario.
type IdleResult struct {
	Established int
	Setup       time.Duration
	Before      Memory // before any connection
	Held        Memory // with all connections IDLEing
}

// Result renders the machine-readable line.
func (r IdleResult) Result() Result {
	res := Result{Scenario: "idle"}
	res.Add("conns", "%d", r.Established)
	res.Add("setup_seconds", "%.1f", r.Setup.Seconds())
	if r.Held.Procs > 0 {
		res.Add("procs", "%d", r.Held.Procs)
		res.Add("rss_mib", "%.1f", float64(r.Held.RSSKB)/1024)
		res.Add("pss_mib", "%.1f", float64(r.Held.PSSKB)/1024)
		res.Add("rss_before_mib", "%.1f", float64(r.Before.RSSKB)/1024)
		res.Add("pss_before_mib", "%.1f", float64(r.Before.PSSKB)/1024)
		res.Add("pss_growth_mib", "%.1f", float64(r.Held.PSSKB-r.Before.PSSKB)/1024)
		if r.Established > 0 {
			res.Add("pss_per_conn_kib", "%.1f", float64(r.Held.PSSKB-r.Before.PSSKB)/float64(r.Established))
		}
	}
	return res
}

// RunIdle opens Conns IMAP connections, logs each in, SELECTs INBOX and
// enters IDLE, reads the server's memory, then ends them all.
func RunIdle(ctx context.Context, o IdleOptions) (IdleResult, error) {
	if err := o.Target.Validate(); err != nil {
		return IdleResult{}, err
	}
	if o.Conns <= 0 || len(o.Users) == 0 {
		return IdleResult{}, errors.New("idle: need conns > 0 and users")
	}
	if o.Parallel <= 0 {
		o.Parallel = 16
	}
	if o.Settle == 0 {
		o.Settle = 5 * time.Second
	}
	var res IdleResult
	if o.PID != 0 {
		// The server has just run other scenarios: let it settle as it
		// will with the connections held, so that the growth is what
		// the connections cost rather than the earlier load's leftovers.
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case <-time.After(o.Settle):
		}
		m, err := TreeMemory(o.PID)
		if err != nil {
			return res, err
		}
		res.Before = m
	}
	clients := make([]*imapClient, o.Conns)
	tags := make([]string, o.Conns)
	defer func() {
		var wg sync.WaitGroup
		sem := make(chan struct{}, 64)
		for i, c := range clients {
			if c == nil {
				continue
			}
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				c.deadline()
				c.w.WriteString("DONE\r\n")
				if c.w.Flush() == nil {
					c.finish(tags[i])
				}
				c.logout()
			}()
		}
		wg.Wait()
	}()
	var wg sync.WaitGroup
	var failed atomic.Int64
	var firstErr error
	var once sync.Once
	sem := make(chan struct{}, o.Parallel)
	start := time.Now()
	for i := range o.Conns {
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c, tag, err := idleConn(o.Target, o.Users[i%len(o.Users)], o.Pass)
			if err != nil {
				failed.Add(1)
				once.Do(func() { firstErr = err })
				return
			}
			clients[i], tags[i] = c, tag
		}()
	}
	wg.Wait()
	res.Setup = time.Since(start)
	for _, c := range clients {
		if c != nil {
			res.Established++
		}
	}
	if firstErr != nil {
		return res, fmt.Errorf("idle: %d of %d connections failed, first: %w", failed.Load(), o.Conns, firstErr)
	}
	select {
	case <-ctx.Done():
		return res, ctx.Err()
	case <-time.After(o.Settle):
	}
	if o.PID != 0 {
		m, err := TreeMemory(o.PID)
		if err != nil {
			return res, err
		}
		res.Held = m
	}
	return res, nil
}

// idleConn returns a logged-in client IDLEing on INBOX and the IDLE tag.
func idleConn(t Target, user, pass string) (*imapClient, string, error) {
	c, err := dialIMAP(t)
	if err != nil {
		return nil, "", err
	}
	if err := c.login(user, pass); err != nil {
		c.Close()
		return nil, "", fmt.Errorf("login %s: %w", user, err)
	}
	if _, err := c.cmd("SELECT INBOX"); err != nil {
		c.Close()
		return nil, "", err
	}
	tag := c.nextTag()
	c.deadline()
	c.w.WriteString(tag + " IDLE\r\n")
	if err := c.w.Flush(); err != nil {
		c.Close()
		return nil, "", err
	}
	for {
		resp, err := c.readResponse()
		if err != nil {
			c.Close()
			return nil, "", err
		}
		if len(resp) > 0 && resp[0] == '+' {
			break
		}
		if len(resp) > len(tag) && string(resp[:len(tag)+1]) == tag+" " {
			c.Close()
			return nil, "", &ErrNo{string(resp)}
		}
	}
	// Held idle for minutes: no per-operation deadline while waiting.
	_ = c.Conn.SetDeadline(time.Time{})
	return c, tag, nil
}

package auth

import (
	"context"
	"errors"
	"time"

	"mailhouse/internal/directory"
	"mailhouse/internal/store"
)

// Live sessions. Every protocol registers a session with Track once it
// has logged in, and removes it when it ends. When an account is
// disabled its sessions are ended: at once through EndAccount or
// EndSessions (the admin console in this process), and within
// Options.SessionCheck by a poll of the store's account flags (a
// `mailhouse user disable` run as another process). Start begins the
// poll; Shutdown stops it.

// defaultSessionCheck is how often the tracked accounts' flags are read.
const defaultSessionCheck = 3 * time.Second

type trackedSession struct {
	address string
	end     func()
}

// Track registers a logged-in session of acct. end is called at most
// once, from another goroutine, when the session must end because the
// account was disabled: it must not block (interrupt the session, do
// not wait for it). The returned untrack removes the session; call it
// when the session ends (calling it twice is harmless).
func (a *Authenticator) Track(acct store.Account, end func()) (untrack func()) {
	a.smu.Lock()
	defer a.smu.Unlock()
	a.nextSession++
	id := a.nextSession
	m := a.sessions[acct.ID]
	if m == nil {
		m = map[uint64]trackedSession{}
		a.sessions[acct.ID] = m
	}
	m[id] = trackedSession{address: acct.Address, end: end}
	return func() {
		a.smu.Lock()
		defer a.smu.Unlock()
		if m := a.sessions[acct.ID]; m != nil {
			delete(m, id)
			if len(m) == 0 {
				delete(a.sessions, acct.ID)
			}
		}
	}
}

// Sessions returns how many sessions of an account are tracked.
func (a *Authenticator) Sessions(id store.AccountID) int {
	a.smu.Lock()
	defer a.smu.Unlock()
	return len(a.sessions[id])
}

// EndAccount ends every tracked session of an account and returns how
// many it ended.
func (a *Authenticator) EndAccount(id store.AccountID) int {
	a.smu.Lock()
	m := a.sessions[id]
	delete(a.sessions, id)
	a.smu.Unlock()
	for _, s := range m {
		s.end()
	}
	if len(m) > 0 {
		a.opts.Logger.Info("sessions ended", "account", id, "sessions", len(m))
	}
	return len(m)
}

// EndSessions ends every tracked session of the account with this
// address and returns how many it ended.
func (a *Authenticator) EndSessions(address string) int {
	addr, err := directory.Normalize(address)
	if err != nil {
		addr = address
	}
	a.smu.Lock()
	var ids []store.AccountID
	for id, m := range a.sessions {
		for _, s := range m {
			if s.address == addr {
				ids = append(ids, id)
			}
			break
		}
	}
	a.smu.Unlock()
	n := 0
	for _, id := range ids {
		n += a.EndAccount(id)
	}
	return n
}

// CheckSessions reads the flags of the accounts with tracked sessions
// once and ends the sessions of disabled and deleted ones. Start calls
// it every Options.SessionCheck.
func (a *Authenticator) CheckSessions(ctx context.Context) error {
	a.smu.Lock()
	ids := make([]store.AccountID, 0, len(a.sessions))
	for id := range a.sessions {
		ids = append(ids, id)
	}
	a.smu.Unlock()
	if len(ids) == 0 {
		return nil
	}
	var flags map[store.AccountID]store.AccountFlags
	if adm, ok := a.opts.Dir.(store.Admin); ok {
		var err error
		if flags, err = adm.ListAccountFlags(ctx); err != nil {
			return err
		}
	}
	for _, id := range ids {
		if flags[id].Disabled {
			a.opts.Logger.Info("account disabled: ending its sessions", "account", id)
			a.EndAccount(id)
			continue
		}
		_, err := a.opts.Dir.GetAccountByID(ctx, id)
		switch {
		case errors.Is(err, store.ErrNotFound):
			a.opts.Logger.Info("account deleted: ending its sessions", "account", id)
			a.EndAccount(id)
		case err != nil:
			return err
		}
	}
	return nil
}

// Start begins checking tracked sessions against the store's account
// flags every Options.SessionCheck. Call Shutdown to stop.
func (a *Authenticator) Start() {
	a.smu.Lock()
	defer a.smu.Unlock()
	if a.stop != nil {
		return
	}
	a.stop = make(chan struct{})
	a.stopped = make(chan struct{})
	go a.checkLoop(a.stop, a.stopped)
}

func (a *Authenticator) checkLoop(stop, stopped chan struct{}) {
	defer close(stopped)
	t := time.NewTicker(a.opts.SessionCheck)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), a.opts.SessionCheck)
			if err := a.CheckSessions(ctx); err != nil {
				a.opts.Logger.Warn("session check failed", "err", err)
			}
			cancel()
		}
	}
}

// Shutdown stops the check Start began and waits for it within ctx.
func (a *Authenticator) Shutdown(ctx context.Context) error {
	a.smu.Lock()
	stop, stopped := a.stop, a.stopped
	if stop != nil {
		close(stop)
		a.stop = nil
	}
	a.smu.Unlock()
	if stopped == nil {
		return nil
	}
	select {
	case <-stopped:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

package imapd

import (
	"errors"
	"strconv"
	"time"

	"mailhouse/internal/imapd/imapwire"
)

// syncMode says which pending mailbox changes may be reported when a
// command completes (RFC 9051 §7.5.1).
type syncMode uint8

const (
	// syncFull reports everything, EXPUNGE included.
	syncFull syncMode = iota
	// syncNoExpunge holds EXPUNGE back: FETCH, STORE and SEARCH by
	// sequence number must not see sequence numbers shift under them.
	syncNoExpunge
	// syncNone reports nothing (the command reports its own changes, or
	// is not in the selected state).
	syncNone
)

type command struct {
	fn     func(s *session, c *imapwire.Command) error
	states state
	sync   syncMode
	// uidSync is the mode of the UID form (UID FETCH may report EXPUNGE).
	uidSync syncMode
}

// commands is the command table: who may run what in which state.
var commands = map[string]command{
	"CAPABILITY":   {fn: (*session).cmdCapability, states: anyState},
	"NOOP":         {fn: (*session).cmdNoop, states: anyState},
	"LOGOUT":       {fn: (*session).cmdLogout, states: anyState, sync: syncNone},
	"ID":           {fn: (*session).cmdID, states: anyState},
	"STARTTLS":     {fn: (*session).cmdStartTLS, states: stateNotAuth},
	"LOGIN":        {fn: (*session).cmdLogin, states: stateNotAuth},
	"AUTHENTICATE": {fn: (*session).cmdAuthenticate, states: stateNotAuth},
	"ENABLE":       {fn: (*session).cmdEnable, states: authed},
	"NAMESPACE":    {fn: (*session).cmdNamespace, states: authed},
	"SELECT":       {fn: (*session).cmdSelect, states: authed, sync: syncNone},
	"EXAMINE":      {fn: (*session).cmdSelect, states: authed, sync: syncNone},
	"CREATE":       {fn: (*session).cmdCreate, states: authed},
	"DELETE":       {fn: (*session).cmdDelete, states: authed},
	"RENAME":       {fn: (*session).cmdRename, states: authed},
	"SUBSCRIBE":    {fn: (*session).cmdSubscribe, states: authed},
	"UNSUBSCRIBE":  {fn: (*session).cmdSubscribe, states: authed},
	"LIST":         {fn: (*session).cmdList, states: authed},
	"LSUB":         {fn: (*session).cmdList, states: authed},
	"STATUS":       {fn: (*session).cmdStatus, states: authed},
	"APPEND":       {fn: (*session).cmdAppend, states: authed},
	"IDLE":         {fn: (*session).cmdIdle, states: authed, sync: syncNone},
	"CHECK":        {fn: (*session).cmdNoop, states: stateSelected},
	"CLOSE":        {fn: (*session).cmdClose, states: stateSelected, sync: syncNone},
	"UNSELECT":     {fn: (*session).cmdClose, states: stateSelected, sync: syncNone},
	"EXPUNGE":      {fn: (*session).cmdExpunge, states: stateSelected},
	"SEARCH":       {fn: (*session).cmdSearch, states: stateSelected, sync: syncNoExpunge},
	"FETCH":        {fn: (*session).cmdFetch, states: stateSelected, sync: syncNoExpunge},
	"STORE":        {fn: (*session).cmdStore, states: stateSelected, sync: syncNoExpunge},
	"COPY":         {fn: (*session).cmdCopy, states: stateSelected},
	"MOVE":         {fn: (*session).cmdCopy, states: stateSelected},
	"SORT":         {fn: (*session).cmdSort, states: stateSelected, sync: syncNoExpunge},
	"THREAD":       {fn: (*session).cmdThread, states: stateSelected, sync: syncNoExpunge},
	"GETQUOTA":     {fn: (*session).cmdGetQuota, states: authed},
	"GETQUOTAROOT": {fn: (*session).cmdGetQuotaRoot, states: authed},
	"SETQUOTA":     {fn: (*session).cmdSetQuota, states: authed},
	"COMPRESS":     {fn: (*session).cmdCompress, states: authed},
}

// execute parses and runs one command and writes its tagged response.
func (s *session) execute(raw *imapwire.Raw) {
	started := time.Now()
	c, err := imapwire.Parse(raw, imapwire.Options{MaxDepth: s.srv.o.Config.MaxSearchNesting, UTF8: s.utf8Names()})
	if err != nil {
		var unk *imapwire.UnknownCommand
		msg := "syntax error: " + err.Error()
		if errors.As(err, &unk) {
			msg = "unknown command"
		}
		s.log.Debug("bad command", "tag", c.Tag, "cmd", c.Name, "err", err)
		s.tagged(c.Tag, &result{status: "BAD", text: msg})
		s.countError()
		return
	}
	cmd, ok := commands[c.Name]
	if !ok {
		s.tagged(c.Tag, &result{status: "BAD", text: "unknown command"})
		s.countError()
		return
	}
	if cmd.states&s.state == 0 {
		s.tagged(c.Tag, &result{status: "BAD", text: c.Name + " is not allowed now"})
		s.countError()
		return
	}
	if c.UID && s.sel != nil {
		// RFC 9051 §7.5.1 allows EXPUNGE during UID commands: catching up
		// first spares the client EXPUNGEISSUED.
		if !s.sync(syncFull) {
			return
		}
	}
	err = cmd.fn(s, c)
	mode := cmd.sync
	if c.UID {
		mode = cmd.uidSync
	}
	var r *result
	if err != nil && !errors.As(err, &r) {
		r = s.storeError(err, c.Name).(*result)
	}
	if s.state == stateSelected && s.sel != nil && mode != syncNone && (r == nil || r.status != "BAD") {
		if !s.sync(mode) {
			return
		}
	}
	if r == errAlreadyAnswered || (s.state == stateLogout && c.Name != "LOGOUT") {
		return
	}
	if r == nil {
		r = &result{status: "OK", text: c.Name + " completed"}
		if s.condstore && s.sel != nil && (c.Name == "EXPUNGE" || c.Name == "MOVE") {
			// With CONDSTORE, the modseq after the client's own expunge, so
			// that it can resume from there (as Dovecot does).
			r.code = "HIGHESTMODSEQ " + strconv.FormatUint(uint64(s.sel.reported), 10)
		}
	}
	if r.status == "BAD" {
		s.countError()
	}
	s.tagged(c.Tag, r)
	if s.byeAfter != "" {
		s.bye(s.byeAfter)
	}
	if d := time.Since(started); d > time.Second {
		s.log.Info("slow command", "cmd", c.Name, "duration", d.Round(time.Millisecond))
	}
}

func (s *session) cmdNoop(c *imapwire.Command) error { return nil }

func (s *session) cmdLogout(c *imapwire.Command) error {
	s.writeString("* BYE logging out\r\n")
	s.state = stateLogout
	return nil
}

package imapwire

import (
	"strings"
	"time"
)

// Command is a parsed client command. Name is upper-case ("FETCH"); UID
// commands have UID set and Name is the command after "UID". Only the
// fields of the command's own arguments are set.
type Command struct {
	Tag  string
	Name string
	UID  bool

	// Mailbox is the (first) mailbox argument as sent: modified UTF-7
	// unless UTF8=ACCEPT is enabled. Dest is COPY/MOVE's destination and
	// RENAME's new name.
	Mailbox string
	Dest    string

	// LOGIN
	User, Password []byte
	// AUTHENTICATE (and COMPRESS): the mechanism (upper-case) and the SASL-IR initial
	// response, base64 as sent ("=" for an empty one).
	Mechanism  string
	InitialRes []byte
	HasInitial bool

	// ENABLE capabilities (upper-case).
	Caps []string
	// ID parameters, name/value pairs; nil for "ID NIL".
	ID []IDParam

	// SELECT/EXAMINE parameters (upper-case atoms, e.g. CONDSTORE), and
	// QRESYNC's value when it was given (RFC 7162).
	SelectParams []string
	QResync      *QResync
	// CREATE (USE (...)) special-use attributes (RFC 6154 §3).
	CreateUse []string

	// Sequence set of FETCH, STORE, COPY, MOVE, UID EXPUNGE.
	Seq SeqSet

	Fetch  *FetchRequest
	Store  *StoreRequest
	Search *SearchRequest
	List   *ListRequest
	// STATUS items (upper-case).
	StatusItems []string
	Append      *AppendRequest

	Sort   *SortRequest
	Thread *ThreadRequest
	// GETQUOTA and SETQUOTA's quota root, and SETQUOTA's limits.
	QuotaRoot   string
	QuotaLimits []QuotaLimit
}

// IDParam is one field of the ID command (RFC 2971).
type IDParam struct {
	Name  string
	Value []byte
	Nil   bool
}

// StoreRequest is STORE's action.
type StoreRequest struct {
	Op             int // '+', '-' or 0 for replace
	Silent         bool
	Flags          []string
	UnchangedSince uint64 // RFC 7162 UNCHANGEDSINCE; 0 when absent
	HasUnchanged   bool
}

// AppendRequest is APPEND's message.
type AppendRequest struct {
	Flags  []string
	Date   time.Time // zero when absent
	Data   []byte
	Binary bool // sent as literal8 (RFC 3516)
	UTF8   bool // UTF8 (...) form (RFC 6855 §4)
}

// ListRequest is LIST (RFC 9051 §6.3.9 with RFC 5258 LIST-EXTENDED) or
// LSUB.
type ListRequest struct {
	SelectOpts  []string // upper-case: SUBSCRIBED, REMOTE, RECURSIVEMATCH, SPECIAL-USE
	Ref         string
	Patterns    []string
	ReturnOpts  []string // upper-case: SUBSCRIBED, CHILDREN, SPECIAL-USE, STATUS
	StatusItems []string // RFC 5819 RETURN (STATUS (...))
}

// Options for Parse.
type Options struct {
	// MaxDepth bounds parenthesis nesting (search keys, lists).
	MaxDepth int
	// UTF8 allows raw UTF-8 in atoms and quoted strings (UTF8=ACCEPT).
	UTF8 bool
}

// Parse parses a command. The tag is returned even when the command is
// malformed ("*" when there is none), so that the caller can answer
// with a tagged BAD.
func Parse(raw *Raw, o Options) (cmd *Command, err error) {
	if o.MaxDepth <= 0 {
		o.MaxDepth = 32
	}
	p := &parser{raw: raw, maxDepth: o.MaxDepth, utf8: o.UTF8}
	cmd = &Command{Tag: "*"}
	tag := p.word(nil)
	if tag == "" || strings.ContainsRune(tag, '+') || len(tag) > 64 {
		return cmd, errSyntax("missing or bad tag")
	}
	cmd.Tag = tag
	if err := p.sp(); err != nil {
		return cmd, errSyntax("missing command")
	}
	name, err := p.atom()
	if err != nil {
		return cmd, errSyntax("missing command")
	}
	cmd.Name = strings.ToUpper(name)
	if cmd.Name == "UID" {
		if err := p.sp(); err != nil {
			return cmd, err
		}
		name, err := p.atom()
		if err != nil {
			return cmd, err
		}
		cmd.UID = true
		cmd.Name = strings.ToUpper(name)
		switch cmd.Name {
		case "FETCH", "STORE", "COPY", "MOVE", "SEARCH", "EXPUNGE", "SORT", "THREAD":
		default:
			return cmd, errSyntax("unknown UID command %s", cmd.Name)
		}
	}
	if err := p.args(cmd); err != nil {
		return cmd, err
	}
	if err := p.end(); err != nil {
		return cmd, err
	}
	return cmd, nil
}

// UnknownCommand is the error for a command name we do not know.
type UnknownCommand struct{ Name string }

func (e *UnknownCommand) Error() string { return "unknown command " + e.Name }

func (p *parser) args(cmd *Command) error {
	var err error
	switch cmd.Name {
	case "CAPABILITY", "NOOP", "LOGOUT", "STARTTLS", "CHECK", "CLOSE", "UNSELECT", "IDLE", "NAMESPACE":
		return nil
	case "EXPUNGE":
		if cmd.UID {
			if err := p.sp(); err != nil {
				return err
			}
			cmd.Seq, err = p.seqSet()
		}
		return err
	case "LOGIN":
		if err := p.sp(); err != nil {
			return err
		}
		if cmd.User, err = p.astring(); err != nil {
			return err
		}
		if err := p.sp(); err != nil {
			return err
		}
		cmd.Password, err = p.astring()
		return err
	case "AUTHENTICATE":
		if err := p.sp(); err != nil {
			return err
		}
		m, err := p.atom()
		if err != nil {
			return err
		}
		cmd.Mechanism = strings.ToUpper(m)
		if p.maybeSP() {
			// RFC 4959: initial-response = base64 / "=".
			l := p.cur()
			start := p.pos
			for p.pos < len(l) && isBase64Char(l[p.pos]) {
				p.pos++
			}
			if p.pos == start {
				return errSyntax("bad initial response")
			}
			cmd.InitialRes = l[start:p.pos]
			cmd.HasInitial = true
		}
		return nil
	case "ENABLE":
		for p.maybeSP() {
			a, err := p.atom()
			if err != nil {
				return err
			}
			cmd.Caps = append(cmd.Caps, strings.ToUpper(a))
		}
		if len(cmd.Caps) == 0 {
			return errSyntax("ENABLE needs a capability")
		}
		return nil
	case "ID":
		return p.idArgs(cmd)
	case "SELECT", "EXAMINE":
		if err := p.mailboxArg(cmd); err != nil {
			return err
		}
		if p.maybeSP() {
			return p.selectParams(cmd)
		}
		return nil
	case "CREATE":
		if err := p.mailboxArg(cmd); err != nil {
			return err
		}
		if p.maybeSP() {
			return p.list(false, func() error {
				if !p.peekWord("USE") {
					return errSyntax("unknown CREATE parameter")
				}
				p.pos += 3
				if err := p.sp(); err != nil {
					return err
				}
				return p.list(false, func() error {
					f, err := p.flag()
					cmd.CreateUse = append(cmd.CreateUse, f)
					return err
				})
			})
		}
		return nil
	case "DELETE", "SUBSCRIBE", "UNSUBSCRIBE", "GETQUOTAROOT":
		return p.mailboxArg(cmd)
	case "RENAME":
		if err := p.mailboxArg(cmd); err != nil {
			return err
		}
		if err := p.sp(); err != nil {
			return err
		}
		cmd.Dest, err = p.mailbox()
		return err
	case "LIST", "LSUB":
		return p.listArgs(cmd)
	case "STATUS":
		if err := p.mailboxArg(cmd); err != nil {
			return err
		}
		if err := p.sp(); err != nil {
			return err
		}
		cmd.StatusItems, err = p.atomList(false)
		return err
	case "APPEND":
		return p.appendArgs(cmd)
	case "FETCH":
		if err := p.seqArg(cmd); err != nil {
			return err
		}
		if err := p.sp(); err != nil {
			return err
		}
		cmd.Fetch, err = p.fetchArgs()
		return err
	case "STORE":
		if err := p.seqArg(cmd); err != nil {
			return err
		}
		cmd.Store, err = p.storeArgs()
		return err
	case "COPY", "MOVE":
		if err := p.seqArg(cmd); err != nil {
			return err
		}
		if err := p.sp(); err != nil {
			return err
		}
		cmd.Dest, err = p.mailbox()
		return err
	case "SEARCH":
		cmd.Search, err = p.searchArgs()
		return err
	case "SORT":
		cmd.Sort, err = p.sortArgs()
		return err
	case "THREAD":
		cmd.Thread, err = p.threadArgs()
		return err
	case "GETQUOTA":
		if err := p.sp(); err != nil {
			return err
		}
		root, err := p.astring()
		cmd.QuotaRoot = string(root)
		return err
	case "SETQUOTA":
		return p.setQuotaArgs(cmd)
	case "COMPRESS":
		// RFC 4978 §3: COMPRESS SP mechanism.
		if err := p.sp(); err != nil {
			return err
		}
		m, err := p.atom()
		cmd.Mechanism = strings.ToUpper(m)
		return err
	}
	return &UnknownCommand{Name: cmd.Name}
}

func isBase64Char(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '='
}

func (p *parser) mailboxArg(cmd *Command) (err error) {
	if err := p.sp(); err != nil {
		return err
	}
	cmd.Mailbox, err = p.mailbox()
	return err
}

func (p *parser) seqArg(cmd *Command) (err error) {
	if err := p.sp(); err != nil {
		return err
	}
	cmd.Seq, err = p.seqSet()
	return err
}

// peekAfterSpace reports whether the byte after the current space is c.
func (p *parser) peekAfterSpace(c byte) bool {
	l := p.cur()
	return p.pos+1 < len(l) && l[p.pos+1] == c
}

// skipValue skips one value: a number, atom, string or balanced list.
func (p *parser) skipValue() error {
	switch c := p.peek(); {
	case c == '(':
		return p.list(true, p.skipValue)
	case c == '"' || c == '{' || c == '~':
		_, err := p.str()
		return err
	default:
		if p.word(func(c byte) bool { return c == '*' || c == '\\' || c == ']' || c == '%' }) == "" {
			return errSyntax("expected a value")
		}
		return nil
	}
}

func (p *parser) idArgs(cmd *Command) error {
	if err := p.sp(); err != nil {
		return err
	}
	if p.peekWord("NIL") {
		p.pos += 3
		return nil
	}
	cmd.ID = []IDParam{}
	return p.list(true, func() error {
		name, err := p.str()
		if err != nil {
			return err
		}
		if err := p.sp(); err != nil {
			return err
		}
		val, isNil, err := p.nstring()
		if len(cmd.ID) >= 30 {
			return errSyntax("too many ID fields") // RFC 2971 §3.3
		}
		cmd.ID = append(cmd.ID, IDParam{Name: string(name), Value: val, Nil: isNil})
		return err
	})
}

func (p *parser) listArgs(cmd *Command) error {
	lr := &ListRequest{}
	cmd.List = lr
	if err := p.sp(); err != nil {
		return err
	}
	if cmd.Name == "LIST" && p.peek() == '(' {
		opts, err := p.atomList(true)
		if err != nil {
			return err
		}
		lr.SelectOpts = opts
		if err := p.sp(); err != nil {
			return err
		}
	}
	ref, err := p.mailbox()
	if err != nil {
		return err
	}
	lr.Ref = ref
	if err := p.sp(); err != nil {
		return err
	}
	pattern := func() error {
		c := p.peek()
		if c == '"' || c == '{' {
			b, err := p.str()
			lr.Patterns = append(lr.Patterns, string(b))
			return err
		}
		// list-mailbox = 1*list-char / string; list-char adds "%" and "*".
		w := p.word(func(c byte) bool { return c == '%' || c == '*' || c == ']' || (p.utf8 && c >= 0x80) })
		if w == "" {
			return errSyntax("expected a mailbox pattern")
		}
		lr.Patterns = append(lr.Patterns, w)
		return nil
	}
	if cmd.Name == "LIST" && p.peek() == '(' {
		// RFC 5258 §3: a list of patterns.
		if err := p.list(false, pattern); err != nil {
			return err
		}
	} else if err := pattern(); err != nil {
		return err
	}
	if cmd.Name == "LIST" && p.maybeSP() {
		if !p.peekWord("RETURN") {
			return errSyntax("expected RETURN")
		}
		p.pos += 6
		if err := p.sp(); err != nil {
			return err
		}
		return p.list(true, func() error {
			a, err := p.atom()
			if err != nil {
				return err
			}
			a = strings.ToUpper(a)
			lr.ReturnOpts = append(lr.ReturnOpts, a)
			if a == "STATUS" {
				// RFC 5819: RETURN (STATUS (MESSAGES UNSEEN)).
				if err := p.sp(); err != nil {
					return err
				}
				lr.StatusItems, err = p.atomList(false)
			}
			return err
		})
	}
	return nil
}

func (p *parser) appendArgs(cmd *Command) error {
	if err := p.mailboxArg(cmd); err != nil {
		return err
	}
	ar := &AppendRequest{}
	cmd.Append = ar
	if err := p.sp(); err != nil {
		return err
	}
	if p.peek() == '(' {
		flags, err := p.flagList()
		if err != nil {
			return err
		}
		ar.Flags = flags
		if err := p.sp(); err != nil {
			return err
		}
	}
	if p.peek() == '"' {
		t, err := p.dateTime()
		if err != nil {
			return err
		}
		ar.Date = t
		if err := p.sp(); err != nil {
			return err
		}
	}
	if p.peekWord("UTF8") {
		// RFC 6855 §4: "UTF8" SP "(" literal8 ")".
		p.pos += 4
		if err := p.sp(); err != nil {
			return err
		}
		if err := p.enter(); err != nil {
			return err
		}
		data, _, err := p.literal()
		if err != nil {
			return err
		}
		ar.Data, ar.UTF8 = data, true
		return p.leave()
	}
	data, binary, err := p.literal()
	if err != nil {
		return err
	}
	ar.Data, ar.Binary = data, binary
	return nil
}

func (p *parser) storeArgs() (*StoreRequest, error) {
	sr := &StoreRequest{}
	if err := p.sp(); err != nil {
		return nil, err
	}
	if p.peek() == '(' {
		// RFC 7162 §3.1.3: store-modifiers.
		err := p.list(false, func() error {
			if !p.peekWord("UNCHANGEDSINCE") {
				return errSyntax("unknown STORE modifier")
			}
			p.pos += len("UNCHANGEDSINCE")
			if err := p.sp(); err != nil {
				return err
			}
			n, err := p.number64()
			sr.UnchangedSince, sr.HasUnchanged = n, true
			return err
		})
		if err != nil {
			return nil, err
		}
		if err := p.sp(); err != nil {
			return nil, err
		}
	}
	switch p.peek() {
	case '+', '-':
		sr.Op = int(p.peek())
		p.pos++
	}
	item := strings.ToUpper(p.word(nil))
	switch item {
	case "FLAGS":
	case "FLAGS.SILENT":
		sr.Silent = true
	default:
		return nil, errSyntax("expected FLAGS or FLAGS.SILENT")
	}
	if err := p.sp(); err != nil {
		return nil, err
	}
	if p.peek() == '(' {
		flags, err := p.flagList()
		sr.Flags = flags
		return sr, err
	}
	// RFC 9051: store-att-flags also allows flags without parentheses.
	for {
		f, err := p.flag()
		if err != nil {
			return nil, err
		}
		sr.Flags = append(sr.Flags, f)
		if !p.maybeSP() {
			return sr, nil
		}
	}
}

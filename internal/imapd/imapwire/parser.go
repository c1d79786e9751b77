package imapwire

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// SyntaxError is a command that does not follow the grammar: the session
// answers it with a tagged BAD and goes on.
type SyntaxError struct{ Msg string }

func (e *SyntaxError) Error() string { return e.Msg }

func errSyntax(format string, args ...any) error {
	return &SyntaxError{Msg: fmt.Sprintf(format, args...)}
}

// parser walks the lines and literals of a Raw command.
type parser struct {
	raw      *Raw
	line     int // index in raw.Lines
	pos      int // offset in the current line
	depth    int
	maxDepth int
	utf8     bool // UTF8=ACCEPT: quoted strings may hold UTF-8
}

func (p *parser) cur() []byte { return p.raw.Lines[p.line] }

// atLiteral reports whether the rest of the current line is the marker of
// its literal.
func (p *parser) atLiteral() bool {
	if p.line >= len(p.raw.Lits) {
		return false
	}
	rest := p.cur()[p.pos:]
	if len(rest) > 0 && rest[0] == '~' {
		rest = rest[1:]
	}
	if len(rest) < 3 || rest[0] != '{' {
		return false
	}
	_, _, ok := literalMarker(rest)
	return ok && strings.IndexByte(string(rest[1:]), '{') < 0
}

// peek returns the next byte of the current line, or 0 at its end.
func (p *parser) peek() byte {
	l := p.cur()
	if p.pos < len(l) {
		return l[p.pos]
	}
	return 0
}

func (p *parser) atEnd() bool {
	return p.line == len(p.raw.Lines)-1 && p.pos >= len(p.cur())
}

func (p *parser) end() error {
	if !p.atEnd() {
		return errSyntax("unexpected text at the end of the command")
	}
	return nil
}

func (p *parser) sp() error {
	if p.peek() != ' ' {
		return errSyntax("expected a space")
	}
	p.pos++
	return nil
}

// maybeSP consumes a space if there is one.
func (p *parser) maybeSP() bool {
	if p.peek() == ' ' {
		p.pos++
		return true
	}
	return false
}

func (p *parser) expect(c byte) error {
	if p.peek() != c {
		return errSyntax("expected %q", c)
	}
	p.pos++
	return nil
}

// isAtomChar: ATOM-CHAR of RFC 9051 §9 (any CHAR except atom-specials).
func isAtomChar(c byte) bool {
	if c <= ' ' || c >= 0x7f {
		return false
	}
	switch c {
	case '(', ')', '{', '%', '*', '"', '\\', ']':
		return false
	}
	return true
}

// isAStringChar: ASTRING-CHAR = ATOM-CHAR / resp-specials ("]").
func isAStringChar(c byte) bool { return isAtomChar(c) || c == ']' }

// atom reads an atom.
func (p *parser) atom() (string, error) {
	l := p.cur()
	start := p.pos
	for p.pos < len(l) && isAtomChar(l[p.pos]) {
		p.pos++
	}
	if p.pos == start {
		return "", errSyntax("expected an atom")
	}
	return string(l[start:p.pos]), nil
}

// word reads characters up to a space, parenthesis or the end, for
// command names and list items that may hold "\" or "[" (flags, fetch
// attributes).
func (p *parser) word(extra func(byte) bool) string {
	l := p.cur()
	start := p.pos
	for p.pos < len(l) && (isAtomChar(l[p.pos]) || (extra != nil && extra(l[p.pos]))) {
		p.pos++
	}
	return string(l[start:p.pos])
}

// word2 reads the longest run of bytes accepted by ok.
func (p *parser) word2(ok func(byte) bool) string {
	l := p.cur()
	start := p.pos
	for p.pos < len(l) && ok(l[p.pos]) {
		p.pos++
	}
	return string(l[start:p.pos])
}

// literal reads the literal whose marker is at the current position.
func (p *parser) literal() ([]byte, bool, error) {
	if !p.atLiteral() {
		return nil, false, errSyntax("expected a literal")
	}
	binary := p.peek() == '~'
	data := p.raw.Lits[p.line]
	p.line++
	p.pos = 0
	return data, binary, nil
}

// quoted reads a quoted string (RFC 9051 §4.3).
func (p *parser) quoted() ([]byte, error) {
	if err := p.expect('"'); err != nil {
		return nil, err
	}
	l := p.cur()
	var out []byte
	for p.pos < len(l) {
		c := l[p.pos]
		p.pos++
		switch {
		case c == '"':
			if out == nil {
				out = []byte{}
			}
			return out, nil
		case c == '\\':
			if p.pos >= len(l) || (l[p.pos] != '"' && l[p.pos] != '\\') {
				return nil, errSyntax("bad escape in quoted string")
			}
			out = append(out, l[p.pos])
			p.pos++
		case c == '\r' || c == '\n' || c == 0:
			return nil, errSyntax("bad character in quoted string")
		default:
			out = append(out, c)
		}
	}
	return nil, errSyntax("unterminated quoted string")
}

// str reads a string: quoted or literal.
func (p *parser) str() ([]byte, error) {
	if p.peek() == '"' {
		return p.quoted()
	}
	if p.atLiteral() {
		b, binary, err := p.literal()
		if err == nil && binary {
			return nil, errSyntax("literal8 not allowed here")
		}
		return b, err
	}
	return nil, errSyntax("expected a string")
}

// astring reads an atom (with "]"), a quoted string or a literal.
func (p *parser) astring() ([]byte, error) {
	c := p.peek()
	if c == '"' || c == '{' || c == '~' {
		return p.str()
	}
	l := p.cur()
	start := p.pos
	for p.pos < len(l) && (isAStringChar(l[p.pos]) || (p.utf8 && l[p.pos] >= 0x80)) {
		p.pos++
	}
	if p.pos == start {
		return nil, errSyntax("expected a string")
	}
	return l[start:p.pos], nil
}

// nstring reads NIL or a string.
func (p *parser) nstring() ([]byte, bool, error) {
	if p.peekWord("NIL") {
		p.pos += 3
		return nil, true, nil
	}
	b, err := p.str()
	return b, false, err
}

// peekWord reports whether the next atom is w (case-insensitive).
func (p *parser) peekWord(w string) bool {
	l := p.cur()[p.pos:]
	if len(l) < len(w) || !strings.EqualFold(string(l[:len(w)]), w) {
		return false
	}
	return len(l) == len(w) || !isAtomChar(l[len(w)])
}

// mailbox reads a mailbox name (astring; RFC 9051 §9 mailbox).
func (p *parser) mailbox() (string, error) {
	b, err := p.astring()
	if err != nil {
		return "", err
	}
	if !utf8.Valid(b) {
		return "", errSyntax("mailbox name is not valid UTF-8")
	}
	return string(b), nil
}

func (p *parser) number() (uint32, error) {
	n, err := p.number64()
	if err != nil {
		return 0, err
	}
	if n > 1<<32-1 {
		return 0, errSyntax("number too large")
	}
	return uint32(n), nil
}

// number64 reads a number up to 2^63-1 (RFC 9051 number64).
func (p *parser) number64() (uint64, error) {
	l := p.cur()
	start := p.pos
	for p.pos < len(l) && l[p.pos] >= '0' && l[p.pos] <= '9' {
		p.pos++
	}
	if p.pos == start {
		return 0, errSyntax("expected a number")
	}
	n, err := strconv.ParseUint(string(l[start:p.pos]), 10, 63)
	if err != nil {
		return 0, errSyntax("number too large")
	}
	return n, nil
}

// nzNumber reads a number above zero.
func (p *parser) nzNumber() (uint32, error) {
	n, err := p.number()
	if err == nil && n == 0 {
		err = errSyntax("expected a number above zero")
	}
	return n, err
}

// enter and leave bound the nesting of parenthesised lists.
func (p *parser) enter() error {
	p.depth++
	if p.depth > p.maxDepth {
		return errSyntax("nesting too deep")
	}
	return p.expect('(')
}

func (p *parser) leave() error {
	p.depth--
	return p.expect(')')
}

// list reads "(" item *(SP item) ")" calling item for each; an empty list
// is allowed when empty is true.
func (p *parser) list(empty bool, item func() error) error {
	if err := p.enter(); err != nil {
		return err
	}
	if p.peek() == ')' {
		if !empty {
			return errSyntax("empty list")
		}
		return p.leave()
	}
	for {
		if err := item(); err != nil {
			return err
		}
		if p.peek() == ')' {
			return p.leave()
		}
		if err := p.sp(); err != nil {
			return err
		}
	}
}

// flag reads a flag: "\" atom or atom (RFC 9051 flag, flag-keyword).
func (p *parser) flag() (string, error) {
	bs := p.peek() == '\\'
	if bs {
		p.pos++
	}
	a, err := p.atom()
	if err != nil {
		return "", errSyntax("expected a flag")
	}
	if bs {
		return canonicalFlag("\\" + a), nil
	}
	return a, nil
}

// canonicalFlag spells system flags the standard way, so that "\SEEN"
// and "\Seen" are one flag.
func canonicalFlag(f string) string {
	for _, s := range []string{`\Seen`, `\Answered`, `\Flagged`, `\Deleted`, `\Draft`, `\Recent`} {
		if strings.EqualFold(f, s) {
			return s
		}
	}
	return f
}

// flagList reads "(" [flag *(SP flag)] ")".
func (p *parser) flagList() ([]string, error) {
	var flags []string
	err := p.list(true, func() error {
		f, err := p.flag()
		flags = append(flags, f)
		return err
	})
	return flags, err
}

// atomList reads "(" atom *(SP atom) ")" (upper-cased).
func (p *parser) atomList(empty bool) ([]string, error) {
	var out []string
	err := p.list(empty, func() error {
		a, err := p.atom()
		out = append(out, strings.ToUpper(a))
		return err
	})
	return out, err
}

var months = []string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

// date reads a date: d-mmm-yyyy, optionally quoted (RFC 9051 date).
func (p *parser) date() (time.Time, error) {
	quoted := p.peek() == '"'
	if quoted {
		p.pos++
	}
	l := p.cur()
	start := p.pos
	for p.pos < len(l) && (isAtomChar(l[p.pos])) {
		p.pos++
	}
	t, err := parseDate(string(l[start:p.pos]))
	if err != nil {
		return time.Time{}, err
	}
	if quoted {
		if err := p.expect('"'); err != nil {
			return time.Time{}, err
		}
	}
	return t, nil
}

func parseDate(s string) (time.Time, error) {
	parts := strings.Split(s, "-")
	if len(parts) != 3 || len(parts[0]) < 1 || len(parts[0]) > 2 || len(parts[2]) != 4 {
		return time.Time{}, errSyntax("expected a date like 1-Feb-2024")
	}
	day, err1 := strconv.Atoi(parts[0])
	year, err2 := strconv.Atoi(parts[2])
	month := 0
	for i, m := range months {
		if strings.EqualFold(m, parts[1]) {
			month = i + 1
		}
	}
	if err1 != nil || err2 != nil || month == 0 || day < 1 || day > 31 {
		return time.Time{}, errSyntax("expected a date like 1-Feb-2024")
	}
	return time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC), nil
}

// dateTime reads a quoted date-time: "dd-mmm-yyyy hh:mm:ss +zzzz"
// (RFC 9051 date-time; the day may be space-padded).
func (p *parser) dateTime() (time.Time, error) {
	b, err := p.quoted()
	if err != nil {
		return time.Time{}, err
	}
	s := strings.TrimLeft(string(b), " ")
	t, err := time.Parse("2-Jan-2006 15:04:05 -0700", s)
	if err != nil {
		return time.Time{}, errSyntax("bad date-time %q", b)
	}
	return t, nil
}

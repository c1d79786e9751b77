package imapwire

import "strings"

// Arguments of the sync and server-side-sorting extensions: QRESYNC's
// SELECT parameter (RFC 7162), SORT and THREAD (RFC 5256, RFC 5957),
// QUOTA (RFC 9208) and COMPRESS (RFC 4978).

// QResync is the QRESYNC parameter of SELECT and EXAMINE (RFC 7162
// §3.2.5): what the client knows of the mailbox.
type QResync struct {
	UIDValidity uint32
	ModSeq      uint64
	// KnownUIDs limits what the server reports; absent means all.
	KnownUIDs    SeqSet
	HasKnownUIDs bool
	// SeqMatch pairs message sequence numbers with the UIDs the client
	// has for them (seq-match-data), when it was sent.
	SeqMatchSeqs SeqSet
	SeqMatchUIDs SeqSet
	HasSeqMatch  bool
}

// SortCriterion is one SORT key (RFC 5256 §3, RFC 5957): ARRIVAL, CC,
// DATE, FROM, SIZE, SUBJECT, TO, DISPLAYFROM or DISPLAYTO.
type SortCriterion struct {
	Key     string
	Reverse bool
}

// SortRequest is SORT's arguments.
type SortRequest struct {
	Criteria []SortCriterion
	Charset  string     // upper-case
	Key      *SearchKey // an AND of the search keys
}

// ThreadRequest is THREAD's arguments.
type ThreadRequest struct {
	Algorithm string // upper-case: ORDEREDSUBJECT, REFERENCES
	Charset   string // upper-case
	Key       *SearchKey
}

// QuotaLimit is one resource of SETQUOTA.
type QuotaLimit struct {
	Resource string // upper-case
	Limit    uint64
}

var sortKeys = map[string]bool{
	"ARRIVAL": true, "CC": true, "DATE": true, "FROM": true, "SIZE": true, "SUBJECT": true, "TO": true,
	"DISPLAYFROM": true, "DISPLAYTO": true,
}

// selectParams reads RFC 4466 select-params: CONDSTORE, and QRESYNC
// with its list; unknown parameters are kept by name for the session
// to refuse.
func (p *parser) selectParams(cmd *Command) error {
	return p.list(false, func() error {
		a, err := p.atom()
		if err != nil {
			return err
		}
		a = strings.ToUpper(a)
		cmd.SelectParams = append(cmd.SelectParams, a)
		if a == "QRESYNC" {
			if err := p.sp(); err != nil {
				return err
			}
			cmd.QResync, err = p.qresync()
			return err
		}
		if a != "CONDSTORE" && p.peek() == ' ' && !p.peekAfterSpace(')') {
			// An unknown parameter's value: skipped, for the session to
			// refuse the parameter by name.
			p.pos++
			return p.skipValue()
		}
		return nil
	})
}

// qresync reads "(" uidvalidity SP mod-sequence-value [SP known-uids]
// [SP seq-match-data] ")" (RFC 7162 §7).
func (p *parser) qresync() (*QResync, error) {
	q := &QResync{}
	if err := p.enter(); err != nil {
		return nil, err
	}
	var err error
	if q.UIDValidity, err = p.nzNumber(); err != nil {
		return nil, err
	}
	if err := p.sp(); err != nil {
		return nil, err
	}
	if q.ModSeq, err = p.number64(); err != nil {
		return nil, err
	}
	if p.maybeSP() {
		if p.peek() != '(' {
			if q.KnownUIDs, err = p.seqSet(); err != nil {
				return nil, err
			}
			if q.KnownUIDs.Saved {
				return nil, errSyntax("$ is not a UID set")
			}
			q.HasKnownUIDs = true
			if !p.maybeSP() {
				return q, p.leave()
			}
		}
		if err := p.enter(); err != nil {
			return nil, err
		}
		if q.SeqMatchSeqs, err = p.seqSet(); err != nil {
			return nil, err
		}
		if err := p.sp(); err != nil {
			return nil, err
		}
		if q.SeqMatchUIDs, err = p.seqSet(); err != nil {
			return nil, err
		}
		if q.SeqMatchSeqs.Saved || q.SeqMatchUIDs.Saved {
			return nil, errSyntax("$ is not allowed in seq-match-data")
		}
		q.HasSeqMatch = true
		if err := p.leave(); err != nil {
			return nil, err
		}
	}
	return q, p.leave()
}

// sortArgs reads SP "(" sort-criterion *(SP sort-criterion) ")" SP
// charset 1*(SP search-key) (RFC 5256 §5).
func (p *parser) sortArgs() (*SortRequest, error) {
	sr := &SortRequest{}
	if err := p.sp(); err != nil {
		return nil, err
	}
	err := p.list(false, func() error {
		var c SortCriterion
		w := strings.ToUpper(p.word(nil))
		if w == "REVERSE" {
			c.Reverse = true
			if err := p.sp(); err != nil {
				return err
			}
			w = strings.ToUpper(p.word(nil))
		}
		if !sortKeys[w] {
			return errSyntax("unknown sort key %q", w)
		}
		c.Key = w
		if len(sr.Criteria) >= 20 {
			return errSyntax("too many sort keys")
		}
		sr.Criteria = append(sr.Criteria, c)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if sr.Charset, err = p.charsetArg(); err != nil {
		return nil, err
	}
	sr.Key, err = p.searchKeys()
	return sr, err
}

// threadArgs reads SP algorithm SP charset 1*(SP search-key).
func (p *parser) threadArgs() (*ThreadRequest, error) {
	tr := &ThreadRequest{}
	if err := p.sp(); err != nil {
		return nil, err
	}
	a, err := p.atom()
	if err != nil {
		return nil, err
	}
	tr.Algorithm = strings.ToUpper(a)
	if tr.Charset, err = p.charsetArg(); err != nil {
		return nil, err
	}
	tr.Key, err = p.searchKeys()
	return tr, err
}

// charsetArg reads SP charset SP (an astring, upper-cased).
func (p *parser) charsetArg() (string, error) {
	if err := p.sp(); err != nil {
		return "", err
	}
	cs, err := p.astring()
	if err != nil {
		return "", err
	}
	return strings.ToUpper(string(cs)), p.sp()
}

// setQuotaArgs reads SP quota-root-name SP "(" [resource SP limit
// *(SP resource SP limit)] ")" (RFC 9208 §4.1.3).
func (p *parser) setQuotaArgs(cmd *Command) error {
	if err := p.sp(); err != nil {
		return err
	}
	root, err := p.astring()
	if err != nil {
		return err
	}
	cmd.QuotaRoot = string(root)
	if err := p.sp(); err != nil {
		return err
	}
	return p.list(true, func() error {
		r, err := p.atom()
		if err != nil {
			return err
		}
		if err := p.sp(); err != nil {
			return err
		}
		n, err := p.number64()
		if len(cmd.QuotaLimits) >= 100 {
			return errSyntax("too many quota resources")
		}
		cmd.QuotaLimits = append(cmd.QuotaLimits, QuotaLimit{Resource: strings.ToUpper(r), Limit: n})
		return err
	})
}

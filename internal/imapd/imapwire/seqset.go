package imapwire

import (
	"strconv"
	"strings"
)

// Star stands for "*" in a sequence set: the largest number in use.
const Star = 0

// Range is one element of a sequence set; Star (0) at either end means
// "*". Start may be above Stop: "5:2" is the same as "2:5".
type Range struct{ Start, Stop uint32 }

// SeqSet is a sequence-set (RFC 9051 §9), or "$" (RFC 5182 SEARCHRES: the
// saved search result) when Saved is set.
type SeqSet struct {
	Ranges []Range
	Saved  bool
}

// maxRanges bounds the elements of one set.
const maxRanges = 10000

// seqSet reads a sequence-set or "$".
func (p *parser) seqSet() (SeqSet, error) {
	if p.peek() == '$' {
		p.pos++
		return SeqSet{Saved: true}, nil
	}
	var s SeqSet
	for {
		a, err := p.seqNumber()
		if err != nil {
			return s, err
		}
		r := Range{a, a}
		if p.peek() == ':' {
			p.pos++
			b, err := p.seqNumber()
			if err != nil {
				return s, err
			}
			r.Stop = b
		}
		if len(s.Ranges) >= maxRanges {
			return s, errSyntax("sequence set too long")
		}
		s.Ranges = append(s.Ranges, r)
		if p.peek() != ',' {
			return s, nil
		}
		p.pos++
	}
}

func (p *parser) seqNumber() (uint32, error) {
	if p.peek() == '*' {
		p.pos++
		return Star, nil
	}
	return p.nzNumber()
}

// isSeqSetStart reports whether the next text can start a sequence set.
func (p *parser) isSeqSetStart() bool {
	c := p.peek()
	return c == '*' || c == '$' || (c >= '1' && c <= '9')
}

// Resolve returns the ranges with "*" replaced by max and each range
// ordered low to high; ranges entirely above max are kept (callers clip).
func (s SeqSet) Resolve(max uint32) []Range {
	out := make([]Range, 0, len(s.Ranges))
	for _, r := range s.Ranges {
		if r.Start == Star {
			r.Start = max
		}
		if r.Stop == Star {
			r.Stop = max
		}
		if r.Start > r.Stop {
			r.Start, r.Stop = r.Stop, r.Start
		}
		out = append(out, r)
	}
	return out
}

// Contains reports whether n is in the set, with "*" meaning max.
func (s SeqSet) Contains(n, max uint32) bool {
	for _, r := range s.Resolve(max) {
		if n >= r.Start && n <= r.Stop {
			return true
		}
	}
	return false
}

// String writes the set in IMAP syntax.
func (s SeqSet) String() string {
	if s.Saved {
		return "$"
	}
	var b strings.Builder
	num := func(n uint32) {
		if n == Star {
			b.WriteByte('*')
		} else {
			b.WriteString(strconv.FormatUint(uint64(n), 10))
		}
	}
	for i, r := range s.Ranges {
		if i > 0 {
			b.WriteByte(',')
		}
		num(r.Start)
		if r.Stop != r.Start {
			b.WriteByte(':')
			num(r.Stop)
		}
	}
	return b.String()
}

// FormatSet writes ascending numbers as a compact set ("1:3,7").
func FormatSet(nums []uint32) string {
	var b strings.Builder
	for i := 0; i < len(nums); {
		j := i
		for j+1 < len(nums) && nums[j+1] == nums[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatUint(uint64(nums[i]), 10))
		if j > i {
			b.WriteByte(':')
			b.WriteString(strconv.FormatUint(uint64(nums[j]), 10))
		}
		i = j + 1
	}
	return b.String()
}

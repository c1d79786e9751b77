package mailauth

import (
	"bytes"
	"context"
	"crypto"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-msgauth/dkim"

	"mailhouse/internal/message"
	"mailhouse/internal/store"
)

// signedHeaders are the fields a signature covers (RFC 6376 §5.4.1),
// each listed once more than a message normally has them, so that one
// added later breaks the signature (oversigning, §8.15); From twice.
var signedHeaders = []string{
	"From", "From", "Sender", "Reply-To", "Subject", "Subject", "Date", "Date",
	"To", "Cc", "Message-ID", "Message-ID", "In-Reply-To", "References",
	"MIME-Version", "Content-Type", "Content-Transfer-Encoding",
	"List-Id", "List-Unsubscribe", "List-Unsubscribe-Post",
}

// Signer DKIM-signs messages whose From: domain is one of ours with
// every key the domain has. Keys are read from the store and cached
// briefly, so that a key added by the CLI is used within a minute.
type Signer struct {
	Keys   store.DKIMKeys
	Logger *slog.Logger

	mu    sync.Mutex
	cache map[string]cachedKeys
}

type cachedKeys struct {
	keys    []store.DKIMKey
	signers []crypto.Signer
	read    time.Time
}

// keyCacheTime is how long keys are cached.
const keyCacheTime = time.Minute

// Sign returns the message with DKIM-Signature fields prepended, one per
// key of the From: domain; a message from a domain without keys, or
// that cannot be signed, is returned unchanged (and the reason logged).
func (s *Signer) Sign(ctx context.Context, msg []byte) []byte {
	domain := fromDomain(msg)
	if domain == "" {
		return msg
	}
	keys, signers := s.keysFor(ctx, domain)
	if len(keys) == 0 {
		return msg
	}
	var sigs []byte
	for i, k := range keys {
		sg, err := dkim.NewSigner(&dkim.SignOptions{
			Domain: domain, Selector: k.Selector, Signer: signers[i],
			HeaderCanonicalization: dkim.CanonicalizationRelaxed,
			BodyCanonicalization:   dkim.CanonicalizationRelaxed,
			HeaderKeys:             signedHeaders,
		})
		if err == nil {
			_, err = sg.Write(msg)
			if cerr := sg.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			s.log().Warn("dkim: signing failed", "domain", domain, "selector", k.Selector, "err", err)
			continue
		}
		sigs = append(sigs, sg.Signature()...)
	}
	if len(sigs) == 0 {
		return msg
	}
	return append(sigs, msg...)
}

func (s *Signer) log() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}

func (s *Signer) keysFor(ctx context.Context, domain string) ([]store.DKIMKey, []crypto.Signer) {
	s.mu.Lock()
	c, ok := s.cache[domain]
	s.mu.Unlock()
	if ok && time.Since(c.read) < keyCacheTime {
		return c.keys, c.signers
	}
	keys, err := s.Keys.ListDKIMKeys(ctx, domain)
	if err != nil {
		s.log().Error("dkim: reading keys", "domain", domain, "err", err)
		return c.keys, c.signers
	}
	c = cachedKeys{read: time.Now()}
	for _, k := range keys {
		sg, err := signer(k)
		if err != nil {
			s.log().Error("dkim: bad key", "domain", domain, "selector", k.Selector, "err", err)
			continue
		}
		c.keys = append(c.keys, k)
		c.signers = append(c.signers, sg)
	}
	s.mu.Lock()
	if s.cache == nil || len(s.cache) > 10000 {
		s.cache = map[string]cachedKeys{}
	}
	s.cache[domain] = c
	s.mu.Unlock()
	return c.keys, c.signers
}

// fromDomain is the lower-case domain of the single From: address, or
// "" when there is not exactly one.
func fromDomain(msg []byte) string {
	h := headerSection(msg)
	v, ok := message.Get(h, "From")
	if !ok {
		return ""
	}
	addrs := message.ParseAddressList(v)
	var found []string
	for _, a := range addrs {
		if a.IsGroupStart() || a.IsGroupEnd() {
			continue
		}
		found = append(found, strings.ToLower(strings.TrimSuffix(a.Host, ".")))
	}
	if len(found) != 1 || found[0] == "" {
		return ""
	}
	return found[0]
}

// headerSection is the message's header including the final CRLF of its
// last field (without the empty line); the whole message when it has no
// body.
func headerSection(msg []byte) []byte {
	if bytes.HasPrefix(msg, []byte("\r\n")) {
		return nil
	}
	if i := bytes.Index(msg, []byte("\r\n\r\n")); i >= 0 {
		return msg[:i+2]
	}
	return msg
}

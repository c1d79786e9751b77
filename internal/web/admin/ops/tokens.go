package ops

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"mailhouse/internal/store"
)

// API tokens are "mh_<id>_<secret>": the id finds the stored row, the
// secret (32 random bytes, base64url) is checked against its SHA-256. A
// token carries full admin rights; only its creation shows it.

const tokenPrefix = "mh_"

// AddToken creates an API token and returns its text, shown once.
func (o *Ops) AddToken(ctx context.Context, name string) (store.APIToken, string, error) {
	if err := o.needAdmin(); err != nil {
		return store.APIToken{}, "", err
	}
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 100 || strings.IndexFunc(name, unicode.IsControl) >= 0 {
		return store.APIToken{}, "", fail(CodeBadRequest, "a token needs a name of 1 to 100 printable characters")
	}
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	secret := base64.RawURLEncoding.EncodeToString(b)
	h := sha256.Sum256([]byte(secret))
	t, err := o.Admin.AddToken(ctx, store.APIToken{Name: name, Hash: h[:], CreatedBy: o.Actor})
	if err != nil {
		return store.APIToken{}, "", AsError(err)
	}
	text := fmt.Sprintf("%s%d_%s", tokenPrefix, t.ID, secret)
	return t, text, o.audit(ctx, "token.add", name, fmt.Sprintf("id=%d", t.ID))
}

// DeleteToken revokes a token.
func (o *Ops) DeleteToken(ctx context.Context, id int64) error {
	if err := o.needAdmin(); err != nil {
		return err
	}
	t, err := o.Admin.GetToken(ctx, id)
	if err != nil {
		return storeErr(err, fmt.Sprintf("token %d", id))
	}
	if err := o.Admin.DeleteToken(ctx, id); err != nil {
		return storeErr(err, fmt.Sprintf("token %d", id))
	}
	return o.audit(ctx, "token.delete", t.Name, fmt.Sprintf("id=%d", id))
}

// ListTokens lists API tokens (without secrets).
func (o *Ops) ListTokens(ctx context.Context) ([]store.APIToken, error) {
	if err := o.needAdmin(); err != nil {
		return nil, err
	}
	ts, err := o.Admin.ListTokens(ctx)
	return ts, AsError0(err)
}

// CheckToken returns the token a bearer text names, if its secret
// matches.
func (o *Ops) CheckToken(ctx context.Context, text string) (store.APIToken, bool) {
	if o.Admin == nil || len(text) > 200 {
		return store.APIToken{}, false
	}
	rest, ok := strings.CutPrefix(text, tokenPrefix)
	if !ok {
		return store.APIToken{}, false
	}
	idText, secret, ok := strings.Cut(rest, "_")
	id, err := strconv.ParseInt(idText, 10, 64)
	if !ok || err != nil || id <= 0 || secret == "" {
		return store.APIToken{}, false
	}
	t, err := o.Admin.GetToken(ctx, id)
	if err != nil {
		return store.APIToken{}, false
	}
	h := sha256.Sum256([]byte(secret))
	if subtle.ConstantTimeCompare(h[:], t.Hash) != 1 {
		return store.APIToken{}, false
	}
	return t, true
}

// Audit lists audit entries, newest first (see store.Admin.ListAudit).
func (o *Ops) Audit(ctx context.Context, before int64, limit int) ([]store.AuditEntry, error) {
	if err := o.needAdmin(); err != nil {
		return nil, err
	}
	es, err := o.Admin.ListAudit(ctx, before, limit)
	return es, AsError0(err)
}

// ParseSize reads a size as admins write it: bytes, or a number with K,
// M, G or T (binary multiples; "MB", "MiB" and a space are accepted).
// An empty string is 0.
func ParseSize(s string) (int64, error) {
	t := strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(s), " ", ""))
	if t == "" {
		return 0, nil
	}
	t = strings.TrimSuffix(strings.TrimSuffix(t, "B"), "I")
	mult := int64(1)
	if n := len(t); n > 0 {
		switch t[n-1] {
		case 'K':
			mult = 1 << 10
		case 'M':
			mult = 1 << 20
		case 'G':
			mult = 1 << 30
		case 'T':
			mult = 1 << 40
		}
		if mult > 1 {
			t = t[:n-1]
		}
	}
	v, err := strconv.ParseInt(t, 10, 64)
	if err != nil || v < 0 || v > (1<<62)/mult {
		return 0, fail(CodeBadRequest, "%q is not a size (bytes, or a number with K, M, G or T)", s)
	}
	return v * mult, nil
}

// FormatSize writes bytes for people (binary units).
func FormatSize(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// Package acme gets and renews publicly trusted certificates (RFC 8555,
// Let's Encrypt by default) for every name a mail client may type, and
// serves them to every TLS listener by SNI.
//
// Names: the server's hostname, the configured extra names, and for each
// hosted domain its prefixes (autoconfig., autodiscover., mta-sts. by
// default; imap., smtp., pop. when configured). Each name gets its own
// certificate, as Caddy does: a name whose DNS does not point here fails
// alone, a new domain adds certificates without touching the others, and
// the status of each name is its own.
//
// Challenges: TLS-ALPN-01 (RFC 8737) on whatever TLS listener the CA
// reaches (port 443), answered through tls.Config.GetConfigForClient so
// that clients offering other ALPN protocols are not affected, and
// HTTP-01 (RFC 8555 §8.3) through HTTPHandler on the plain HTTP listener.
//
// Issuance and renewal run in one background goroutine (Start): a name
// without a certificate is obtained at once, a certificate is renewed 30
// days before it expires (a third of its lifetime for short-lived ones),
// the list of names is read again every few minutes so that a domain
// added with `mailhouse domain add` gets its names without a restart,
// and failures are retried with exponential back-off while the last good
// certificate stays in service. Handshakes never wait for the CA: a name
// without an ACME certificate yet gets the fallback (the configured or
// self-signed files).
//
// State lives in the data folder, one sub-folder per CA directory URL:
// the account key, one PEM file (key and chain) per name, and
// status.json with each name's last attempt and error, which `mailhouse
// tls status` reads (ReadStatus).
//
// Not done here: DNS-01 (and with it wildcard names), ACME Renewal
// Information (RFC 9773), OCSP stapling, certificate revocation, and
// RSA certificates for clients that only know RSA (ECDSA P-256 is used;
// such clients get the fallback certificate if it is RSA).
package acme

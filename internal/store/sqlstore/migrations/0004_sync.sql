-- 0004_sync: the per-account message-count limit (store.Sync; the IMAP
-- QUOTA MESSAGE resource, RFC 9208 §5.2). The byte limit stays in
-- accounts.quota_bytes. A row exists only for an account whose limit
-- was ever set; none means unlimited.
CREATE TABLE account_quotas (
	account_id   INTEGER PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
	max_messages INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

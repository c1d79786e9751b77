-- 0004_sync: the per-account message-count limit (store.Sync); as
-- sqlstore/migrations/0004_sync.sql.
CREATE TABLE account_quotas (
	account_id   bigint PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
	max_messages bigint NOT NULL DEFAULT 0
);

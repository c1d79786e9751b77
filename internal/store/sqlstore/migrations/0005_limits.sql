-- 0005_limits: quotas beyond the account's own (per-domain totals and the
-- warnings sent), retention rules, and login blocks (store.Limits).

CREATE TABLE domain_quotas (
	domain_id   INTEGER PRIMARY KEY REFERENCES domains(id) ON DELETE CASCADE,
	quota_bytes INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

-- The highest quota warning (percent) last sent to an account.
CREATE TABLE quota_warnings (
	account_id INTEGER PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
	percent    INTEGER NOT NULL
) WITHOUT ROWID;

-- Retention: domain and account are '' for a wider scope; folder is a
-- special-use attribute or a mailbox name.
CREATE TABLE retention_rules (
	domain  TEXT    NOT NULL,
	account TEXT    NOT NULL,
	folder  TEXT    NOT NULL,
	days    INTEGER NOT NULL,
	PRIMARY KEY (domain, account, folder)
) WITHOUT ROWID;

-- Login blocks; until and created are unix nanoseconds.
CREATE TABLE login_blocks (
	key     TEXT    PRIMARY KEY,
	until   INTEGER NOT NULL,
	reason  TEXT    NOT NULL DEFAULT '',
	created INTEGER NOT NULL
) WITHOUT ROWID;

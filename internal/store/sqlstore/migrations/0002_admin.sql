-- 0002_admin: account flags, the audit log and admin API tokens
-- (store.Admin).

-- Flags live beside accounts rather than in them, so that the accounts
-- table and its queries stay as they are; a row exists only for an
-- account that has a flag set or had one.
CREATE TABLE account_flags (
	account_id INTEGER PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
	admin      INTEGER NOT NULL DEFAULT 0,
	disabled   INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

CREATE TABLE audit_log (
	id     INTEGER PRIMARY KEY,
	at     INTEGER NOT NULL, -- unix nanoseconds
	actor  TEXT    NOT NULL,
	action TEXT    NOT NULL,
	target TEXT    NOT NULL,
	detail TEXT    NOT NULL DEFAULT ''
);

CREATE TABLE api_tokens (
	id         INTEGER PRIMARY KEY,
	name       TEXT    NOT NULL,
	hash       BLOB    NOT NULL, -- SHA-256 of the secret
	created    INTEGER NOT NULL,
	created_by TEXT    NOT NULL
);

-- 0006_ids: account and mailbox ids are never handed out twice.
--
-- Without AUTOINCREMENT SQLite gives a new row max(id)+1, so deleting
-- the newest account (or mailbox) and creating another gave the new one
-- the deleted one's id, and whatever a running server kept under that id
-- (delivery's recipient cache, IMAP's structure cache, webmail's contacts
-- and list rows, POP3's sizes) could show the deleted one's data in the
-- new one. With AUTOINCREMENT, sqlite_sequence remembers the highest id
-- ever used and new ids go above it.
--
-- SQLite cannot add AUTOINCREMENT to a table: both are rebuilt (the
-- 12-step procedure of the ALTER TABLE documentation, section 7). migrate.go
-- runs this with foreign_keys OFF (otherwise DROP TABLE would delete the
-- rows that reference the dropped table, all messages with it) and with
-- legacy_alter_table ON (otherwise RENAME would re-check the messages
-- triggers, which name "mailboxes", while no such table exists), and
-- runs PRAGMA foreign_key_check before it commits. The columns, their
-- order and constraints are those of 0001_init.sql; no later migration
-- changed these tables. Triggers on messages name mailboxes by name and
-- so work on the new table unchanged; the two tables have no triggers of
-- their own, and accounts_domain is their only explicit index.
--
-- Copying the rows with their ids sets sqlite_sequence to the largest id
-- of each table (RENAME carries the row over). An id above that, used by
-- a row deleted before this migration, left nothing in the database to
-- tell it by (its mailboxes, messages and flags went with it); what a
-- server kept in memory under such an id goes with its process, and the
-- server that applies this migration starts with nothing. (A server of
-- the old version left running while a newer CLI migrates keeps its
-- memory until it is restarted, as in any upgrade.)

-- Refuse to run with foreign keys enforced, as DROP TABLE would then
-- delete every message: the CHECK fails unless foreign_keys is 0.
CREATE TEMP TABLE migration_0006_guard (foreign_keys INTEGER CHECK (foreign_keys = 0));
INSERT INTO migration_0006_guard SELECT foreign_keys FROM pragma_foreign_keys;
DROP TABLE migration_0006_guard;

CREATE TABLE accounts_new (
	id            INTEGER PRIMARY KEY AUTOINCREMENT,
	address       TEXT    NOT NULL UNIQUE,
	-- No cascade: DeleteDomain refuses while accounts remain.
	domain_id     INTEGER NOT NULL REFERENCES domains(id),
	password_hash TEXT    NOT NULL DEFAULT '',
	quota_bytes   INTEGER NOT NULL DEFAULT 0,
	-- The last UIDVALIDITY handed to one of the account's mailboxes; the
	-- next is max(last+1, now in seconds), so that a name deleted and
	-- created again never gets a value it had before.
	uidvalidity_last INTEGER NOT NULL DEFAULT 0,
	created       INTEGER NOT NULL
);
INSERT INTO accounts_new (id, address, domain_id, password_hash, quota_bytes, uidvalidity_last, created)
	SELECT id, address, domain_id, password_hash, quota_bytes, uidvalidity_last, created FROM accounts ORDER BY id;
DROP TABLE accounts;
ALTER TABLE accounts_new RENAME TO accounts;
CREATE INDEX accounts_domain ON accounts(domain_id, address);

CREATE TABLE mailboxes_new (
	id            INTEGER PRIMARY KEY AUTOINCREMENT,
	account_id    INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	name          TEXT    NOT NULL,
	special_use   TEXT    NOT NULL DEFAULT '',
	uidvalidity   INTEGER NOT NULL,
	uidnext       INTEGER NOT NULL DEFAULT 1,
	-- RFC 7162: mod-sequences are positive; an empty mailbox starts at 1
	-- and its first change takes 2.
	highestmodseq INTEGER NOT NULL DEFAULT 1,
	subscribed    INTEGER NOT NULL DEFAULT 0,
	-- Counters kept by the triggers on messages (0001_init.sql).
	message_count INTEGER NOT NULL DEFAULT 0,
	message_bytes INTEGER NOT NULL DEFAULT 0,
	unseen_count  INTEGER NOT NULL DEFAULT 0,
	-- Expunge history (table expunged): how many rows it holds, and the
	-- highest modseq whose rows were pruned. Changes(since) below the
	-- floor cannot list every expunged UID.
	expunged_count INTEGER NOT NULL DEFAULT 0,
	expunged_floor INTEGER NOT NULL DEFAULT 0,
	UNIQUE (account_id, name)
);
INSERT INTO mailboxes_new (id, account_id, name, special_use, uidvalidity, uidnext, highestmodseq, subscribed,
		message_count, message_bytes, unseen_count, expunged_count, expunged_floor)
	SELECT id, account_id, name, special_use, uidvalidity, uidnext, highestmodseq, subscribed,
		message_count, message_bytes, unseen_count, expunged_count, expunged_floor FROM mailboxes ORDER BY id;
DROP TABLE mailboxes;
ALTER TABLE mailboxes_new RENAME TO mailboxes;

-- 0001_init: the first schema.
--
-- Times are integers: *_at and created columns hold unix nanoseconds,
-- except expunged.at (unix seconds). Booleans are 0/1 integers.

CREATE TABLE domains (
	id      INTEGER PRIMARY KEY,
	name    TEXT    NOT NULL UNIQUE,
	created INTEGER NOT NULL
);

CREATE TABLE accounts (
	id            INTEGER PRIMARY KEY,
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
CREATE INDEX accounts_domain ON accounts(domain_id, address);

CREATE TABLE aliases (
	id        INTEGER PRIMARY KEY,
	address   TEXT    NOT NULL UNIQUE, -- "@domain" for a catch-all
	domain_id INTEGER NOT NULL REFERENCES domains(id),
	created   INTEGER NOT NULL
);
CREATE INDEX aliases_domain ON aliases(domain_id, address);

CREATE TABLE alias_targets (
	alias_id INTEGER NOT NULL REFERENCES aliases(id) ON DELETE CASCADE,
	position INTEGER NOT NULL,
	target   TEXT    NOT NULL,
	PRIMARY KEY (alias_id, position)
) WITHOUT ROWID;

CREATE TABLE mailboxes (
	id            INTEGER PRIMARY KEY,
	account_id    INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	name          TEXT    NOT NULL,
	special_use   TEXT    NOT NULL DEFAULT '',
	uidvalidity   INTEGER NOT NULL,
	uidnext       INTEGER NOT NULL DEFAULT 1,
	-- RFC 7162: mod-sequences are positive; an empty mailbox starts at 1
	-- and its first change takes 2.
	highestmodseq INTEGER NOT NULL DEFAULT 1,
	subscribed    INTEGER NOT NULL DEFAULT 0,
	-- Counters kept by the triggers on messages below.
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

-- A body is stored once however many messages share it; the trigger
-- messages_body_gc deletes it with the last message that references it.
CREATE TABLE bodies (
	id     INTEGER PRIMARY KEY,
	size   INTEGER NOT NULL,
	parsed BLOB,
	data   BLOB    NOT NULL
);

CREATE TABLE messages (
	mailbox_id    INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
	uid           INTEGER NOT NULL,
	body_id       INTEGER NOT NULL REFERENCES bodies(id),
	modseq        INTEGER NOT NULL,
	-- Normalised flags joined by single spaces: sorted, no duplicates.
	flags         TEXT    NOT NULL DEFAULT '',
	internal_date INTEGER NOT NULL, -- unix nanoseconds
	internal_tz   INTEGER NOT NULL, -- zone offset in seconds east of UTC
	size          INTEGER NOT NULL, -- length(prefix) + bodies.size
	prefix        BLOB    NOT NULL,
	PRIMARY KEY (mailbox_id, uid)
) WITHOUT ROWID;
CREATE INDEX messages_modseq ON messages(mailbox_id, modseq);
CREATE INDEX messages_body ON messages(body_id);

-- Expunged UIDs, remembered for QRESYNC (RFC 7162 §3.2.5). Bounded: see
-- the horizon constants in expunged.go.
CREATE TABLE expunged (
	mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
	uid        INTEGER NOT NULL,
	modseq     INTEGER NOT NULL,
	at         INTEGER NOT NULL, -- unix seconds
	PRIMARY KEY (mailbox_id, uid)
) WITHOUT ROWID;
CREATE INDEX expunged_modseq ON expunged(mailbox_id, modseq);
CREATE INDEX expunged_at ON expunged(at);

-- Mailbox counters. Triggers also fire for rows removed by ON DELETE
-- CASCADE, so deleting a mailbox or an account keeps them (and the body
-- reference counting) right without code on every path.
CREATE TRIGGER messages_count_insert AFTER INSERT ON messages BEGIN
	UPDATE mailboxes SET
		message_count = message_count + 1,
		message_bytes = message_bytes + NEW.size,
		unseen_count  = unseen_count + (instr(' ' || NEW.flags || ' ', ' \Seen ') = 0)
	WHERE id = NEW.mailbox_id;
END;

CREATE TRIGGER messages_count_delete AFTER DELETE ON messages BEGIN
	UPDATE mailboxes SET
		message_count = message_count - 1,
		message_bytes = message_bytes - OLD.size,
		unseen_count  = unseen_count - (instr(' ' || OLD.flags || ' ', ' \Seen ') = 0)
	WHERE id = OLD.mailbox_id;
END;

CREATE TRIGGER messages_count_flags AFTER UPDATE OF flags ON messages BEGIN
	UPDATE mailboxes SET
		unseen_count = unseen_count
			+ (instr(' ' || NEW.flags || ' ', ' \Seen ') = 0)
			- (instr(' ' || OLD.flags || ' ', ' \Seen ') = 0)
	WHERE id = NEW.mailbox_id;
END;

-- The last message referencing a body takes it along.
CREATE TRIGGER messages_body_gc AFTER DELETE ON messages
WHEN NOT EXISTS (SELECT 1 FROM messages WHERE body_id = OLD.body_id)
BEGIN
	DELETE FROM bodies WHERE id = OLD.body_id;
END;

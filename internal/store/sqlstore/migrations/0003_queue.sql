-- 0003_queue: the outbound queue (store.Queue) and DKIM signing keys
-- (store.DKIMKeys).

-- One row per queued message; its data is kept here until every
-- recipient is final, then the row (and its recipients) is deleted.
CREATE TABLE queue (
	id           INTEGER PRIMARY KEY,
	from_addr    TEXT    NOT NULL, -- '' for the null sender
	data         BLOB    NOT NULL,
	size         INTEGER NOT NULL,
	created      INTEGER NOT NULL, -- unix nanoseconds
	next_attempt INTEGER NOT NULL,
	attempts     INTEGER NOT NULL DEFAULT 0,
	last_error   TEXT    NOT NULL DEFAULT '',
	warned       INTEGER NOT NULL DEFAULT 0,
	lease_owner  TEXT    NOT NULL DEFAULT '',
	lease_until  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX queue_due ON queue(next_attempt);

CREATE TABLE queue_rcpts (
	queue_id   INTEGER NOT NULL REFERENCES queue(id) ON DELETE CASCADE,
	position   INTEGER NOT NULL,
	address    TEXT    NOT NULL,
	status     INTEGER NOT NULL DEFAULT 1, -- store.RcptStatus
	attempts   INTEGER NOT NULL DEFAULT 0,
	last_error TEXT    NOT NULL DEFAULT '',
	updated    INTEGER NOT NULL,
	PRIMARY KEY (queue_id, position)
) WITHOUT ROWID;

CREATE TABLE dkim_keys (
	domain_id   INTEGER NOT NULL REFERENCES domains(id) ON DELETE CASCADE,
	selector    TEXT    NOT NULL,
	algorithm   TEXT    NOT NULL,
	private_key BLOB    NOT NULL, -- PKCS #8 DER
	created     INTEGER NOT NULL,
	PRIMARY KEY (domain_id, selector)
) WITHOUT ROWID;

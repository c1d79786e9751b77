-- 0005_limits: quotas beyond the account's own, retention rules and
-- login blocks (store.Limits); as sqlstore/migrations/0005_limits.sql.

CREATE TABLE domain_quotas (
	domain_id   bigint PRIMARY KEY REFERENCES domains(id) ON DELETE CASCADE,
	quota_bytes bigint NOT NULL DEFAULT 0
);

CREATE TABLE quota_warnings (
	account_id bigint PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
	percent    int    NOT NULL
);

CREATE TABLE retention_rules (
	domain  text COLLATE "C" NOT NULL,
	account text COLLATE "C" NOT NULL,
	folder  text COLLATE "C" NOT NULL,
	days    int  NOT NULL,
	PRIMARY KEY (domain, account, folder)
);

CREATE TABLE login_blocks (
	key     text COLLATE "C" PRIMARY KEY,
	until   bigint NOT NULL,
	reason  text   NOT NULL DEFAULT '',
	created bigint NOT NULL
);

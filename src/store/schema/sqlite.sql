-- SQLite schema of the store, as an ordered list of migrations.  Migration
-- N is applied once, in its own transaction, and recorded in schema_version
-- (version, applied_at); opening a database applies only the missing ones.
-- Never edit a migration that has shipped: append a new one.
--
-- Times are seconds since the epoch.  A row is live while its expires_at is
-- greater than now.  Secrets (codes, tokens, session cookies) appear only as
-- their SHA-256 in base64url.
--
-- Embedded at build time by cmake/embed-sql.cmake: "-- migration N" starts
-- migration N, other "--" lines are comments, and the other lines are
-- joined without line breaks (a continued statement's next line starts
-- with spaces), so the text run is that of the lines, byte for byte.

-- migration 1
-- 1: initial schema
CREATE TABLE meta (
  name TEXT PRIMARY KEY,
  value TEXT NOT NULL);

CREATE TABLE clients (
  client_id TEXT PRIMARY KEY,
  doc TEXT NOT NULL);

CREATE TABLE scopes (
  name TEXT PRIMARY KEY,
  doc TEXT NOT NULL);

CREATE TABLE signing_keys (
  kid TEXT PRIMARY KEY,
  issuer TEXT NOT NULL,
  alg TEXT NOT NULL,
  sealed TEXT NOT NULL,
  public_jwk TEXT NOT NULL,
  created BIGINT NOT NULL,
  active_from BIGINT NOT NULL,
  retired_at BIGINT NOT NULL DEFAULT 0,
  expires_at BIGINT NOT NULL DEFAULT 0);
CREATE INDEX signing_keys_issuer ON signing_keys (issuer, created);

CREATE TABLE docs (
  kind TEXT NOT NULL,
  id TEXT NOT NULL,
  doc TEXT NOT NULL,
  expires_at BIGINT NOT NULL,
  PRIMARY KEY (kind, id));
CREATE INDEX docs_expires ON docs (expires_at);

-- grant_id is chosen when the code is issued; the grant row follows on redemption
CREATE TABLE codes (
  hash TEXT PRIMARY KEY,
  grant_id TEXT,
  doc TEXT NOT NULL,
  expires_at BIGINT NOT NULL,
  used INTEGER NOT NULL DEFAULT 0);
CREATE INDEX codes_expires ON codes (expires_at);

CREATE TABLE grants (
  grant_id TEXT PRIMARY KEY,
  client_id TEXT NOT NULL,
  sid TEXT,
  login_only INTEGER NOT NULL,
  doc TEXT NOT NULL,
  expires_at BIGINT NOT NULL,
  revoked INTEGER NOT NULL DEFAULT 0);
CREATE INDEX grants_sid ON grants (sid);
CREATE INDEX grants_expires ON grants (expires_at);

-- a grant's tokens go with it when it is swept
CREATE TABLE refresh_tokens (
  hash TEXT PRIMARY KEY,
  grant_id TEXT NOT NULL REFERENCES grants (grant_id) ON DELETE CASCADE,
  client_id TEXT NOT NULL,
  expires_at BIGINT NOT NULL,
  spent INTEGER NOT NULL DEFAULT 0);
CREATE INDEX refresh_tokens_grant ON refresh_tokens (grant_id);
CREATE INDEX refresh_tokens_expires ON refresh_tokens (expires_at);

CREATE TABLE access_tokens (
  hash TEXT PRIMARY KEY,
  grant_id TEXT REFERENCES grants (grant_id) ON DELETE CASCADE,
  doc TEXT NOT NULL,
  expires_at BIGINT NOT NULL);
CREATE INDEX access_tokens_grant ON access_tokens (grant_id);
CREATE INDEX access_tokens_expires ON access_tokens (expires_at);

CREATE TABLE sessions (
  hash TEXT PRIMARY KEY,
  doc TEXT NOT NULL,
  idle_expires BIGINT NOT NULL,
  abs_expires BIGINT NOT NULL);
CREATE INDEX sessions_idle ON sessions (idle_expires);
CREATE INDEX sessions_abs ON sessions (abs_expires);

CREATE TABLE jti (
  jti TEXT PRIMARY KEY,
  expires_at BIGINT NOT NULL);
CREATE INDEX jti_expires ON jti (expires_at);

-- append-only: audit, statistics and billing read it (never updated)
CREATE TABLE events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  type TEXT NOT NULL,
  time BIGINT NOT NULL,
  doc TEXT NOT NULL);
CREATE INDEX events_type ON events (type, time);
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
  BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
  BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;

-- migration 2

-- 2: registry_gen changes with every change to clients and scopes, in
-- the changing transaction, so a process can keep them parsed in
-- memory and know with one small read whether its copy is still
-- current.  A count and a random part: a restored backup can bring a
-- count back, never the same value.
INSERT INTO meta (name, value) VALUES ('registry_gen', '0')
  ON CONFLICT (name) DO NOTHING;
CREATE TRIGGER clients_added AFTER INSERT ON clients BEGIN
  UPDATE meta SET value = (CAST(value AS INTEGER) + 1) || '-' || lower(hex(randomblob(8))) WHERE name = 'registry_gen'; END;
CREATE TRIGGER clients_changed AFTER UPDATE ON clients BEGIN
  UPDATE meta SET value = (CAST(value AS INTEGER) + 1) || '-' || lower(hex(randomblob(8))) WHERE name = 'registry_gen'; END;
CREATE TRIGGER clients_removed AFTER DELETE ON clients BEGIN
  UPDATE meta SET value = (CAST(value AS INTEGER) + 1) || '-' || lower(hex(randomblob(8))) WHERE name = 'registry_gen'; END;
CREATE TRIGGER scopes_added AFTER INSERT ON scopes BEGIN
  UPDATE meta SET value = (CAST(value AS INTEGER) + 1) || '-' || lower(hex(randomblob(8))) WHERE name = 'registry_gen'; END;
CREATE TRIGGER scopes_changed AFTER UPDATE ON scopes BEGIN
  UPDATE meta SET value = (CAST(value AS INTEGER) + 1) || '-' || lower(hex(randomblob(8))) WHERE name = 'registry_gen'; END;
CREATE TRIGGER scopes_removed AFTER DELETE ON scopes BEGIN
  UPDATE meta SET value = (CAST(value AS INTEGER) + 1) || '-' || lower(hex(randomblob(8))) WHERE name = 'registry_gen'; END;

-- migration 3

-- 3: billing (spec/billing.md).  An event may be deleted only before
-- the boundary in event_retention, which only ever rises: the retention
-- sweep raises it past settlement years that can no longer be invoiced.
CREATE TABLE event_retention (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  boundary BIGINT NOT NULL);
INSERT INTO event_retention (id, boundary) VALUES (1, 0);
CREATE TRIGGER event_retention_rises BEFORE UPDATE ON event_retention
  WHEN NEW.boundary < OLD.boundary OR NEW.id <> OLD.id
  BEGIN SELECT RAISE(ABORT, 'the retention boundary only rises'); END;
CREATE TRIGGER event_retention_kept BEFORE DELETE ON event_retention
  BEGIN SELECT RAISE(ABORT, 'the retention boundary is kept'); END;
DROP TRIGGER events_no_delete;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
  WHEN OLD.time >= (SELECT boundary FROM event_retention WHERE id = 1)
  BEGIN SELECT RAISE(ABORT, 'events are append-only while their year can be invoiced'); END;
CREATE TABLE billing_costs (
  year INTEGER NOT NULL,
  item TEXT NOT NULL,
  amount_ore BIGINT NOT NULL CHECK (amount_ore >= 0),
  updated BIGINT NOT NULL,
  PRIMARY KEY (year, item));
CREATE TABLE billing_customers (
  orgno TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  reference TEXT NOT NULL,
  updated BIGINT NOT NULL);
CREATE TABLE billing_extras (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  year INTEGER NOT NULL,
  orgno TEXT NOT NULL,
  text TEXT NOT NULL,
  quantity BIGINT NOT NULL CHECK (quantity > 0),
  unit_ore BIGINT NOT NULL CHECK (unit_ore >= 0),
  created BIGINT NOT NULL);
CREATE INDEX billing_extras_year ON billing_extras (year, orgno);
CREATE TABLE billing_runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  year INTEGER NOT NULL,
  time BIGINT NOT NULL,
  doc TEXT NOT NULL);

-- migration 4
-- 4: the SAML proxy's service providers (src/saml/sp.c owns the document:
-- the registration reduced to the supported profile).
CREATE TABLE saml_sps (
  entity_id TEXT PRIMARY KEY,
  doc TEXT NOT NULL);

-- migration 5

-- 5: KRR (spec/krr.md).  A person's record holds current values only, a
-- column per field (times in ms since the epoch, 0 absent), with the
-- number of its last change; every change also appends to the history (a
-- document).  krr_seq's one row counts the changes: a writer takes the
-- next number by updating it, so writers commit in number order and the
-- feed for local copies never skips a late commit.  The records are kept
-- in pid order (WITHOUT ROWID): a lookup reads each from its key.
CREATE TABLE krr_persons (
  pid TEXT PRIMARY KEY,
  change_id BIGINT NOT NULL UNIQUE,
  status TEXT NOT NULL,
  reserved INTEGER NOT NULL,
  reserved_at BIGINT NOT NULL,
  reservation_updated BIGINT NOT NULL,
  email TEXT,
  email_updated BIGINT NOT NULL,
  email_verified BIGINT NOT NULL,
  mobile TEXT,
  mobile_updated BIGINT NOT NULL,
  mobile_verified BIGINT NOT NULL,
  mailbox TEXT,
  mailbox_provider TEXT,
  cert TEXT,
  lang TEXT,
  lang_updated BIGINT NOT NULL) WITHOUT ROWID;
CREATE TABLE krr_history (
  change_id BIGINT PRIMARY KEY,
  pid TEXT NOT NULL,
  time BIGINT NOT NULL,
  doc TEXT NOT NULL);
CREATE INDEX krr_history_pid ON krr_history (pid, change_id);
CREATE TABLE krr_seq (
  one INTEGER PRIMARY KEY CHECK (one = 1),
  n BIGINT NOT NULL);
INSERT INTO krr_seq (one, n) VALUES (1, 0);

-- migration 6

-- 6: the back-channel logout outbox (spec/idporten-oidc.md §20).  One row
-- per (client, sid) to tell, doc the sender's (iss, client_id, sid, sub).
-- A node leases a due row (lease_owner until lease_until), sends, and
-- deletes it, gives it back with a later next_at, or marks it dead
-- (dead_at, kept 30 days).  A lapsed lease makes the row due for any node.
CREATE TABLE logout_outbox (
  id TEXT PRIMARY KEY,
  doc TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_at BIGINT NOT NULL,
  lease_until BIGINT NOT NULL DEFAULT 0,
  lease_owner TEXT,
  expires_at BIGINT NOT NULL,
  dead_at BIGINT NOT NULL DEFAULT 0);
CREATE INDEX logout_outbox_due ON logout_outbox (dead_at, next_at);

-- migration 7

-- 7: the fields of an event that billing and the statistics count
-- (docs/billing.md) as columns, filled by the insert from the document
-- (SQ_EVENT_ADD) for authentication and maskinporten_token events, NULL
-- for other types: a year's sums read the columns and an index instead of
-- parsing every event's JSON.  The values are json_extract's (true is 1).
-- Existing events get theirs here, the append-only trigger lifted for
-- this one update.  events_billing serves the billing run: billable
-- authentications grouped by customer and eID, read from the index alone.
ALTER TABLE events ADD COLUMN customer TEXT;
ALTER TABLE events ADD COLUMN client_id TEXT;
ALTER TABLE events ADD COLUMN eid TEXT;
ALTER TABLE events ADD COLUMN acr TEXT;
ALTER TABLE events ADD COLUMN sso INTEGER;
ALTER TABLE events ADD COLUMN billable INTEGER;
ALTER TABLE events ADD COLUMN consumer TEXT;
ALTER TABLE events ADD COLUMN supplier TEXT;
DROP TRIGGER events_no_update;
UPDATE events SET customer = json_extract(doc, '$.customer'),
  client_id = json_extract(doc, '$.client_id'), eid = json_extract(doc, '$.eid'),
  acr = json_extract(doc, '$.acr'), sso = json_extract(doc, '$.sso'),
  billable = json_extract(doc, '$.billable'), consumer = json_extract(doc, '$.consumer'),
  supplier = json_extract(doc, '$.supplier')
  WHERE type IN ('authentication', 'maskinporten_token');
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
  BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE INDEX events_billing ON events (type, billable, customer, eid, time);

-- migration 8

-- 8: a refresh token may be bound to a DPoP key (RFC 7638 thumbprint),
-- spec/idporten-oidc.md §19; NULL: unbound.
ALTER TABLE refresh_tokens ADD COLUMN jkt TEXT;

-- migration 9

-- 9: the local register of representation (docs/representation.md): the
-- persons, the organisations (a sub-unit names its main unit as parent),
-- the resources' names, a person's rights on a resource for an
-- organisation, and the fullmakts (who may act for whom, in which roles,
-- from when until when; valid_to 0: no end).
CREATE TABLE repr_persons (
  pid TEXT PRIMARY KEY,
  name TEXT NOT NULL);
CREATE TABLE repr_orgs (
  orgno TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  unit_type TEXT NOT NULL,
  parent TEXT,
  deleted INTEGER NOT NULL DEFAULT 0);
CREATE TABLE repr_resources (
  resource TEXT PRIMARY KEY,
  name TEXT NOT NULL);
CREATE TABLE repr_rights (
  pid TEXT NOT NULL,
  orgno TEXT NOT NULL,
  resource TEXT NOT NULL,
  rights TEXT NOT NULL,
  PRIMARY KEY (pid, resource, orgno));
CREATE TABLE repr_fullmakts (
  representative TEXT NOT NULL,
  authorizer TEXT NOT NULL,
  permissions TEXT NOT NULL,
  valid_from INTEGER NOT NULL,
  valid_to INTEGER NOT NULL,
  PRIMARY KEY (representative, authorizer));

-- migration 10

-- 10: the person register (docs/people.md): a national identity number,
-- whether it is the person's unique identity (0: the register knows the
-- person under another number too), and the foreign identifiers
-- registered on the person by country, which eIDAS logins are matched
-- against (spec/ansattporten-eidas-testid.md §2.4).  One identifier may sit
-- on several persons: such a match is ambiguous and gives none.
CREATE TABLE people (
  pid TEXT PRIMARY KEY,
  unique_identity INTEGER NOT NULL DEFAULT 1);
CREATE TABLE people_foreign (
  country TEXT NOT NULL,
  ident TEXT NOT NULL,
  pid TEXT NOT NULL REFERENCES people (pid) ON DELETE CASCADE,
  PRIMARY KEY (country, ident, pid));
CREATE INDEX people_foreign_pid ON people_foreign (pid);

-- migration 11

-- 11: when a grant was revoked (seconds), for the revocation list of
-- spec/selfservice-api.md §10: the access tokens of a client's revoked
-- grants that have not yet expired.  Grants revoked before this migration
-- get its time.  grants_revoked finds a client's revoked grants.
ALTER TABLE grants ADD COLUMN revoked_at BIGINT;
UPDATE grants SET revoked_at = CAST(strftime('%s', 'now') AS INTEGER) WHERE revoked = 1;
CREATE INDEX grants_revoked ON grants (client_id) WHERE revoked = 1;

-- migration 12

-- 12: the national identity number of the person a session is of, beside
-- the session's document (which holds it as it is too), so that every
-- session of a person can be ended (a MinID password reset,
-- spec/minid.md §6 step 4).  NULL for a foreign person without one.
-- Sessions written before this migration keep NULL until their next
-- write: until then no search by person finds them.
ALTER TABLE sessions ADD COLUMN pid TEXT;
CREATE INDEX sessions_pid ON sessions (pid);

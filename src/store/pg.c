/*
 * PostgreSQL backend, the operations of the store facets (see pg_db.c for
 * the pool, reconnection and migrations).  Behaviour matches the SQLite
 * backend (sqlite.c) case for case; the same test cases run against both.
 *
 * Single-use records are consumed by one statement (UPDATE/DELETE ...
 * RETURNING: a concurrent second statement waits for the row lock, then
 * re-checks its WHERE against the committed row and finds nothing), or
 * inside a transaction holding the row with SELECT ... FOR UPDATE; never
 * read-then-delete in C.  Times are bound from time_now(), never the
 * server's clock, so every node and the tests agree on "now".
 */
#ifdef HAVE_LIBPQ

#include <stdlib.h>
#include <string.h>

#include "core/timeutil.h"
#include "store/pg_int.h"

#define PG_MAX_KEYS 4096       /* key_list rows */
#define PG_TOMBSTONE_TTL 86400 /* how long a revoked unknown grant id stays blocked */

/* Sweep one batch of expired rows of a table by its key; $1 now, $2 batch size. */
#define PG_SWEEP(table, key, cond)                                                          \
	"DELETE FROM " table " WHERE (" key ") IN (SELECT " key " FROM " table " WHERE " cond \
	" LIMIT $2::bigint)"

/*
 * The counted fields of an event (migration 8): taken from the document
 * by the insert itself, for the two types billing and the statistics
 * count; no jsonb (it refuses "\u0000").
 */
#define PG_EVENT_COLS "customer, client_id, eid, acr, sso, billable, consumer, supplier"
#define PG_EVENT_REC                                                                        \
	"json_to_record(CASE WHEN $1::text IN ('authentication', 'maskinporten_token')"     \
	" THEN $3::json END) AS r(customer text, client_id text, eid text, acr text,"       \
	" sso boolean, billable boolean, consumer text, supplier text)"

/* KRR's writers' advisory lock ("KRR"), held by each until it commits (PG_KRR_PUT). */
#define PG_KRR_LOCK "4935250"

/* Every statement the backend runs; values are always bound, never pasted. */
const char *const store_pg_sql[PG_N] = {
	[PG_META_GET] = "SELECT value FROM meta WHERE name = $1",
	[PG_META_PUT_NEW] = "INSERT INTO meta (name, value) VALUES ($1, $2)"
			    " ON CONFLICT (name) DO NOTHING",

	[PG_CLIENT_GET] = "SELECT doc FROM clients WHERE client_id = $1",
	[PG_CLIENT_CREATE] = "INSERT INTO clients (client_id, doc) VALUES ($1, $2)",
	[PG_CLIENT_UPDATE] = "UPDATE clients SET doc = $2 WHERE client_id = $1",
	[PG_CLIENT_DELETE] = "DELETE FROM clients WHERE client_id = $1",
	/* byte order, as SQLite's BINARY collation: no locale in the API's order */
	[PG_CLIENT_LIST] = "SELECT doc FROM clients ORDER BY client_id COLLATE \"C\"",

	[PG_SCOPE_GET] = "SELECT doc FROM scopes WHERE name = $1",
	[PG_SCOPE_PUT] = "INSERT INTO scopes (name, doc) VALUES ($1, $2)"
			 " ON CONFLICT (name) DO UPDATE SET doc = excluded.doc",
	[PG_SCOPE_DELETE] = "DELETE FROM scopes WHERE name = $1",
	[PG_SCOPE_LIST] = "SELECT doc FROM scopes ORDER BY name COLLATE \"C\"",

	[PG_SAML_SP_GET] = "SELECT doc FROM saml_sps WHERE entity_id = $1",
	[PG_SAML_SP_PUT] = "INSERT INTO saml_sps (entity_id, doc) VALUES ($1, $2)"
			   " ON CONFLICT (entity_id) DO UPDATE SET doc = excluded.doc",
	[PG_SAML_SP_DELETE] = "DELETE FROM saml_sps WHERE entity_id = $1",
	[PG_SAML_SP_LIST] = "SELECT doc FROM saml_sps ORDER BY entity_id COLLATE \"C\"",

	[PG_KEY_ADD] = "INSERT INTO signing_keys (kid, issuer, alg, sealed, public_jwk, created,"
		       " active_from, retired_at, expires_at)"
		       " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
	[PG_KEY_LIST] = "SELECT kid, issuer, alg, sealed, public_jwk, created, active_from,"
			" retired_at, expires_at FROM signing_keys"
			" WHERE issuer = $1 AND (expires_at = 0 OR expires_at > $2::bigint)"
			" ORDER BY created DESC, kid COLLATE \"C\" DESC",
	[PG_KEY_RETIRE] = "UPDATE signing_keys SET retired_at = $2, expires_at = $3 WHERE kid = $1",
	[PG_KEY_RESEAL] = "UPDATE signing_keys SET sealed = $3 WHERE kid = $1 AND sealed = $2",

	/* an expired row no longer holds its id: a put may take it over */
	[PG_DOC_PUT] = "INSERT INTO docs (kind, id, doc, expires_at) VALUES ($1, $2, $3, $4)"
		       " ON CONFLICT (kind, id) DO UPDATE SET doc = excluded.doc,"
		       " expires_at = excluded.expires_at WHERE docs.expires_at <= $5::bigint",
	[PG_DOC_GET] = "SELECT doc FROM docs WHERE kind = $1 AND id = $2 AND expires_at > $3::bigint",
	[PG_DOC_UPDATE] = "UPDATE docs SET doc = $3"
			  " WHERE kind = $1 AND id = $2 AND expires_at > $4::bigint",
	[PG_DOC_TAKE] = "DELETE FROM docs WHERE kind = $1 AND id = $2 AND expires_at > $3::bigint"
			" RETURNING doc",
	[PG_DOC_DELETE] = "DELETE FROM docs WHERE kind = $1 AND id = $2",

	[PG_CODE_PUT] = "INSERT INTO codes (hash, grant_id, doc, expires_at) VALUES ($1, $2, $3, $4)",
	[PG_CODE_CONSUME] = "UPDATE codes SET used = true"
			    " WHERE hash = $1 AND NOT used AND expires_at > $2::bigint"
			    " RETURNING doc, grant_id",
	[PG_CODE_PEEK] = "SELECT used, grant_id FROM codes WHERE hash = $1 AND expires_at > $2::bigint",

	[PG_GRANT_PUT] = "INSERT INTO grants (grant_id, client_id, sid, login_only, doc, expires_at)"
			 " VALUES ($1, $2, $3, $4, $5, $6)",
	[PG_GRANT_FIND_PERSON] = "SELECT doc, grant_id, client_id, expires_at FROM grants"
				 " WHERE NOT revoked AND expires_at > $2"
				 " AND (doc::jsonb ->> 'pid') = $1 ORDER BY grant_id LIMIT $3",
	[PG_GRANT_GET] = "SELECT doc FROM grants"
			 " WHERE grant_id = $1 AND NOT revoked AND expires_at > $2::bigint",
	/*
	 * Revoking an id that has no grant yet leaves a revoked placeholder, so
	 * a redemption still in flight cannot create it afterwards (a code
	 * replayed while its first use is being served).
	 */
	[PG_GRANT_REVOKE] = "INSERT INTO grants (grant_id, client_id, sid, login_only, doc,"
			    " expires_at, revoked, revoked_at)"
			    " VALUES ($1, '', NULL, false, '{}', $2, true, $3)"
			    " ON CONFLICT (grant_id) DO UPDATE SET revoked = true,"
			    " revoked_at = coalesce(grants.revoked_at, excluded.revoked_at)",
	[PG_GRANT_REVOKE_SID] = "UPDATE grants SET revoked = true, revoked_at = $2"
				" WHERE sid = $1 AND login_only AND NOT revoked",

	[PG_REFRESH_PUT] = "INSERT INTO refresh_tokens (hash, grant_id, client_id, expires_at, jkt)"
			   " VALUES ($1, $2, $3, $4, $5)",
	[PG_REFRESH_GET] = "SELECT r.grant_id, r.client_id, r.expires_at, r.spent,"
			   " g.revoked, g.expires_at, r.jkt FROM refresh_tokens r"
			   " JOIN grants g ON g.grant_id = r.grant_id WHERE r.hash = $1",
	/* the same, holding the token's row until the rotation commits */
	[PG_REFRESH_LOCK] = "SELECT r.grant_id, r.client_id, r.expires_at, r.spent,"
			    " g.revoked, g.expires_at, r.jkt FROM refresh_tokens r"
			    " JOIN grants g ON g.grant_id = r.grant_id WHERE r.hash = $1"
			    " FOR UPDATE OF r",
	[PG_REFRESH_SPEND] = "UPDATE refresh_tokens SET spent = true WHERE hash = $1 AND NOT spent",

	[PG_TOKEN_PUT] = "INSERT INTO access_tokens (hash, grant_id, doc, expires_at)"
			 " VALUES ($1, $2, $3, $4)",
	[PG_TOKEN_GET] = "SELECT t.doc, t.grant_id, g.doc FROM access_tokens t"
			 " LEFT JOIN grants g ON g.grant_id = t.grant_id"
			 " WHERE t.hash = $1 AND t.expires_at > $2::bigint AND (t.grant_id IS NULL"
			 " OR (NOT g.revoked AND g.expires_at > $2::bigint))",
	/* the revocation list: access tokens of a client's revoked grants, still unexpired */
	[PG_TOKEN_FIND_REVOKED] = "SELECT t.doc::jsonb ->> 'jti', coalesce(g.revoked_at, 0),"
				  " t.expires_at"
				  " FROM grants g JOIN access_tokens t ON t.grant_id = g.grant_id"
				  " WHERE g.client_id = $1 AND g.revoked AND t.expires_at > $2::bigint"
				  " AND t.doc::jsonb ->> 'jti' IS NOT NULL"
				  " ORDER BY coalesce(g.revoked_at, 0) DESC, t.expires_at DESC, t.hash LIMIT $3",

	[PG_SESSION_PUT] = "INSERT INTO sessions (hash, doc, pid, idle_expires, abs_expires)"
			   " VALUES ($1, $2, $3, least($4::bigint, $5::bigint), $5::bigint)",
	[PG_SESSION_GET] = "SELECT doc FROM sessions"
			   " WHERE hash = $1 AND idle_expires > $2::bigint AND abs_expires > $2::bigint",
	[PG_SESSION_UPDATE] = "UPDATE sessions SET doc = $2, pid = $3,"
			      " idle_expires = least($4::bigint, abs_expires)"
			      " WHERE hash = $1 AND idle_expires > $5::bigint"
			      " AND abs_expires > $5::bigint",
	[PG_SESSION_DELETE] = "DELETE FROM sessions WHERE hash = $1",
	[PG_SESSION_COUNT] = "SELECT count(*) FROM sessions"
			     " WHERE idle_expires > $1 AND abs_expires > $1",
	/* nodes taking expired sessions at once skip each other's rows */
	[PG_SESSION_TAKE_EXPIRED] = "DELETE FROM sessions WHERE hash IN (SELECT hash FROM sessions"
				    " WHERE idle_expires <= $1::bigint OR abs_expires <= $1::bigint"
				    " LIMIT $2::bigint FOR UPDATE SKIP LOCKED) RETURNING doc",
	/* a session locked by a write is waited for: every one of the person's ends */
	[PG_SESSION_TAKE_PERSON] = "DELETE FROM sessions WHERE hash IN (SELECT hash FROM sessions"
				   " WHERE pid = $1 LIMIT $2::bigint FOR UPDATE) RETURNING doc",

	/* back-channel logout outbox: the oldest due row, leased by one statement */
	[PG_OUTBOX_ADD] = "INSERT INTO logout_outbox (id, doc, next_at, expires_at)"
			  " VALUES ($1, $2, $3, $4)",
	[PG_OUTBOX_CLAIM] = "UPDATE logout_outbox SET lease_until = $2, lease_owner = $3,"
			    " attempts = attempts + 1 WHERE id = (SELECT id FROM logout_outbox"
			    " WHERE dead_at = 0 AND next_at <= $1::bigint AND lease_until <= $1::bigint"
			    " ORDER BY next_at LIMIT 1 FOR UPDATE SKIP LOCKED)"
			    " RETURNING (doc::jsonb || jsonb_build_object('id', id, 'attempts',"
			    " attempts, 'expires_at', expires_at))::text",
	[PG_OUTBOX_RETRY] = "UPDATE logout_outbox SET next_at = $3, lease_until = 0,"
			    " lease_owner = NULL WHERE id = $1 AND lease_owner = $2",
	[PG_OUTBOX_DONE] = "DELETE FROM logout_outbox WHERE id = $1 AND lease_owner = $2",
	[PG_OUTBOX_DEAD] = "UPDATE logout_outbox SET dead_at = $3, lease_until = 0,"
			   " lease_owner = NULL WHERE id = $1 AND lease_owner = $2",

	[PG_JTI_PUT] = "INSERT INTO jti (jti, expires_at) VALUES ($1, $2)"
		       " ON CONFLICT (jti) DO UPDATE SET expires_at = excluded.expires_at"
		       " WHERE jti.expires_at <= $3::bigint",
	/* the same in two writes that can be held back (pg_jti_remember) */
	[PG_JTI_CLEAR] = "DELETE FROM jti WHERE jti = $1 AND expires_at <= $2::bigint",
	[PG_JTI_ADD] = "INSERT INTO jti (jti, expires_at) VALUES ($1, $2)",

	[PG_EVENT_ADD] = "INSERT INTO events (type, time, doc, " PG_EVENT_COLS ")"
			 " SELECT $1::text, $2::bigint, $3::text, " PG_EVENT_COLS " FROM " PG_EVENT_REC,
	[PG_EVENT_COUNT] = "SELECT count(*) FROM events WHERE type = $1",
	[PG_EVENT_FIND] = "SELECT doc FROM events WHERE type = $1"
			  " AND (doc::jsonb ->> $2) = $3 ORDER BY id DESC LIMIT $4",

	/*
	 * KRR (pg_krr.c): a lookup's whole batch is one query, its numbers one
	 * text[] parameter matched against the primary key
	 */
	[PG_KRR_GET] = "SELECT pid, status, reserved, reserved_at, reservation_updated, email,"
		" email_updated, email_verified, mobile, mobile_updated, mobile_verified,"
		" mailbox, mailbox_provider, cert, lang, lang_updated FROM krr_persons"
		" WHERE pid = $1",
	[PG_KRR_GET_MANY] = "SELECT pid, status, reserved, reserved_at, reservation_updated, email,"
		" email_updated, email_verified, mobile, mobile_updated, mobile_verified,"
		" mailbox, mailbox_provider, cert, lang, lang_updated FROM krr_persons"
		" WHERE pid = ANY($1::text[])",
	/*
	 * One statement: the advisory lock (PG_KRR_LOCK), held to the commit,
	 * orders the writers, and the number is taken after it; old sees the
	 * record as it was before the statement.  $19 (since) above 0 keeps a
	 * record of that number or above: nothing is written, up is empty.
	 */
	[PG_KRR_PUT] = "WITH lk AS (SELECT pg_advisory_xact_lock(" PG_KRR_LOCK ")), seq AS (SELECT"
		" nextval('krr_change_seq') AS n FROM lk),"
		" old AS (SELECT change_id FROM krr_persons WHERE pid = $1::text), up AS"
		" (INSERT INTO krr_persons (change_id, pid, status, reserved, reserved_at,"
		" reservation_updated, email, email_updated, email_verified, mobile,"
		" mobile_updated, mobile_verified, mailbox, mailbox_provider, cert, lang,"
		" lang_updated) SELECT n, $1::text, $2::text, $3::integer, $4::bigint,"
		" $5::bigint, $6::text, $7::bigint, $8::bigint, $9::text, $10::bigint,"
		" $11::bigint, $12::text, $13::text, NULLIF($14::text, ''), $15::text,"
		" $16::bigint FROM seq WHERE NOT EXISTS (SELECT 1 FROM old WHERE $19::bigint > 0"
		" AND change_id >= $19::bigint) ON CONFLICT (pid) DO UPDATE SET change_id ="
		" excluded.change_id, status = excluded.status, reserved ="
		" excluded.reserved, reserved_at = excluded.reserved_at,"
		" reservation_updated = excluded.reservation_updated, email ="
		" excluded.email, email_updated = excluded.email_updated, email_verified ="
		" excluded.email_verified, mobile = excluded.mobile, mobile_updated ="
		" excluded.mobile_updated, mobile_verified = excluded.mobile_verified,"
		" mailbox = excluded.mailbox, mailbox_provider ="
		" excluded.mailbox_provider, cert = excluded.cert, lang = excluded.lang,"
		" lang_updated = excluded.lang_updated RETURNING change_id), h AS (INSERT"
		" INTO krr_history (change_id, pid, time, doc) SELECT n, $1::text,"
		" $17::bigint, $18::text FROM seq WHERE EXISTS (SELECT 1 FROM up)) SELECT"
		" (SELECT change_id FROM up),"
		" COALESCE((SELECT change_id FROM old), 0)",
	/* one statement, one snapshot: the newest number and the page agree */
	[PG_KRR_CHANGES] = "SELECT s.n, p.change_id, p.pid, p.status, p.reserved, p.reserved_at,"
		" p.reservation_updated, p.email, p.email_updated, p.email_verified,"
		" p.mobile, p.mobile_updated, p.mobile_verified, p.mailbox,"
		" p.mailbox_provider, p.cert, p.lang, p.lang_updated FROM (SELECT"
		" COALESCE(max(change_id), 0) AS n FROM krr_persons) s LEFT"
		" JOIN krr_persons p ON p.change_id >= $1::bigint AND p.change_id <= s.n"
		" ORDER BY p.change_id LIMIT $2::bigint",
	[PG_KRR_LIST] = "SELECT pid, status, reserved, reserved_at, reservation_updated, email,"
		" email_updated, email_verified, mobile, mobile_updated, mobile_verified,"
		" mailbox, mailbox_provider, cert, lang, lang_updated FROM krr_persons"
		" WHERE pid > $1::text ORDER BY pid LIMIT $2::bigint",
	[PG_KRR_HISTORY] = "SELECT change_id, time, doc FROM krr_history WHERE pid = $1"
			   " ORDER BY change_id",

	/* the local register of representation (pg_repr.c) */
	[PG_REPR_PERSON_PUT] = "INSERT INTO repr_persons (pid, name) VALUES ($1, $2)"
			       " ON CONFLICT (pid) DO UPDATE SET name = excluded.name",
	[PG_REPR_PERSON_GET] = "SELECT json_build_object('pid', pid, 'name', name)::text"
			       " FROM repr_persons WHERE pid = $1",
	[PG_REPR_ORG_PUT] = "INSERT INTO repr_orgs (orgno, name, unit_type, parent, deleted)"
			    " VALUES ($1, $2, $3, $4, $5::boolean) ON CONFLICT (orgno) DO UPDATE SET"
			    " name = excluded.name, unit_type = excluded.unit_type,"
			    " parent = excluded.parent, deleted = excluded.deleted",
	[PG_REPR_RESOURCE_PUT] = "INSERT INTO repr_resources (resource, name) VALUES ($1, $2)"
				 " ON CONFLICT (resource) DO UPDATE SET name = excluded.name",
	[PG_REPR_RESOURCE_GET] = "SELECT json_build_object('resource', resource, 'name', name)::text"
				 " FROM repr_resources WHERE resource = $1",
	[PG_REPR_RIGHT_PUT] = "INSERT INTO repr_rights (pid, orgno, resource, rights)"
			      " VALUES ($1, $2, $3, $4) ON CONFLICT (pid, resource, orgno)"
			      " DO UPDATE SET rights = excluded.rights",
	[PG_REPR_REPORTEES] = "SELECT json_build_object('orgno', o.orgno, 'name', o.name,"
			      " 'unit_type', o.unit_type, 'parent', o.parent, 'deleted', o.deleted,"
			      " 'rights', r.rights::json)::text FROM repr_rights r JOIN repr_orgs o"
			      " ON o.orgno = r.orgno WHERE r.pid = $1 AND r.resource = $2"
			      " AND r.rights <> '[]' ORDER BY o.orgno",
	[PG_REPR_FULLMAKT_PUT] = "INSERT INTO repr_fullmakts (representative, authorizer,"
				 " permissions, valid_from, valid_to) VALUES ($1, $2, $3,"
				 " $4::bigint, $5::bigint) ON CONFLICT (representative, authorizer)"
				 " DO UPDATE SET permissions = excluded.permissions,"
				 " valid_from = excluded.valid_from, valid_to = excluded.valid_to",
	[PG_REPR_FULLMAKTS] = "SELECT json_build_object('authorizer', f.authorizer, 'name', p.name,"
			      " 'permissions', f.permissions::json)::text FROM repr_fullmakts f"
			      " LEFT JOIN repr_persons p ON p.pid = f.authorizer"
			      " WHERE f.representative = $1 AND f.valid_from <= $2::bigint"
			      " AND (f.valid_to = 0 OR f.valid_to > $2::bigint) ORDER BY f.authorizer",

	/* the person register (pg_people.c) */
	[PG_PEOPLE_PUT] = "INSERT INTO people (pid, unique_identity) VALUES ($1, $2)"
			  " ON CONFLICT (pid) DO UPDATE SET unique_identity = excluded.unique_identity",
	[PG_PEOPLE_FOREIGN_CLEAR] = "DELETE FROM people_foreign WHERE pid = $1",
	[PG_PEOPLE_FOREIGN_ADD] = "INSERT INTO people_foreign (country, ident, pid)"
				  " SELECT $2, $3, pid FROM people WHERE pid = $1"
				  " ON CONFLICT (country, ident, pid) DO UPDATE SET pid = excluded.pid",
	[PG_PEOPLE_GET] = "SELECT json_build_object('pid', p.pid, 'unique', p.unique_identity,"
			  " 'foreign', (SELECT coalesce(json_agg(json_build_object('country',"
			  " f.country, 'id', f.ident) ORDER BY f.country, f.ident), '[]'::json)"
			  " FROM people_foreign f WHERE f.pid = p.pid))::text FROM people p"
			  " WHERE p.pid = $1",
	[PG_PEOPLE_MATCH] = "SELECT to_json(pid)::text FROM people_foreign"
			    " WHERE country = $1 AND ident = $2 ORDER BY pid",

	[PG_SWEEP_CODES] = PG_SWEEP("codes", "hash", "expires_at <= $1::bigint"),
	[PG_SWEEP_DOCS] = PG_SWEEP("docs", "kind, id", "expires_at <= $1::bigint"),
	[PG_SWEEP_REFRESH] = PG_SWEEP("refresh_tokens", "hash", "expires_at <= $1::bigint"),
	[PG_SWEEP_TOKENS] = PG_SWEEP("access_tokens", "hash", "expires_at <= $1::bigint"),
	/*
	 * Sessions are ended, and announced, by session_take_expired; what is
	 * left a day on (no node took it) goes here unannounced.
	 */
	[PG_SWEEP_SESSIONS] = PG_SWEEP("sessions", "hash",
				       "idle_expires <= $1::bigint - 86400"
				       " OR abs_expires <= $1::bigint - 86400"),
	[PG_SWEEP_JTI] = PG_SWEEP("jti", "jti", "expires_at <= $1::bigint"),
	/* given-up logout deliveries are kept 30 days for operators */
	[PG_SWEEP_OUTBOX] = PG_SWEEP("logout_outbox", "id",
				     "dead_at > 0 AND dead_at <= $1::bigint - 2592000"),
	/* last: what is left of an expired grant's tokens goes with it (cascade) */
	[PG_SWEEP_GRANTS] = PG_SWEEP("grants", "grant_id", "expires_at <= $1::bigint"),

	/* billing (pg_billing.c): sums in the database over the counted
	 * columns, one row per group; text in byte order (the columns'
	 * collation) and NULL first, as SQLite sorts */
	[PG_BILL_VOLUME] = "SELECT customer, eid, count(*) FROM events"
			   " WHERE type = 'authentication' AND billable AND time >= $1::bigint"
			   " AND time < $2::bigint"
			   " GROUP BY 1, 2 ORDER BY 1 NULLS FIRST, 2 NULLS FIRST",
	[PG_BILL_AUTH] = "SELECT to_char(to_timestamp(time) AT TIME ZONE 'UTC', 'YYYY-MM'),"
			 " customer, client_id, eid, acr, count(*) FILTER (WHERE sso IS NOT TRUE),"
			 " count(*) FILTER (WHERE sso), count(*) FILTER (WHERE billable)"
			 " FROM events WHERE type = 'authentication' AND time >= $1::bigint"
			 " AND time < $2::bigint"
			 " GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2 NULLS FIRST, 3 NULLS FIRST,"
			 " 4 NULLS FIRST, 5 NULLS FIRST",
	[PG_BILL_TOKENS] = "SELECT to_char(to_timestamp(time) AT TIME ZONE 'UTC', 'YYYY-MM'),"
			   " consumer, supplier, count(*) FROM events"
			   " WHERE type = 'maskinporten_token' AND time >= $1::bigint"
			   " AND time < $2::bigint GROUP BY 1, 2, 3"
			   " ORDER BY 1, 2 NULLS FIRST, 3 NULLS FIRST",
	[PG_BILL_DAILY] = "SELECT to_char(to_timestamp(time) AT TIME ZONE 'UTC', 'YYYY-MM-DD'),"
			  " count(*) FILTER (WHERE type = 'authentication' AND sso IS NOT TRUE),"
			  " count(*) FILTER (WHERE type = 'authentication' AND sso),"
			  " count(*) FILTER (WHERE type = 'maskinporten_token')"
			  " FROM events WHERE type IN ('authentication', 'maskinporten_token')"
			  " AND time >= $1::bigint AND time < $2::bigint GROUP BY 1 ORDER BY 1",
	[PG_BILL_COSTS] = "SELECT item, amount_ore FROM billing_costs WHERE year = $1::bigint"
			  " ORDER BY item COLLATE \"C\"",
	[PG_BILL_CUSTOMERS] = "SELECT orgno, name, reference FROM billing_customers"
			      " ORDER BY orgno COLLATE \"C\"",
	[PG_BILL_EXTRAS] = "SELECT orgno, text, quantity, unit_ore FROM billing_extras"
			   " WHERE year = $1::bigint ORDER BY orgno COLLATE \"C\", id",
	[PG_BILL_COST_SET] = "INSERT INTO billing_costs (year, item, amount_ore, updated)"
			     " VALUES ($1::bigint, $2, $3::bigint, $4::bigint)"
			     " ON CONFLICT (year, item) DO UPDATE"
			     " SET amount_ore = excluded.amount_ore, updated = excluded.updated",
	[PG_BILL_CUSTOMER_SET] = "INSERT INTO billing_customers (orgno, name, reference, updated)"
				 " VALUES ($1, $2, $3, $4::bigint) ON CONFLICT (orgno) DO UPDATE"
				 " SET name = excluded.name, reference = excluded.reference,"
				 " updated = excluded.updated",
	[PG_BILL_EXTRA_ADD] = "INSERT INTO billing_extras (year, orgno, text, quantity, unit_ore, created)"
			      " VALUES ($1::bigint, $2, $3, $4::bigint, $5::bigint, $6::bigint)",
	[PG_BILL_RUN_PUT] = "INSERT INTO billing_runs (year, time, doc)"
			    " VALUES ($1::bigint, $2::bigint, $3)",
	[PG_BILL_RETAIN] = "UPDATE event_retention SET boundary = $1::bigint"
			   " WHERE id = 1 AND boundary < $1::bigint",
	/* a year's sums read every event of it: longer than the 15 s a request may take */
	[PG_BILL_LONG] = "SELECT set_config('statement_timeout', '900s', true)",
	[PG_BILL_OLDEST] = "SELECT time FROM events ORDER BY id LIMIT 1",
	/* oldest first: the rows a batch wants are at the front of the id order */
	[PG_BILL_RETIRE] = "DELETE FROM events WHERE id IN (SELECT id FROM events"
			   " WHERE time < $1::bigint ORDER BY id LIMIT $2::bigint)",
};

/*
 * The writes the thread's transaction may hold back (pg_db.c): plain
 * inserts, which change one row or fail with an SQL error (a new key that
 * exists, an unknown grant), and after which PostgreSQL refuses the rest
 * of the transaction anyway.  None has a caller that carries on after its
 * failure.  An insert that can change no row without an error (ON
 * CONFLICT DO NOTHING, a guarded upsert) or an update or delete whose
 * "not found" a caller may ignore must never be listed: its answer is
 * needed at once.  A statement above that changes so must leave the list.
 * (A replay key holds back two writes of its own: pg_jti_remember.)
 */
const bool store_pg_deferrable[PG_N] = {
	[PG_CODE_PUT] = true,
	[PG_GRANT_PUT] = true,
	[PG_REFRESH_PUT] = true,
	[PG_TOKEN_PUT] = true,
	[PG_SESSION_PUT] = true,
	[PG_EVENT_ADD] = true,
};

/* ---- meta, clients, scopes ---- */

struct pg_meta_get {
	const char *name;
	char **value;
};

static int
pg_meta_get_fn(struct pg_q *q, void *arg, struct err *e)
{
	struct pg_meta_get *m = arg;
	int rc;

	*m->value = NULL;
	rc = store_pg_execf(q, PG_META_GET, e, "k", m->name);
	if (rc == 0 && store_pg_rows(q) == 0)
		rc = store_pg_notfound(e, q->op);
	if (rc == 0)
		rc = store_pg_col_str(q, 0, 0, m->value, e);
	return rc;
}

static int
pg_meta_get(struct store *s, const char *name, char **value, struct err *e)
{
	struct pg_meta_get m = { name, value };

	*value = NULL;
	if (store_pg_check_text(name, 'k', "meta_get", e) != 0)
		return e->code;
	return store_pg_run(s, "meta_get", pg_meta_get_fn, &m, e);
}

static int
pg_registry_epoch(struct store *s, uint64_t *epoch, struct err *e)
{
	(void)e;
	if (store_pg_watch((struct pg_store *)s, epoch) != 0)
		*epoch = 0;
	return 0;
}

static int
pg_meta_put_new(struct store *s, const char *name, const char *value, struct err *e)
{
	return store_pg_write(s, PG_META_PUT_NEW, "meta_put_new", ERR_EXISTS, e, "ks", name, value);
}

static int
pg_client_get(struct store *s, const char *client_id, json_t **doc, struct err *e)
{
	return store_pg_get_doc(s, PG_CLIENT_GET, "client_get", doc, e, "k", client_id);
}

/*
 * A change of this node's to clients or scopes moves the watch's epoch at
 * once; other nodes hear of it from the database (pg_watch.c).
 */
static int
pg_registry_moved(struct store *s, int rc)
{
	if (rc == 0)
		store_pg_watch_moved((struct pg_store *)s);
	return rc;
}

static int
pg_client_create(struct store *s, const char *client_id, const json_t *doc, struct err *e)
{
	return pg_registry_moved(s, store_pg_write(s, PG_CLIENT_CREATE, "client_create",
						   ERR_EXISTS, e, "kj", client_id, doc));
}

static int
pg_client_update(struct store *s, const char *client_id, const json_t *doc, struct err *e)
{
	return pg_registry_moved(s, store_pg_write(s, PG_CLIENT_UPDATE, "client_update",
						   ERR_NOTFOUND, e, "kj", client_id, doc));
}

static int
pg_client_delete(struct store *s, const char *client_id, struct err *e)
{
	return pg_registry_moved(s, store_pg_write(s, PG_CLIENT_DELETE, "client_delete",
						   ERR_NOTFOUND, e, "k", client_id));
}

static int
pg_client_list(struct store *s, json_t **docs, struct err *e)
{
	return store_pg_list_docs(s, PG_CLIENT_LIST, "client_list", docs, e, "");
}

static int
pg_scope_get(struct store *s, const char *name, json_t **doc, struct err *e)
{
	return store_pg_get_doc(s, PG_SCOPE_GET, "scope_get", doc, e, "k", name);
}

static int
pg_scope_put(struct store *s, const char *name, const json_t *doc, struct err *e)
{
	return pg_registry_moved(s, store_pg_write(s, PG_SCOPE_PUT, "scope_put", 0, e, "kj",
						   name, doc));
}

static int
pg_scope_delete(struct store *s, const char *name, struct err *e)
{
	return pg_registry_moved(s, store_pg_write(s, PG_SCOPE_DELETE, "scope_delete",
						   ERR_NOTFOUND, e, "k", name));
}

static int
pg_scope_list(struct store *s, json_t **docs, struct err *e)
{
	return store_pg_list_docs(s, PG_SCOPE_LIST, "scope_list", docs, e, "");
}

/* ---- SAML service providers ---- */

static int
pg_saml_sp_get(struct store *s, const char *entity_id, json_t **doc, struct err *e)
{
	return store_pg_get_doc(s, PG_SAML_SP_GET, "sp_get", doc, e, "k", entity_id);
}

static int
pg_saml_sp_put(struct store *s, const char *entity_id, const json_t *doc, struct err *e)
{
	return store_pg_write(s, PG_SAML_SP_PUT, "sp_put", 0, e, "kj", entity_id, doc);
}

static int
pg_saml_sp_delete(struct store *s, const char *entity_id, struct err *e)
{
	return store_pg_write(s, PG_SAML_SP_DELETE, "sp_delete", ERR_NOTFOUND, e, "k", entity_id);
}

static int
pg_saml_sp_list(struct store *s, json_t **docs, struct err *e)
{
	return store_pg_list_docs(s, PG_SAML_SP_LIST, "sp_list", docs, e, "");
}

/* ---- signing keys ---- */

static int
pg_key_add(struct store *s, const struct store_key *k, struct err *e)
{
	if (k == NULL)
		return ERR(e, ERR_INVAL, 0, NULL, "store key_add: missing key");
	return store_pg_write(s, PG_KEY_ADD, "key_add", ERR_EXISTS, e, "kkkssiiii", k->kid,
			      k->issuer, k->alg, k->sealed, k->public_jwk, k->created,
			      k->active_from, k->retired_at, k->expires_at);
}

struct pg_key_list {
	const char *issuer;
	struct store_key **keys;
	size_t *n;
};

static int
pg_key_row(struct pg_q *q, int row, struct store_key *k, struct err *e)
{
	int rc;

	memset(k, 0, sizeof(*k));
	rc = store_pg_col_str(q, row, 0, &k->kid, e);
	if (rc == 0)
		rc = store_pg_col_str(q, row, 1, &k->issuer, e);
	if (rc == 0)
		rc = store_pg_col_str(q, row, 2, &k->alg, e);
	if (rc == 0)
		rc = store_pg_col_str(q, row, 3, &k->sealed, e);
	if (rc == 0)
		rc = store_pg_col_str(q, row, 4, &k->public_jwk, e);
	if (rc == 0)
		rc = store_pg_col_i64(q, row, 5, &k->created, e);
	if (rc == 0)
		rc = store_pg_col_i64(q, row, 6, &k->active_from, e);
	if (rc == 0)
		rc = store_pg_col_i64(q, row, 7, &k->retired_at, e);
	if (rc == 0)
		rc = store_pg_col_i64(q, row, 8, &k->expires_at, e);
	return rc;
}

static int
pg_key_list_fn(struct pg_q *q, void *arg, struct err *e)
{
	struct pg_key_list *l = arg;
	struct store_key *arr = NULL;
	int i, rows = 0, rc;

	*l->keys = NULL;
	*l->n = 0;
	rc = store_pg_execf(q, PG_KEY_LIST, e, "ki", l->issuer, time_now());
	if (rc == 0) {
		rows = store_pg_rows(q);
		if (rows > PG_MAX_KEYS)
			rc = ERR(e, ERR_LIMIT, 500, "server_error", "store key_list: too many keys");
	}
	if (rc != 0 || rows == 0)
		return rc;
	arr = calloc((size_t)rows, sizeof(*arr));
	if (arr == NULL)
		return store_pg_nomem(e, q->op);
	for (i = 0; i < rows && rc == 0; i++)
		rc = pg_key_row(q, i, &arr[i], e);
	if (rc != 0) {
		store_keys_free(arr, (size_t)rows);
		return rc;
	}
	*l->keys = arr;
	*l->n = (size_t)rows;
	return 0;
}

static int
pg_key_list(struct store *s, const char *issuer, struct store_key **keys, size_t *n, struct err *e)
{
	struct pg_key_list l = { issuer, keys, n };

	*keys = NULL;
	*n = 0;
	if (store_pg_check_text(issuer, 'k', "key_list", e) != 0)
		return e->code;
	return store_pg_run(s, "key_list", pg_key_list_fn, &l, e);
}

static int
pg_key_retire(struct store *s, const char *kid, int64_t retired_at, int64_t expires_at,
	      struct err *e)
{
	return store_pg_write(s, PG_KEY_RETIRE, "key_retire", ERR_NOTFOUND, e, "kii", kid,
			      retired_at, expires_at);
}

static int
pg_key_reseal(struct store *s, const char *kid, const char *old_sealed, const char *new_sealed,
	      struct err *e)
{
	return store_pg_write(s, PG_KEY_RESEAL, "key_reseal", ERR_NOTFOUND, e, "kss", kid,
			      old_sealed, new_sealed);
}

/* ---- short-lived documents ---- */

int
pg_doc_put(struct store *s, const char *kind, const char *id, const json_t *doc, int64_t expires_at,
	   struct err *e)
{
	return store_pg_write(s, PG_DOC_PUT, "doc_put", ERR_EXISTS, e, "kkjii", kind, id, doc,
			      expires_at, time_now());
}

int
pg_doc_get(struct store *s, const char *kind, const char *id, json_t **doc, struct err *e)
{
	return store_pg_get_doc(s, PG_DOC_GET, "doc_get", doc, e, "kki", kind, id, time_now());
}

int
pg_doc_update(struct store *s, const char *kind, const char *id, const json_t *doc, struct err *e)
{
	return store_pg_write(s, PG_DOC_UPDATE, "doc_update", ERR_NOTFOUND, e, "kkji", kind, id,
			      doc, time_now());
}

int
pg_doc_take(struct store *s, const char *kind, const char *id, json_t **doc, struct err *e)
{
	return store_pg_get_doc(s, PG_DOC_TAKE, "doc_take", doc, e, "kki", kind, id, time_now());
}

int
pg_doc_delete(struct store *s, const char *kind, const char *id, struct err *e)
{
	return store_pg_write(s, PG_DOC_DELETE, "doc_delete", ERR_NOTFOUND, e, "kk", kind, id);
}

/* ---- authorization codes ---- */

static int
pg_code_put(struct store *s, const char *hash, const char *grant_id, const char *doc,
	    int64_t expires_at, struct err *e)
{
	return store_pg_write(s, PG_CODE_PUT, "code_put", ERR_EXISTS, e, "knsi", hash, grant_id,
			      doc, expires_at);
}

struct pg_code {
	const char *hash;
	json_t **doc;
	char **grant_id;
};

static int
pg_code_consume_fn(struct pg_q *q, void *arg, struct err *e)
{
	struct pg_code *c = arg;
	int64_t now = time_now();
	int rc;

	*c->doc = NULL;
	*c->grant_id = NULL;
	rc = store_pg_execf(q, PG_CODE_CONSUME, e, "ki", c->hash, now);
	if (rc != 0)
		goto out;
	if (store_pg_rows(q) == 1) {
		rc = store_pg_col_json(q, 0, 0, c->doc, e);
		if (rc == 0)
			rc = store_pg_col_str(q, 0, 1, c->grant_id, e);
		goto out;
	}
	/*
	 * Nothing consumed.  A code presented again is a replay: report it with
	 * the grant the first use issued (RFC 6749 4.1.2: revoke its tokens).
	 * Used codes stay until they expire so this can be told apart.
	 */
	rc = store_pg_execf(q, PG_CODE_PEEK, e, "ki", c->hash, now);
	if (rc != 0)
		goto out;
	if (store_pg_rows(q) == 0 || !store_pg_col_bool(q, 0, 0)) {
		rc = store_pg_notfound(e, q->op);
	} else {
		rc = store_pg_col_str(q, 0, 1, c->grant_id, e);
		if (rc == 0)
			rc = ERR(e, ERR_REUSED, 0, NULL, "store code_consume: code already used");
	}
out:
	if (rc != 0) {
		json_decref(*c->doc);
		*c->doc = NULL;
	}
	if (rc != 0 && rc != ERR_REUSED) {
		free(*c->grant_id);
		*c->grant_id = NULL;
	}
	return rc;
}

static int
pg_code_consume(struct store *s, const char *hash, json_t **doc, char **grant_id, struct err *e)
{
	struct pg_code c = { hash, doc, grant_id };

	*doc = NULL;
	*grant_id = NULL;
	if (store_pg_check_text(hash, 'k', "code_consume", e) != 0)
		return e->code;
	return store_pg_run(s, "code_consume", pg_code_consume_fn, &c, e);
}

/* ---- grants ---- */

static int
pg_grant_put(struct store *s, const char *grant_id, const char *client_id, const char *sid,
	     bool login_only, const char *doc, int64_t expires_at, struct err *e)
{
	return store_pg_write(s, PG_GRANT_PUT, "grant_put", ERR_EXISTS, e, "kknbsi", grant_id,
			      client_id, sid, (int)login_only, doc, expires_at);
}

static int
pg_grant_get(struct store *s, const char *grant_id, json_t **doc, struct err *e)
{
	return store_pg_get_doc(s, PG_GRANT_GET, "grant_get", doc, e, "ki", grant_id, time_now());
}

struct pg_grant_find {
	const char *pid;
	int64_t limit;
	json_t **docs;
};

static int
pg_grant_find_fn(struct pg_q *q, void *arg, struct err *e)
{
	struct pg_grant_find *f = arg;
	json_t *arr, *doc = NULL;
	char *id = NULL, *cid = NULL;
	int64_t exp = 0;
	int i, rc;

	*f->docs = NULL;
	arr = json_array();
	if (arr == NULL)
		return store_pg_nomem(e, q->op);
	rc = store_pg_execf(q, PG_GRANT_FIND_PERSON, e, "kii", f->pid, time_now(), f->limit);
	for (i = 0; rc == 0 && i < store_pg_rows(q); i++) {
		rc = store_pg_col_json(q, i, 0, &doc, e);
		if (rc == 0)
			rc = store_pg_col_str(q, i, 1, &id, e);
		if (rc == 0)
			rc = store_pg_col_str(q, i, 2, &cid, e);
		if (rc == 0)
			rc = store_pg_col_i64(q, i, 3, &exp, e);
		if (rc == 0 && (!json_is_object(doc) ||
				json_object_set_new(doc, "grant_id", json_string(id)) != 0 ||
				json_object_set_new(doc, "client_id", json_string(cid)) != 0 ||
				json_object_set_new(doc, "expires_at", json_integer(exp)) != 0 ||
				json_array_append(arr, doc) != 0))
			rc = store_pg_nomem(e, q->op);
		json_decref(doc);
		doc = NULL;
		free(id);
		free(cid);
		id = cid = NULL;
	}
	if (rc == 0)
		*f->docs = arr;
	else
		json_decref(arr);
	return rc;
}

static int
pg_grant_find_person(struct store *s, const char *pid, int64_t limit, json_t **docs,
		     struct err *e)
{
	struct pg_grant_find f = { pid, limit, docs };

	*docs = NULL;
	if (limit < 1 || limit > 1000)
		return ERR(e, ERR_INVAL, 0, NULL, "store grant_find_person: limit out of range");
	if (store_pg_check_text(pid, 'k', "grant_find_person", e) != 0)
		return e->code;
	return store_pg_run(s, "grant_find_person", pg_grant_find_fn, &f, e);
}

static int
pg_grant_revoke(struct store *s, const char *grant_id, struct err *e)
{
	int64_t now = time_now();

	return store_pg_write(s, PG_GRANT_REVOKE, "grant_revoke", 0, e, "kii", grant_id,
			      now + PG_TOMBSTONE_TTL, now);
}

static int
pg_grant_revoke_session(struct store *s, const char *sid, struct err *e)
{
	return store_pg_write(s, PG_GRANT_REVOKE_SID, "grant_revoke_session", 0, e, "ki", sid,
			      time_now());
}

/* ---- refresh tokens ---- */

static int
pg_refresh_put(struct store *s, const char *hash, const char *grant_id, const char *client_id,
	       const char *jkt, int64_t expires_at, struct err *e)
{
	return store_pg_write(s, PG_REFRESH_PUT, "refresh_put", ERR_EXISTS, e, "kkkin", hash,
			      grant_id, client_id, expires_at, jkt);
}

/*
 * Read a refresh token row (id: PG_REFRESH_GET or _LOCK): ERR_NOTFOUND when
 * unknown, expired, or its grant revoked or expired (the grant's expiry is
 * the absolute limit, the token's own an inactivity window).  *spent says
 * whether it was rotated.
 */
static int
pg_refresh_lookup(struct pg_q *q, enum pg_id id, const char *hash, int64_t now,
		  struct store_refresh *out, bool *spent, struct err *e)
{
	int64_t exp = 0, gexp = 0;
	int rc;

	rc = store_pg_execf(q, id, e, "k", hash);
	if (rc != 0)
		return rc;
	if (store_pg_rows(q) == 0)
		return store_pg_notfound(e, q->op);
	rc = store_pg_col_i64(q, 0, 2, &exp, e);
	if (rc == 0)
		rc = store_pg_col_i64(q, 0, 5, &gexp, e);
	if (rc != 0)
		return rc;
	if (exp <= now || store_pg_col_bool(q, 0, 4) || gexp <= now)
		return store_pg_notfound(e, q->op);
	*spent = store_pg_col_bool(q, 0, 3);
	out->expires_at = exp;
	rc = store_pg_col_str(q, 0, 0, &out->grant_id, e);
	if (rc == 0)
		rc = store_pg_col_str(q, 0, 1, &out->client_id, e);
	if (rc == 0)
		rc = store_pg_col_str(q, 0, 6, &out->jkt, e);
	return rc;
}

struct pg_rotate {
	const char *old_hash, *new_hash;
	int64_t new_expires_at;
	const char *new_jkt;
	struct store_refresh *out;
};

static int
pg_refresh_rotate_fn(struct pg_q *q, void *arg, struct err *e)
{
	struct pg_rotate *r = arg;
	struct store_refresh old = { 0 };
	int64_t now = time_now();
	bool spent = false, in_tx = false;
	int rc;

	memset(r->out, 0, sizeof(*r->out));
	rc = store_pg_tx(q, "BEGIN", e);
	if (rc != 0)
		goto out;
	in_tx = true;
	/* the row lock makes a concurrent presentation wait, then see it spent */
	rc = pg_refresh_lookup(q, PG_REFRESH_LOCK, r->old_hash, now, &old, &spent, e);
	if (rc != 0)
		goto out;
	if (spent) {
		/* OAuth 2.0 Security BCP (RFC 9700) 4.14.2: reuse revokes the family */
		rc = store_pg_execf(q, PG_GRANT_REVOKE, e, "kii", old.grant_id,
				    now + PG_TOMBSTONE_TTL, now);
		if (rc == 0)
			rc = store_pg_tx(q, "COMMIT", e);
		if (rc == 0) {
			in_tx = false;
			rc = ERR(e, ERR_REUSED, 0, NULL,
				 "store refresh_rotate: token already used");
		}
		goto out;
	}
	rc = store_pg_execf(q, PG_REFRESH_SPEND, e, "k", r->old_hash);
	if (rc == 0 && store_pg_changes(q) != 1)
		rc = ERR(e, ERR_INTERNAL, 500, "server_error", "store refresh_rotate: not spent");
	if (rc == 0)
		rc = store_pg_execf(q, PG_REFRESH_PUT, e, "kkkin", r->new_hash, old.grant_id,
				    old.client_id, r->new_expires_at, r->new_jkt);
	if (rc == 0)
		rc = store_pg_tx(q, "COMMIT", e);
	if (rc == 0) {
		in_tx = false;
		*r->out = old;
		memset(&old, 0, sizeof(old));
	}
out:
	if (in_tx && !q->broken)
		store_pg_tx(q, "ROLLBACK", &(struct err){ 0 });
	store_refresh_clear(&old);
	return rc;
}

static int
pg_refresh_rotate(struct store *s, const char *old_hash, const char *new_hash,
		  int64_t new_expires_at, const char *new_jkt, struct store_refresh *out,
		  struct err *e)
{
	struct pg_rotate r = { old_hash, new_hash, new_expires_at, new_jkt, out };

	memset(out, 0, sizeof(*out));
	/* validate both before taking any lock */
	if (store_pg_check_text(old_hash, 'k', "refresh_rotate", e) != 0 ||
	    store_pg_check_text(new_hash, 'k', "refresh_rotate", e) != 0)
		return e->code;
	return store_pg_run(s, "refresh_rotate", pg_refresh_rotate_fn, &r, e);
}

struct pg_refresh_get {
	const char *hash;
	struct store_refresh *out;
};

static int
pg_refresh_get_fn(struct pg_q *q, void *arg, struct err *e)
{
	struct pg_refresh_get *g = arg;
	bool spent = false;
	int rc;

	memset(g->out, 0, sizeof(*g->out));
	rc = pg_refresh_lookup(q, PG_REFRESH_GET, g->hash, time_now(), g->out, &spent, e);
	if (rc == 0 && spent)
		rc = store_pg_notfound(e, q->op);
	if (rc != 0)
		store_refresh_clear(g->out);
	return rc;
}

static int
pg_refresh_get(struct store *s, const char *hash, struct store_refresh *out, struct err *e)
{
	struct pg_refresh_get g = { hash, out };

	memset(out, 0, sizeof(*out));
	if (store_pg_check_text(hash, 'k', "refresh_get", e) != 0)
		return e->code;
	return store_pg_run(s, "refresh_get", pg_refresh_get_fn, &g, e);
}

/* ---- access tokens ---- */

static int
pg_token_put(struct store *s, const char *hash, const char *grant_id, const char *doc,
	     int64_t expires_at, struct err *e)
{
	return store_pg_write(s, PG_TOKEN_PUT, "token_put", ERR_EXISTS, e, "knsi", hash, grant_id,
			      doc, expires_at);
}

struct pg_token {
	const char *hash;
	json_t **doc;
	char **grant_id;
	json_t **grant;
};

static int
pg_token_get_fn(struct pg_q *q, void *arg, struct err *e)
{
	struct pg_token *t = arg;
	int rc;

	*t->doc = NULL;
	if (t->grant_id != NULL)
		*t->grant_id = NULL;
	if (t->grant != NULL)
		*t->grant = NULL;
	rc = store_pg_execf(q, PG_TOKEN_GET, e, "ki", t->hash, time_now());
	if (rc == 0 && store_pg_rows(q) == 0)
		rc = store_pg_notfound(e, q->op);
	if (rc == 0)
		rc = store_pg_col_json(q, 0, 0, t->doc, e);
	if (rc == 0 && t->grant_id != NULL)
		rc = store_pg_col_str(q, 0, 1, t->grant_id, e);
	/* A token with a grant has a live one: the statement's join says so. */
	if (rc == 0 && t->grant != NULL && !store_pg_col_null(q, 0, 2))
		rc = store_pg_col_json(q, 0, 2, t->grant, e);
	if (rc != 0) {
		json_decref(*t->doc);
		*t->doc = NULL;
		if (t->grant_id != NULL) {
			free(*t->grant_id);
			*t->grant_id = NULL;
		}
		if (t->grant != NULL) {
			json_decref(*t->grant);
			*t->grant = NULL;
		}
	}
	return rc;
}

static int
pg_token_get(struct store *s, const char *hash, json_t **doc, char **grant_id, json_t **grant,
	     struct err *e)
{
	struct pg_token t = { hash, doc, grant_id, grant };

	*doc = NULL;
	if (grant_id != NULL)
		*grant_id = NULL;
	if (grant != NULL)
		*grant = NULL;
	if (store_pg_check_text(hash, 'k', "token_get", e) != 0)
		return e->code;
	return store_pg_run(s, "token_get", pg_token_get_fn, &t, e);
}

/* token_find_revoked's arguments and answer, through store_pg_run. */
struct pg_revoked {
	const char *client_id;
	int64_t limit;
	json_t **out;
};

static int
pg_token_find_revoked_fn(struct pg_q *q, void *arg, struct err *e)
{
	struct pg_revoked *f = arg;
	json_t *arr, *row;
	char *jti = NULL;
	int64_t revoked = 0, exp = 0;
	int i, rc;

	arr = json_array();
	if (arr == NULL)
		return store_pg_nomem(e, q->op);
	rc = store_pg_execf(q, PG_TOKEN_FIND_REVOKED, e, "kii", f->client_id, time_now(), f->limit);
	for (i = 0; rc == 0 && i < store_pg_rows(q); i++) {
		rc = store_pg_col_str(q, i, 0, &jti, e);
		if (rc == 0)
			rc = store_pg_col_i64(q, i, 1, &revoked, e);
		if (rc == 0)
			rc = store_pg_col_i64(q, i, 2, &exp, e);
		row = rc == 0 ? json_pack("{s:s, s:I, s:I}", "jti", jti, "revoked_at",
					  (json_int_t)revoked, "expires_at", (json_int_t)exp)
			      : NULL;
		if (rc == 0 && json_array_append_new(arr, row) != 0)
			rc = store_pg_nomem(e, q->op);
		free(jti);
		jti = NULL;
	}
	if (rc == 0)
		*f->out = arr;
	else
		json_decref(arr);
	return rc;
}

static int
pg_token_find_revoked(struct store *s, const char *client_id, int64_t limit, json_t **out,
		      struct err *e)
{
	struct pg_revoked f = { client_id, limit, out };

	*out = NULL;
	if (limit < 1 || limit > STORE_REVOKED_MAX)
		return ERR(e, ERR_INVAL, 0, NULL, "store token_find_revoked: limit out of range");
	if (store_pg_check_text(client_id, 'k', "token_find_revoked", e) != 0)
		return e->code;
	return store_pg_run(s, "token_find_revoked", pg_token_find_revoked_fn, &f, e);
}

/* ---- SSO sessions ---- */

static int
pg_session_put(struct store *s, const char *hash, const char *doc, const char *pid,
	       int64_t idle_expires, int64_t abs_expires, struct err *e)
{
	return store_pg_write(s, PG_SESSION_PUT, "session_put", ERR_EXISTS, e, "ksnii", hash, doc,
			      pid, idle_expires, abs_expires);
}

static int
pg_session_get(struct store *s, const char *hash, json_t **doc, struct err *e)
{
	return store_pg_get_doc(s, PG_SESSION_GET, "session_get", doc, e, "ki", hash, time_now());
}

static int
pg_session_update(struct store *s, const char *hash, const char *doc, const char *pid,
		  int64_t idle_expires, struct err *e)
{
	return store_pg_write(s, PG_SESSION_UPDATE, "session_update", ERR_NOTFOUND, e, "ksnii",
			      hash, doc, pid, idle_expires, time_now());
}

static int
pg_session_delete(struct store *s, const char *hash, struct err *e)
{
	return store_pg_write(s, PG_SESSION_DELETE, "session_delete", ERR_NOTFOUND, e, "k", hash);
}

/* ---- replay cache, events, sweep ---- */

/*
 * A replay key: ERR_EXISTS while an earlier one with the same key is live;
 * an expired one is replaced.  On its own, the guarded upsert, whose
 * "seen before" (no row changed) is read at once.  In the thread's
 * transaction, the expired key's removal and a plain insert, both held
 * back and sent with the next statement that needs an answer or with the
 * COMMIT: a live key then fails the insert (23505) and that statement or
 * the COMMIT with it, and the transaction rolls back whole.  So a machine
 * token (its replay key and its event) is one round trip.  Of two
 * transactions that spend one key at once, the second's insert waits for
 * the first's and fails at its commit.
 *
 * Only for a transaction whose body reads nothing and does nothing
 * outside the database after the key: a held-back failure comes back
 * from whichever statement next needs an answer, and whatever the body
 * did meanwhile has happened.  A completed login's spent mark (a
 * document) was tried this way and went back to answering at once: the
 * login's steps read (consent) and count (metrics) before its COMMIT, so
 * a second post of one login ran them and answered with a server error
 * instead of "finished".
 */
struct pg_jti {
	struct pg_args clear;    /* key, now */
	struct pg_args add;      /* key, expires_at */
};

static int
pg_jti_held_fn(struct pg_q *q, void *arg, struct err *e)
{
	const struct pg_jti *j = arg;
	int rc = store_pg_exec_later(q, PG_JTI_CLEAR, &j->clear, e);

	return rc != 0 ? rc : store_pg_exec_later(q, PG_JTI_ADD, &j->add, e);
}

static int
pg_jti_remember(struct store *s, const char *key, int64_t expires_at, struct err *e)
{
	const char *op = "jti_remember";
	int64_t now = time_now();
	struct pg_jti j = { 0 };
	int rc;

	if (store_pool_tx_conn(s) == NULL)
		return store_pg_write(s, PG_JTI_PUT, op, ERR_EXISTS, e, "kii", key, expires_at,
				      now);
	rc = store_pg_args(&j.clear, op, e, "ki", key, now);
	if (rc == 0)
		rc = store_pg_args(&j.add, op, e, "ki", key, expires_at);
	if (rc == 0)
		rc = store_pg_run(s, op, pg_jti_held_fn, &j, e);
	store_pg_args_free(&j.clear);
	store_pg_args_free(&j.add);
	return rc;
}

struct pg_session_count {
	int64_t now;
	int64_t *n;
};

static int
pg_session_count_fn(struct pg_q *q, void *arg, struct err *e)
{
	struct pg_session_count *c = arg;
	int rc;

	*c->n = 0;
	rc = store_pg_execf(q, PG_SESSION_COUNT, e, "i", c->now);
	if (rc == 0 && store_pg_rows(q) != 1)
		rc = ERR(e, ERR_INTERNAL, 500, "server_error", "store session_count: no count");
	if (rc == 0)
		rc = store_pg_col_i64(q, 0, 0, c->n, e);
	return rc;
}

static int
pg_session_count(struct store *s, int64_t now, int64_t *n, struct err *e)
{
	struct pg_session_count c = { now, n };

	*n = 0;
	return store_pg_run(s, "session_count", pg_session_count_fn, &c, e);
}

static int
pg_session_take_expired(struct store *s, int64_t now, int64_t limit, json_t **docs,
			struct err *e)
{
	return store_pg_list_docs(s, PG_SESSION_TAKE_EXPIRED, "session_take_expired", docs, e,
				  "ii", now, limit);
}

static int
pg_session_take_person(struct store *s, const char *pid, int64_t limit, json_t **docs,
		       struct err *e)
{
	return store_pg_list_docs(s, PG_SESSION_TAKE_PERSON, "session_take_person", docs, e,
				  "ki", pid, limit);
}

/* ---- back-channel logout outbox ---- */

static int
pg_outbox_add(struct store *s, const char *id, const json_t *doc, int64_t due, int64_t expires,
	      struct err *e)
{
	return store_pg_write(s, PG_OUTBOX_ADD, "outbox_add", ERR_EXISTS, e, "kjii", id, doc, due,
			      expires);
}

static int
pg_outbox_claim(struct store *s, int64_t now, int64_t lease_until, const char *owner,
		json_t **doc, struct err *e)
{
	return store_pg_get_doc(s, PG_OUTBOX_CLAIM, "outbox_claim", doc, e, "iik", now,
				lease_until, owner);
}

static int
pg_outbox_retry(struct store *s, const char *id, const char *owner, int64_t next_at,
		struct err *e)
{
	return store_pg_write(s, PG_OUTBOX_RETRY, "outbox_retry", ERR_NOTFOUND, e, "kki", id, owner,
			      next_at);
}

static int
pg_outbox_finish(struct store *s, const char *id, const char *owner, int64_t dead_at,
		 struct err *e)
{
	if (dead_at == 0)
		return store_pg_write(s, PG_OUTBOX_DONE, "outbox_finish", ERR_NOTFOUND, e, "kk", id,
				      owner);
	return store_pg_write(s, PG_OUTBOX_DEAD, "outbox_finish", ERR_NOTFOUND, e, "kki", id, owner,
			      dead_at);
}

static int
pg_event_add(struct store *s, const char *type, const char *doc, struct err *e)
{
	return store_pg_write(s, PG_EVENT_ADD, "event_add", 0, e, "kis", type, time_now(), doc);
}

struct pg_count {
	const char *type;
	int64_t *n;
};

static int
pg_event_count_fn(struct pg_q *q, void *arg, struct err *e)
{
	struct pg_count *c = arg;
	int rc;

	*c->n = 0;
	rc = store_pg_execf(q, PG_EVENT_COUNT, e, "k", c->type);
	if (rc == 0 && store_pg_rows(q) != 1)
		rc = ERR(e, ERR_INTERNAL, 500, "server_error", "store event_count: no count");
	if (rc == 0)
		rc = store_pg_col_i64(q, 0, 0, c->n, e);
	return rc;
}

static int
pg_event_count(struct store *s, const char *type, int64_t *n, struct err *e)
{
	struct pg_count c = { type, n };

	*n = 0;
	if (store_pg_check_text(type, 'k', "event_count", e) != 0)
		return e->code;
	return store_pg_run(s, "event_count", pg_event_count_fn, &c, e);
}

static int
pg_event_find(struct store *s, const char *type, const char *key, const char *value,
	      int64_t limit, json_t **docs, struct err *e)
{
	*docs = NULL;
	if (limit < 1 || limit > 1000)
		return ERR(e, ERR_INVAL, 0, NULL, "store event_find: limit out of range");
	return store_pg_list_docs(s, PG_EVENT_FIND, "event_find", docs, e, "kksi", type, key, value,
				  limit);
}

struct pg_sweep {
	int64_t now;
	int64_t *n;
};

/*
 * Bounded batches, each its own short statement: the sweep never holds many
 * row locks or a long transaction, so requests go on while it runs; a table
 * with a backlog (after an outage) drains batch by batch.
 */
static int
pg_sweep_fn(struct pg_q *q, void *arg, struct err *e)
{
	struct pg_sweep *w = arg;
	int64_t changes;
	int id, rc = 0;

	*w->n = 0;
	for (id = PG_SWEEP_CODES; rc == 0 && id <= PG_SWEEP_GRANTS; id++) {
		do {
			rc = store_pg_execf(q, (enum pg_id)id, e, "ii", w->now,
					    (int64_t)PG_SWEEP_BATCH);
			changes = rc == 0 ? store_pg_changes(q) : 0;
			*w->n += changes;
		} while (rc == 0 && changes == PG_SWEEP_BATCH);
	}
	return rc;
}

static int
pg_sweep(struct store *s, int64_t now, int64_t *n, struct err *e)
{
	struct pg_sweep w = { now, n };

	*n = 0;
	return store_pg_run(s, "sweep", pg_sweep_fn, &w, e);
}

static const struct store_registry_ops pg_registry = {
	.meta_get = pg_meta_get,
	.registry_epoch = pg_registry_epoch,
	.meta_put_new = pg_meta_put_new,
	.client_get = pg_client_get,
	.client_create = pg_client_create,
	.client_update = pg_client_update,
	.client_delete = pg_client_delete,
	.client_list = pg_client_list,
	.scope_get = pg_scope_get,
	.scope_put = pg_scope_put,
	.scope_delete = pg_scope_delete,
	.scope_list = pg_scope_list,
	.key_add = pg_key_add,
	.key_list = pg_key_list,
	.key_retire = pg_key_retire,
	.key_reseal = pg_key_reseal,
};

static const struct store_oauth_ops pg_oauth = {
	.code_put = pg_code_put,
	.code_consume = pg_code_consume,
	.grant_put = pg_grant_put,
	.grant_get = pg_grant_get,
	.grant_revoke = pg_grant_revoke,
	.grant_find_person = pg_grant_find_person,
	.grant_revoke_session = pg_grant_revoke_session,
	.refresh_put = pg_refresh_put,
	.refresh_rotate = pg_refresh_rotate,
	.refresh_get = pg_refresh_get,
	.token_put = pg_token_put,
	.token_get = pg_token_get,
	.token_find_revoked = pg_token_find_revoked,
	.jti_remember = pg_jti_remember,
};

static const struct store_login_ops pg_login = {
	.doc_put = pg_doc_put,
	.doc_get = pg_doc_get,
	.doc_update = pg_doc_update,
	.doc_take = pg_doc_take,
	.doc_delete = pg_doc_delete,
	.session_put = pg_session_put,
	.session_get = pg_session_get,
	.session_update = pg_session_update,
	.session_delete = pg_session_delete,
	.session_count = pg_session_count,
	.session_take_expired = pg_session_take_expired,
	.session_take_person = pg_session_take_person,
	.outbox_add = pg_outbox_add,
	.outbox_claim = pg_outbox_claim,
	.outbox_retry = pg_outbox_retry,
	.outbox_finish = pg_outbox_finish,
};

static const struct store_minid_ops pg_minid = {
	.doc_put = pg_doc_put,
	.doc_get = pg_doc_get,
	.doc_update = pg_doc_update,
	.doc_take = pg_doc_take,
	.doc_delete = pg_doc_delete,
};

static const struct store_saml_ops pg_saml = {
	.doc_put = pg_doc_put,
	.doc_get = pg_doc_get,
	.doc_update = pg_doc_update,
	.doc_take = pg_doc_take,
	.doc_delete = pg_doc_delete,
	.sp_get = pg_saml_sp_get,
	.sp_put = pg_saml_sp_put,
	.sp_delete = pg_saml_sp_delete,
	.sp_list = pg_saml_sp_list,
};

static const struct store_event_ops pg_events = {
	.event_add = pg_event_add,
	.event_count = pg_event_count,
	.event_find = pg_event_find,
};

const struct store_engine store_pg_engine = {
	.name = "pg",
	.open = store_pg_open,
	.close = store_pg_close,
	.tx_begin = store_pg_tx_begin,
	.tx_end = store_pg_tx_end,
	.tx_depth = store_pg_tx_depth,
	.sweep = pg_sweep,
	.registry = &pg_registry,
	.oauth = &pg_oauth,
	.login = &pg_login,
	.minid = &pg_minid,
	.events = &pg_events,
	.billing = &store_pg_billing,
	.saml = &pg_saml,
	.krr = &store_pg_krr,
	.repr = &store_pg_repr,
	.people = &store_pg_people,
};

#endif /* HAVE_LIBPQ */

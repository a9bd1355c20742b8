/*
 * SQLite backend, the operations of the store facets (see sqlite_db.c for
 * connections and migrations).
 *
 * Single-use records are consumed by one statement (UPDATE/DELETE ...
 * RETURNING) or inside BEGIN IMMEDIATE, never read-then-delete in C.
 */
#include "store/sqlite_int.h"

#include <stdlib.h>
#include <string.h>

#include "core/timeutil.h"

#define SQ_MAX_KEYS 4096       /* key_list rows */
#define SQ_TOMBSTONE_TTL 86400 /* how long a revoked unknown grant id stays blocked */

/* Every statement the backend runs; values are always bound, never pasted. */
const char *const store_sq_sql[SQ_N] = {
	[SQ_BEGIN] = "BEGIN IMMEDIATE",
	[SQ_COMMIT] = "COMMIT",
	[SQ_ROLLBACK] = "ROLLBACK",
	[SQ_SAVEPOINT] = "SAVEPOINT op",
	[SQ_RELEASE] = "RELEASE op",
	[SQ_ROLLBACK_TO] = "ROLLBACK TO op",

	[SQ_META_GET] = "SELECT value FROM meta WHERE name = ?1",
	[SQ_META_PUT_NEW] = "INSERT INTO meta (name, value) VALUES (?1, ?2)"
			    " ON CONFLICT (name) DO NOTHING",

	[SQ_CLIENT_GET] = "SELECT doc FROM clients WHERE client_id = ?1",
	[SQ_CLIENT_CREATE] = "INSERT INTO clients (client_id, doc) VALUES (?1, ?2)",
	[SQ_CLIENT_UPDATE] = "UPDATE clients SET doc = ?2 WHERE client_id = ?1",
	[SQ_CLIENT_DELETE] = "DELETE FROM clients WHERE client_id = ?1",
	[SQ_CLIENT_LIST] = "SELECT doc FROM clients ORDER BY client_id",

	[SQ_SCOPE_GET] = "SELECT doc FROM scopes WHERE name = ?1",
	[SQ_SCOPE_PUT] = "INSERT INTO scopes (name, doc) VALUES (?1, ?2)"
			 " ON CONFLICT (name) DO UPDATE SET doc = excluded.doc",
	[SQ_SCOPE_DELETE] = "DELETE FROM scopes WHERE name = ?1",
	[SQ_SCOPE_LIST] = "SELECT doc FROM scopes ORDER BY name",

	[SQ_SAML_SP_GET] = "SELECT doc FROM saml_sps WHERE entity_id = ?1",
	[SQ_SAML_SP_PUT] = "INSERT INTO saml_sps (entity_id, doc) VALUES (?1, ?2)"
			   " ON CONFLICT (entity_id) DO UPDATE SET doc = excluded.doc",
	[SQ_SAML_SP_DELETE] = "DELETE FROM saml_sps WHERE entity_id = ?1",
	[SQ_SAML_SP_LIST] = "SELECT doc FROM saml_sps ORDER BY entity_id",

	[SQ_KEY_ADD] = "INSERT INTO signing_keys (kid, issuer, alg, sealed, public_jwk, created,"
		       " active_from, retired_at, expires_at)"
		       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
	[SQ_KEY_LIST] = "SELECT kid, issuer, alg, sealed, public_jwk, created, active_from,"
			" retired_at, expires_at FROM signing_keys"
			" WHERE issuer = ?1 AND (expires_at = 0 OR expires_at > ?2)"
			" ORDER BY created DESC, kid DESC",
	[SQ_KEY_RETIRE] = "UPDATE signing_keys SET retired_at = ?2, expires_at = ?3 WHERE kid = ?1",
	[SQ_KEY_RESEAL] = "UPDATE signing_keys SET sealed = ?3 WHERE kid = ?1 AND sealed = ?2",

	/* an expired row no longer holds its id: a put may take it over */
	[SQ_DOC_PUT] = "INSERT INTO docs (kind, id, doc, expires_at) VALUES (?1, ?2, ?3, ?4)"
		       " ON CONFLICT (kind, id) DO UPDATE SET doc = excluded.doc,"
		       " expires_at = excluded.expires_at WHERE docs.expires_at <= ?5",
	[SQ_DOC_GET] = "SELECT doc FROM docs WHERE kind = ?1 AND id = ?2 AND expires_at > ?3",
	[SQ_DOC_UPDATE] =
		"UPDATE docs SET doc = ?3 WHERE kind = ?1 AND id = ?2 AND expires_at > ?4",
	[SQ_DOC_TAKE] = "DELETE FROM docs WHERE kind = ?1 AND id = ?2 AND expires_at > ?3"
			" RETURNING doc",
	[SQ_DOC_DELETE] = "DELETE FROM docs WHERE kind = ?1 AND id = ?2",

	[SQ_CODE_PUT] =
		"INSERT INTO codes (hash, grant_id, doc, expires_at) VALUES (?1, ?2, ?3, ?4)",
	[SQ_CODE_CONSUME] = "UPDATE codes SET used = 1"
			    " WHERE hash = ?1 AND used = 0 AND expires_at > ?2"
			    " RETURNING doc, grant_id",
	[SQ_CODE_PEEK] = "SELECT used, grant_id FROM codes WHERE hash = ?1 AND expires_at > ?2",

	[SQ_GRANT_PUT] =
		"INSERT INTO grants (grant_id, client_id, sid, login_only, doc, expires_at)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[SQ_GRANT_FIND_PERSON] = "SELECT doc, grant_id, client_id, expires_at FROM grants"
				 " WHERE revoked = 0 AND expires_at > ?2"
				 " AND json_extract(doc, '$.pid') = ?1 ORDER BY grant_id LIMIT ?3",
	[SQ_GRANT_GET] = "SELECT doc FROM grants"
			 " WHERE grant_id = ?1 AND revoked = 0 AND expires_at > ?2",
	/*
	 * Revoking an id that has no grant yet leaves a revoked placeholder, so
	 * a redemption still in flight cannot create it afterwards (a code
	 * replayed while its first use is being served).
	 */
	[SQ_GRANT_REVOKE] = "INSERT INTO grants (grant_id, client_id, sid, login_only, doc,"
			    " expires_at, revoked, revoked_at) VALUES (?1, '', NULL, 0, '{}', ?2, 1, ?3)"
			    " ON CONFLICT (grant_id) DO UPDATE SET revoked = 1,"
			    " revoked_at = coalesce(grants.revoked_at, excluded.revoked_at)",
	[SQ_GRANT_REVOKE_SID] = "UPDATE grants SET revoked = 1, revoked_at = ?2"
				" WHERE sid = ?1 AND login_only = 1 AND revoked = 0",

	[SQ_REFRESH_PUT] = "INSERT INTO refresh_tokens (hash, grant_id, client_id, expires_at, jkt)"
			   " VALUES (?1, ?2, ?3, ?4, ?5)",
	[SQ_REFRESH_GET] = "SELECT r.grant_id, r.client_id, r.expires_at, r.spent,"
			   " g.revoked, g.expires_at, r.jkt FROM refresh_tokens r"
			   " JOIN grants g ON g.grant_id = r.grant_id WHERE r.hash = ?1",
	[SQ_REFRESH_SPEND] = "UPDATE refresh_tokens SET spent = 1 WHERE hash = ?1 AND spent = 0",

	[SQ_TOKEN_PUT] = "INSERT INTO access_tokens (hash, grant_id, doc, expires_at)"
			 " VALUES (?1, ?2, ?3, ?4)",
	[SQ_TOKEN_GET] = "SELECT t.doc, t.grant_id, g.doc FROM access_tokens t"
			 " LEFT JOIN grants g ON g.grant_id = t.grant_id"
			 " WHERE t.hash = ?1 AND t.expires_at > ?2 AND (t.grant_id IS NULL"
			 " OR (g.revoked = 0 AND g.expires_at > ?2))",
	/* the revocation list: access tokens of a client's revoked grants, still unexpired */
	[SQ_TOKEN_FIND_REVOKED] = "SELECT json_extract(t.doc, '$.jti'), coalesce(g.revoked_at, 0),"
				  " t.expires_at"
				  " FROM grants g JOIN access_tokens t ON t.grant_id = g.grant_id"
				  " WHERE g.client_id = ?1 AND g.revoked = 1 AND t.expires_at > ?2"
				  " AND json_extract(t.doc, '$.jti') IS NOT NULL"
				  " ORDER BY coalesce(g.revoked_at, 0) DESC, t.expires_at DESC, t.hash LIMIT ?3",

	[SQ_SESSION_PUT] = "INSERT INTO sessions (hash, doc, pid, idle_expires, abs_expires)"
			   " VALUES (?1, ?2, ?3, min(?4, ?5), ?5)",
	[SQ_SESSION_GET] = "SELECT doc FROM sessions"
			   " WHERE hash = ?1 AND idle_expires > ?2 AND abs_expires > ?2",
	[SQ_SESSION_UPDATE] = "UPDATE sessions SET doc = ?2, pid = ?3,"
			      " idle_expires = min(?4, abs_expires)"
			      " WHERE hash = ?1 AND idle_expires > ?5 AND abs_expires > ?5",
	[SQ_SESSION_DELETE] = "DELETE FROM sessions WHERE hash = ?1",
	[SQ_SESSION_COUNT] = "SELECT count(*) FROM sessions"
			     " WHERE idle_expires > ?1 AND abs_expires > ?1",
	[SQ_SESSION_TAKE_EXPIRED] = "DELETE FROM sessions WHERE hash IN (SELECT hash FROM sessions"
				    " WHERE idle_expires <= ?1 OR abs_expires <= ?1 LIMIT ?2)"
				    " RETURNING doc",
	[SQ_SESSION_TAKE_PERSON] = "DELETE FROM sessions WHERE hash IN (SELECT hash FROM sessions"
				   " WHERE pid = ?1 LIMIT ?2) RETURNING doc",

	/* back-channel logout outbox: the oldest due row, leased by one statement */
	[SQ_OUTBOX_ADD] = "INSERT INTO logout_outbox (id, doc, next_at, expires_at)"
			  " VALUES (?1, ?2, ?3, ?4)",
	[SQ_OUTBOX_CLAIM] = "UPDATE logout_outbox SET lease_until = ?2, lease_owner = ?3,"
			    " attempts = attempts + 1 WHERE id = (SELECT id FROM logout_outbox"
			    " WHERE dead_at = 0 AND next_at <= ?1 AND lease_until <= ?1"
			    " ORDER BY next_at LIMIT 1) RETURNING json_set(doc, '$.id', id,"
			    " '$.attempts', attempts, '$.expires_at', expires_at)",
	[SQ_OUTBOX_RETRY] = "UPDATE logout_outbox SET next_at = ?3, lease_until = 0,"
			    " lease_owner = NULL WHERE id = ?1 AND lease_owner = ?2",
	[SQ_OUTBOX_DONE] = "DELETE FROM logout_outbox WHERE id = ?1 AND lease_owner = ?2",
	[SQ_OUTBOX_DEAD] = "UPDATE logout_outbox SET dead_at = ?3, lease_until = 0,"
			   " lease_owner = NULL WHERE id = ?1 AND lease_owner = ?2",

	[SQ_JTI_PUT] = "INSERT INTO jti (jti, expires_at) VALUES (?1, ?2)"
		       " ON CONFLICT (jti) DO UPDATE SET expires_at = excluded.expires_at"
		       " WHERE jti.expires_at <= ?3",

	/* the counted fields of the two types billing and the statistics read (migration 7) */
	[SQ_EVENT_ADD] = "INSERT INTO events (type, time, doc, customer, client_id, eid, acr, sso,"
			 " billable, consumer, supplier) SELECT ?1, ?2, ?3,"
			 " json_extract(d, '$.customer'), json_extract(d, '$.client_id'),"
			 " json_extract(d, '$.eid'), json_extract(d, '$.acr'), json_extract(d, '$.sso'),"
			 " json_extract(d, '$.billable'), json_extract(d, '$.consumer'),"
			 " json_extract(d, '$.supplier') FROM (SELECT CASE WHEN ?1 IN"
			 " ('authentication', 'maskinporten_token') THEN ?3 END AS d)",
	[SQ_EVENT_COUNT] = "SELECT count(*) FROM events WHERE type = ?1",
	[SQ_EVENT_FIND] = "SELECT doc FROM events WHERE type = ?1"
			  " AND json_extract(doc, '$.' || ?2) = ?3 ORDER BY id DESC LIMIT ?4",

	/* KRR (sqlite_krr.c): a lookup's whole batch is one query over a JSON list */
	[SQ_KRR_GET] = "SELECT pid, status, reserved, reserved_at, reservation_updated, email,"
		" email_updated, email_verified, mobile, mobile_updated, mobile_verified,"
		" mailbox, mailbox_provider, cert, lang, lang_updated FROM krr_persons"
		" WHERE pid = ?1",
	[SQ_KRR_GET_MANY] = "SELECT pid, status, reserved, reserved_at, reservation_updated, email,"
		" email_updated, email_verified, mobile, mobile_updated, mobile_verified,"
		" mailbox, mailbox_provider, cert, lang, lang_updated FROM krr_persons"
		" WHERE pid IN (SELECT value FROM json_each(?1))",
	[SQ_KRR_SEQ_NEXT] = "UPDATE krr_seq SET n = n + 1 WHERE one = 1 RETURNING n",
	[SQ_KRR_PREV] = "SELECT change_id FROM krr_persons WHERE pid = ?1",
	[SQ_KRR_PUT] = "INSERT INTO krr_persons (change_id, pid, status, reserved, reserved_at,"
		" reservation_updated, email, email_updated, email_verified, mobile,"
		" mobile_updated, mobile_verified, mailbox, mailbox_provider, cert, lang,"
		" lang_updated) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12,"
		" ?13, ?14, NULLIF(?15, ''), ?16, ?17) ON CONFLICT (pid) DO UPDATE SET"
		" change_id = excluded.change_id, status = excluded.status, reserved ="
		" excluded.reserved, reserved_at = excluded.reserved_at,"
		" reservation_updated = excluded.reservation_updated, email ="
		" excluded.email, email_updated = excluded.email_updated, email_verified ="
		" excluded.email_verified, mobile = excluded.mobile, mobile_updated ="
		" excluded.mobile_updated, mobile_verified = excluded.mobile_verified,"
		" mailbox = excluded.mailbox, mailbox_provider ="
		" excluded.mailbox_provider, cert = excluded.cert, lang = excluded.lang,"
		" lang_updated = excluded.lang_updated",
	[SQ_KRR_HIST_ADD] = "INSERT INTO krr_history (change_id, pid, time, doc) VALUES (?1, ?2, ?3,"
		" ?4)",
	/* one statement, one snapshot: the newest number and the page agree */
	[SQ_KRR_CHANGES] = "SELECT s.n, p.change_id, p.pid, p.status, p.reserved, p.reserved_at,"
		" p.reservation_updated, p.email, p.email_updated, p.email_verified,"
		" p.mobile, p.mobile_updated, p.mobile_verified, p.mailbox,"
		" p.mailbox_provider, p.cert, p.lang, p.lang_updated FROM krr_seq s LEFT"
		" JOIN krr_persons p ON p.change_id >= ?1 AND p.change_id <= s.n ORDER BY"
		" p.change_id LIMIT ?2",
	[SQ_KRR_LIST] = "SELECT pid, status, reserved, reserved_at, reservation_updated, email,"
		" email_updated, email_verified, mobile, mobile_updated, mobile_verified,"
		" mailbox, mailbox_provider, cert, lang, lang_updated FROM krr_persons"
		" WHERE pid > ?1 ORDER BY pid LIMIT ?2",
	[SQ_KRR_HISTORY] = "SELECT change_id, time, doc FROM krr_history WHERE pid = ?1"
			   " ORDER BY change_id",

	/* the local register of representation (sqlite_repr.c) */
	[SQ_REPR_PERSON_PUT] = "INSERT INTO repr_persons (pid, name) VALUES (?1, ?2)"
			       " ON CONFLICT (pid) DO UPDATE SET name = excluded.name",
	[SQ_REPR_PERSON_GET] = "SELECT json_object('pid', pid, 'name', name) FROM repr_persons"
			       " WHERE pid = ?1",
	[SQ_REPR_ORG_PUT] = "INSERT INTO repr_orgs (orgno, name, unit_type, parent, deleted)"
			    " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (orgno) DO UPDATE SET"
			    " name = excluded.name, unit_type = excluded.unit_type,"
			    " parent = excluded.parent, deleted = excluded.deleted",
	[SQ_REPR_RESOURCE_PUT] = "INSERT INTO repr_resources (resource, name) VALUES (?1, ?2)"
				 " ON CONFLICT (resource) DO UPDATE SET name = excluded.name",
	[SQ_REPR_RESOURCE_GET] = "SELECT json_object('resource', resource, 'name', name)"
				 " FROM repr_resources WHERE resource = ?1",
	[SQ_REPR_RIGHT_PUT] = "INSERT INTO repr_rights (pid, orgno, resource, rights)"
			      " VALUES (?1, ?2, ?3, ?4) ON CONFLICT (pid, resource, orgno)"
			      " DO UPDATE SET rights = excluded.rights",
	[SQ_REPR_REPORTEES] = "SELECT json_object('orgno', o.orgno, 'name', o.name,"
			      " 'unit_type', o.unit_type, 'parent', o.parent,"
			      " 'deleted', json(CASE WHEN o.deleted THEN 'true' ELSE 'false' END),"
			      " 'rights', json(r.rights)) FROM repr_rights r JOIN repr_orgs o"
			      " ON o.orgno = r.orgno WHERE r.pid = ?1 AND r.resource = ?2"
			      " AND r.rights <> '[]' ORDER BY o.orgno",
	[SQ_REPR_FULLMAKT_PUT] = "INSERT INTO repr_fullmakts (representative, authorizer,"
				 " permissions, valid_from, valid_to) VALUES (?1, ?2, ?3, ?4, ?5)"
				 " ON CONFLICT (representative, authorizer) DO UPDATE SET"
				 " permissions = excluded.permissions,"
				 " valid_from = excluded.valid_from, valid_to = excluded.valid_to",
	[SQ_REPR_FULLMAKTS] = "SELECT json_object('authorizer', f.authorizer, 'name', p.name,"
			      " 'permissions', json(f.permissions)) FROM repr_fullmakts f"
			      " LEFT JOIN repr_persons p ON p.pid = f.authorizer"
			      " WHERE f.representative = ?1 AND f.valid_from <= ?2"
			      " AND (f.valid_to = 0 OR f.valid_to > ?2) ORDER BY f.authorizer",

	/* the person register (sqlite_people.c) */
	[SQ_PEOPLE_PUT] = "INSERT INTO people (pid, unique_identity) VALUES (?1, ?2)"
			  " ON CONFLICT (pid) DO UPDATE SET unique_identity = excluded.unique_identity",
	[SQ_PEOPLE_FOREIGN_CLEAR] = "DELETE FROM people_foreign WHERE pid = ?1",
	[SQ_PEOPLE_FOREIGN_ADD] = "INSERT INTO people_foreign (country, ident, pid)"
				  " SELECT ?2, ?3, pid FROM people WHERE pid = ?1"
				  " ON CONFLICT (country, ident, pid) DO UPDATE SET pid = excluded.pid",
	[SQ_PEOPLE_GET] = "SELECT json_object('pid', p.pid, 'unique',"
			  " json(CASE WHEN p.unique_identity THEN 'true' ELSE 'false' END),"
			  " 'foreign', (SELECT json_group_array(json_object('country', country,"
			  " 'id', ident)) FROM (SELECT country, ident FROM people_foreign"
			  " WHERE pid = p.pid ORDER BY country, ident))) FROM people p WHERE p.pid = ?1",
	[SQ_PEOPLE_MATCH] = "SELECT json_quote(pid) FROM people_foreign"
			    " WHERE country = ?1 AND ident = ?2 ORDER BY pid",

	[SQ_SWEEP_CODES] = "DELETE FROM codes WHERE expires_at <= ?1",
	[SQ_SWEEP_DOCS] = "DELETE FROM docs WHERE expires_at <= ?1",
	[SQ_SWEEP_REFRESH] = "DELETE FROM refresh_tokens WHERE expires_at <= ?1",
	[SQ_SWEEP_TOKENS] = "DELETE FROM access_tokens WHERE expires_at <= ?1",
	/*
	 * Sessions are ended, and announced, by session_take_expired; what is
	 * left a day on (no node took it) goes here unannounced.
	 */
	[SQ_SWEEP_SESSIONS] = "DELETE FROM sessions WHERE idle_expires <= ?1 - 86400"
			      " OR abs_expires <= ?1 - 86400",
	[SQ_SWEEP_JTI] = "DELETE FROM jti WHERE expires_at <= ?1",
	/* given-up logout deliveries are kept 30 days for operators */
	[SQ_SWEEP_OUTBOX] = "DELETE FROM logout_outbox WHERE dead_at > 0"
			    " AND dead_at <= ?1 - 2592000",
	/* last: what is left of an expired grant's tokens goes with it (cascade) */
	[SQ_SWEEP_GRANTS] = "DELETE FROM grants WHERE expires_at <= ?1",

	/* billing (sqlite_billing.c): sums in the database over the counted columns,
	 * one row per group */
	[SQ_BILL_VOLUME] = "SELECT customer, eid, count(*) FROM events"
			   " WHERE type = 'authentication' AND billable = 1"
			   " AND time >= ?1 AND time < ?2 GROUP BY 1, 2 ORDER BY 1, 2",
	[SQ_BILL_AUTH] = "SELECT strftime('%Y-%m', time, 'unixepoch'), customer, client_id, eid, acr,"
			 " sum(sso IS NOT 1), sum(sso IS 1), sum(billable IS 1) FROM events"
			 " WHERE type = 'authentication' AND time >= ?1 AND time < ?2"
			 " GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5",
	[SQ_BILL_TOKENS] = "SELECT strftime('%Y-%m', time, 'unixepoch'), consumer, supplier, count(*)"
			   " FROM events WHERE type = 'maskinporten_token' AND time >= ?1 AND time < ?2"
			   " GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
	[SQ_BILL_DAILY] = "SELECT strftime('%Y-%m-%d', time, 'unixepoch'),"
			  " sum(type = 'authentication' AND sso IS NOT 1),"
			  " sum(type = 'authentication' AND sso IS 1),"
			  " sum(type = 'maskinporten_token') FROM events"
			  " WHERE type IN ('authentication', 'maskinporten_token')"
			  " AND time >= ?1 AND time < ?2 GROUP BY 1 ORDER BY 1",
	[SQ_BILL_COSTS] = "SELECT item, amount_ore FROM billing_costs WHERE year = ?1 ORDER BY item",
	[SQ_BILL_CUSTOMERS] = "SELECT orgno, name, reference FROM billing_customers ORDER BY orgno",
	[SQ_BILL_EXTRAS] = "SELECT orgno, text, quantity, unit_ore FROM billing_extras"
			   " WHERE year = ?1 ORDER BY orgno, id",
	[SQ_BILL_COST_SET] = "INSERT INTO billing_costs (year, item, amount_ore, updated)"
			     " VALUES (?1, ?2, ?3, ?4) ON CONFLICT (year, item) DO UPDATE"
			     " SET amount_ore = excluded.amount_ore, updated = excluded.updated",
	[SQ_BILL_CUSTOMER_SET] = "INSERT INTO billing_customers (orgno, name, reference, updated)"
				 " VALUES (?1, ?2, ?3, ?4) ON CONFLICT (orgno) DO UPDATE"
				 " SET name = excluded.name, reference = excluded.reference,"
				 " updated = excluded.updated",
	[SQ_BILL_EXTRA_ADD] = "INSERT INTO billing_extras (year, orgno, text, quantity, unit_ore, created)"
			      " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[SQ_BILL_RUN_PUT] = "INSERT INTO billing_runs (year, time, doc) VALUES (?1, ?2, ?3)",
	[SQ_BILL_RETAIN] = "UPDATE event_retention SET boundary = ?1 WHERE id = 1 AND boundary < ?1",
	[SQ_BILL_OLDEST] = "SELECT time FROM events ORDER BY id LIMIT 1",
	/* oldest first: the rows a batch wants are at the front of the id order */
	[SQ_BILL_RETIRE] = "DELETE FROM events WHERE id IN"
			   " (SELECT id FROM events WHERE time < ?1 ORDER BY id LIMIT 1000)",
};

/* ---- meta, clients, scopes ---- */

static int
sq_meta_get(struct store *s, const char *name, char **value, struct err *e)
{
	struct sq_q q;
	int rc;

	*value = NULL;
	rc = store_sq_start(&q, s, "meta_get", e);
	if (rc == 0)
		rc = store_sq_stmt(&q, SQ_META_GET, e, "k", name);
	if (rc == 0)
		rc = store_sq_step(&q, e);
	if (rc == 0)
		rc = store_sq_notfound(e, q.op);
	else if (rc == 1)
		rc = store_sq_col_str(&q, 0, value, e);
	store_sq_end(&q);
	return rc;
}

/* No watch: registry_gen is a local read here. */
static int
sq_registry_epoch(struct store *s, uint64_t *epoch, struct err *e)
{
	(void)s;
	(void)e;
	*epoch = 0;
	return 0;
}

static int
sq_meta_put_new(struct store *s, const char *name, const char *value, struct err *e)
{
	return store_sq_write(s, SQ_META_PUT_NEW, "meta_put_new", ERR_EXISTS, e, "ks", name, value);
}

static int
sq_client_get(struct store *s, const char *client_id, json_t **doc, struct err *e)
{
	return store_sq_get_doc(s, SQ_CLIENT_GET, "client_get", doc, e, "k", client_id);
}

static int
sq_client_create(struct store *s, const char *client_id, const json_t *doc, struct err *e)
{
	return store_sq_write(s, SQ_CLIENT_CREATE, "client_create", ERR_EXISTS, e, "kj", client_id,
			      doc);
}

static int
sq_client_update(struct store *s, const char *client_id, const json_t *doc, struct err *e)
{
	return store_sq_write(s, SQ_CLIENT_UPDATE, "client_update", ERR_NOTFOUND, e, "kj",
			      client_id, doc);
}

static int
sq_client_delete(struct store *s, const char *client_id, struct err *e)
{
	return store_sq_write(s, SQ_CLIENT_DELETE, "client_delete", ERR_NOTFOUND, e, "k",
			      client_id);
}

static int
sq_client_list(struct store *s, json_t **docs, struct err *e)
{
	return store_sq_list_docs(s, SQ_CLIENT_LIST, "client_list", docs, e, "");
}

static int
sq_scope_get(struct store *s, const char *name, json_t **doc, struct err *e)
{
	return store_sq_get_doc(s, SQ_SCOPE_GET, "scope_get", doc, e, "k", name);
}

static int
sq_scope_put(struct store *s, const char *name, const json_t *doc, struct err *e)
{
	return store_sq_write(s, SQ_SCOPE_PUT, "scope_put", 0, e, "kj", name, doc);
}

static int
sq_scope_delete(struct store *s, const char *name, struct err *e)
{
	return store_sq_write(s, SQ_SCOPE_DELETE, "scope_delete", ERR_NOTFOUND, e, "k", name);
}

static int
sq_scope_list(struct store *s, json_t **docs, struct err *e)
{
	return store_sq_list_docs(s, SQ_SCOPE_LIST, "scope_list", docs, e, "");
}

/* ---- signing keys ---- */

static int
sq_key_add(struct store *s, const struct store_key *k, struct err *e)
{
	if (k == NULL)
		return ERR(e, ERR_INVAL, 0, NULL, "store key_add: missing key");
	return store_sq_write(s, SQ_KEY_ADD, "key_add", ERR_EXISTS, e, "kkkssiiii", k->kid,
			      k->issuer, k->alg, k->sealed, k->public_jwk, k->created,
			      k->active_from, k->retired_at, k->expires_at);
}

static int
sq_key_row(struct sq_q *q, struct store_key *k, struct err *e)
{
	int rc;

	memset(k, 0, sizeof(*k));
	rc = store_sq_col_str(q, 0, &k->kid, e);
	if (rc == 0)
		rc = store_sq_col_str(q, 1, &k->issuer, e);
	if (rc == 0)
		rc = store_sq_col_str(q, 2, &k->alg, e);
	if (rc == 0)
		rc = store_sq_col_str(q, 3, &k->sealed, e);
	if (rc == 0)
		rc = store_sq_col_str(q, 4, &k->public_jwk, e);
	k->created = sqlite3_column_int64(q->st, 5);
	k->active_from = sqlite3_column_int64(q->st, 6);
	k->retired_at = sqlite3_column_int64(q->st, 7);
	k->expires_at = sqlite3_column_int64(q->st, 8);
	return rc;
}

static int
sq_key_list(struct store *s, const char *issuer, struct store_key **keys, size_t *n, struct err *e)
{
	struct store_key *arr = NULL, *grown;
	size_t len = 0, cap = 0;
	struct sq_q q;
	int rc;

	*keys = NULL;
	*n = 0;
	rc = store_sq_start(&q, s, "key_list", e);
	if (rc == 0)
		rc = store_sq_stmt(&q, SQ_KEY_LIST, e, "ki", issuer, time_now());
	while (rc == 0 && (rc = store_sq_step(&q, e)) == 1) {
		if (len == SQ_MAX_KEYS) {
			rc = ERR(e, ERR_LIMIT, 500, "server_error",
				 "store key_list: too many keys");
			break;
		}
		if (len == cap) {
			cap = cap ? cap * 2 : 4;
			grown = realloc(arr, cap * sizeof(*arr));
			if (grown == NULL) {
				rc = store_sq_fail(e, SQLITE_NOMEM, q.op);
				break;
			}
			arr = grown;
		}
		rc = sq_key_row(&q, &arr[len++], e);
	}
	store_sq_end(&q);
	if (rc != 0) {
		store_keys_free(arr, len);
		return rc;
	}
	*keys = arr;
	*n = len;
	return 0;
}

static int
sq_key_retire(struct store *s, const char *kid, int64_t retired_at, int64_t expires_at,
	      struct err *e)
{
	return store_sq_write(s, SQ_KEY_RETIRE, "key_retire", ERR_NOTFOUND, e, "kii", kid,
			      retired_at, expires_at);
}

static int
sq_key_reseal(struct store *s, const char *kid, const char *old_sealed, const char *new_sealed,
	      struct err *e)
{
	return store_sq_write(s, SQ_KEY_RESEAL, "key_reseal", ERR_NOTFOUND, e, "kss", kid,
			      old_sealed, new_sealed);
}

/* ---- SAML service providers ---- */

static int
sq_saml_sp_get(struct store *s, const char *entity_id, json_t **doc, struct err *e)
{
	return store_sq_get_doc(s, SQ_SAML_SP_GET, "sp_get", doc, e, "k", entity_id);
}

static int
sq_saml_sp_put(struct store *s, const char *entity_id, const json_t *doc, struct err *e)
{
	return store_sq_write(s, SQ_SAML_SP_PUT, "sp_put", 0, e, "kj", entity_id, doc);
}

static int
sq_saml_sp_delete(struct store *s, const char *entity_id, struct err *e)
{
	return store_sq_write(s, SQ_SAML_SP_DELETE, "sp_delete", ERR_NOTFOUND, e, "k", entity_id);
}

static int
sq_saml_sp_list(struct store *s, json_t **docs, struct err *e)
{
	return store_sq_list_docs(s, SQ_SAML_SP_LIST, "sp_list", docs, e, "");
}

/* ---- short-lived documents ---- */

int
sq_doc_put(struct store *s, const char *kind, const char *id, const json_t *doc, int64_t expires_at,
	   struct err *e)
{
	return store_sq_write(s, SQ_DOC_PUT, "doc_put", ERR_EXISTS, e, "kkjii", kind, id, doc,
			      expires_at, time_now());
}

int
sq_doc_get(struct store *s, const char *kind, const char *id, json_t **doc, struct err *e)
{
	return store_sq_get_doc(s, SQ_DOC_GET, "doc_get", doc, e, "kki", kind, id, time_now());
}

int
sq_doc_update(struct store *s, const char *kind, const char *id, const json_t *doc, struct err *e)
{
	return store_sq_write(s, SQ_DOC_UPDATE, "doc_update", ERR_NOTFOUND, e, "kkji", kind, id,
			      doc, time_now());
}

int
sq_doc_take(struct store *s, const char *kind, const char *id, json_t **doc, struct err *e)
{
	return store_sq_get_doc(s, SQ_DOC_TAKE, "doc_take", doc, e, "kki", kind, id, time_now());
}

int
sq_doc_delete(struct store *s, const char *kind, const char *id, struct err *e)
{
	return store_sq_write(s, SQ_DOC_DELETE, "doc_delete", ERR_NOTFOUND, e, "kk", kind, id);
}

/* ---- authorization codes ---- */

static int
sq_code_put(struct store *s, const char *hash, const char *grant_id, const char *doc,
	    int64_t expires_at, struct err *e)
{
	return store_sq_write(s, SQ_CODE_PUT, "code_put", ERR_EXISTS, e, "knsi", hash, grant_id,
			      doc, expires_at);
}

static int
sq_code_consume(struct store *s, const char *hash, json_t **doc, char **grant_id, struct err *e)
{
	int64_t now = time_now();
	struct sq_q q;
	int rc;

	*doc = NULL;
	*grant_id = NULL;
	rc = store_sq_start(&q, s, "code_consume", e);
	if (rc == 0)
		rc = store_sq_stmt(&q, SQ_CODE_CONSUME, e, "ki", hash, now);
	if (rc == 0)
		rc = store_sq_step(&q, e);
	if (rc == 1) {
		rc = store_sq_col_json(&q, 0, doc, e);
		if (rc == 0)
			rc = store_sq_col_str(&q, 1, grant_id, e);
		if (rc == 0)
			rc = store_sq_finish(&q, NULL, e);
		goto out;
	}
	if (rc != 0)
		goto out;
	/*
	 * Nothing consumed.  A code presented again is a replay: report it with
	 * the grant the first use issued (RFC 6749 4.1.2: revoke its tokens).
	 * Used codes stay until they expire so this can be told apart.
	 */
	rc = store_sq_stmt(&q, SQ_CODE_PEEK, e, "ki", hash, now);
	if (rc == 0)
		rc = store_sq_step(&q, e);
	if (rc == 0 || (rc == 1 && sqlite3_column_int64(q.st, 0) == 0)) {
		rc = store_sq_notfound(e, q.op);
	} else if (rc == 1) {
		rc = store_sq_col_str(&q, 1, grant_id, e);
		if (rc == 0)
			rc = ERR(e, ERR_REUSED, 0, NULL, "store code_consume: code already used");
	}
out:
	store_sq_end(&q);
	if (rc != 0) {
		json_decref(*doc);
		*doc = NULL;
	}
	if (rc != 0 && rc != ERR_REUSED) {
		free(*grant_id);
		*grant_id = NULL;
	}
	return rc;
}

/* ---- grants ---- */

static int
sq_grant_put(struct store *s, const char *grant_id, const char *client_id, const char *sid,
	     bool login_only, const char *doc, int64_t expires_at, struct err *e)
{
	return store_sq_write(s, SQ_GRANT_PUT, "grant_put", ERR_EXISTS, e, "kknisi", grant_id,
			      client_id, sid, (int64_t)(login_only ? 1 : 0), doc, expires_at);
}

static int
sq_grant_get(struct store *s, const char *grant_id, json_t **doc, struct err *e)
{
	return store_sq_get_doc(s, SQ_GRANT_GET, "grant_get", doc, e, "ki", grant_id, time_now());
}

static int
sq_grant_find_person(struct store *s, const char *pid, int64_t limit, json_t **docs,
		     struct err *e)
{
	struct sq_q q;
	json_t *arr = NULL, *doc = NULL;
	char *id = NULL, *cid = NULL;
	int rc;

	*docs = NULL;
	if (limit < 1 || limit > 1000)
		return ERR(e, ERR_INVAL, 0, NULL, "store grant_find_person: limit out of range");
	rc = store_sq_start(&q, s, "grant_find_person", e);
	if (rc == 0 && (arr = json_array()) == NULL)
		rc = store_sq_fail(e, SQLITE_NOMEM, "grant_find_person");
	if (rc == 0)
		rc = store_sq_stmt(&q, SQ_GRANT_FIND_PERSON, e, "kii", pid, time_now(), limit);
	while (rc == 0 && (rc = store_sq_step(&q, e)) == 1) {
		rc = store_sq_col_json(&q, 0, &doc, e);
		if (rc == 0)
			rc = store_sq_col_str(&q, 1, &id, e);
		if (rc == 0)
			rc = store_sq_col_str(&q, 2, &cid, e);
		if (rc == 0 && (!json_is_object(doc) ||
				json_object_set_new(doc, "grant_id", json_string(id)) != 0 ||
				json_object_set_new(doc, "client_id", json_string(cid)) != 0 ||
				json_object_set_new(doc, "expires_at",
						    json_integer(sqlite3_column_int64(q.st, 3))) != 0 ||
				json_array_append(arr, doc) != 0))
			rc = store_sq_fail(e, SQLITE_NOMEM, "grant_find_person");
		json_decref(doc);
		doc = NULL;
		free(id);
		free(cid);
		id = cid = NULL;
	}
	store_sq_end(&q);
	if (rc == 0)
		*docs = arr;
	else
		json_decref(arr);
	return rc;
}

static int
sq_grant_revoke(struct store *s, const char *grant_id, struct err *e)
{
	int64_t now = time_now();

	return store_sq_write(s, SQ_GRANT_REVOKE, "grant_revoke", 0, e, "kii", grant_id,
			      now + SQ_TOMBSTONE_TTL, now);
}

static int
sq_grant_revoke_session(struct store *s, const char *sid, struct err *e)
{
	return store_sq_write(s, SQ_GRANT_REVOKE_SID, "grant_revoke_session", 0, e, "ki", sid,
			      time_now());
}

/* ---- refresh tokens ---- */

static int
sq_refresh_put(struct store *s, const char *hash, const char *grant_id, const char *client_id,
	       const char *jkt, int64_t expires_at, struct err *e)
{
	return store_sq_write(s, SQ_REFRESH_PUT, "refresh_put", ERR_EXISTS, e, "kkkin", hash,
			      grant_id, client_id, expires_at, jkt);
}

/*
 * Look a refresh token up: ERR_NOTFOUND when unknown, expired, or its grant
 * revoked or expired (the grant's expiry is the absolute limit, the
 * token's own an inactivity window).  *spent says whether it was rotated.
 */
static int
sq_refresh_lookup(struct sq_q *q, const char *hash, int64_t now, struct store_refresh *out,
		  bool *spent, struct err *e)
{
	int rc;

	rc = store_sq_stmt(q, SQ_REFRESH_GET, e, "k", hash);
	if (rc == 0)
		rc = store_sq_step(q, e);
	if (rc == 0)
		return store_sq_notfound(e, q->op);
	if (rc < 0)
		return rc;
	if (sqlite3_column_int64(q->st, 2) <= now || sqlite3_column_int64(q->st, 4) != 0 ||
	    sqlite3_column_int64(q->st, 5) <= now)
		return store_sq_notfound(e, q->op);
	*spent = sqlite3_column_int64(q->st, 3) != 0;
	out->expires_at = sqlite3_column_int64(q->st, 2);
	rc = store_sq_col_str(q, 0, &out->grant_id, e);
	if (rc == 0)
		rc = store_sq_col_str(q, 1, &out->client_id, e);
	if (rc == 0)
		rc = store_sq_col_str(q, 6, &out->jkt, e);
	return rc;
}

static int
sq_refresh_rotate(struct store *s, const char *old_hash, const char *new_hash,
		  int64_t new_expires_at, const char *new_jkt, struct store_refresh *out,
		  struct err *e)
{
	struct store_refresh old = { 0 };
	int64_t now = time_now(), changes = 0;
	bool spent = false, in_tx = false;
	struct sq_q q;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = store_sq_start(&q, s, "refresh_rotate", e);
	if (rc != 0)
		goto out;
	/* validate new_hash before taking the write lock */
	rc = store_sq_check_text(new_hash, 'k', q.op, e);
	if (rc == 0)
		rc = store_sq_tx(&q, SQ_BEGIN, e);
	if (rc != 0)
		goto out;
	in_tx = true;
	rc = sq_refresh_lookup(&q, old_hash, now, &old, &spent, e);
	if (rc != 0)
		goto out;
	if (spent) {
		/* OAuth 2.0 Security BCP (RFC 9700) 4.14.2: reuse revokes the family */
		rc = store_sq_stmt(&q, SQ_GRANT_REVOKE, e, "kii", old.grant_id,
				   now + SQ_TOMBSTONE_TTL, now);
		if (rc == 0)
			rc = store_sq_finish(&q, NULL, e);
		if (rc == 0)
			rc = store_sq_tx(&q, SQ_COMMIT, e);
		if (rc == 0) {
			in_tx = false;
			rc = ERR(e, ERR_REUSED, 0, NULL,
				 "store refresh_rotate: token already used");
		}
		goto out;
	}
	rc = store_sq_stmt(&q, SQ_REFRESH_SPEND, e, "k", old_hash);
	if (rc == 0)
		rc = store_sq_finish(&q, &changes, e);
	if (rc == 0 && changes != 1)
		rc = ERR(e, ERR_INTERNAL, 500, "server_error", "store refresh_rotate: not spent");
	if (rc == 0)
		rc = store_sq_stmt(&q, SQ_REFRESH_PUT, e, "kkkin", new_hash, old.grant_id,
				   old.client_id, new_expires_at, new_jkt);
	if (rc == 0)
		rc = store_sq_finish(&q, NULL, e);
	if (rc == 0)
		rc = store_sq_tx(&q, SQ_COMMIT, e);
	if (rc == 0) {
		in_tx = false;
		*out = old;
		memset(&old, 0, sizeof(old));
	}
out:
	if (in_tx)
		store_sq_tx(&q, SQ_ROLLBACK, NULL);
	store_sq_end(&q);
	store_refresh_clear(&old);
	return rc;
}

static int
sq_refresh_get(struct store *s, const char *hash, struct store_refresh *out, struct err *e)
{
	struct sq_q q;
	bool spent = false;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = store_sq_start(&q, s, "refresh_get", e);
	if (rc == 0)
		rc = sq_refresh_lookup(&q, hash, time_now(), out, &spent, e);
	if (rc == 0 && spent)
		rc = store_sq_notfound(e, q.op);
	store_sq_end(&q);
	if (rc != 0)
		store_refresh_clear(out);
	return rc;
}

/* ---- access tokens ---- */

static int
sq_token_put(struct store *s, const char *hash, const char *grant_id, const char *doc,
	     int64_t expires_at, struct err *e)
{
	return store_sq_write(s, SQ_TOKEN_PUT, "token_put", ERR_EXISTS, e, "knsi", hash, grant_id,
			      doc, expires_at);
}

static int
sq_token_get(struct store *s, const char *hash, json_t **doc, char **grant_id, json_t **grant,
	     struct err *e)
{
	struct sq_q q;
	int rc;

	*doc = NULL;
	if (grant_id != NULL)
		*grant_id = NULL;
	if (grant != NULL)
		*grant = NULL;
	rc = store_sq_start(&q, s, "token_get", e);
	if (rc == 0)
		rc = store_sq_stmt(&q, SQ_TOKEN_GET, e, "ki", hash, time_now());
	if (rc == 0)
		rc = store_sq_step(&q, e);
	if (rc == 0)
		rc = store_sq_notfound(e, q.op);
	if (rc == 1)
		rc = store_sq_col_json(&q, 0, doc, e);
	if (rc == 0 && grant_id != NULL)
		rc = store_sq_col_str(&q, 1, grant_id, e);
	/* A token with a grant has a live one: the statement's join says so. */
	if (rc == 0 && grant != NULL && sqlite3_column_type(q.st, 2) != SQLITE_NULL)
		rc = store_sq_col_json(&q, 2, grant, e);
	store_sq_end(&q);
	if (rc != 0) {
		json_decref(*doc);
		*doc = NULL;
		if (grant_id != NULL) {
			free(*grant_id);
			*grant_id = NULL;
		}
		if (grant != NULL) {
			json_decref(*grant);
			*grant = NULL;
		}
	}
	return rc;
}

/* One row of the revocation list as the facet gives it. */
static json_t *
revoked_row(const char *jti, int64_t revoked_at, int64_t expires_at)
{
	return json_pack("{s:s, s:I, s:I}", "jti", jti, "revoked_at", (json_int_t)revoked_at,
			 "expires_at", (json_int_t)expires_at);
}

static int
sq_token_find_revoked(struct store *s, const char *client_id, int64_t limit, json_t **out,
		      struct err *e)
{
	struct sq_q q;
	json_t *arr = NULL;
	char *jti = NULL;
	int rc;

	*out = NULL;
	if (limit < 1 || limit > STORE_REVOKED_MAX)
		return ERR(e, ERR_INVAL, 0, NULL, "store token_find_revoked: limit out of range");
	rc = store_sq_start(&q, s, "token_find_revoked", e);
	if (rc == 0 && (arr = json_array()) == NULL)
		rc = store_sq_fail(e, SQLITE_NOMEM, "token_find_revoked");
	if (rc == 0)
		rc = store_sq_stmt(&q, SQ_TOKEN_FIND_REVOKED, e, "kii", client_id, time_now(), limit);
	while (rc == 0 && (rc = store_sq_step(&q, e)) == 1) {
		rc = store_sq_col_str(&q, 0, &jti, e);
		if (rc == 0 && json_array_append_new(arr, revoked_row(jti,
								     sqlite3_column_int64(q.st, 1),
								     sqlite3_column_int64(q.st, 2))) != 0)
			rc = store_sq_fail(e, SQLITE_NOMEM, "token_find_revoked");
		free(jti);
		jti = NULL;
	}
	store_sq_end(&q);
	if (rc == 0)
		*out = arr;
	else
		json_decref(arr);
	return rc;
}

/* ---- SSO sessions ---- */

static int
sq_session_put(struct store *s, const char *hash, const char *doc, const char *pid,
	       int64_t idle_expires, int64_t abs_expires, struct err *e)
{
	return store_sq_write(s, SQ_SESSION_PUT, "session_put", ERR_EXISTS, e, "ksnii", hash, doc,
			      pid, idle_expires, abs_expires);
}

static int
sq_session_get(struct store *s, const char *hash, json_t **doc, struct err *e)
{
	return store_sq_get_doc(s, SQ_SESSION_GET, "session_get", doc, e, "ki", hash, time_now());
}

static int
sq_session_update(struct store *s, const char *hash, const char *doc, const char *pid,
		  int64_t idle_expires, struct err *e)
{
	return store_sq_write(s, SQ_SESSION_UPDATE, "session_update", ERR_NOTFOUND, e, "ksnii",
			      hash, doc, pid, idle_expires, time_now());
}

static int
sq_session_delete(struct store *s, const char *hash, struct err *e)
{
	return store_sq_write(s, SQ_SESSION_DELETE, "session_delete", ERR_NOTFOUND, e, "k", hash);
}

static int
sq_session_take_expired(struct store *s, int64_t now, int64_t limit, json_t **docs,
			struct err *e)
{
	return store_sq_list_docs(s, SQ_SESSION_TAKE_EXPIRED, "session_take_expired", docs, e,
				  "ii", now, limit);
}

static int
sq_session_take_person(struct store *s, const char *pid, int64_t limit, json_t **docs,
		       struct err *e)
{
	return store_sq_list_docs(s, SQ_SESSION_TAKE_PERSON, "session_take_person", docs, e,
				  "ki", pid, limit);
}

/* ---- back-channel logout outbox ---- */

static int
sq_outbox_add(struct store *s, const char *id, const json_t *doc, int64_t due, int64_t expires,
	      struct err *e)
{
	return store_sq_write(s, SQ_OUTBOX_ADD, "outbox_add", ERR_EXISTS, e, "kjii", id, doc, due,
			      expires);
}

static int
sq_outbox_claim(struct store *s, int64_t now, int64_t lease_until, const char *owner,
		json_t **doc, struct err *e)
{
	return store_sq_get_doc(s, SQ_OUTBOX_CLAIM, "outbox_claim", doc, e, "iik", now,
				lease_until, owner);
}

static int
sq_outbox_retry(struct store *s, const char *id, const char *owner, int64_t next_at,
		struct err *e)
{
	return store_sq_write(s, SQ_OUTBOX_RETRY, "outbox_retry", ERR_NOTFOUND, e, "kki", id, owner,
			      next_at);
}

static int
sq_outbox_finish(struct store *s, const char *id, const char *owner, int64_t dead_at,
		 struct err *e)
{
	if (dead_at == 0)
		return store_sq_write(s, SQ_OUTBOX_DONE, "outbox_finish", ERR_NOTFOUND, e, "kk", id,
				      owner);
	return store_sq_write(s, SQ_OUTBOX_DEAD, "outbox_finish", ERR_NOTFOUND, e, "kki", id, owner,
			      dead_at);
}

/* ---- replay cache, events, sweep ---- */

static int
sq_jti_remember(struct store *s, const char *key, int64_t expires_at, struct err *e)
{
	return store_sq_write(s, SQ_JTI_PUT, "jti_remember", ERR_EXISTS, e, "kii", key, expires_at,
			      time_now());
}

static int
sq_session_count(struct store *s, int64_t now, int64_t *n, struct err *e)
{
	struct sq_q q;
	int rc;

	*n = 0;
	rc = store_sq_start(&q, s, "session_count", e);
	if (rc == 0)
		rc = store_sq_stmt(&q, SQ_SESSION_COUNT, e, "i", now);
	if (rc == 0)
		rc = store_sq_step(&q, e);
	if (rc == 1) {
		*n = sqlite3_column_int64(q.st, 0);
		rc = 0;
	} else if (rc == 0) {
		rc = ERR(e, ERR_INTERNAL, 500, "server_error", "store session_count: no count");
	}
	store_sq_end(&q);
	return rc;
}

static int
sq_event_add(struct store *s, const char *type, const char *doc, struct err *e)
{
	return store_sq_write(s, SQ_EVENT_ADD, "event_add", 0, e, "kis", type, time_now(), doc);
}

static int
sq_event_count(struct store *s, const char *type, int64_t *n, struct err *e)
{
	struct sq_q q;
	int rc;

	*n = 0;
	rc = store_sq_start(&q, s, "event_count", e);
	if (rc == 0)
		rc = store_sq_stmt(&q, SQ_EVENT_COUNT, e, "k", type);
	if (rc == 0)
		rc = store_sq_step(&q, e);
	if (rc == 1) {
		*n = sqlite3_column_int64(q.st, 0);
		rc = 0;
	} else if (rc == 0) {
		rc = ERR(e, ERR_INTERNAL, 500, "server_error", "store event_count: no count");
	}
	store_sq_end(&q);
	return rc;
}

static int
sq_event_find(struct store *s, const char *type, const char *key, const char *value,
	      int64_t limit, json_t **docs, struct err *e)
{
	*docs = NULL;
	if (limit < 1 || limit > 1000)
		return ERR(e, ERR_INVAL, 0, NULL, "store event_find: limit out of range");
	return store_sq_list_docs(s, SQ_EVENT_FIND, "event_find", docs, e, "kksi", type, key, value,
				  limit);
}

/*
 * One statement per table, each its own short write, so the sweep never
 * holds the write lock for long.
 */
static int
sq_sweep(struct store *s, int64_t now, int64_t *n, struct err *e)
{
	struct sq_q q;
	int64_t changes;
	int id, rc;

	*n = 0;
	rc = store_sq_start(&q, s, "sweep", e);
	for (id = SQ_SWEEP_CODES; rc == 0 && id <= SQ_SWEEP_GRANTS; id++) {
		changes = 0;
		rc = store_sq_stmt(&q, (enum sq_id)id, e, "i", now);
		if (rc == 0)
			rc = store_sq_finish(&q, &changes, e);
		*n += changes;
	}
	store_sq_end(&q);
	return rc;
}

static const struct store_registry_ops sq_registry = {
	.meta_get = sq_meta_get,
	.registry_epoch = sq_registry_epoch,
	.meta_put_new = sq_meta_put_new,
	.client_get = sq_client_get,
	.client_create = sq_client_create,
	.client_update = sq_client_update,
	.client_delete = sq_client_delete,
	.client_list = sq_client_list,
	.scope_get = sq_scope_get,
	.scope_put = sq_scope_put,
	.scope_delete = sq_scope_delete,
	.scope_list = sq_scope_list,
	.key_add = sq_key_add,
	.key_list = sq_key_list,
	.key_retire = sq_key_retire,
	.key_reseal = sq_key_reseal,
};

static const struct store_oauth_ops sq_oauth = {
	.code_put = sq_code_put,
	.code_consume = sq_code_consume,
	.grant_put = sq_grant_put,
	.grant_get = sq_grant_get,
	.grant_revoke = sq_grant_revoke,
	.grant_find_person = sq_grant_find_person,
	.grant_revoke_session = sq_grant_revoke_session,
	.refresh_put = sq_refresh_put,
	.refresh_rotate = sq_refresh_rotate,
	.refresh_get = sq_refresh_get,
	.token_put = sq_token_put,
	.token_get = sq_token_get,
	.token_find_revoked = sq_token_find_revoked,
	.jti_remember = sq_jti_remember,
};

static const struct store_login_ops sq_login = {
	.doc_put = sq_doc_put,
	.doc_get = sq_doc_get,
	.doc_update = sq_doc_update,
	.doc_take = sq_doc_take,
	.doc_delete = sq_doc_delete,
	.session_put = sq_session_put,
	.session_get = sq_session_get,
	.session_update = sq_session_update,
	.session_delete = sq_session_delete,
	.session_count = sq_session_count,
	.session_take_expired = sq_session_take_expired,
	.session_take_person = sq_session_take_person,
	.outbox_add = sq_outbox_add,
	.outbox_claim = sq_outbox_claim,
	.outbox_retry = sq_outbox_retry,
	.outbox_finish = sq_outbox_finish,
};

static const struct store_minid_ops sq_minid = {
	.doc_put = sq_doc_put,
	.doc_get = sq_doc_get,
	.doc_update = sq_doc_update,
	.doc_take = sq_doc_take,
	.doc_delete = sq_doc_delete,
};

static const struct store_saml_ops sq_saml = {
	.doc_put = sq_doc_put,
	.doc_get = sq_doc_get,
	.doc_update = sq_doc_update,
	.doc_take = sq_doc_take,
	.doc_delete = sq_doc_delete,
	.sp_get = sq_saml_sp_get,
	.sp_put = sq_saml_sp_put,
	.sp_delete = sq_saml_sp_delete,
	.sp_list = sq_saml_sp_list,
};

static const struct store_event_ops sq_events = {
	.event_add = sq_event_add,
	.event_count = sq_event_count,
	.event_find = sq_event_find,
};

const struct store_engine store_sqlite_engine = {
	.name = "sqlite",
	.open = store_sq_open,
	.close = store_sq_close,
	.tx_begin = store_sq_tx_begin,
	.tx_end = store_sq_tx_end,
	.tx_depth = store_sq_tx_depth,
	.sweep = sq_sweep,
	.registry = &sq_registry,
	.oauth = &sq_oauth,
	.login = &sq_login,
	.minid = &sq_minid,
	.events = &sq_events,
	.billing = &store_sq_billing,
	.saml = &sq_saml,
	.krr = &store_sq_krr,
	.repr = &store_sq_repr,
	.people = &store_sq_people,
};

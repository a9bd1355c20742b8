/*
 * The kit every engine shares: store_call's counting and timing, the
 * transaction entry points, the record helpers and the slot counter on
 * the facets' documents (opening: open.c).
 */
#include "store/backend_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/crypto.h"
#include "core/log.h"

/* Every facet fits its statistics slots. */
_Static_assert(sizeof(struct store_oauth_ops) <= STORE_FACET_OPS * sizeof(void (*)(void)),
	       "struct store_oauth_ops: more operations than STORE_FACET_OPS");
_Static_assert(sizeof(struct store_login_ops) <= STORE_FACET_OPS * sizeof(void (*)(void)),
	       "struct store_login_ops: more operations than STORE_FACET_OPS");
_Static_assert(sizeof(struct store_registry_ops) <= STORE_FACET_OPS * sizeof(void (*)(void)),
	       "struct store_registry_ops: more operations than STORE_FACET_OPS");
_Static_assert(sizeof(struct store_minid_ops) <= STORE_FACET_OPS * sizeof(void (*)(void)),
	       "struct store_minid_ops: more operations than STORE_FACET_OPS");
_Static_assert(sizeof(struct store_saml_ops) <= STORE_FACET_OPS * sizeof(void (*)(void)),
	       "struct store_saml_ops: more operations than STORE_FACET_OPS");
_Static_assert(sizeof(struct store_event_ops) <= STORE_FACET_OPS * sizeof(void (*)(void)),
	       "struct store_event_ops: more operations than STORE_FACET_OPS");
_Static_assert(sizeof(struct store_billing_ops) <= STORE_FACET_OPS * sizeof(void (*)(void)),
	       "struct store_billing_ops: more operations than STORE_FACET_OPS");
_Static_assert(sizeof(struct store_krr_ops) <= STORE_FACET_OPS * sizeof(void (*)(void)),
	       "struct store_krr_ops: more operations than STORE_FACET_OPS");
_Static_assert(sizeof(struct store_repr_ops) <= STORE_FACET_OPS * sizeof(void (*)(void)),
	       "struct store_repr_ops: more operations than STORE_FACET_OPS");
_Static_assert(sizeof(struct store_people_ops) <= STORE_FACET_OPS * sizeof(void (*)(void)),
	       "struct store_people_ops: more operations than STORE_FACET_OPS");

int64_t
store_call_clock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int
store_call_done(struct store *s, unsigned slot, const char *name, int rc, int64_t t0)
{
	int64_t ns = store_call_clock() - t0;
	struct store_op_stat *st;

	if (slot < sizeof(s->stats) / sizeof(s->stats[0])) {
		st = &s->stats[slot];
		/* Written once: a store on every call would pass the line between cores. */
		if (__atomic_load_n(&st->name, __ATOMIC_RELAXED) == NULL)
			__atomic_store_n(&st->name, name, __ATOMIC_RELAXED);
		__atomic_add_fetch(&st->calls, 1, __ATOMIC_RELAXED);
		if (rc != 0)
			__atomic_add_fetch(&st->errors, 1, __ATOMIC_RELAXED);
		__atomic_add_fetch(&st->ns, (uint64_t)(ns > 0 ? ns : 0), __ATOMIC_RELAXED);
	}
	log_debug(NULL, "store %s: %d in %lld us", name, rc, (long long)(ns / 1000));
	return rc;
}

size_t
store_stats(const struct store *s, struct store_op_stat *out, size_t max)
{
	size_t i, n = 0;

	for (i = 0; i < sizeof(s->stats) / sizeof(s->stats[0]) && n < max; i++) {
		const struct store_op_stat *st = &s->stats[i];
		const char *name = __atomic_load_n(&st->name, __ATOMIC_RELAXED);

		if (name == NULL)
			continue;
		out[n].name = name;
		out[n].calls = __atomic_load_n(&st->calls, __ATOMIC_RELAXED);
		out[n].errors = __atomic_load_n(&st->errors, __ATOMIC_RELAXED);
		out[n].ns = __atomic_load_n(&st->ns, __ATOMIC_RELAXED);
		n++;
	}
	return n;
}

void
store_close(struct store *s)
{
	if (s != NULL)
		s->engine->close(s);
}

const char *
store_engine_name(const struct store *s)
{
	return s->engine->name;
}

int
store_tx_begin(struct store *s, struct err *e)
{
	return s->engine->tx_begin(s, e);
}

int
store_tx_end(struct store *s, bool commit, struct err *e)
{
	return s->engine->tx_end(s, commit, e);
}

int
store_tx_depth(struct store *s)
{
	return s->engine->tx_depth(s);
}

int
store_sweep(struct store *s, int64_t now, int64_t *n, struct err *e)
{
	return s->engine->sweep(s, now, n, e);
}

void
store_key_clear(struct store_key *k)
{
	if (k == NULL)
		return;
	free(k->kid);
	free(k->issuer);
	free(k->alg);
	/* sealed under the KEK, but still key material: wipe it */
	if (k->sealed != NULL)
		secure_wipe(k->sealed, strlen(k->sealed));
	free(k->sealed);
	free(k->public_jwk);
	memset(k, 0, sizeof(*k));
}

void
store_keys_free(struct store_key *keys, size_t n)
{
	size_t i;

	if (keys == NULL)
		return;
	for (i = 0; i < n; i++)
		store_key_clear(&keys[i]);
	free(keys);
}

void
store_refresh_clear(struct store_refresh *r)
{
	if (r == NULL)
		return;
	free(r->grant_id);
	free(r->client_id);
	free(r->jkt);
	memset(r, 0, sizeof(*r));
}

int
store_event_add_tree(struct store *s, const char *type, const json_t *doc, struct err *e)
{
	char *text;
	int rc;

	if (doc == NULL)
		return ERR(e, ERR_INVAL, 0, NULL, "store event_add: missing document");
	text = json_dumps(doc, JSON_COMPACT);
	if (text == NULL)
		return ERR(e, ERR_NOMEM, 500, "server_error", "out of memory");
	rc = store_call(s, events, event_add, type, text, e);
	free(text);
	return rc;
}

int
store_slot_claim(struct store *s, store_doc_put_fn put, const char *kind, const char *key,
		 const json_t *doc, int64_t max, int64_t exp, int64_t *slot, struct err *e)
{
	json_t *mark = doc != NULL ? json_incref((json_t *)doc) : json_object();
	int rc = ERR_LIMIT;

	*slot = 0;
	if (mark == NULL)
		return ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
	for (int64_t n = 1; n <= max; n++) {
		char id[160];

		if (snprintf(id, sizeof(id), "%s.%lld", key, (long long)n) >= (int)sizeof(id)) {
			rc = ERR(e, ERR_INTERNAL, 500, NULL, "slot key too long");
			break;
		}
		rc = put(s, kind, id, mark, exp, e);
		if (rc == 0) {
			*slot = n;
			break;
		}
		if (rc != ERR_EXISTS)
			break;
		rc = ERR_LIMIT;
	}
	json_decref(mark);
	return rc;
}

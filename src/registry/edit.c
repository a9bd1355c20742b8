/*
 * Safe edits of stored scopes and clients against concurrent writers, on
 * every node and backend.  Each doc carries "rev", how many times it was
 * written.  Writes are optimistic: a writer claims revision rev + 1 in the
 * store's replay cache (an atomic insert-if-absent), checks that the doc is
 * still at rev, and writes it; a writer that loses the claim re-reads and
 * re-applies its change.  So two operators granting scope access at once,
 * or an update racing a deactivation or a secret rotation, never lose one
 * another's change, without a lock in the store.
 */
#include <jansson.h>
#include <stdio.h>
#include <time.h>

#include "core/timeutil.h"
#include "registry/registry.h"
#include "registry/registry_int.h"

#define EDIT_TRIES 60      /* re-reads before giving up on a busy doc */
#define EDIT_CLAIM_LIFE 10 /* seconds a claim outlives its write; stale readers re-check */

static void
edit_backoff(int attempt)
{
	struct timespec ts = { 0, (long)(attempt < 10 ? attempt + 1 : 10) * 5000000L };

	nanosleep(&ts, NULL);
}

static int
doc_get(struct porten *app, enum reg_doc_kind kind, const char *name, json_t **doc,
	struct err *e)
{
	int rc;

	if (kind == REG_DOC_CLIENT)
		rc = store_call(app->store, registry, client_get, name, doc, e);
	else
		rc = store_call(app->store, registry, scope_get, name, doc, e);
	return rc == ERR_NOTFOUND ? 0 : rc;
}

int
reg_doc_edit(struct porten *app, enum reg_doc_kind kind, const char *name, reg_doc_edit_fn fn,
	     void *arg, json_t **out, struct err *e)
{
	json_t *prev = NULL, *next = NULL, *again = NULL;
	const char *created, *what = kind == REG_DOC_CLIENT ? "client" : "scope";
	long long rev;
	char key[REG_SCOPE_NAME_MAX + REG_CLIENT_ID_MAX + 96];
	int rc = 0;

	if (out != NULL)
		*out = NULL;
	for (int attempt = 0; attempt < EDIT_TRIES; attempt++) {
		json_decref(prev);
		json_decref(next);
		json_decref(again);
		prev = next = again = NULL;
		rc = doc_get(app, kind, name, &prev, e);
		if (rc != 0)
			goto out;
		rev = json_integer_value(json_object_get(prev, "rev"));
		rc = fn(prev, arg, &next, e);
		if (rc != 0)
			goto out;
		/*
		 * The claim names the doc's creation time as well, so a doc
		 * removed and made again starts a fresh series of revisions.
		 */
		created = json_string_value(json_object_get(prev, "created"));
		snprintf(key, sizeof(key), "%s-rev:%s:%s:%lld", what, name, created ? created : "",
			 rev + 1);
		rc = store_call(app->store, oauth, jti_remember, key, time_now() + EDIT_CLAIM_LIFE, e);
		if (rc == ERR_EXISTS) {
			edit_backoff(attempt);
			continue;
		}
		if (rc != 0)
			goto out;
		/* A writer that read long ago may hold a claim nobody else made: check. */
		rc = doc_get(app, kind, name, &again, e);
		if (rc != 0)
			goto out;
		if ((again == NULL) != (prev == NULL) ||
		    json_integer_value(json_object_get(again, "rev")) != rev)
			continue;
		if (json_object_set_new(next, "rev", json_integer(rev + 1)) != 0) {
			rc = ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
			goto out;
		}
		if (kind == REG_DOC_CLIENT)
			rc = store_call(app->store, registry, client_update, name, next, e);
		else
			rc = store_call(app->store, registry, scope_put, name, next, e);
		if (rc == 0 && out != NULL) {
			*out = next;
			next = NULL;
		}
		goto out;
	}
	rc = ERR(e, ERR_UNAVAILABLE, 503, NULL, "%s %s is being changed by others; try again", what,
		 name);
out:
	json_decref(prev);
	json_decref(next);
	json_decref(again);
	return rc;
}

int
reg_scope_edit(struct porten *app, const char *name, reg_doc_edit_fn fn, void *arg, json_t **out,
	       struct err *e)
{
	return reg_doc_edit(app, REG_DOC_SCOPE, name, fn, arg, out, e);
}

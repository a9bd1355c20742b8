/*
 * The helpers every engine shares (opening: open.c).
 */
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "core/log.h"

void
store_close(struct store *s)
{
	if (s != NULL)
		s->ops->close(s);
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
	memset(r, 0, sizeof(*r));
}

static int
store_tx_once(struct store *s, int (*body)(void *arg, struct err *e), void *arg, struct err *e)
{
	int rc = store_op(s, tx_begin, e);

	if (rc != 0)
		return rc;
	rc = body(arg, e);
	if (rc == 0)
		rc = store_op(s, tx_end, true, e);
	else
		store_op(s, tx_end, false, &(struct err){ 0 });
	return rc;
}

int
store_tx_run(struct store *s, int (*body)(void *arg, struct err *e), void *arg, struct err *e)
{
	bool outermost = s->ops->tx_depth(s) == 0;
	int rc = store_tx_once(s, body, arg, e);

	if (rc == ERR_UNAVAILABLE && outermost) {
		log_warn(NULL, "store: transaction lost with the database (%s); running it once more",
			 e->msg);
		rc = store_tx_once(s, body, arg, e);
	}
	return rc;
}

/*
 * The trust anchors and CRLs business certificates are checked against
 * (spec/maskinporten.md §10).  Loaded at start-up, where a bad path stops
 * portend; read again every minute afterwards by portend's main loop (never
 * by a request), so a CRL the operator (or a cron job) replaces takes effect
 * without a restart.  A reload that fails keeps the previous set and says
 * so in the log.
 */
#include "maskinporten/mp.h"

#include <pthread.h>

#include "core/log.h"
#include "jose/jose.h"

static pthread_mutex_t trust_lock = PTHREAD_MUTEX_INITIALIZER;
static struct jose_x509_trust *trust_cur;

static bool
configured(const struct cfg *c)
{
	return c != NULL && c->maskinporten_ca != NULL && c->maskinporten_ca[0] != '\0';
}

int
mp_trust_init(const struct cfg *c, struct err *e)
{
	struct jose_x509_trust *t = NULL;
	int rc;

	if (!configured(c)) {
		if (c != NULL && c->env == CFG_ENV_PROD)
			log_warn(NULL, "maskinporten_ca is not set: business certificates (x5c) "
				       "are refused, only registered keys work");
		return 0;
	}
	rc = jose_x509_trust_load(c->maskinporten_ca, c->maskinporten_crl, &t, e);
	if (rc != 0)
		return rc;
	if (c->maskinporten_crl == NULL || c->maskinporten_crl[0] == '\0')
		log_warn(NULL, "maskinporten_crl is not set: business certificates are not "
			       "checked for revocation");
	pthread_mutex_lock(&trust_lock);
	jose_x509_trust_free(trust_cur);
	trust_cur = t;
	pthread_mutex_unlock(&trust_lock);
	return 0;
}

void
mp_trust_reload(const struct cfg *c)
{
	struct jose_x509_trust *fresh = NULL;
	struct err e = { 0 };

	if (!configured(c))
		return;
	/* read the files with no lock held: requests go on with the current set */
	if (jose_x509_trust_load(c->maskinporten_ca, c->maskinporten_crl, &fresh, &e) != 0) {
		log_warn(NULL, "cannot reload business-certificate trust, keeping the previous "
			       "set: %s", e.msg);
		return;
	}
	pthread_mutex_lock(&trust_lock);
	jose_x509_trust_free(trust_cur);
	trust_cur = fresh;
	pthread_mutex_unlock(&trust_lock);
}

struct jose_x509_trust *
mp_trust_get(const struct cfg *c)
{
	struct jose_x509_trust *t;

	if (!configured(c))
		return NULL;
	pthread_mutex_lock(&trust_lock);
	t = jose_x509_trust_ref(trust_cur);
	pthread_mutex_unlock(&trust_lock);
	if (t == NULL) {
		/* never loaded (mp_trust_init not called): load now, once */
		mp_trust_reload(c);
		pthread_mutex_lock(&trust_lock);
		t = jose_x509_trust_ref(trust_cur);
		pthread_mutex_unlock(&trust_lock);
	}
	return t;
}

void
mp_trust_cleanup(void)
{
	pthread_mutex_lock(&trust_lock);
	jose_x509_trust_free(trust_cur);
	trust_cur = NULL;
	pthread_mutex_unlock(&trust_lock);
}

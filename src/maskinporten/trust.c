/*
 * The trust anchors and CRLs business certificates are checked against
 * (spec/maskinporten.md §10).  Loaded at start-up, where a bad path stops
 * portend; read again every minute afterwards, so a CRL the operator (or a
 * cron job) replaces takes effect without a restart.  A reload that fails
 * keeps the previous set and says so in the log.
 */
#include "maskinporten/mp.h"

#include <pthread.h>

#include "core/log.h"
#include "core/timeutil.h"
#include "jose/jose.h"

#define TRUST_RELOAD_MS 60000

static pthread_mutex_t trust_lock = PTHREAD_MUTEX_INITIALIZER;
static struct jose_x509_trust *trust_cur;
static int64_t trust_loaded_ms;

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
	trust_loaded_ms = time_mono_ms();
	pthread_mutex_unlock(&trust_lock);
	return 0;
}

struct jose_x509_trust *
mp_trust_get(const struct cfg *c)
{
	struct jose_x509_trust *t = NULL, *fresh = NULL;
	struct err e = { 0 };

	if (!configured(c))
		return NULL;
	pthread_mutex_lock(&trust_lock);
	if (trust_cur == NULL || time_mono_ms() - trust_loaded_ms >= TRUST_RELOAD_MS) {
		if (jose_x509_trust_load(c->maskinporten_ca, c->maskinporten_crl, &fresh,
					 &e) == 0) {
			jose_x509_trust_free(trust_cur);
			trust_cur = fresh;
		} else {
			log_warn(NULL, "cannot reload business-certificate trust, keeping the "
				       "previous set: %s", e.msg);
		}
		trust_loaded_ms = time_mono_ms();
	}
	t = jose_x509_trust_ref(trust_cur);
	pthread_mutex_unlock(&trust_lock);
	return t;
}

void
mp_trust_cleanup(void)
{
	pthread_mutex_lock(&trust_lock);
	jose_x509_trust_free(trust_cur);
	trust_cur = NULL;
	trust_loaded_ms = 0;
	pthread_mutex_unlock(&trust_lock);
}

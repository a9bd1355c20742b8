/*
 * Business certificates (spec/maskinporten.md §10), one set of rules for
 * every issuer: Maskinporten's grants, ID-porten's and Ansattporten's
 * client assertions (spec/idporten-oidc.md §9) and keys locked to a
 * certificate (spec/selfservice-api.md §7).
 *
 * The trust anchors and CRLs are loaded at start-up, where a bad path stops
 * portend; read again every minute afterwards by portend's main loop (never
 * by a request), so a CRL the operator (or a cron job) replaces takes effect
 * without a restart.  A reload that fails keeps the previous set and says
 * so in the log.
 */
#include "registry/registry.h"

#include <pthread.h>
#include <string.h>

#include "core/log.h"
#include "jose/jose.h"
#include "registry/registry_int.h"

static pthread_mutex_t trust_lock = PTHREAD_MUTEX_INITIALIZER;
static struct jose_x509_trust *trust_cur;

static bool
configured(const struct cfg *c)
{
	return c != NULL && c->maskinporten_ca != NULL && c->maskinporten_ca[0] != '\0';
}

int
reg_trust_init(const struct cfg *c, struct err *e)
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
reg_trust_reload(const struct cfg *c)
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
reg_trust_get(const struct cfg *c)
{
	struct jose_x509_trust *t;

	if (!configured(c))
		return NULL;
	pthread_mutex_lock(&trust_lock);
	t = jose_x509_trust_ref(trust_cur);
	pthread_mutex_unlock(&trust_lock);
	if (t == NULL) {
		/* never loaded (reg_trust_init not called): load now, once */
		reg_trust_reload(c);
		pthread_mutex_lock(&trust_lock);
		t = jose_x509_trust_ref(trust_cur);
		pthread_mutex_unlock(&trust_lock);
	}
	return t;
}

void
reg_trust_cleanup(void)
{
	pthread_mutex_lock(&trust_lock);
	jose_x509_trust_free(trust_cur);
	trust_cur = NULL;
	pthread_mutex_unlock(&trust_lock);
}

/* e->msg as it stands, so a new message can quote it. */
static void
reason(const struct err *e, char *why, size_t n)
{
	snprintf(why, n, "%s", e->msg[0] ? e->msg : "refused");
}

int
reg_cert_check(const struct cfg *c, const json_t *x5c, const char *orgno, int64_t now,
	       struct reg_cert *out, struct err *e)
{
	struct jose_x509_trust *trust = reg_trust_get(c);
	int rc;

	memset(out, 0, sizeof(*out));
	rc = jose_x509_verify_x5c(trust, x5c, now, &out->x, e);
	jose_x509_trust_free(trust);
	if (rc != 0)
		return rc;
	/* spec/maskinporten.md §10 (MP-122): the certificate's organisation owns the client. */
	if (orgno == NULL || strcmp(out->x.orgno, orgno) != 0) {
		out->other_org = true;
		rc = ERR(e, ERR_DENIED, 0, NULL, "the certificate belongs to organisation %s, the "
			 "client to %s", out->x.orgno, orgno != NULL ? orgno : "(none)");
		jose_x509_cert_clear(&out->x);
	}
	return rc;
}

void
reg_cert_clear(struct reg_cert *c)
{
	if (c != NULL)
		jose_x509_cert_clear(&c->x);
}

/* The key's RSA numbers are the certificate's own: n and e compared as sent (base64url). */
static bool
same_public_key(const json_t *a, const json_t *b)
{
	static const char *const members[] = { "n", "e" };

	for (size_t i = 0; i < sizeof(members) / sizeof(members[0]); i++) {
		const json_t *x = json_object_get(a, members[i]), *y = json_object_get(b, members[i]);

		if (!json_is_string(x) || !json_is_string(y) || !json_equal(x, y))
			return false;
	}
	return true;
}

int
reg_key_lock_check(const struct cfg *c, const json_t *jwk, const char *orgno, int64_t now,
		   const char **amr, struct err *e)
{
	const json_t *x5c = json_object_get(jwk, "x5c");
	struct reg_cert cert;
	char why[sizeof(e->msg)];
	int rc;

	if (x5c == NULL)
		return 0;
	rc = reg_cert_check(c, x5c, orgno, now, &cert, e);
	if (rc != 0) {
		reason(e, why, sizeof(why));
		return ERR(e, rc, 0, NULL, "the key's certificate (x5c) is not acceptable: %s", why);
	}
	if (!same_public_key(jwk, cert.x.jwk))
		rc = ERR(e, ERR_INVAL, 0, NULL, "the key is not the public key of its certificate "
			 "(x5c[0])");
	else if (amr != NULL)
		*amr = cert.x.amr;
	reg_cert_clear(&cert);
	return rc;
}

int
reg_key_set_lock_check(const struct cfg *c, const json_t *jwks, const char *orgno,
		       int64_t now, struct err *e)
{
	const json_t *k;
	size_t i;
	int rc;
	char why[sizeof(e->msg)];

	json_array_foreach(json_object_get(jwks, "keys"), i, k) {
		rc = reg_key_lock_check(c, k, orgno, now, NULL, e);
		if (rc == ERR_INVAL || rc == ERR_DENIED) {
			reason(e, why, sizeof(why));
			return ERR(e, ERR_INVAL, 400, REG_INVALID_METADATA, "jwks.keys[%zu]: %s", i,
				   why);
		}
		if (rc != 0)
			return rc;
	}
	return 0;
}

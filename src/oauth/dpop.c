/*
 * DPoP proofs (RFC 9449 §4.3, spec/idporten-oidc.md §19): the checks in
 * the spec's order, the replay cache shared by all nodes through the store,
 * and the stateless server nonces.
 */
#include "oauth/dpop.h"

#include <ctype.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#include "app/app.h"
#include "core/b64.h"
#include "core/crypto.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "oauth/oauth.h"

#define BAD(e, ...) ERR((e), ERR_DENIED, 400, OAUTH_INVALID_DPOP_PROOF, __VA_ARGS__)
#define URL_MAX 2048
#define NONCE_RAW (8 + 32)        /* slot, HMAC-SHA256 */

bool
oauth_dpop_jkt_valid(struct str jkt)
{
	return jkt.len == JOSE_JKT_LEN && b64url_chars(jkt);
}

/* ---- check 2: the header ---- */

/*
 * Only typ, alg and jwk: anything else (kid, x5c, jku, crit, ...) would
 * name a key or a rule the proof does not need, so it is refused (design).
 */
static int
header_members(const json_t *hdr, struct err *e)
{
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)hdr, k, v) {
		(void)v;
		if (strcmp(k, "typ") != 0 && strcmp(k, "alg") != 0 && strcmp(k, "jwk") != 0)
			return BAD(e, "the proof header has a member it must not have: %.32s", k);
	}
	return 0;
}

static int
header_check(const json_t *hdr, const char **alg, struct err *e)
{
	static const char *const private_members[] = { "d", "p", "q", "dp", "dq", "qi", "oth",
						       "k" };
	const char *typ = json_string_value(json_object_get(hdr, "typ"));
	const json_t *jwk = json_object_get(hdr, "jwk");
	struct err why = { 0 };
	int rc;

	/* RFC 9449 §4.2: explicit typing, compared exactly. */
	if (typ == NULL || strcmp(typ, "dpop+jwt") != 0)
		return BAD(e, "the proof's typ is not dpop+jwt");
	*alg = json_string_value(json_object_get(hdr, "alg"));
	if (*alg == NULL || (jose_alg_bit(*alg) & OAUTH_DPOP_ALG_BITS) == 0)
		return BAD(e, "the proof's alg is not one of " OAUTH_DPOP_ALGS);
	if (!json_is_object(jwk))
		return BAD(e, "the proof has no jwk");
	for (size_t i = 0; i < sizeof(private_members) / sizeof(private_members[0]); i++)
		if (json_object_get(jwk, private_members[i]) != NULL)
			return BAD(e, "the proof's jwk holds private key material");
	rc = header_members(hdr, e);
	if (rc != 0)
		return rc;
	if (jose_pub_check(jwk, *alg, &why) != 0)
		return BAD(e, "the proof's jwk does not fit alg %s: %s", *alg, why.msg);
	return 0;
}

/* ---- check 5: method and URL ---- */

/*
 * scheme://host[:port]/path with scheme and host lower-cased, the default
 * port dropped, query and fragment cut (RFC 9449 §4.3 point 9, RFC 3986
 * 6.2.2-6.2.3).  NULL for what is not such a URL (user info included).
 */
static char *
url_norm(struct arena *a, struct str u)
{
	struct str rest, auth, path, host, port = { 0 };
	const char *sep, *p;
	char *out;
	bool https;
	size_t i;

	if (u.len == 0 || u.len > URL_MAX)
		return NULL;
	for (i = 0; i < u.len && u.p[i] != '?' && u.p[i] != '#'; i++)
		;
	u.len = i;
	if (u.len > 8 && strncasecmp(u.p, "https://", 8) == 0) {
		https = true;
		rest = (struct str){ u.p + 8, u.len - 8 };
	} else if (u.len > 7 && strncasecmp(u.p, "http://", 7) == 0) {
		https = false;
		rest = (struct str){ u.p + 7, u.len - 7 };
	} else {
		return NULL;
	}
	sep = memchr(rest.p, '/', rest.len);
	auth = (struct str){ rest.p, sep ? (size_t)(sep - rest.p) : rest.len };
	path = sep ? (struct str){ sep, rest.len - auth.len } : str_c("/");
	if (auth.len == 0 || memchr(auth.p, '@', auth.len) != NULL)
		return NULL;
	host = auth;
	/* A port follows the last ':' unless that sits inside an IPv6 literal. */
	p = memrchr(auth.p, ':', auth.len);
	if (p != NULL && memchr(p, ']', auth.len - (size_t)(p - auth.p)) == NULL) {
		host = (struct str){ auth.p, (size_t)(p - auth.p) };
		port = (struct str){ p + 1, auth.len - host.len - 1 };
	}
	if (port.len > 0 && str_eq_c(port, https ? "443" : "80"))
		port.len = 0;
	out = arena_printf(a, "%s://%.*s%s%.*s%.*s", https ? "https" : "http", (int)host.len,
			   host.p, port.len ? ":" : "", (int)port.len, port.p, (int)path.len,
			   path.p);
	for (char *c = out + (https ? 8 : 7); *c != '\0' && *c != '/'; c++)
		*c = (char)tolower((unsigned char)*c);
	return out;
}

/* A claim that must be a non-empty string of at most max bytes. */
static const char *
claim_string(const json_t *claims, const char *name, size_t max)
{
	const json_t *v = json_object_get(claims, name);

	if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > max)
		return NULL;
	return json_string_value(v);
}

static int
claims_check(struct arena *a, const json_t *cl, const struct oauth_dpop_expect *x,
	     struct oauth_dpop *out, struct err *e)
{
	const char *jti = claim_string(cl, "jti", OAUTH_JTI_MAX);
	const char *htm = claim_string(cl, "htm", 16);
	const char *htu = claim_string(cl, "htu", URL_MAX);
	const json_t *iat = json_object_get(cl, "iat");
	const json_t *nonce = json_object_get(cl, "nonce");
	const char *mine, *theirs;
	int64_t t;

	/* check 4 */
	if (jti == NULL)
		return BAD(e, "the proof has no jti (or one over %d characters)", OAUTH_JTI_MAX);
	if (htm == NULL)
		return BAD(e, "the proof has no htm");
	if (htu == NULL)
		return BAD(e, "the proof has no htu");
	if (!json_is_integer(iat))
		return BAD(e, "the proof has no iat");
	/* check 5 */
	if (strcmp(htm, x->htm) != 0)
		return BAD(e, "the proof's htm is not %s", x->htm);
	mine = url_norm(a, str_c(x->htu));
	theirs = url_norm(a, str_c(htu));
	if (mine == NULL || theirs == NULL || strcmp(mine, theirs) != 0)
		return BAD(e, "the proof's htu is not %s", x->htu);
	/* check 6 */
	t = json_integer_value(iat);
	if (t < x->now - OAUTH_DPOP_IAT_PAST)
		return BAD(e, "the proof is too old (iat)");
	if (t > x->now + OAUTH_DPOP_IAT_FUTURE)
		return BAD(e, "the proof's iat is in the future");
	if (nonce != NULL && (!json_is_string(nonce) || json_string_length(nonce) > 256))
		return BAD(e, "the proof's nonce is not a short string");
	out->jti = arena_strdup(a, jti);
	out->nonce = arena_strdup(a, json_string_value(nonce));
	return 0;
}

/* check 9: ath = BASE64URL(SHA-256(ASCII(access token))). */
static int
ath_check(struct arena *a, const json_t *cl, const char *token, struct err *e)
{
	const char *ath = json_string_value(json_object_get(cl, "ath"));
	const char *want = sha256_b64url(a, str_c(token));

	if (ath == NULL)
		return BAD(e, "the proof has no ath");
	if (want == NULL || strlen(ath) != strlen(want) ||
	    CRYPTO_memcmp(ath, want, strlen(want)) != 0)
		return BAD(e, "the proof's ath is not the hash of the access token");
	return 0;
}

int
oauth_dpop_verify(struct arena *a, struct str proof, const struct oauth_dpop_expect *x,
		  struct oauth_dpop *out, struct err *e)
{
	json_t *hdr = NULL, *claims = NULL;
	const char *alg = NULL;
	struct err why = { 0 };
	int rc;

	memset(out, 0, sizeof(*out));
	out->present = true;
	/* check 1: a compact JWS */
	if (jose_jws_header(proof, &hdr, &why) != 0) {
		rc = BAD(e, "the proof is not a compact JWS: %s", why.msg);
		goto out;
	}
	rc = header_check(hdr, &alg, e);
	if (rc != 0)
		goto out;
	/* check 3, with the key the proof carries */
	if (jose_jwt_verify_hdr(proof, hdr, json_object_get(hdr, "jwk"), jose_alg_bit(alg),
				&claims, &why) != 0) {
		rc = BAD(e, "the proof does not verify: %s", why.msg);
		goto out;
	}
	rc = claims_check(a, claims, x, out, e);
	if (rc == 0 && x->access_token != NULL)
		rc = ath_check(a, claims, x->access_token, e);
	if (rc == 0 && jose_jwk_thumbprint(json_object_get(hdr, "jwk"), out->jkt, &why) != 0)
		rc = BAD(e, "the proof's jwk has no thumbprint: %s", why.msg);
out:
	json_decref(hdr);
	json_decref(claims);
	return rc;
}

/* ---- check 8: nonces ---- */

bool
oauth_dpop_nonce_on(const struct issuer *is)
{
	const struct cfg *c = is->app->cfg;

	switch (is->kind) {
	case ISSUER_MASKINPORTEN:
		return c->maskinporten_dpop_nonce;
	case ISSUER_ANSATTPORTEN:
		return c->ansattporten_dpop_nonce;
	default:
		return c->dpop_nonce;
	}
}

/* base64url(slot || HMAC-SHA256(key, slot)), the key one of its own from csrf_key. */
static void
nonce_of_slot(const struct porten *app, int64_t slot, char out[OAUTH_DPOP_NONCE_MAX])
{
	static const char label[] = "porten dpop nonce";
	unsigned char key[32], raw[NONCE_RAW];

	hmac_sha256(app->csrf_key, sizeof(app->csrf_key), label, sizeof(label) - 1, key);
	for (int i = 0; i < 8; i++)
		raw[i] = (unsigned char)((uint64_t)slot >> (56 - 8 * i));
	hmac_sha256(key, sizeof(key), raw, 8, raw + 8);
	b64url_encode(raw, sizeof(raw), out);
	secure_wipe(key, sizeof(key));
}

void
oauth_dpop_nonce_make(const struct porten *app, int64_t now, char out[OAUTH_DPOP_NONCE_MAX])
{
	nonce_of_slot(app, now / OAUTH_DPOP_NONCE_SLOT, out);
}

bool
oauth_dpop_nonce_good(const struct porten *app, const char *nonce, int64_t now)
{
	int64_t slot = now / OAUTH_DPOP_NONCE_SLOT;
	char want[OAUTH_DPOP_NONCE_MAX];

	if (nonce == NULL)
		return false;
	for (int64_t s = slot; s >= slot - 1; s--) {
		nonce_of_slot(app, s, want);
		if (strlen(nonce) == strlen(want) && CRYPTO_memcmp(nonce, want, strlen(want)) == 0)
			return true;
	}
	return false;
}

void
oauth_dpop_nonce_header(struct http_req *r, const struct issuer *is, struct http_resp *w)
{
	char nonce[OAUTH_DPOP_NONCE_MAX];

	if (is == NULL || !oauth_dpop_nonce_on(is))
		return;
	oauth_dpop_nonce_make(r->app, time_now(), nonce);
	http_resp_header(w, "DPoP-Nonce", nonce);
}

/* ---- the request ---- */

int
oauth_dpop_check(struct http_req *r, const struct issuer *is, const char *path,
		 const char *access_token, struct oauth_dpop *out, struct err *e)
{
	struct porten *app = r->app;
	const struct http_param *h = NULL;
	struct oauth_dpop_expect x = { .htm = r->method, .access_token = access_token,
				       .now = time_now() };
	char key[OAUTH_REPLAY_KEY_MAX];
	size_t n = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < r->headers.n; i++)
		if (str_eq_c(r->headers.v[i].name, "dpop")) {
			h = &r->headers.v[i];
			n++;
		}
	if (n == 0)
		return 0;
	/* check 1 */
	if (n > 1)
		return BAD(e, "more than one DPoP header");
	x.htu = arena_printf(r->arena, "%s%s", is->base, path);
	rc = oauth_dpop_verify(r->arena, h->value, &x, out, e);
	if (rc != 0)
		return rc;
	/* check 7: one jti per key, on every node, for as long as the proof is good. */
	if (oauth_replay_key(key, sizeof(key), "dpop", out->jkt, out->jti) != 0)
		return BAD(e, "the proof's jti does not fit");
	rc = store_call(app->store, oauth, jti_remember, key,
			x.now + OAUTH_DPOP_REPLAY_TTL + OAUTH_REPLAY_MARGIN, e);
	if (rc == ERR_EXISTS)
		return BAD(e, "the proof was used before (jti)");
	if (rc != 0)
		return oauth_store_fail(rc, e);
	/* check 8 */
	if (oauth_dpop_nonce_on(is) && !oauth_dpop_nonce_good(app, out->nonce, x.now))
		return ERR(e, ERR_DENIED, 400, OAUTH_USE_DPOP_NONCE,
			   "the proof needs the server's current DPoP nonce");
	return 0;
}

/*
 * JWT as compact JWS (RFC 7519, RFC 7515): signing through a jose_signer
 * and verification against a JWKS, with the algorithm pinned to the key.
 *
 * Signing assembles the token here and leaves the signature to the signer
 * (jose/signer.c for a key in process).  In verification cjose does the
 * signature arithmetic.  Everything it would parse from the outside is
 * checked here first: its base64url decoder stops at '=' and asserts on
 * some lengths, its JSON parse keeps the last of duplicate members, and it
 * would run HMAC or `none` if asked.  So a token reaches cjose only as
 * three strict base64url parts whose header we have already parsed
 * (duplicates refused), whose alg is RS256/384/512, and the key it gets is
 * a public RSA key built from n and e we decoded ourselves.  ES256, PS256
 * and EdDSA (DPoP proofs) never reach cjose: jose/pubkey.c builds their keys
 * and OpenSSL checks the signature.
 */
#include "jose/jose.h"

#include <cjose/jwk.h>
#include <cjose/jws.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/b64.h"
#include "core/buf.h"
#include "core/jsonw.h"
#include "jose/jose_int.h"

#define JWS_MAX 16384             /* longest compact JWS we look at */
#define KEY_CACHE 8               /* public keys kept built, per thread */
#define TYP_MAX 64
#define SIG_MAX (JOSE_RSA_MAX_BITS / 8) /* longest signature a signer may return */
/* A header is three short names, or those and a certificate chain (x5c). */
#define JWS_HEADER_MAX (64 * 1024)

/* maskinporten.md 11, selfservice-api.md 7: kids of registered keys. */
static const char kid_set[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-";

static const struct {
	const char *name;
	unsigned bit;
} rsa_algs[] = {
	{ "RS256", JOSE_ALG_RS256 },
	{ "RS384", JOSE_ALG_RS384 },
	{ "RS512", JOSE_ALG_RS512 },
};

/* Verified with OpenSSL from the JWK (jose/pubkey.c), not through cjose. */
static const struct {
	const char *name;
	unsigned bit;
} other_algs[] = {
	{ "ES256", JOSE_ALG_ES256 },
	{ "PS256", JOSE_ALG_PS256 },
	{ "EdDSA", JOSE_ALG_EDDSA },
};

struct jws_parts {
	struct str hdr, pay, sig;
};

/* An alg from a token, fit to be quoted in an error; anything odd is not. */
static const char *
alg_printable(const char *alg)
{
	static const char set[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+-_";
	struct str s = str_c(alg);

	if (s.len == 0 || s.len > 20 || !str_only(s, set))
		return "(unrecognised)";
	return alg;
}

static bool
b64url_ok(struct str s)
{
	/*
	 * Canonical only: the signature is decoded by the library, which
	 * ignores the unused bits, and a token's text may be a replay key.
	 */
	return s.len > 0 && b64url_canonical(s);
}

/* RFC 7515 7.1: BASE64URL(header) '.' BASE64URL(payload) '.' BASE64URL(sig). */
static int
jws_split(struct str jws, struct jws_parts *p, struct err *e)
{
	size_t dots = 0;
	struct str rest;

	if (jws.p == NULL || jws.len == 0)
		return ERR(e, ERR_INVAL, 0, NULL, "empty token");
	if (jws.len > JWS_MAX)
		return ERR(e, ERR_INVAL, 0, NULL, "token longer than %d bytes", JWS_MAX);
	for (size_t i = 0; i < jws.len; i++)
		dots += jws.p[i] == '.';
	if (dots != 2)
		return ERR(e, ERR_INVAL, 0, NULL,
			   "token is not a compact JWS: %zu parts instead of 3", dots + 1);
	str_split(jws, '.', &p->hdr, &rest);
	str_split(rest, '.', &p->pay, &p->sig);
	if (!b64url_ok(p->hdr))
		return ERR(e, ERR_INVAL, 0, NULL, "token header is empty or not base64url");
	if (!b64url_ok(p->pay))
		return ERR(e, ERR_INVAL, 0, NULL, "token payload is empty or not base64url");
	if (!b64url_ok(p->sig))
		return ERR(e, ERR_INVAL, 0, NULL, "token signature is empty or not base64url");
	return 0;
}

/* Decode a base64url part holding a JSON object; duplicate members refused. */
static int
part_object(struct str s, const char *what, json_t **out, struct err *e)
{
	unsigned char *raw = NULL;
	size_t n = 0;
	json_t *j = NULL;
	int rc = 0;

	*out = NULL;
	raw = malloc(s.len * 3 / 4 + 1);
	if (raw == NULL) {
		rc = ERR(e, ERR_NOMEM, 0, NULL, "out of memory");
		goto out;
	}
	if (b64url_decode(s, raw, &n) != 0) {
		rc = ERR(e, ERR_INVAL, 0, NULL, "token %s is not base64url", what);
		goto out;
	}
	/* Not JSON_DECODE_ANY: only an object or array parses. */
	j = json_loadb((const char *)raw, n, JSON_REJECT_DUPLICATES, NULL);
	if (j == NULL || !json_is_object(j)) {
		rc = ERR(e, ERR_INVAL, 0, NULL,
			 "token %s is not a JSON object (or repeats a member)", what);
		goto out;
	}
	*out = j;
	j = NULL;
out:
	json_decref(j);
	free(raw);
	return rc;
}

int
jose_jws_header(struct str jws, json_t **header, struct err *e)
{
	struct jws_parts p;
	int rc;

	*header = NULL;
	rc = jws_split(jws, &p, e);
	if (rc != 0)
		return rc;
	return part_object(p.hdr, "header", header, e);
}

/*
 * RFC 8725 3.1: the algorithm is pinned, never taken from the token alone.
 * Sets *alg (borrowed from hdr) and *kid (NULL when absent).
 */
static int
header_check(const json_t *hdr, unsigned algs, const char **alg, const char **kid,
	     struct err *e)
{
	const json_t *a = json_object_get(hdr, "alg");
	const json_t *k = json_object_get(hdr, "kid");
	unsigned bit = 0;

	if (!json_is_string(a))
		return ERR(e, ERR_INVAL, 0, NULL, "token header has no alg string");
	*alg = json_string_value(a);
	bit = jose_alg_bit(*alg);
	/* none, HS* and anything else: RFC 8725 2.1 and 3.2. */
	if (bit == 0)
		return ERR(e, ERR_DENIED, 0, NULL, "alg %s is not accepted",
			   alg_printable(*alg));
	if ((algs & bit) == 0)
		return ERR(e, ERR_DENIED, 0, NULL, "alg %s is not allowed here", *alg);
	/* RFC 7515 4.1.11: we understand no extension, so any crit is fatal. */
	if (json_object_get(hdr, "crit") != NULL)
		return ERR(e, ERR_DENIED, 0, NULL, "token header has crit, not supported");
	*kid = NULL;
	if (k != NULL) {
		if (!json_is_string(k) || !jose_kid_ok(str_c(json_string_value(k))))
			return ERR(e, ERR_INVAL, 0, NULL, "token kid is not a short printable string");
		*kid = json_string_value(k);
	}
	return 0;
}

unsigned
jose_alg_bit(const char *alg)
{
	for (size_t i = 0; alg != NULL && i < sizeof(rsa_algs) / sizeof(rsa_algs[0]); i++)
		if (strcmp(alg, rsa_algs[i].name) == 0)
			return rsa_algs[i].bit;
	for (size_t i = 0; alg != NULL && i < sizeof(other_algs) / sizeof(other_algs[0]); i++)
		if (strcmp(alg, other_algs[i].name) == 0)
			return other_algs[i].bit;
	return 0;
}

/*
 * RFC 7517 4.2, 4.3: a key of type kty for verifying signatures, or one
 * that does not say what it is for.
 */
static bool
jwk_is_sig(const json_t *k, const char *want)
{
	const json_t *use = json_object_get(k, "use");
	const json_t *ops = json_object_get(k, "key_ops");
	const char *kty = json_string_value(json_object_get(k, "kty"));

	if (kty == NULL || want == NULL || strcmp(kty, want) != 0)
		return false;
	if (use != NULL && (!json_is_string(use) || strcmp(json_string_value(use), "sig") != 0))
		return false;
	if (ops != NULL) {
		size_t i;
		const json_t *op;

		if (!json_is_array(ops))
			return false;
		json_array_foreach(ops, i, op)
			if (json_is_string(op) && strcmp(json_string_value(op), "verify") == 0)
				return true;
		return false;
	}
	return true;
}

/* Choose the key for a token: by kid, or the only key when there is one. */
static int
jwks_pick(const json_t *jwks, const char *kid, const char *alg, const json_t **out,
	  struct err *e)
{
	const json_t *keys = json_object_get(jwks, "keys");
	const json_t *found = NULL, *k, *ka;
	size_t nkeys, nkid = 0;

	if (keys != NULL) {
		if (!json_is_array(keys))
			return ERR(e, ERR_INVAL, 0, NULL, "key set: keys is not an array");
		nkeys = json_array_size(keys);
	} else if (json_object_get(jwks, "kty") != NULL) {
		nkeys = 1;
	} else {
		return ERR(e, ERR_INVAL, 0, NULL, "key set is neither a JWKS nor a JWK");
	}
	if (nkeys == 0)
		return ERR(e, ERR_DENIED, 0, NULL, "key set is empty");
	if (kid == NULL && nkeys > 1)
		return ERR(e, ERR_DENIED, 0, NULL, "token has no kid and the key set has %zu keys",
			   nkeys);
	for (size_t i = 0; i < nkeys; i++) {
		const char *kk;

		k = keys != NULL ? json_array_get(keys, i) : jwks;
		if (!json_is_object(k))
			continue;
		if (kid != NULL) {
			kk = json_string_value(json_object_get(k, "kid"));
			if (kk == NULL || strcmp(kk, kid) != 0)
				continue;
		}
		nkid++;
		if (!jwk_is_sig(k, jose_alg_kty(alg)))
			continue;
		if (found != NULL)
			return ERR(e, ERR_DENIED, 0, NULL, "key set has several keys with this kid");
		found = k;
	}
	if (found == NULL) {
		if (kid == NULL)
			return ERR(e, ERR_DENIED, 0, NULL, "key set has no %s signing key",
				   jose_alg_kty(alg));
		if (nkid == 0)
			return ERR(e, ERR_DENIED, 0, NULL, "no key with the token's kid");
		return ERR(e, ERR_DENIED, 0, NULL, "the key with the token's kid is not an %s "
			   "signing key", jose_alg_kty(alg));
	}
	/* RFC 7517 4.4: a key that names its alg is used with that alg only. */
	ka = json_object_get(found, "alg");
	if (ka != NULL && (!json_is_string(ka) || strcmp(json_string_value(ka), alg) != 0))
		return ERR(e, ERR_DENIED, 0, NULL, "the key is not for alg %s", alg);
	*out = found;
	return 0;
}

/* Strict base64url of a big-endian integer, leading zero bytes dropped. */
static int
jwk_uint(const json_t *k, const char *name, size_t maxbytes, unsigned char *out, size_t *outlen)
{
	struct str s = str_c(json_string_value(json_object_get(k, name)));
	unsigned char *raw;
	size_t n = 0, skip = 0;
	int rc = ERR_INVAL;

	if (!b64url_ok(s) || s.len > b64url_len(maxbytes + 1))
		return ERR_INVAL;
	raw = malloc(s.len * 3 / 4 + 1);
	if (raw == NULL)
		return ERR_NOMEM;
	if (b64url_decode(s, raw, &n) != 0)
		goto out;
	while (skip < n && raw[skip] == 0)
		skip++;
	if (n - skip == 0 || n - skip > maxbytes)
		goto out;
	memcpy(out, raw + skip, n - skip);
	*outlen = n - skip;
	rc = 0;
out:
	free(raw);
	return rc;
}

static unsigned
msb_bits(unsigned char c)
{
	unsigned b = 0;

	while (c != 0) {
		b++;
		c >>= 1;
	}
	return b;
}

/*
 * Read n and e of an RSA JWK and check them: modulus JOSE_RSA_MIN_BITS to
 * JOSE_RSA_MAX_BITS; e odd, at least 3 and at most 64 bits (e = 1 would let
 * anyone forge signatures).  Returns 0, or ERR_INVAL with *why set.
 */
static int
jwk_rsa_numbers(const json_t *k, unsigned char *n, size_t *nlen, unsigned char *ex,
		size_t *elen, const char **why)
{
	if (jwk_uint(k, "n", JOSE_RSA_MAX_BITS / 8, n, nlen) != 0) {
		*why = "RSA modulus n is missing, malformed or over 8192 bits";
		return ERR_INVAL;
	}
	if ((*nlen - 1) * 8 + msb_bits(n[0]) < JOSE_RSA_MIN_BITS) {
		*why = "RSA modulus n is shorter than 2048 bits";
		return ERR_INVAL;
	}
	if (jwk_uint(k, "e", 8, ex, elen) != 0) {
		*why = "RSA exponent e is missing, malformed or too large";
		return ERR_INVAL;
	}
	if ((ex[*elen - 1] & 1) == 0 || (*elen == 1 && ex[0] < 3)) {
		*why = "RSA exponent e is weak (even or below 3)";
		return ERR_INVAL;
	}
	return 0;
}

/*
 * Built public keys, per thread.  Building one from n and e is cheap, but
 * its first verification also computes the Montgomery constants of n,
 * which cost more than the verification itself; a client's key verifies
 * every assertion it sends, so keep the last few built.  Per thread, so
 * no key is shared and none needs a lock; freed when the thread ends.
 */
struct key_slot {
	unsigned char n[JOSE_RSA_MAX_BITS / 8], e[8];
	size_t nlen, elen;
	cjose_jwk_t *key;
};

struct key_cache {
	struct key_slot slot[KEY_CACHE];
	unsigned next;            /* the slot the next new key replaces */
};

static pthread_key_t key_cache_key;
static pthread_once_t key_cache_once = PTHREAD_ONCE_INIT;
static bool key_cache_ok;

static void
key_cache_free(void *p)
{
	struct key_cache *c = p;

	for (size_t i = 0; i < KEY_CACHE; i++)
		cjose_jwk_release(c->slot[i].key);
	free(c);
}

static void
key_cache_init(void)
{
	key_cache_ok = pthread_key_create(&key_cache_key, key_cache_free) == 0;
}

static struct key_cache *
key_cache(void)
{
	struct key_cache *c;

	pthread_once(&key_cache_once, key_cache_init);
	if (!key_cache_ok)
		return NULL;
	c = pthread_getspecific(key_cache_key);
	if (c == NULL) {
		c = calloc(1, sizeof(*c));
		if (c != NULL && pthread_setspecific(key_cache_key, c) != 0) {
			free(c);
			c = NULL;
		}
	}
	return c;
}

/*
 * A public-only cjose key from the JWK's n and e (private members ignored).
 * The key belongs to this thread's cache (never released by the caller)
 * when *cached, else to the caller.
 */
static int
jwk_rsa_load(const json_t *k, cjose_jwk_t **out, bool *cached, struct err *e)
{
	unsigned char n[JOSE_RSA_MAX_BITS / 8], ex[8];
	size_t nlen = 0, elen = 0;
	cjose_jwk_rsa_keyspec spec;
	cjose_err cerr;
	const char *why = NULL;
	struct key_cache *c = key_cache();
	struct key_slot *s;

	*out = NULL;
	*cached = false;
	if (jwk_rsa_numbers(k, n, &nlen, ex, &elen, &why) != 0)
		return ERR(e, ERR_DENIED, 0, NULL, "the token's key is unusable: %s", why);
	for (size_t i = 0; c != NULL && i < KEY_CACHE; i++) {
		s = &c->slot[i];
		if (s->key != NULL && s->nlen == nlen && s->elen == elen &&
		    memcmp(s->n, n, nlen) == 0 && memcmp(s->e, ex, elen) == 0) {
			*out = s->key;
			*cached = true;
			return 0;
		}
	}
	memset(&spec, 0, sizeof(spec));
	spec.n = n, spec.nlen = nlen;
	spec.e = ex, spec.elen = elen;
	*out = cjose_jwk_create_RSA_spec(&spec, &cerr);
	if (*out == NULL)
		return ERR(e, ERR_CRYPTO, 0, NULL, "cannot load the RSA key: %s", cerr.message);
	if (c != NULL) {
		s = &c->slot[c->next];
		c->next = (c->next + 1) % KEY_CACHE;
		cjose_jwk_release(s->key);
		memcpy(s->n, n, nlen);
		memcpy(s->e, ex, elen);
		s->nlen = nlen;
		s->elen = elen;
		s->key = *out;
		*cached = true;
	}
	return 0;
}

/* ES256, PS256, EdDSA: OpenSSL verifies the signing input (RFC 7515 5.2). */
static int
verify_other(struct str jws, const struct jws_parts *p, const json_t *jwk, const char *alg,
	     struct err *e)
{
	unsigned char *sig = malloc(p->sig.len * 3 / 4 + 1);
	size_t siglen = 0;
	int rc;

	if (sig == NULL)
		return ERR(e, ERR_NOMEM, 0, NULL, "out of memory");
	if (b64url_decode(p->sig, sig, &siglen) != 0)
		rc = ERR(e, ERR_INVAL, 0, NULL, "token signature is not base64url");
	else
		rc = jose_pub_verify(jwk, alg, jws.p, p->hdr.len + 1 + p->pay.len, sig, siglen, e);
	free(sig);
	return rc;
}

/* RS256/384/512: cjose with the key built once per thread (key_cache). */
static int
verify_rsa(struct str jws, const json_t *jwk, struct err *e)
{
	cjose_jwk_t *key = NULL;
	bool key_cached = false;
	cjose_jws_t *cj = NULL;
	cjose_err cerr;
	int rc;

	rc = jwk_rsa_load(jwk, &key, &key_cached, e);
	if (rc != 0)
		return rc;
	cj = cjose_jws_import(jws.p, jws.len, &cerr);
	if (cj == NULL)
		rc = ERR(e, ERR_INVAL, 0, NULL, "token cannot be parsed as a JWS");
	/* RFC 8017 8.2.2 in OpenSSL: also refuses a signature of the wrong length. */
	else if (!cjose_jws_verify(cj, key, &cerr))
		rc = ERR(e, ERR_DENIED, 0, NULL, "token signature does not verify");
	cjose_jws_release(cj);
	if (!key_cached)
		cjose_jwk_release(key);
	return rc;
}

/* The signature of jws (split as p, its header decoded as hdr) by a key of jwks. */
static int
jws_check(struct str jws, const struct jws_parts *p, const json_t *hdr, const json_t *jwks,
	  unsigned algs, struct err *e)
{
	const json_t *jwk = NULL;
	const char *alg = NULL, *kid = NULL;
	int rc;

	rc = header_check(hdr, algs, &alg, &kid, e);
	if (rc == 0)
		rc = jwks_pick(jwks, kid, alg, &jwk, e);
	if (rc != 0)
		return rc;
	if ((jose_alg_bit(alg) & JOSE_ALG_RS_ALL) == 0)
		return verify_other(jws, p, jwk, alg, e);
	return verify_rsa(jws, jwk, e);
}

/*
 * Both ways in: the header decoded here, or by the caller (hdr) to find
 * the key; the claims decoded after the signature holds, unless the
 * caller read them already (claims NULL).
 */
static int
jwt_verify(struct str jws, const json_t *hdr, const json_t *jwks, unsigned algs,
	   json_t **claims, struct err *e)
{
	struct jws_parts p;
	json_t *own = NULL;
	int rc;

	if (claims != NULL)
		*claims = NULL;
	if (!json_is_object(jwks))
		return ERR(e, ERR_INVAL, 0, NULL, "no key set to verify the token with");
	rc = jws_split(jws, &p, e);
	if (rc == 0 && hdr == NULL) {
		rc = part_object(p.hdr, "header", &own, e);
		hdr = own;
	}
	if (rc == 0)
		rc = jws_check(jws, &p, hdr, jwks, algs, e);
	/* RFC 7519 7.2 step 10: the claims set is a JSON object. */
	if (rc == 0 && claims != NULL)
		rc = part_object(p.pay, "payload", claims, e);
	json_decref(own);
	return rc;
}

int
jose_jwt_verify(struct str jws, const json_t *jwks, unsigned algs, json_t **claims,
		struct err *e)
{
	return jwt_verify(jws, NULL, jwks, algs, claims, e);
}

int
jose_jwt_verify_hdr(struct str jws, const json_t *hdr, const json_t *jwks, unsigned algs,
		    json_t **claims, struct err *e)
{
	if (!json_is_object(hdr)) {
		if (claims != NULL)
			*claims = NULL;
		return ERR(e, ERR_INVAL, 0, NULL, "token header is not a JSON object");
	}
	return jwt_verify(jws, hdr, jwks, algs, claims, e);
}

/* RFC 7515 4.1.9: a media type name, such as "JWT" or "at+jwt". */
static bool
typ_ok(const char *typ)
{
	return typ[0] != '\0' && strnlen(typ, TYP_MAX + 1) <= TYP_MAX &&
	       str_only(str_c(typ), "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				    "0123456789+-._");
}

/* What a signer may put in the header: an alg we verify, a kid we carry. */
static int
signer_check(const struct jose_signer *s, struct err *e)
{
	bool known = false;

	if (s->sign == NULL)
		return ERR(e, ERR_INVAL, 0, NULL, "the signer has no sign function");
	for (size_t i = 0; s->alg != NULL && i < sizeof(rsa_algs) / sizeof(rsa_algs[0]); i++)
		known |= strcmp(s->alg, rsa_algs[i].name) == 0;
	/* jose/ec.c: the wallet verifier's request objects. */
	known |= s->alg != NULL && strcmp(s->alg, "ES256") == 0;
	if (!known)
		return ERR(e, ERR_INVAL, 0, NULL, "the signer's alg is not one we sign with");
	if (s->kid == NULL || !jose_kid_ok(str_c(s->kid)))
		return ERR(e, ERR_INVAL, 0, NULL,
			   "the signer's kid is not a short printable string");
	return 0;
}

/*
 * RFC 7515 5.1, compact serialisation (7.1).  The header has the members
 * alg, kid, typ in that order, dumped as cjose dumped it when it signed
 * (compact, order kept), so tokens are the same bytes as before; the
 * payload is the claims dumped compact.  The token is written once: the
 * signing input in place, then the signature behind it.
 */
int
jose_jwt_sign(const struct jose_signer *s, const json_t *claims, const char *typ, char **jws,
	      struct err *e)
{
	return jose_jwt_sign_x5c(s, claims, typ, NULL, jws, e);
}

int
jose_jwt_sign_x5c(const struct jose_signer *s, const json_t *claims, const char *typ,
		  const json_t *x5c, char **jws, struct err *e)
{
	char *body;
	int rc;

	*jws = NULL;
	if (!json_is_object(claims))
		return ERR(e, ERR_INVAL, 0, NULL, "signing needs a claims object");
	body = json_dumps(claims, JSON_COMPACT);
	if (body == NULL)
		return ERR(e, ERR_INVAL, 0, NULL, "claims cannot be serialised");
	rc = jose_jws_sign(s, typ, x5c, body, strlen(body), jws, e);
	free(body);
	return rc;
}

/* The protected header {alg, kid, typ[, x5c]}, in that order, into hb. */
static int
jws_header(const struct jose_signer *s, const char *typ, const json_t *x5c, struct buf *hb,
	   struct err *e)
{
	struct jsonw w;
	char *certs = NULL;

	jsonw_begin(&w, hb);
	jsonw_str(&w, "alg", s->alg);
	jsonw_str(&w, "kid", s->kid);
	jsonw_str(&w, "typ", typ);
	if (x5c != NULL) {
		certs = json_dumps(x5c, JSON_COMPACT | JSON_ENCODE_ANY);
		if (certs == NULL)
			w.rc = ERR_NOMEM;
		else
			jsonw_raw(&w, "x5c", certs, strlen(certs));
	}
	free(certs);
	if (jsonw_end(&w) != 0)
		return ERR(e, ERR_NOMEM, 0, NULL, "cannot build the JWS header");
	return 0;
}

int
jose_jws_sign(const struct jose_signer *s, const char *typ, const json_t *x5c, const char *body,
	      size_t body_len, char **jws, struct err *e)
{
	struct buf hb;
	char *out = NULL;
	unsigned char *sig = NULL;
	size_t hl, bl, in_len, sig_len = 0;
	int rc;

	*jws = NULL;
	buf_init(&hb, JWS_HEADER_MAX);
	if (s == NULL || body == NULL) {
		rc = ERR(e, ERR_INVAL, 0, NULL, "signing needs a signer and a payload");
		goto out;
	}
	if (typ == NULL)
		typ = "JWT";
	if (!typ_ok(typ)) {
		rc = ERR(e, ERR_INVAL, 0, NULL, "typ is not a short media type name");
		goto out;
	}
	rc = signer_check(s, e);
	if (rc == 0)
		rc = jws_header(s, typ, x5c, &hb, e);
	if (rc != 0)
		goto out;
	hl = b64url_len(hb.len);
	bl = b64url_len(body_len);
	in_len = hl + 1 + bl;
	out = malloc(in_len + 1 + b64url_len(SIG_MAX) + 1);
	if (out == NULL) {
		rc = ERR(e, ERR_NOMEM, 0, NULL, "out of memory");
		goto out;
	}
	b64url_encode(hb.p, hb.len, out);
	out[hl] = '.';
	b64url_encode(body, body_len, out + hl + 1);
	rc = s->sign(s, out, in_len, &sig, &sig_len, e);
	if (rc != 0) {
		if (rc > 0)
			rc = ERR(e, ERR_INTERNAL, 0, NULL, "the signer returned %d", rc);
		goto out;
	}
	if (sig == NULL || sig_len == 0 || sig_len > SIG_MAX) {
		rc = ERR(e, ERR_CRYPTO, 0, NULL, "the signer returned no signature or one of %zu "
			 "bytes", sig_len);
		goto out;
	}
	out[in_len] = '.';
	b64url_encode(sig, sig_len, out + in_len + 1);
	*jws = out;
	out = NULL;
out:
	free(out);
	free(sig);
	buf_free(&hb);
	return rc;
}

/* A NumericDate claim (RFC 7519 2): here a non-negative integer. */
static int
claim_time(const json_t *claims, const char *name, bool *present, int64_t *v, struct err *e)
{
	const json_t *j = json_object_get(claims, name);

	*present = j != NULL;
	*v = 0;
	if (j == NULL)
		return 0;
	if (!json_is_integer(j) || json_integer_value(j) < 0)
		return ERR(e, ERR_INVAL, 0, NULL, "claim %s is not a non-negative integer", name);
	*v = (int64_t)json_integer_value(j);
	return 0;
}

int
jose_jwt_check_times(const json_t *claims, int64_t now, int64_t leeway, int64_t max_life,
		     int require_iat, struct err *e)
{
	bool has_exp, has_iat, has_nbf;
	int64_t exp, iat, nbf, lo, hi, life;
	int rc;

	if (!json_is_object(claims))
		return ERR(e, ERR_INVAL, 0, NULL, "claims are not a JSON object");
	if (leeway < 0)
		leeway = 0;
	if (__builtin_sub_overflow(now, leeway, &lo))
		lo = INT64_MIN;
	if (__builtin_add_overflow(now, leeway, &hi))
		hi = INT64_MAX;
	rc = claim_time(claims, "exp", &has_exp, &exp, e);
	if (rc == 0)
		rc = claim_time(claims, "iat", &has_iat, &iat, e);
	if (rc == 0)
		rc = claim_time(claims, "nbf", &has_nbf, &nbf, e);
	if (rc != 0)
		return rc;
	/* RFC 7519 4.1.4 */
	if (!has_exp)
		return ERR(e, ERR_INVAL, 0, NULL, "token has no exp");
	if (exp <= lo)
		return ERR(e, ERR_DENIED, 0, NULL, "token has expired");
	/* RFC 7519 4.1.6 */
	if (!has_iat && (require_iat || max_life > 0))
		return ERR(e, ERR_INVAL, 0, NULL, "token has no iat");
	if (has_iat && iat > hi)
		return ERR(e, ERR_DENIED, 0, NULL, "token iat is in the future");
	if (has_iat && exp < iat)
		return ERR(e, ERR_INVAL, 0, NULL, "token exp is before its iat");
	/* RFC 7519 4.1.5 */
	if (has_nbf && nbf > hi)
		return ERR(e, ERR_DENIED, 0, NULL, "token is not valid yet (nbf)");
	if (max_life > 0) {
		life = exp - iat;	/* both >= 0, exp >= iat: no overflow */
		if (life > max_life)
			return ERR(e, ERR_DENIED, 0, NULL,
				   "token lifetime %lld s exceeds the allowed %lld s",
				   (long long)life, (long long)max_life);
	}
	return 0;
}

/* One key of a client-supplied JWKS (selfservice-api.md 7, maskinporten.md 11). */
static int
jwks_validate_key(const json_t *k, size_t idx, struct err *e)
{
	static const char *const private_members[] = { "d", "p", "q", "dp", "dq", "qi", "oth",
						       "k" };
	unsigned char n[JOSE_RSA_MAX_BITS / 8], ex[8];
	size_t nlen = 0, elen = 0, i;
	const char *kty, *use, *alg, *kid;
	const json_t *x5c, *c;
	const char *why = NULL;
	bool alg_ok = false;

	if (!json_is_object(k))
		return ERR(e, ERR_INVAL, 0, NULL, "key %zu is not a JSON object", idx);
	kty = json_string_value(json_object_get(k, "kty"));
	if (kty == NULL || strcmp(kty, "RSA") != 0)
		return ERR(e, ERR_INVAL, 0, NULL, "key %zu: kty must be RSA", idx);
	kid = json_string_value(json_object_get(k, "kid"));
	if (kid == NULL || !jose_kid_ok(str_c(kid)) || !str_only(str_c(kid), kid_set))
		return ERR(e, ERR_INVAL, 0, NULL,
			   "key %zu: kid is required, 1-%d characters of A-Z a-z 0-9 . _ -", idx,
			   JOSE_KID_MAX);
	use = json_string_value(json_object_get(k, "use"));
	if (use == NULL || strcmp(use, "sig") != 0)
		return ERR(e, ERR_INVAL, 0, NULL, "key %zu: use must be sig", idx);
	alg = json_string_value(json_object_get(k, "alg"));
	for (i = 0; alg != NULL && i < sizeof(rsa_algs) / sizeof(rsa_algs[0]); i++)
		alg_ok |= strcmp(alg, rsa_algs[i].name) == 0;
	if (!alg_ok)
		return ERR(e, ERR_INVAL, 0, NULL, "key %zu: alg must be RS256, RS384 or RS512",
			   idx);
	for (i = 0; i < sizeof(private_members) / sizeof(private_members[0]); i++)
		if (json_object_get(k, private_members[i]) != NULL)
			return ERR(e, ERR_INVAL, 0, NULL,
				   "key %zu holds private key material (%s): register the public "
				   "key only", idx, private_members[i]);
	if (jwk_rsa_numbers(k, n, &nlen, ex, &elen, &why) != 0)
		return ERR(e, ERR_INVAL, 0, NULL, "key %zu: %s", idx, why);
	/* RFC 7517 4.7: an array of base64 DER certificates; checked elsewhere. */
	x5c = json_object_get(k, "x5c");
	if (x5c != NULL) {
		if (!json_is_array(x5c) || json_array_size(x5c) == 0)
			return ERR(e, ERR_INVAL, 0, NULL, "key %zu: x5c must be a non-empty array",
				   idx);
		json_array_foreach(x5c, i, c)
			if (!json_is_string(c) || json_string_length(c) == 0)
				return ERR(e, ERR_INVAL, 0, NULL,
					   "key %zu: x5c entries must be strings", idx);
	}
	return 0;
}

int
jose_jwks_validate(const json_t *jwks, size_t max_keys, struct err *e)
{
	const json_t *keys;
	size_t n;

	if (!json_is_object(jwks))
		return ERR(e, ERR_INVAL, 0, NULL, "JWKS must be a JSON object");
	keys = json_object_get(jwks, "keys");
	if (!json_is_array(keys))
		return ERR(e, ERR_INVAL, 0, NULL, "JWKS must have a keys array");
	n = json_array_size(keys);
	if (n == 0)
		return ERR(e, ERR_INVAL, 0, NULL, "JWKS has no keys");
	if (n > max_keys)
		return ERR(e, ERR_LIMIT, 0, NULL, "JWKS has %zu keys, at most %zu allowed", n,
			   max_keys);
	for (size_t i = 0; i < n; i++) {
		const char *kid;
		int rc = jwks_validate_key(json_array_get(keys, i), i, e);

		if (rc != 0)
			return rc;
		kid = json_string_value(json_object_get(json_array_get(keys, i), "kid"));
		for (size_t j = 0; j < i; j++) {
			const char *other =
				json_string_value(json_object_get(json_array_get(keys, j), "kid"));

			if (strcmp(kid, other) == 0)
				return ERR(e, ERR_INVAL, 0, NULL, "key %zu: kid %s is used twice", i,
					   kid);
		}
	}
	return 0;
}

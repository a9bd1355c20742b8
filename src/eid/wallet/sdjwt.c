/*
 * One SD-JWT VC presentation of a PID (spec/eudi-wallet.md §6 steps 4-12):
 * <issuer JWT>~<disclosure>~...~<KB-JWT>, checked against the configured
 * anchors and the transaction's audience, nonce and start.  No I/O and
 * no store: the fuzz target drives it as it is.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/b64.h"
#include "core/crypto.h"
#include "eid/wallet/wallet_int.h"

#define PRES_MAX 32768     /* a PID with a chain of three certificates is under 8 KB */
#define DISC_MAX 64        /* disclosures in one presentation */
#define DIGEST_MAX 256     /* _sd entries and array digests, decoys included */
#define SKEW 60

struct disc {
	struct str raw;
	char digest[TOKEN_CHARS + 1];
	json_t *arr;       /* [salt, name, value] or [salt, value] */
	bool used;
};

struct sd_state {
	struct disc d[DISC_MAX];
	size_t n;
	char seen[DIGEST_MAX][TOKEN_CHARS + 1]; /* every digest referenced, to refuse one twice */
	size_t nseen;
	struct err *e;
};

static int
fail(struct err *e, enum wallet_fail *why, enum wallet_fail w, const char *msg)
{
	*why = w;
	return ERR(e, ERR_DENIED, 0, NULL, "%s", msg);
}

/* RFC 9901 4.2: a disclosure is base64url of a JSON array of 2 or 3 members. */
static int
disc_parse(struct disc *d)
{
	unsigned char *raw = malloc(d->raw.len * 3 / 4 + 2);
	size_t n = 0;
	json_t *a = NULL;

	sha256_b64url_buf(d->raw, d->digest);
	if (raw != NULL && b64url_decode(d->raw, raw, &n) == 0)
		a = json_loadb((const char *)raw, n, JSON_REJECT_DUPLICATES, NULL);
	free(raw);
	if (!json_is_array(a) || json_array_size(a) < 2 || json_array_size(a) > 3 ||
	    !json_is_string(json_array_get(a, 0)) ||
	    (json_array_size(a) == 3 && !json_is_string(json_array_get(a, 1)))) {
		json_decref(a);
		return -1;
	}
	d->arr = a;
	return 0;
}

/* Note digest as referenced; -1 when it is no SHA-256 digest or was referenced before. */
static int
seen_add(struct sd_state *st, const char *digest)
{
	if (digest == NULL || strlen(digest) != TOKEN_CHARS || st->nseen >= DIGEST_MAX)
		return -1;
	for (size_t i = 0; i < st->nseen; i++)
		if (strcmp(st->seen[i], digest) == 0)
			return -1;
	memcpy(st->seen[st->nseen++], digest, TOKEN_CHARS + 1);
	return 0;
}

static struct disc *
disc_find(struct sd_state *st, const char *digest)
{
	for (size_t i = 0; i < st->n; i++)
		if (strcmp(st->d[i].digest, digest) == 0)
			return &st->d[i];
	return NULL;
}

static int expand(struct sd_state *st, json_t *node, int depth);

/* The _sd array of obj: each disclosed property joins obj (RFC 9901 7.1 step 3). */
static int
expand_sd(struct sd_state *st, json_t *obj, json_t *sd, int depth)
{
	size_t i;
	json_t *v;

	if (!json_is_array(sd))
		return ERR(st->e, ERR_DENIED, 0, NULL, "_sd is not an array");
	json_array_foreach(sd, i, v) {
		const char *dg = json_string_value(v), *name;
		struct disc *d;
		json_t *val;

		if (seen_add(st, dg) != 0)
			return ERR(st->e, ERR_DENIED, 0, NULL, "a digest is repeated or not a string");
		d = disc_find(st, dg);
		if (d == NULL)
			continue; /* undisclosed or a decoy */
		if (d->used || json_array_size(d->arr) != 3)
			return ERR(st->e, ERR_DENIED, 0, NULL, "a disclosure is misplaced");
		name = json_string_value(json_array_get(d->arr, 1));
		if (strcmp(name, "_sd") == 0 || strcmp(name, "...") == 0 ||
		    json_object_get(obj, name) != NULL)
			return ERR(st->e, ERR_DENIED, 0, NULL, "a disclosure's name is taken");
		d->used = true;
		val = json_array_get(d->arr, 2);
		if (expand(st, val, depth + 1) != 0)
			return -1;
		json_object_set(obj, name, val);
	}
	return 0;
}

static int
expand_object(struct sd_state *st, json_t *obj, int depth)
{
	json_t *sd = json_incref(json_object_get(obj, "_sd"));
	const char *k;
	json_t *v;
	int rc = 0;

	json_object_del(obj, "_sd");
	json_object_foreach(obj, k, v)
		if (rc == 0)
			rc = expand(st, v, depth + 1);
	if (rc == 0 && sd != NULL)
		rc = expand_sd(st, obj, sd, depth);
	json_decref(sd);
	return rc;
}

/* RFC 9901 7.1 step 4: {"...": digest} elements of an array. */
static int
expand_array(struct sd_state *st, json_t *arr, int depth)
{
	size_t i = 0;

	while (i < json_array_size(arr)) {
		json_t *el = json_array_get(arr, i);
		const char *dg = json_string_value(json_object_get(el, "..."));
		struct disc *d;

		if (!json_is_object(el) || json_object_size(el) != 1 || dg == NULL) {
			if (expand(st, el, depth + 1) != 0)
				return -1;
			i++;
			continue;
		}
		if (seen_add(st, dg) != 0)
			return ERR(st->e, ERR_DENIED, 0, NULL, "a digest is repeated");
		d = disc_find(st, dg);
		if (d == NULL) {
			json_array_remove(arr, i);
			continue;
		}
		if (d->used || json_array_size(d->arr) != 2)
			return ERR(st->e, ERR_DENIED, 0, NULL, "a disclosure is misplaced");
		d->used = true;
		if (expand(st, json_array_get(d->arr, 1), depth + 1) != 0)
			return -1;
		json_array_set(arr, i, json_array_get(d->arr, 1));
		i++;
	}
	return 0;
}

static int
expand(struct sd_state *st, json_t *node, int depth)
{
	if (depth > 16)
		return ERR(st->e, ERR_DENIED, 0, NULL, "the credential nests too deep");
	if (json_is_object(node))
		return expand_object(st, node, depth);
	if (json_is_array(node))
		return expand_array(st, node, depth);
	return 0;
}

/*
 * A PID type (§6 step 8): the EU-wide urn:eudi:pid:1, or a national type
 * urn:eudi:pid:<cc>:<version> (PID Rulebook §4.2).  cc gets the national
 * type's country, two lower-case letters, or "" for the EU-wide type.
 */
static bool
vct_parse(const char *vct, char cc[3])
{
	size_t n;

	cc[0] = '\0';
	if (vct == NULL)
		return false;
	if (strcmp(vct, "urn:eudi:pid:1") == 0)
		return true;
	if (strncmp(vct, "urn:eudi:pid:", 13) != 0)
		return false;
	vct += 13;
	if (!(vct[0] >= 'a' && vct[0] <= 'z' && vct[1] >= 'a' && vct[1] <= 'z' && vct[2] == ':'))
		return false;
	n = strlen(vct + 3);
	if (n == 0 || n > 8 || !str_only(str_c(vct + 3), "0123456789"))
		return false;
	memcpy(cc, vct, 2);
	cc[2] = '\0';
	return true;
}

static bool
vct_ok(const char *vct)
{
	char cc[3];

	return vct_parse(vct, cc);
}

static bool
time_claim(const json_t *p, const char *name, int64_t *v)
{
	const json_t *t = json_object_get(p, name);

	if (t == NULL)
		return false;
	*v = json_is_integer(t) ? json_integer_value(t) : INT64_MIN;
	return true;
}

/* §6 step 8: what the issuer's payload must say before any disclosure is read. */
static int
payload_check(const json_t *p, const struct wallet_check *c, enum wallet_fail *why,
	      struct err *e)
{
	const json_t *alg = json_object_get(p, "_sd_alg");
	int64_t t = 0;

	if (!json_is_string(json_object_get(p, "iss")) ||
	    !vct_ok(json_string_value(json_object_get(p, "vct"))))
		return fail(e, why, WALLET_FAIL_INVALID, "iss missing or vct not a PID type");
	if (alg != NULL && (!json_is_string(alg) || strcmp(json_string_value(alg), "sha-256") != 0))
		return fail(e, why, WALLET_FAIL_INVALID, "_sd_alg is not sha-256");
	if (!time_claim(p, "exp", &t) || t == INT64_MIN)
		return fail(e, why, WALLET_FAIL_INVALID, "the credential has no exp");
	if (t <= c->now - SKEW)
		return fail(e, why, WALLET_FAIL_EXPIRED, "the credential has expired");
	if (time_claim(p, "nbf", &t) && (t == INT64_MIN || t > c->now + SKEW))
		return fail(e, why, WALLET_FAIL_INVALID, "the credential is not valid yet");
	if (time_claim(p, "iat", &t) && (t == INT64_MIN || t > c->now + SKEW))
		return fail(e, why, WALLET_FAIL_INVALID, "the credential is issued in the future");
	if (jose_pub_check(json_object_get(json_object_get(p, "cnf"), "jwk"), "ES256", e) != 0 ||
	    json_object_get(json_object_get(json_object_get(p, "cnf"), "jwk"), "d") != NULL)
		return fail(e, why, WALLET_FAIL_INVALID, "cnf.jwk is not a public P-256 key");
	return 0;
}

int
wallet_jws_x5c(struct str jwt, const struct wallet_check *c, const char *typ1, const char *typ2,
	       json_t **payload, const struct wallet_anchor **by, enum wallet_fail *why,
	       struct err *e)
{
	json_t *hdr = NULL, *jwk = NULL;
	const char *typ, *kid;
	int rc;

	*payload = NULL;
	*by = NULL;
	*why = WALLET_FAIL_INVALID;
	if (jose_jws_header(jwt, &hdr, e) != 0)
		return ERR(e, ERR_DENIED, 0, NULL, "a signed token is malformed");
	typ = json_string_value(json_object_get(hdr, "typ"));
	if (typ == NULL || (strcmp(typ, typ1) != 0 && (typ2 == NULL || strcmp(typ, typ2) != 0))) {
		rc = ERR(e, ERR_DENIED, 0, NULL, "a signed token's typ is not %s", typ1);
		goto out;
	}
	*why = WALLET_FAIL_UNTRUSTED;
	rc = ERR(e, ERR_DENIED, 0, NULL, "no PID trust anchors");
	/* §10: the entry the chain reaches says which country the signer speaks for. */
	for (size_t i = 0; rc != 0 && i < c->nanchors; i++) {
		rc = jose_x509_verify_ec(c->anchors[i].trust, json_object_get(hdr, "x5c"), c->now,
					 &jwk, e);
		if (rc == 0)
			*by = &c->anchors[i];
	}
	if (rc != 0)
		goto out;
	/* The key is the certificate's: a kid in the header only names it. */
	kid = json_string_value(json_object_get(hdr, "kid"));
	if (kid != NULL)
		json_object_set_new(jwk, "kid", json_string(kid));
	*why = WALLET_FAIL_INVALID;
	rc = jose_jwt_verify(jwt, jwk, JOSE_ALG_ES256, payload, e);
out:
	json_decref(hdr);
	json_decref(jwk);
	return rc;
}

/* §6 steps 5-8: header, certificate path, signature, payload. */
static int
issuer_verify(struct str jwt, const struct wallet_check *c, json_t **payload,
	      const struct wallet_anchor **by, enum wallet_fail *why, struct err *e)
{
	int rc = wallet_jws_x5c(jwt, c, "dc+sd-jwt", c->allow_vc_typ ? "vc+sd-jwt" : NULL,
				payload, by, why, e);

	return rc == 0 ? payload_check(*payload, c, why, e) : rc;
}

/* §6 step 10: the key-binding JWT over everything before it. */
static int
kb_verify(struct str kb, struct str signed_part, const json_t *cnf_jwk,
	  const struct wallet_check *c, struct err *e)
{
	json_t *hdr = NULL, *cl = NULL, *jwk = json_deep_copy(cnf_jwk);
	char want[TOKEN_CHARS + 1];
	const char *typ, *kid, *aud, *nonce, *sdh;
	int64_t iat;
	int rc = ERR_DENIED;

	if (jwk == NULL || jose_jws_header(kb, &hdr, e) != 0)
		goto out;
	typ = json_string_value(json_object_get(hdr, "typ"));
	kid = json_string_value(json_object_get(hdr, "kid"));
	if (typ == NULL || strcmp(typ, "kb+jwt") != 0) {
		rc = ERR(e, ERR_DENIED, 0, NULL, "the KB-JWT's typ is not kb+jwt");
		goto out;
	}
	if (kid != NULL)
		json_object_set_new(jwk, "kid", json_string(kid));
	if (jose_jwt_verify(kb, jwk, JOSE_ALG_ES256, &cl, e) != 0)
		goto out;
	aud = json_string_value(json_object_get(cl, "aud"));
	nonce = json_string_value(json_object_get(cl, "nonce"));
	sdh = json_string_value(json_object_get(cl, "sd_hash"));
	sha256_b64url_buf(signed_part, want);
	if (aud == NULL || strcmp(aud, c->aud) != 0)
		rc = ERR(e, ERR_DENIED, 0, NULL, "the KB-JWT's aud is not ours");
	else if (nonce == NULL || !ct_str_eq(str_c(nonce), str_c(c->nonce)))
		rc = ERR(e, ERR_DENIED, 0, NULL, "the KB-JWT's nonce is not the transaction's");
	else if (!time_claim(cl, "iat", &iat) || iat == INT64_MIN || iat < c->tx_start - SKEW ||
		 iat > c->now + SKEW)
		rc = ERR(e, ERR_DENIED, 0, NULL, "the KB-JWT's iat is out of range");
	else if (sdh == NULL || strcmp(sdh, want) != 0)
		rc = ERR(e, ERR_DENIED, 0, NULL, "the KB-JWT's sd_hash does not match");
	else
		rc = 0;
out:
	json_decref(hdr);
	json_decref(cl);
	json_decref(jwk);
	return rc;
}

/* §6 step 12: the claims the login needs, well-formed. */
static int
claims_check(const json_t *p, enum wallet_fail *why, struct err *e)
{
	const char *names[] = { "given_name", "family_name", "birthdate", "issuing_country" };
	const char *bd, *ic;
	size_t n;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!json_is_string(json_object_get(p, names[i])) ||
		    json_string_length(json_object_get(p, names[i])) == 0)
			return fail(e, why, WALLET_FAIL_CLAIMS, "a required claim was not disclosed");
	bd = json_string_value(json_object_get(p, "birthdate"));
	ic = json_string_value(json_object_get(p, "issuing_country"));
	n = strlen(bd);
	if (!((n == 10 && bd[4] == '-' && bd[7] == '-' &&
	       str_only((struct str){ bd, 4 }, "0123456789") &&
	       str_only((struct str){ bd + 5, 2 }, "0123456789") &&
	       str_only((struct str){ bd + 8, 2 }, "0123456789")) ||
	      (n == 4 && str_only(str_c(bd), "0123456789"))))
		return fail(e, why, WALLET_FAIL_INVALID, "birthdate is not YYYY-MM-DD");
	if (strlen(ic) != 2 || !str_only(str_c(ic), "ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
		return fail(e, why, WALLET_FAIL_INVALID, "issuing_country is not alpha-2");
	return 0;
}

/* Two ASCII letters, either case: what a claim that may hold a name or an alpha-2 code holds as a code. */
static bool
two_letters(const char *v)
{
	return strlen(v) == 2 &&
	       str_only(str_c(v), "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");
}

int
wallet_country_check(const json_t *claims, const char *cc, enum wallet_fail *why, struct err *e)
{
	const char *ic = json_string_value(json_object_get(claims, "issuing_country"));
	const json_t *jur = json_object_get(claims, "issuing_jurisdiction");
	const json_t *vct = json_object_get(claims, "vct");
	const json_t *auth = json_object_get(claims, "issuing_authority");
	const char *j = json_string_value(jur), *a = json_string_value(auth);
	char lc[3] = { (char)tolower((unsigned char)cc[0]), (char)tolower((unsigned char)cc[1]),
		       '\0' },
	     of[3];

	*why = WALLET_FAIL_UNTRUSTED;
	/* The eIDAS identifier's country is the one that issued the eID (§7). */
	if (ic == NULL || strcmp(ic, cc) != 0)
		return ERR(e, ERR_DENIED, 0, NULL, "issuing_country is not %s, the anchor's country",
			   cc);
	/* PID Rulebook: issuing_jurisdiction is "<issuing_country>-<subdivision>". */
	if (jur != NULL && (j == NULL || strncmp(j, cc, 2) != 0 || j[2] != '-'))
		return ERR(e, ERR_DENIED, 0, NULL, "issuing_jurisdiction is not in %s, the "
			   "anchor's country", cc);
	/* PID Rulebook §4.2: a national type, urn:eudi:pid:<cc>:<n>, is of its country. */
	if (vct != NULL &&
	    (!vct_parse(json_string_value(vct), of) || (of[0] != '\0' && strcmp(of, lc) != 0)))
		return ERR(e, ERR_DENIED, 0, NULL, "vct is not the EU-wide PID type or one of %s, "
			   "the anchor's country", cc);
	/*
	 * PID Rulebook: issuing_authority is the name of the authority, or the
	 * alpha-2 code of its Member State; a code must be the anchor's.
	 */
	if (auth != NULL &&
	    (a == NULL || a[0] == '\0' || (two_letters(a) && strcasecmp(a, cc) != 0)))
		return ERR(e, ERR_DENIED, 0, NULL, "issuing_authority names another country than "
			   "%s, the anchor's", cc);
	return 0;
}

/* Split into parts; fill st's disclosures.  *kb and *signed_part point into pres. */
static int
split(struct str pres, struct sd_state *st, struct str *jwt, struct str *kb,
      struct str *signed_part)
{
	size_t start = 0, last = 0;
	bool first = true;

	for (size_t i = 0; i < pres.len; i++)
		if (pres.p[i] == '~')
			last = i;
	if (last == 0 || last + 1 >= pres.len)
		return -1; /* no KB-JWT: holder binding is required */
	*kb = (struct str){ pres.p + last + 1, pres.len - last - 1 };
	*signed_part = (struct str){ pres.p, last + 1 };
	for (size_t i = 0; i <= last; i++) {
		struct str part;

		if (pres.p[i] != '~')
			continue;
		part = (struct str){ pres.p + start, i - start };
		start = i + 1;
		if (first) {
			*jwt = part;
			first = false;
			continue;
		}
		if (part.len == 0 || st->n >= DISC_MAX)
			return -1;
		st->d[st->n].raw = part;
		if (disc_parse(&st->d[st->n]) != 0)
			return -1;
		st->n++;
	}
	return 0;
}

int
wallet_sdjwt_verify(struct str pres, const struct wallet_check *c, json_t **claims,
		    const struct wallet_anchor **by, enum wallet_fail *why, struct err *e)
{
	struct sd_state st = { .e = e };
	struct str jwt = { 0 }, kb = { 0 }, signed_part = { 0 };
	json_t *p = NULL;
	int rc;

	*claims = NULL;
	*by = NULL;
	*why = WALLET_FAIL_INVALID;
	if (pres.len == 0 || pres.len > PRES_MAX || split(pres, &st, &jwt, &kb, &signed_part) != 0) {
		rc = fail(e, why, WALLET_FAIL_INVALID, "the presentation is not an SD-JWT with a "
			  "KB-JWT");
		goto out;
	}
	rc = issuer_verify(jwt, c, &p, by, why, e);
	if (rc != 0)
		goto out;
	*why = WALLET_FAIL_INVALID;
	json_object_del(p, "_sd_alg");
	rc = expand(&st, p, 0);
	for (size_t i = 0; rc == 0 && i < st.n; i++)
		if (!st.d[i].used)
			rc = ERR(e, ERR_DENIED, 0, NULL, "a disclosure is referenced by nothing");
	if (rc != 0)
		goto out;
	rc = kb_verify(kb, signed_part, json_object_get(json_object_get(p, "cnf"), "jwk"), c, e);
	if (rc != 0)
		goto out;
	rc = claims_check(p, why, e);
	if (rc == 0)
		rc = wallet_country_check(p, (*by)->cc, why, e);
	if (rc == 0) {
		*claims = p;
		p = NULL;
	}
out:
	for (size_t i = 0; i < st.n; i++)
		json_decref(st.d[i].arr);
	json_decref(p);
	return rc;
}

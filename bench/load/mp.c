/*
 * Maskinporten grants: one fresh JWT per token request (RFC 7523 §2.1,
 * §3), signed RS256 with the client's registered key and naming it by
 * kid, as a workload would.  The signature is part of the operation's cost
 * on the client side; the server's part is one verification and one
 * signature of the access token.
 */
#include "load.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

int
mp_init(struct load *L)
{
	FILE *f;
	EVP_PKEY *k;

	if (L->o.mp_key == NULL || L->o.mp_kid == NULL) {
		fprintf(stderr, "porten-load: --flow mp needs --mp-key and --mp-kid\n");
		return -1;
	}
	f = fopen(L->o.mp_key, "r");
	if (f == NULL) {
		fprintf(stderr, "porten-load: cannot open %s\n", L->o.mp_key);
		return -1;
	}
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (k == NULL || EVP_PKEY_get_base_id(k) != EVP_PKEY_RSA) {
		fprintf(stderr, "porten-load: %s is not an RSA private key (PEM)\n", L->o.mp_key);
		EVP_PKEY_free(k);
		return -1;
	}
	L->mp_pkey = k;
	return 0;
}

void
mp_free(struct load *L)
{
	EVP_PKEY_free(L->mp_pkey);
	L->mp_pkey = NULL;
}

/* base64url of a NUL-terminated string; caller frees. */
static char *
b64url_str(const char *s)
{
	size_t n = strlen(s);
	size_t cap = 4 * ((n + 2) / 3) + 1;
	char *out = malloc(cap);

	if (out != NULL && b64url_encode((const unsigned char *)s, n, out, cap) != 0) {
		free(out);
		out = NULL;
	}
	return out;
}

/* A compact JWS of claims: RS256 with the header's kid.  NULL on failure. */
static char *
sign_claims(struct load *L, json_t *cl)
{
	json_t *hdr = NULL;
	char *h = NULL, *c = NULL, *hb = NULL, *cb = NULL, *input = NULL, *out = NULL;
	unsigned char sig[1024];
	char sigb[1400];
	size_t siglen = sizeof(sig);
	EVP_MD_CTX *md = NULL;

	hdr = json_pack("{s:s, s:s}", "alg", "RS256", "kid", L->o.mp_kid);
	if (hdr == NULL || cl == NULL)
		goto out;
	h = json_dumps(hdr, JSON_COMPACT);
	c = json_dumps(cl, JSON_COMPACT);
	if (h == NULL || c == NULL)
		goto out;
	hb = b64url_str(h);
	cb = b64url_str(c);
	if (hb == NULL || cb == NULL)
		goto out;
	input = xasprintf("%s.%s", hb, cb);
	md = EVP_MD_CTX_new();
	if (md == NULL ||
	    EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, L->mp_pkey) != 1 ||
	    EVP_DigestSign(md, sig, &siglen, (const unsigned char *)input, strlen(input)) != 1 ||
	    b64url_encode(sig, siglen, sigb, sizeof(sigb)) != 0)
		goto out;
	out = xasprintf("%s.%s", input, sigb);
out:
	EVP_MD_CTX_free(md);
	json_decref(hdr);
	free(h);
	free(c);
	free(hb);
	free(cb);
	free(input);
	return out;
}

/*
 * The grant: header {alg, kid}, claims iss = client, aud = the issuer,
 * scope, iat, exp = iat + 60 and a unique jti (Maskinporten refuses a
 * replayed jti and a lifetime over 120 s).  NULL on failure.
 */
char *
mp_grant(struct load *L, const char *client_id)
{
	char jti[40];
	time_t now = time(NULL);
	json_t *cl;
	char *out;

	if (rand_b64url(jti, sizeof(jti), 18) != 0)
		return NULL;
	cl = json_pack("{s:s, s:s, s:s, s:I, s:I, s:s}", "iss", client_id, "aud", L->m.issuer,
		       "scope", L->o.cc_scope, "iat", (json_int_t)now, "exp", (json_int_t)now + 60,
		       "jti", jti);
	out = sign_claims(L, cl);
	json_decref(cl);
	return out;
}

/*
 * private_key_jwt client authentication (OIDC Core §9, RFC 7523 §3): iss and
 * sub the client, aud the token endpoint, a unique jti; the same one
 * signature per token as a Maskinporten grant.
 */
char *
mp_client_assertion(struct load *L, const char *client_id)
{
	char jti[40];
	time_t now = time(NULL);
	json_t *cl;
	char *out;

	if (rand_b64url(jti, sizeof(jti), 18) != 0)
		return NULL;
	cl = json_pack("{s:s, s:s, s:s, s:I, s:I, s:s}", "iss", client_id, "sub", client_id,
		       "aud", L->m.token_endpoint, "iat", (json_int_t)now,
		       "exp", (json_int_t)now + 60, "jti", jti);
	out = sign_claims(L, cl);
	json_decref(cl);
	return out;
}

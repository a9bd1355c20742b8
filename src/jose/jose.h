/*
 * JOSE on OpenSSL 3 and cjose: signing keys, JWKS, JWT sign and verify, and
 * sealing private keys at rest under the key-encryption key (KEK).
 *
 * Rules enforced here, once: alg is pinned to the key (RSA keys verify only
 * RS256/RS384/RS512 as allowed by the caller); `none` and HMAC algorithms
 * are never accepted; a JWS must be compact, three parts, header JSON object.
 */
#ifndef PORTEN_JOSE_JOSE_H
#define PORTEN_JOSE_JOSE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/str.h"

/* A private signing key with its kid (opaque). */
struct jose_key;

/* Generate a new RSA key of bits (2048 or more) with a fresh random kid. */
int jose_key_generate(int bits, struct jose_key **out, struct err *e);
void jose_key_free(struct jose_key *k);
const char *jose_key_kid(const struct jose_key *k);
/* Public JWK (kty, use=sig, kid, alg=RS256, n, e) as a new json_t reference. */
json_t *jose_key_public_jwk(const struct jose_key *k);

/*
 * What signs a JWS: the in-process key of jose/signer.c or a key in a
 * PKCS#11 token (jose/signer_pkcs11.c).  jose_jwt_sign() assembles the token and calls sign once
 * with the JWS signing input (RFC 7515 5.1 step 5: ASCII(BASE64URL(header)
 * '.' BASE64URL(payload))); the signer hashes and signs it and returns the
 * raw signature of RFC 7518 for alg: for RS256, RSASSA-PKCS1-v1_5 with
 * SHA-256 (3.3), as many bytes as the modulus; for ES256, r || s (3.4).
 *
 * kid and alg go into the JWS header as they are: kid 1-128 printable ASCII,
 * alg RS256, RS384 or RS512 (an ECDSA signer adds its alg to the list that
 * jose/jwt.c signs and verifies).  Both must stay valid, and sign callable,
 * for as long as the owner keeps the signer; one signer may sign from
 * several threads at once, so sign must not change shared state unlocked.
 *
 * sign: 0 with *sig malloc'd (the caller frees it) and *len its length, or
 * a negative ERR_* with e saying why (ERR_CRYPTO when the key refused,
 * ERR_UNAVAILABLE when a device is away); then *sig is NULL.
 */
struct jose_signer {
	const char *kid;
	const char *alg;
	int (*sign)(const struct jose_signer *s, const void *msg, size_t n, unsigned char **sig,
		    size_t *len, struct err *e);
};

/*
 * The key's own signer (RS256 in process, EVP_DigestSign): borrowed, valid
 * as long as k.  NULL for NULL.
 */
const struct jose_signer *jose_key_signer(const struct jose_key *k);

/*
 * A signer whose key stays in a PKCS#11 token (jose/signer_pkcs11.c).  uri
 * is an RFC 7512 URI naming the token, the private key (object= and/or
 * id=) and the module (module-path=); pin_file holds the user PIN on its
 * first line and must be readable by its owner only.  The key must be RSA
 * of 2048-8192 bits; it signs RS256 and its kid is the RFC 7638 thumbprint
 * of its public key.  A probe is signed and verified before *out is set.
 * ERR_INVAL: bad URI or more than one key matches; ERR_NOTFOUND: no such
 * key; ERR_DENIED: the token refused the PIN or the PIN file is open to
 * others; ERR_UNAVAILABLE: module or token away; ERR_CRYPTO: a key that
 * will not sign.  Release with jose_signer_free().
 */
int jose_signer_pkcs11(const char *uri, const char *pin_file, struct jose_signer **out,
		       struct err *e);
/* Its public JWK (kty, kid, use=sig, alg=RS256, n, e): a new reference, NULL for NULL. */
json_t *jose_signer_pkcs11_jwk(const struct jose_signer *s);
/* Release a signer made by jose_signer_pkcs11(); NULL does nothing. */
void jose_signer_free(struct jose_signer *s);

/* The KEK: 32 bytes.  seal = AES-256-GCM, output base64url text (caller frees). */
struct jose_kek {
	unsigned char k[32];
};
/* From base64url text (43 chars); ERR_INVAL otherwise. */
int jose_kek_parse(struct str text, struct jose_kek *out, struct err *e);
/* Serialise the private key and seal it; *sealed is malloc'd text. */
int jose_key_seal(const struct jose_key *k, const struct jose_kek *kek, char **sealed,
		  struct err *e);
/* Unseal and load; kid is set from the argument. ERR_CRYPTO on a wrong KEK. */
int jose_key_unseal(const char *sealed, const char *kid, const struct jose_kek *kek,
		    struct jose_key **out, struct err *e);
/*
 * Short secret text sealed under the KEK (AES-256-GCM, "t1." format), so
 * that every node holding the KEK opens it and the store sees none of it.
 * label (1..128 bytes) is authenticated with it: the text opens only under
 * the same label, so a sealed value copied to another record does not.
 * seal: *sealed malloc'd; ERR_INVAL for an empty or oversized text (16 KiB).
 * open: *plain malloc'd and NUL-terminated (wipe and free it), *len its
 * length; ERR_CRYPTO for a wrong KEK, a wrong label or altered text.
 */
int jose_kek_seal_text(const struct jose_kek *kek, const char *label, struct str plain,
		       char **sealed, struct err *e);
int jose_kek_open_text(const char *sealed, const char *label, const struct jose_kek *kek,
		       char **plain, size_t *len, struct err *e);
/*
 * An RSA private key from PEM text (PKCS#8 or PKCS#1), with kid: a key a
 * deployment keeps in a file (an upstream eID's private_key_jwt).
 * ERR_INVAL for a kid that is not short printable text; ERR_CRYPTO for text
 * that is no RSA private key of 2048-8192 bits.
 */
int jose_key_from_pem(const char *pem, const char *kid, struct jose_key **out, struct err *e);

/*
 * Sign claims as a compact JWS by s: header {alg, kid, typ} from the
 * signer, payload the claims as compact JSON; s->sign is called once.
 * typ may be NULL (then "JWT").  *jws is malloc'd.  ERR_INVAL for a NULL
 * signer, claims that are not an object, a bad typ, or a signer whose alg
 * or kid cannot go in a header; a failing signer's code and e as it left
 * them; ERR_CRYPTO when it returns no signature or one over 1024 bytes.
 */
int jose_jwt_sign(const struct jose_signer *s, const json_t *claims, const char *typ,
		  char **jws, struct err *e);
/*
 * The same with an x5c member after typ (RFC 7515 4.1.6: base64 DER
 * certificates, leaf first), for a signer whose certificate names it: the
 * wallet verifier's request objects.  x5c NULL: as jose_jwt_sign.
 */
int jose_jwt_sign_x5c(const struct jose_signer *s, const json_t *claims, const char *typ,
		      const json_t *x5c, char **jws, struct err *e);
/*
 * The same for a payload that is already compact JSON text (claims written
 * with core/jsonw.h, no tree): the hot tokens' path.  x5c may be NULL.
 */
int jose_jws_sign(const struct jose_signer *s, const char *typ, const json_t *x5c,
		  const char *body, size_t body_len, char **jws, struct err *e);

/* Allowed algorithms for verification: bits of JOSE_ALG_*. */
enum {
	JOSE_ALG_RS256 = 1 << 0,
	JOSE_ALG_RS384 = 1 << 1,
	JOSE_ALG_RS512 = 1 << 2,
	JOSE_ALG_RS_ALL = JOSE_ALG_RS256 | JOSE_ALG_RS384 | JOSE_ALG_RS512,
	/* verified with OpenSSL from the JWK (jose/pubkey.c) */
	JOSE_ALG_ES256 = 1 << 3,  /* EC P-256 */
	JOSE_ALG_PS256 = 1 << 4,  /* RSA-PSS, 2048-8192 bits */
	JOSE_ALG_EDDSA = 1 << 5,  /* Ed25519 */
};

/* The bit of a JOSE_ALG_* name, 0 for anything else (none, HS*, ...). */
unsigned jose_alg_bit(const char *alg);

/* The JWK kty that signs alg ("RSA", "EC", "OKP"), NULL when not one of ours. */
const char *jose_alg_kty(const char *alg);

/*
 * Whether jwk is a usable public key for alg: the kty alg needs; EC on
 * P-256 with a point on the curve; Ed25519; RSA of 2048-8192 bits with a
 * sound exponent.  Private members are not looked at: callers refuse them.
 * ERR_DENIED saying why.
 */
int jose_pub_check(const json_t *jwk, const char *alg, struct err *e);

/* RFC 7638 SHA-256 thumbprint of a public RSA, EC or OKP JWK, base64url. */
#define JOSE_JKT_LEN 43
int jose_jwk_thumbprint(const json_t *jwk, char out[JOSE_JKT_LEN + 1], struct err *e);

/*
 * Parse the header of a compact JWS without verifying (to find kid, x5c,
 * alg).  ERR_INVAL if not three base64url parts with a JSON object header.
 * *header is a new reference.
 */
int jose_jws_header(struct str jws, json_t **header, struct err *e);

/*
 * Verify a compact JWS against a JWKS (json object with "keys") or a single
 * JWK: the key is chosen by the header's kid (required when the set has
 * more than one key); the header alg must be in algs and fit the key type.
 * On success *claims is the payload as a new json_t object reference.
 * Does not check exp/iat/aud: callers do, with jose_jwt_check_times().
 * ERR_INVAL for malformed input, ERR_DENIED for a bad signature, unknown kid
 * or disallowed alg.
 */
int jose_jwt_verify(struct str jws, const json_t *jwks, unsigned algs, json_t **claims,
		    struct err *e);
/*
 * The same for a caller that decoded the header already to find the key
 * (jose_jws_header, or decoded the same way: a JSON object, duplicate
 * members refused): hdr is taken as the token's header, not decoded again.
 * claims NULL: the payload is not decoded either, for a caller that read
 * it before verifying (a client assertion names its client in iss); the
 * copy it read is the one verified, since the bytes are the same.
 */
int jose_jwt_verify_hdr(struct str jws, const json_t *hdr, const json_t *jwks, unsigned algs,
			json_t **claims, struct err *e);

/*
 * Time claims: exp required and > now - leeway; iat (if required or
 * present) <= now + leeway; if max_life > 0, exp - iat <= max_life.
 */
int jose_jwt_check_times(const json_t *claims, int64_t now, int64_t leeway, int64_t max_life,
			 int require_iat, struct err *e);

/* Validate a client-supplied JWKS (RSA public keys with kid, <= max keys). */
int jose_jwks_validate(const json_t *jwks, size_t max_keys, struct err *e);

/* ---- EC P-256 private keys (jose/ec.c) and ECDH-ES JWE (jose/jwe.c) ---- */

/*
 * A P-256 private key with an ES256 signer (signature r || s).  kid may be
 * NULL (then the signer's kid is empty and the JWK has none).  from_pem:
 * PKCS#8 or SEC 1 PEM text; ERR_CRYPTO for anything else.
 */
struct jose_eckey;
int jose_eckey_from_pem(const char *pem, const char *kid, struct jose_eckey **out,
			struct err *e);
int jose_eckey_generate(const char *kid, struct jose_eckey **out, struct err *e);
/* The private key as PKCS#8 PEM text (*pem malloc'd). */
int jose_eckey_pem(const struct jose_eckey *k, char **pem, struct err *e);
/* Public JWK {kty, crv, x, y[, kid]}: a new reference, NULL on failure. */
json_t *jose_eckey_public_jwk(const struct jose_eckey *k);
/* Its ES256 signer, borrowed (valid as long as k). */
const struct jose_signer *jose_eckey_signer(const struct jose_eckey *k);
void jose_eckey_free(struct jose_eckey *k);

/* The protected header of a compact JWE, unverified (to find kid): a new reference. */
int jose_jwe_header(struct str jwe, json_t **hdr, struct err *e);
/*
 * Decrypt a compact JWE made to k with alg ECDH-ES (direct key agreement,
 * epk a public P-256 key on the curve) and enc A128GCM or A256GCM; zip and
 * crit refused.  *plain is malloc'd and NUL-terminated, *len its length.
 * ERR_INVAL for a malformed JWE, ERR_DENIED for any other refusal.
 */
int jose_jwe_decrypt_ecdh(struct str jwe, const struct jose_eckey *k, char **plain,
			  size_t *len, struct err *e);

/* ---- business certificates in x5c (jose/x509.c, spec/maskinporten.md §10) ---- */

/*
 * Trust anchors and CRLs (opaque).  Read-only once loaded, so one may
 * verify from several threads at once; reference-counted so a reload can
 * replace it while requests still use the old one.
 */
struct jose_x509_trust;

/*
 * Load trust anchors from ca (a PEM file, or a directory whose regular
 * files are PEM) and, when crl is non-NULL and non-empty, CRLs the same
 * way; with CRLs loaded every leaf must be covered by a current CRL of its
 * issuer (fail closed).  *out holds one reference.  ERR_IO / ERR_INVAL /
 * ERR_LIMIT with e->msg naming the file.
 */
int jose_x509_trust_load(const char *ca, const char *crl, struct jose_x509_trust **out,
			 struct err *e);
/* Take another reference (returns t); _free drops one.  NULL does nothing. */
struct jose_x509_trust *jose_x509_trust_ref(struct jose_x509_trust *t);
void jose_x509_trust_free(struct jose_x509_trust *t);

/* What a validated business certificate says. */
struct jose_x509_cert {
	char orgno[10];      /* 9-digit organisation number */
	const char *amr;     /* "virksomhetssertifikat", "QCForESeal" or "CForESeal" */
	json_t *jwk;         /* the leaf's public key: RSA JWK {kty, use, n, e} (owned) */
	char subject[256];   /* the leaf's subject, for logs */
};

/*
 * Validate a JWS x5c header value (RFC 7515 §4.1.6): an array of 1-10
 * base64 DER certificates, leaf first.  The chain must verify against t at
 * time now (validity, trust, CRL when loaded); the leaf must not be a CA,
 * must be for signing, hold an RSA key of 2048-8192 bits and carry a
 * Norwegian organisation number (organizationIdentifier "NTRNO-<orgno>",
 * else subject serialNumber of 9 digits).  On success fill *out (release
 * with jose_x509_cert_clear).  ERR_INVAL: x5c malformed; ERR_DENIED: not
 * an acceptable certificate (t NULL included); e->msg says why.
 */
int jose_x509_verify_x5c(const struct jose_x509_trust *t, const json_t *x5c, int64_t now,
			 struct jose_x509_cert *out, struct err *e);
void jose_x509_cert_clear(struct jose_x509_cert *c);

/*
 * Validate an x5c of an EC P-256 signer (an SD-JWT VC issuer, a status
 * list; spec/eudi-wallet.md §6): 1-10 base64 DER certificates, leaf first,
 * chaining to t at now; no certificate in it is self-signed (the anchor
 * stays out, the leaf is not its own issuer); the leaf is no CA and may
 * sign.  *jwk: the leaf's public key {kty EC, crv P-256, x, y}, a new
 * reference.  ERR_INVAL: malformed; ERR_DENIED: not trusted, e->msg says why.
 */
int jose_x509_verify_ec(const struct jose_x509_trust *t, const json_t *x5c, int64_t now,
			json_t **jwk, struct err *e);
/* The P-256 key of x5c[0] as a JWK, unverified (a configured chain); a new reference. */
int jose_x509_leaf_ec_jwk(const json_t *x5c, json_t **jwk, struct err *e);
/*
 * The certificates of a PEM file in order: *x5c their base64 DER (for a
 * header), *skis their Subject Key Identifiers, base64url (empty string
 * for one without).  Both new references.  ERR_IO, ERR_INVAL.
 */
int jose_x509_pem_certs(const char *path, json_t **x5c, json_t **skis, struct err *e);

/*
 * A TLS listener's certificate chain and private key (PEM text), checked
 * before the listener starts so that a mistake is named: the first
 * certificate is the server's, the key must be its private key, and it
 * must be valid at time now.  ERR_INVAL saying which.
 */
int jose_tls_pair_check(const char *cert_pem, const char *key_pem, int64_t now, struct err *e);

#endif

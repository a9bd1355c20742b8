/*
 * Business certificates ("virksomhetssertifikat", spec/maskinporten.md §10):
 * the x5c header of a JWS (RFC 7515 §4.1.6) validated with OpenSSL's
 * X509_STORE against configured trust anchors and CRLs, and the
 * organisation number read from the leaf's subject.
 *
 * Everything from outside is bounded and checked before OpenSSL sees it:
 * at most X509_CHAIN_MAX certificates, each strict base64 (not base64url,
 * RFC 7517 §4.7) of at most X509_B64_MAX characters, each one DER
 * certificate with no trailing bytes.
 */
#include "jose/jose.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/b64.h"
#include "core/natid.h"
#include "jose/jose_int.h"

#define X509_CHAIN_MAX 10           /* leaf plus intermediates; real chains hold 2-3 */
#define X509_B64_MAX 12000          /* about 9 KB of DER: far above any real certificate */
#define X509_DEPTH_MAX 6            /* intermediates between leaf and anchor */
#define X509_DIR_FILES_MAX 1000     /* files read from a trust or CRL directory */
#define ORGID_PREFIX "NTRNO-"       /* ETSI EN 319 412-1 §5.1.4: national trade register, NO */

/* ETSI EN 319 412-5: qcStatements and the QcCompliance statement. */
#define OID_QC_COMPLIANCE "0.4.0.1862.1.1"

struct jose_x509_trust {
	X509_STORE *store;
	bool crl_check;
	int refs;
};

/* ---- trust anchors and CRLs ---- */

/* One PEM file of certificates and/or CRLs; counts what it added. */
static int
load_file(X509_STORE *st, const char *path, bool want_crl, int *count, struct err *e)
{
	X509_LOOKUP *lu = X509_STORE_add_lookup(st, X509_LOOKUP_file());
	int n;

	if (lu == NULL)
		return ERR(e, ERR_NOMEM, 0, NULL, "out of memory");
	ERR_clear_error();
	/* Reads every certificate and CRL of a PEM file (0 when it holds none). */
	n = X509_load_cert_crl_file(lu, path, X509_FILETYPE_PEM);
	ERR_clear_error();
	if (n <= 0)
		return ERR(e, ERR_INVAL, 0, NULL, "%s holds no PEM %s", path,
			   want_crl ? "CRL" : "certificate");
	*count += n;
	return 0;
}

/* A file, or every regular, non-hidden file of a directory. */
static int
load_path(X509_STORE *st, const char *path, bool want_crl, struct err *e)
{
	struct stat sb;
	DIR *d = NULL;
	struct dirent *de;
	int count = 0, files = 0, rc = 0;

	if (stat(path, &sb) != 0)
		return ERR(e, ERR_IO, 0, NULL, "cannot read %s: %s", path, strerror(errno));
	if (!S_ISDIR(sb.st_mode)) {
		rc = load_file(st, path, want_crl, &count, e);
		goto out;
	}
	d = opendir(path);
	if (d == NULL)
		return ERR(e, ERR_IO, 0, NULL, "cannot open directory %s: %s", path,
			   strerror(errno));
	while ((de = readdir(d)) != NULL) {
		char file[PATH_MAX];
		int n;

		if (de->d_name[0] == '.')
			continue;
		n = snprintf(file, sizeof(file), "%s/%s", path, de->d_name);
		if (n < 0 || (size_t)n >= sizeof(file) || stat(file, &sb) != 0 ||
		    !S_ISREG(sb.st_mode))
			continue;
		if (++files > X509_DIR_FILES_MAX) {
			rc = ERR(e, ERR_LIMIT, 0, NULL, "%s holds more than %d files", path,
				 X509_DIR_FILES_MAX);
			goto out;
		}
		rc = load_file(st, file, want_crl, &count, e);
		if (rc != 0)
			goto out;
	}
out:
	if (d != NULL)
		closedir(d);
	if (rc == 0 && count == 0)
		rc = ERR(e, ERR_INVAL, 0, NULL, "%s holds no PEM %s", path,
			 want_crl ? "CRL" : "certificate");
	return rc;
}

/* How many CRLs the store holds (a CRL path of certificates alone is a mistake). */
static int
count_crls(X509_STORE *st)
{
	STACK_OF(X509_OBJECT) *objs = X509_STORE_get0_objects(st);
	int n = 0;

	for (int i = 0; i < sk_X509_OBJECT_num(objs); i++)
		n += X509_OBJECT_get_type(sk_X509_OBJECT_value(objs, i)) == X509_LU_CRL;
	return n;
}

int
jose_x509_trust_load(const char *ca, const char *crl, struct jose_x509_trust **out,
		     struct err *e)
{
	struct jose_x509_trust *t = NULL;
	int rc;

	*out = NULL;
	if (ca == NULL || ca[0] == '\0')
		return ERR(e, ERR_INVAL, 0, NULL, "no trust anchors configured");
	t = calloc(1, sizeof(*t));
	if (t == NULL || (t->store = X509_STORE_new()) == NULL) {
		rc = ERR(e, ERR_NOMEM, 0, NULL, "out of memory");
		goto out;
	}
	t->refs = 1;
	rc = load_path(t->store, ca, false, e);
	if (rc != 0)
		goto out;
	if (crl != NULL && crl[0] != '\0') {
		rc = load_path(t->store, crl, true, e);
		if (rc == 0 && count_crls(t->store) == 0)
			rc = ERR(e, ERR_INVAL, 0, NULL, "%s holds no CRL", crl);
		if (rc != 0)
			goto out;
		t->crl_check = true;
	}
	*out = t;
	t = NULL;
out:
	jose_x509_trust_free(t);
	return rc;
}

struct jose_x509_trust *
jose_x509_trust_ref(struct jose_x509_trust *t)
{
	if (t != NULL)
		__atomic_add_fetch(&t->refs, 1, __ATOMIC_RELAXED);
	return t;
}

void
jose_x509_trust_free(struct jose_x509_trust *t)
{
	if (t == NULL || __atomic_sub_fetch(&t->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	X509_STORE_free(t->store);
	free(t);
}

/* ---- the x5c header ---- */

/* Strict base64 with padding (RFC 4648 §4): what RFC 7517 §4.7 prescribes. */
static int
b64_decode_der(struct str s, unsigned char **der, size_t *len)
{
	*der = NULL;
	if (s.len > X509_B64_MAX)
		return ERR_INVAL;
	return b64_decode_std(s, der, len);
}

/* One DER certificate, nothing before or after it. */
static X509 *
cert_from_b64(const json_t *v)
{
	unsigned char *der = NULL;
	const unsigned char *p;
	size_t len = 0;
	X509 *x = NULL;

	if (!json_is_string(v) ||
	    b64_decode_der((struct str){ json_string_value(v), json_string_length(v) }, &der,
			   &len) != 0)
		return NULL;
	p = der;
	if (len > 0 && len <= LONG_MAX)
		x = d2i_X509(NULL, &p, (long)len);
	if (x != NULL && p != der + len) {
		X509_free(x);
		x = NULL;
	}
	free(der);
	return x;
}

/* ---- what the leaf says ---- */

/* The text of the first subject attribute nid, if it fits out. */
static bool
subject_attr(const X509 *x, int nid, char *out, size_t size)
{
	const X509_NAME *name = X509_get_subject_name(x);
	int i = X509_NAME_get_index_by_NID(name, nid, -1);
	const ASN1_STRING *s;
	int n;

	if (i < 0)
		return false;
	s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
	if (s == NULL)
		return false;
	n = ASN1_STRING_length(s);
	if (n <= 0 || (size_t)n >= size)
		return false;
	memcpy(out, ASN1_STRING_get0_data(s), (size_t)n);
	out[n] = '\0';
	/* A NUL inside an attribute is an attempt to fool a C string compare. */
	return strlen(out) == (size_t)n;
}

static int
cert_orgno(const X509 *x, char orgno[10], bool *seid2)
{
	char v[64];

	orgno[0] = '\0';
	*seid2 = false;
	/*
	 * SEID 2.0 (eIDAS seals, ETSI EN 319 412-1 §5.1.4): organizationIdentifier
	 * "NTRNO-" + orgno.  Another registry (VATSE-, ...) is a foreign
	 * organisation, which Maskinporten does not serve (spec §10).
	 */
	if (subject_attr(x, NID_organizationIdentifier, v, sizeof(v))) {
		*seid2 = true;
		if (strncmp(v, ORGID_PREFIX, strlen(ORGID_PREFIX)) != 0 ||
		    strlen(v) != strlen(ORGID_PREFIX) + 9 ||
		    !orgno_valid(str_c(v + strlen(ORGID_PREFIX))))
			return ERR_INVAL;
		memcpy(orgno, v + strlen(ORGID_PREFIX), 10);
		return 0;
	}
	/* The older national profile: subject serialNumber is the 9-digit orgno. */
	if (subject_attr(x, NID_serialNumber, v, sizeof(v)) && strlen(v) == 9 &&
	    orgno_valid(str_c(v))) {
		memcpy(orgno, v, 10);
		return 0;
	}
	return ERR_INVAL;
}

/* Does the leaf carry the ETSI QcCompliance statement (a qualified seal)? */
static bool
is_qualified(const X509 *x)
{
	ASN1_OBJECT *qcs = OBJ_txt2obj("1.3.6.1.5.5.7.1.3", 1);
	ASN1_OBJECT *comp = OBJ_txt2obj(OID_QC_COMPLIANCE, 1);
	STACK_OF(ASN1_TYPE) *stmts = NULL;
	const X509_EXTENSION *ext;
	const ASN1_OCTET_STRING *data;
	const unsigned char *p;
	bool found = false;
	int i;

	if (qcs == NULL || comp == NULL)
		goto out;
	i = X509_get_ext_by_OBJ(x, qcs, -1);
	if (i < 0)
		goto out;
	ext = X509_get_ext(x, i);
	data = X509_EXTENSION_get_data((X509_EXTENSION *)ext);
	p = ASN1_STRING_get0_data(data);
	/* QCStatements ::= SEQUENCE OF SEQUENCE { statementId OID, statementInfo ANY OPTIONAL } */
	stmts = d2i_ASN1_SEQUENCE_ANY(NULL, &p, ASN1_STRING_length(data));
	for (int k = 0; stmts != NULL && k < sk_ASN1_TYPE_num(stmts) && !found; k++) {
		const ASN1_TYPE *t = sk_ASN1_TYPE_value(stmts, k);
		STACK_OF(ASN1_TYPE) *st = NULL;
		const unsigned char *q;
		const ASN1_TYPE *id;

		if (t->type != V_ASN1_SEQUENCE)
			continue;
		q = t->value.sequence->data;
		st = d2i_ASN1_SEQUENCE_ANY(NULL, &q, t->value.sequence->length);
		id = st != NULL && sk_ASN1_TYPE_num(st) > 0 ? sk_ASN1_TYPE_value(st, 0) : NULL;
		if (id != NULL && id->type == V_ASN1_OBJECT && OBJ_cmp(id->value.object, comp) == 0)
			found = true;
		sk_ASN1_TYPE_pop_free(st, ASN1_TYPE_free);
	}
out:
	sk_ASN1_TYPE_pop_free(stmts, ASN1_TYPE_free);
	ASN1_OBJECT_free(qcs);
	ASN1_OBJECT_free(comp);
	return found;
}

/* The leaf's RSA public key as a JWK {kty, n, e} (RFC 7518 §6.3.1). */
static int
leaf_jwk(X509 *x, json_t **out, struct err *e)
{
	EVP_PKEY *pk = X509_get0_pubkey(x);
	BIGNUM *n = NULL, *ex = NULL;
	unsigned char *bin = NULL;
	char *nb = NULL, *eb = NULL;
	int bits, nlen, elen, rc = 0;

	*out = NULL;
	if (pk == NULL || !EVP_PKEY_is_a(pk, "RSA")) {
		rc = ERR(e, ERR_DENIED, 0, NULL, "the certificate's key is not an RSA key");
		goto out;
	}
	bits = EVP_PKEY_get_bits(pk);
	if (bits < JOSE_RSA_MIN_BITS || bits > JOSE_RSA_MAX_BITS) {
		rc = ERR(e, ERR_DENIED, 0, NULL, "the certificate's RSA key has %d bits, not %d-%d",
			 bits, JOSE_RSA_MIN_BITS, JOSE_RSA_MAX_BITS);
		goto out;
	}
	if (EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_N, &n) != 1 ||
	    EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_E, &ex) != 1) {
		rc = ERR(e, ERR_CRYPTO, 0, NULL, "cannot read the certificate's RSA key");
		goto out;
	}
	nlen = BN_num_bytes(n);
	elen = BN_num_bytes(ex);
	bin = malloc((size_t)(nlen > elen ? nlen : elen) + 1);
	nb = malloc(b64url_len((size_t)nlen) + 1);
	eb = malloc(b64url_len((size_t)elen) + 1);
	if (bin == NULL || nb == NULL || eb == NULL || elen <= 0) {
		rc = ERR(e, ERR_NOMEM, 0, NULL, "out of memory");
		goto out;
	}
	BN_bn2bin(n, bin);
	b64url_encode(bin, (size_t)nlen, nb);
	BN_bn2bin(ex, bin);
	b64url_encode(bin, (size_t)elen, eb);
	*out = json_pack("{s:s, s:s, s:s, s:s}", "kty", "RSA", "use", "sig", "n", nb, "e", eb);
	if (*out == NULL)
		rc = ERR(e, ERR_NOMEM, 0, NULL, "out of memory");
out:
	BN_free(n);
	BN_free(ex);
	free(bin);
	free(nb);
	free(eb);
	return rc;
}

/* ---- validation ---- */

static int
chain_verify(const struct jose_x509_trust *t, X509 *leaf, STACK_OF(X509) *rest, int64_t now,
	     struct err *e)
{
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	X509_VERIFY_PARAM *param;
	unsigned long flags = 0;
	int rc = 0, verr;

	if (ctx == NULL || !X509_STORE_CTX_init(ctx, t->store, leaf, rest)) {
		rc = ERR(e, ERR_NOMEM, 0, NULL, "out of memory");
		goto out;
	}
	param = X509_STORE_CTX_get0_param(ctx);
	/* Our clock (tests move it), not the library's. */
	X509_VERIFY_PARAM_set_time(param, (time_t)now);
	X509_VERIFY_PARAM_set_depth(param, X509_DEPTH_MAX);
	/* Revocation (spec §10): the leaf needs a current CRL of its issuer. */
	if (t->crl_check)
		flags |= X509_V_FLAG_CRL_CHECK;
	X509_VERIFY_PARAM_set_flags(param, flags);
	ERR_clear_error();
	if (X509_verify_cert(ctx) != 1) {
		verr = X509_STORE_CTX_get_error(ctx);
		rc = ERR(e, ERR_DENIED, 0, NULL, "certificate not accepted: %s",
			 X509_verify_cert_error_string(verr));
	}
	ERR_clear_error();
out:
	X509_STORE_CTX_free(ctx);
	return rc;
}

/* The leaf signs: not a CA, and digitalSignature or nonRepudiation when it says. */
static int
leaf_usage(X509 *leaf, struct err *e)
{
	uint32_t ku;

	if (X509_check_ca(leaf) != 0)
		return ERR(e, ERR_DENIED, 0, NULL, "the certificate is a CA certificate");
	ku = X509_get_key_usage(leaf);
	/*
	 * spec §10: the signing certificate.  Seals of the SEID 2.0 profile
	 * carry nonRepudiation (contentCommitment) rather than digitalSignature.
	 */
	if ((ku & (KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION)) == 0)
		return ERR(e, ERR_DENIED, 0, NULL, "the certificate is not for signing");
	return 0;
}

/* RFC 7515 §4.1.6: a JSON array of base64 DER certificates, leaf first. */
static int
x5c_parse(const json_t *x5c, X509 **leaf, STACK_OF(X509) **rest, struct err *e)
{
	size_t i, n;
	json_t *v;

	*leaf = NULL;
	*rest = NULL;
	if (!json_is_array(x5c) || (n = json_array_size(x5c)) == 0 || n > X509_CHAIN_MAX)
		return ERR(e, ERR_INVAL, 0, NULL, "x5c must be an array of 1-%d certificates",
			   X509_CHAIN_MAX);
	*rest = sk_X509_new_null();
	if (*rest == NULL)
		return ERR(e, ERR_NOMEM, 0, NULL, "out of memory");
	json_array_foreach(x5c, i, v) {
		X509 *x = cert_from_b64(v);

		if (x == NULL)
			return ERR(e, ERR_INVAL, 0, NULL,
				   "x5c[%zu] is not a base64 DER certificate", i);
		if (i == 0) {
			*leaf = x;
		} else if (!sk_X509_push(*rest, x)) {
			X509_free(x);
			return ERR(e, ERR_NOMEM, 0, NULL, "out of memory");
		}
	}
	return 0;
}

int
jose_x509_verify_x5c(const struct jose_x509_trust *t, const json_t *x5c, int64_t now,
		     struct jose_x509_cert *out, struct err *e)
{
	STACK_OF(X509) *rest = NULL;
	X509 *leaf = NULL;
	bool seid2 = false;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (t == NULL) {
		rc = ERR(e, ERR_DENIED, 0, NULL, "business certificates are not accepted here "
			 "(no trust anchors configured)");
		goto out;
	}
	rc = x5c_parse(x5c, &leaf, &rest, e);
	if (rc != 0)
		goto out;
	rc = chain_verify(t, leaf, rest, now, e);
	if (rc == 0)
		rc = leaf_usage(leaf, e);
	if (rc != 0)
		goto out;
	if (cert_orgno(leaf, out->orgno, &seid2) != 0) {
		rc = ERR(e, ERR_DENIED, 0, NULL,
			 "the certificate carries no Norwegian organisation number");
		goto out;
	}
	/* spec §10: client_amr by profile. */
	out->amr = !seid2 ? "virksomhetssertifikat" : is_qualified(leaf) ? "QCForESeal"
									    : "CForESeal";
	X509_NAME_oneline(X509_get_subject_name(leaf), out->subject, sizeof(out->subject));
	rc = leaf_jwk(leaf, &out->jwk, e);
out:
	X509_free(leaf);
	sk_X509_pop_free(rest, X509_free);
	if (rc != 0)
		jose_x509_cert_clear(out);
	return rc;
}

void
jose_x509_cert_clear(struct jose_x509_cert *c)
{
	if (c == NULL)
		return;
	json_decref(c->jwk);
	memset(c, 0, sizeof(*c));
}

int
jose_tls_pair_check(const char *cert_pem, const char *key_pem, int64_t now, struct err *e)
{
	BIO *cb = BIO_new_mem_buf(cert_pem, -1), *kb = BIO_new_mem_buf(key_pem, -1);
	X509 *leaf = NULL;
	EVP_PKEY *key = NULL;
	time_t t = (time_t)now;
	int rc = 0;

	if (cb == NULL || kb == NULL) {
		rc = ERR(e, ERR_NOMEM, 0, NULL, "out of memory");
		goto out;
	}
	leaf = PEM_read_bio_X509(cb, NULL, NULL, NULL);
	if (leaf == NULL) {
		rc = ERR(e, ERR_INVAL, 0, NULL, "the TLS certificate file holds no PEM certificate");
		goto out;
	}
	key = PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL);
	if (key == NULL) {
		rc = ERR(e, ERR_INVAL, 0, NULL,
			 "the TLS key file holds no PEM private key (or one under a passphrase)");
		goto out;
	}
	if (X509_check_private_key(leaf, key) != 1) {
		rc = ERR(e, ERR_INVAL, 0, NULL,
			 "the TLS key is not the private key of the certificate's first entry");
		goto out;
	}
	if (X509_cmp_time(X509_get0_notAfter(leaf), &t) <= 0 ||
	    X509_cmp_time(X509_get0_notBefore(leaf), &t) > 0)
		rc = ERR(e, ERR_INVAL, 0, NULL, "the TLS certificate is not valid now");
out:
	ERR_clear_error();
	X509_free(leaf);
	EVP_PKEY_free(key);
	BIO_free(cb);
	BIO_free(kb);
	return rc;
}

/* ---- EC signers of wallet credentials (spec/eudi-wallet.md §6 steps 5-7) ---- */

/* The leaf's P-256 public key as a JWK {kty, crv, x, y} (RFC 7518 §6.2.1). */
static int
leaf_ec_jwk(X509 *x, json_t **out, struct err *e)
{
	*out = jose_ec_public_jwk(X509_get0_pubkey(x));
	return *out != NULL ? 0 : ERR(e, ERR_DENIED, 0, NULL,
				      "the certificate's key is not an EC P-256 key");
}

int
jose_x509_leaf_ec_jwk(const json_t *x5c, json_t **jwk, struct err *e)
{
	X509 *x = cert_from_b64(json_array_get(x5c, 0));
	int rc;

	*jwk = NULL;
	if (x == NULL)
		return ERR(e, ERR_INVAL, 0, NULL, "no certificate");
	rc = leaf_ec_jwk(x, jwk, e);
	X509_free(x);
	return rc;
}

/* HAIP: the anchor is not sent, and the leaf is not self-signed. */
static int
none_self_signed(X509 *leaf, STACK_OF(X509) *rest, struct err *e)
{
	int rc = 0;

	if (X509_check_issued(leaf, leaf) == X509_V_OK)
		rc = ERR(e, ERR_DENIED, 0, NULL, "the leaf certificate is self-signed");
	for (int i = 0; rc == 0 && i < sk_X509_num(rest); i++) {
		X509 *x = sk_X509_value(rest, i);

		if (X509_check_issued(x, x) == X509_V_OK)
			rc = ERR(e, ERR_DENIED, 0, NULL, "x5c carries a self-signed (anchor) "
				 "certificate");
	}
	ERR_clear_error();
	return rc;
}

int
jose_x509_verify_ec(const struct jose_x509_trust *t, const json_t *x5c, int64_t now,
		    json_t **jwk, struct err *e)
{
	STACK_OF(X509) *rest = NULL;
	X509 *leaf = NULL;
	int rc;

	*jwk = NULL;
	if (t == NULL)
		return ERR(e, ERR_DENIED, 0, NULL, "no trust anchors configured");
	rc = x5c_parse(x5c, &leaf, &rest, e);
	if (rc == 0)
		rc = none_self_signed(leaf, rest, e);
	if (rc == 0)
		rc = chain_verify(t, leaf, rest, now, e);
	if (rc == 0)
		rc = leaf_usage(leaf, e);
	if (rc == 0)
		rc = leaf_ec_jwk(leaf, jwk, e);
	X509_free(leaf);
	sk_X509_pop_free(rest, X509_free);
	return rc;
}

/* One certificate's DER as base64 and its SKI as base64url, appended. */
static int
cert_add(X509 *x, json_t *x5c, json_t *skis)
{
	unsigned char *der = NULL;
	const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(x);
	char *b64 = NULL, *sk = NULL;
	int n = i2d_X509(x, &der), rc = -1;
	size_t bl = n > 0 ? ((size_t)n + 2) / 3 * 4 + 1 : 0;

	if (n <= 0)
		return -1;
	b64 = malloc(bl);
	sk = malloc(ski != NULL ? b64url_len((size_t)ASN1_STRING_length(ski)) + 1 : 1);
	if (b64 == NULL || sk == NULL ||
	    EVP_EncodeBlock((unsigned char *)b64, der, n) <= 0)
		goto out;
	sk[0] = '\0';
	if (ski != NULL)
		b64url_encode(ASN1_STRING_get0_data(ski), (size_t)ASN1_STRING_length(ski), sk);
	if (json_array_append_new(x5c, json_string(b64)) == 0 &&
	    json_array_append_new(skis, json_string(sk)) == 0)
		rc = 0;
out:
	OPENSSL_free(der);
	free(b64);
	free(sk);
	return rc;
}

int
jose_x509_pem_certs(const char *path, json_t **x5c, json_t **skis, struct err *e)
{
	FILE *f = fopen(path, "r");
	X509 *x;
	int rc = 0;

	*x5c = json_array();
	*skis = json_array();
	if (f == NULL) {
		rc = ERR(e, ERR_IO, errno, NULL, "%s: cannot read", path);
		goto out;
	}
	while (rc == 0 && (x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
		if (json_array_size(*x5c) >= X509_CHAIN_MAX || cert_add(x, *x5c, *skis) != 0)
			rc = ERR(e, ERR_INVAL, 0, NULL, "%s: too many or unusable certificates", path);
		X509_free(x);
	}
	ERR_clear_error();
	fclose(f);
	if (rc == 0 && json_array_size(*x5c) == 0)
		rc = ERR(e, ERR_INVAL, 0, NULL, "%s: no PEM certificate in it", path);
out:
	if (rc != 0) {
		json_decref(*x5c);
		json_decref(*skis);
		*x5c = *skis = NULL;
	}
	return rc;
}

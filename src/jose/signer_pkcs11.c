/*
 * The PKCS#11 signer: the private key stays in a token (an HSM in
 * production, SoftHSM2 in tests) and Porten only asks it to sign.
 *
 * The key is named by an RFC 7512 URI, parsed by p11-kit; its module-path
 * attribute names the token's PKCS#11 module, which libp11 loads.  The
 * token is matched on the URI's token attributes, the key on its object
 * label and id.  libp11 hands the key out as an EVP_PKEY whose RSA method
 * calls C_Sign (CKM_RSA_PKCS over the DigestInfo), so OpenSSL does the
 * SHA-256 and the PKCS#1 v1.5 encoding and the token the private-key step.
 *
 * Modules and slots: C_Initialize and C_Finalize act on the whole
 * process, and libp11 closes every session of a slot when it opens one, so
 * each module is loaded once, its slots listed once, and each token's
 * session opened and logged in once; every signer on the module shares
 * them, and the module is unloaded with its last signer.
 *
 * Threads: a PKCS#11 session runs one operation at a time, and libp11's
 * handling of sessions across threads varies between its versions, so all
 * signing through one module goes under the module's lock.  Measured with
 * SoftHSM2 and a 2048-bit key on the shared two-core test machine: 750 to
 * 1 300 signatures a second from one thread, and about 1 100 signatures
 * and verifications a second from eight threads with the lock and without
 * it alike (libp11 0.4.12 keeps a pool of sessions per slot, which is what
 * ran without the lock).  The lock costs nothing measurable here; a
 * network HSM with many signing units and a host with many cores may gain
 * from dropping it on libp11 0.4.12 or later.
 *
 * Errors: the CKR_ code libp11 leaves on OpenSSL's error queue says whether
 * the token is away (removed, session lost: ERR_UNAVAILABLE) or refused
 * the key (ERR_CRYPTO).
 *
 * A token that goes away and comes back (a network HSM restarted, a
 * session dropped): the signature that finds it away reloads the module,
 * at most once a second, and opens every signer on it again with the URI
 * and PIN file it started with; a signer whose key is no longer the one it
 * published stays away (its kid is in JWKS).  Until then every signature
 * through the module answers ERR_UNAVAILABLE at once.
 */
#include <libp11.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <p11-kit/pkcs11.h>
#include <p11-kit/uri.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/b64.h"
#include "core/crypto.h"
#include "core/fsperm.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "jose/jose.h"
#include "jose/jose_int.h"

#define P11_ALG "RS256"
#define P11_PIN_MAX 256
#define P11_RETRY_MS 1000 /* a token that is away is looked for again this often */

struct p11_signer;

/* A loaded module with its slots, shared by every signer on it. */
struct p11_module {
	struct p11_module *next;
	char *path;
	PKCS11_CTX *ctx;
	PKCS11_SLOT *slots;
	unsigned int nslots;
	bool *ready;          /* per slot: session open and logged in */
	pthread_mutex_t lock; /* one signature at a time through the module */
	int refs;             /* under p11_modules_lock, as are slots and ready */
	struct p11_signer *signers; /* open on the module; under p11_modules_lock */
	/* Under lock: */
	bool away;            /* a signature found the token away; keys are being reopened */
	int64_t tried_ms;     /* time_mono_ms() of the last reload */
};

static pthread_mutex_t p11_modules_lock = PTHREAD_MUTEX_INITIALIZER;
static struct p11_module *p11_modules;

/* A signer; signer is the first member, so sign finds the rest from it. */
struct p11_signer {
	struct jose_signer signer;
	struct p11_module *mod;
	struct p11_signer *next;  /* on mod->signers */
	P11KitUri *uri;           /* as configured, to open the key again */
	char *pin_file;
	EVP_PKEY *key;        /* the token's key: signing goes to C_Sign; NULL while away */
	EVP_PKEY *pub;        /* its public half, as an ordinary OpenSSL key */
	json_t *jwk;
	char kid[JOSE_KID_MAX + 1];
};

/*
 * The last CKR_ code libp11 put on the error queue (0 when none); clears
 * the queue, so no stale error reaches the next caller on this thread.
 */
static unsigned long
p11_ckr(void)
{
	int lib = ERR_get_CKR_code();
	unsigned long l, rv = 0;

	while ((l = ERR_get_error()) != 0)
		if (ERR_GET_LIB(l) == lib)
			rv = (unsigned long)ERR_GET_REASON(l);
	return rv;
}

/* Whether a CKR_ code means the token (or our hold on it) is gone. */
static bool
p11_ckr_away(unsigned long rv)
{
	switch (rv) {
	case CKR_DEVICE_ERROR:
	case CKR_DEVICE_MEMORY:
	case CKR_DEVICE_REMOVED:
	case CKR_TOKEN_NOT_PRESENT:
	case CKR_TOKEN_NOT_RECOGNIZED:
	case CKR_SESSION_CLOSED:
	case CKR_SESSION_HANDLE_INVALID:
	case CKR_CRYPTOKI_NOT_INITIALIZED:
	case CKR_KEY_HANDLE_INVALID:
	case CKR_OBJECT_HANDLE_INVALID:
	case CKR_USER_NOT_LOGGED_IN:
		return true;
	default:
		return false;
	}
}

/* One signature by p's key; the caller holds p->mod->lock. */
static int
p11_sign_locked(struct p11_signer *p, const void *msg, size_t n, unsigned char **sig,
		size_t *len, struct err *e)
{
	EVP_MD_CTX *md = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	unsigned char *buf = NULL;
	unsigned long rv;
	size_t cap;
	int ok, rc = 0;

	*sig = NULL;
	*len = 0;
	if (p == NULL || (msg == NULL && n > 0))
		return ERR(e, ERR_INVAL, 0, NULL, "signing needs a key and a message");
	cap = (size_t)EVP_PKEY_get_size(p->pub);
	buf = malloc(cap);
	md = EVP_MD_CTX_new();
	if (buf == NULL || md == NULL) {
		rc = ERR(e, ERR_NOMEM, 0, NULL, "out of memory");
		goto out;
	}
	if (p->key == NULL) {
		rc = ERR(e, ERR_UNAVAILABLE, 503, NULL, "the signing token is not available");
		goto out;
	}
	ERR_clear_error();
	ok = EVP_DigestSignInit(md, &pctx, EVP_sha256(), NULL, p->key) == 1 &&
	     EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1 &&
	     EVP_DigestSign(md, buf, &cap, msg, n) == 1 && cap > 0;
	if (!ok) {
		rv = p11_ckr();
		if (p11_ckr_away(rv))
			rc = ERR(e, ERR_UNAVAILABLE, 503, NULL,
				 "the signing token is not available (CKR 0x%lx)", rv);
		else
			rc = ERR(e, ERR_CRYPTO, 0, NULL, "the signing token refused the key (CKR 0x%lx)",
				 rv);
		goto out;
	}
	*sig = buf;
	*len = cap;
	buf = NULL;
out:
	EVP_MD_CTX_free(md);
	free(buf);
	return rc;
}

static void
p11_module_free(struct p11_module *m)
{
	if (m->slots != NULL)
		PKCS11_release_all_slots(m->ctx, m->slots, m->nslots);
	if (m->ctx != NULL) {
		PKCS11_CTX_unload(m->ctx);
		PKCS11_CTX_free(m->ctx);
	}
	pthread_mutex_destroy(&m->lock);
	free(m->ready);
	free(m->path);
	free(m);
}

/*
 * Take a reference to the module at path, loading it and listing its
 * slots on first use.  Called with p11_modules_lock held.
 */
static int
p11_module_get(const char *path, struct p11_module **out, struct err *e)
{
	struct p11_module *m;

	for (m = p11_modules; m != NULL; m = m->next)
		if (strcmp(m->path, path) == 0)
			break;
	if (m == NULL) {
		m = calloc(1, sizeof(*m));
		if (m == NULL || pthread_mutex_init(&m->lock, NULL) != 0) {
			free(m);
			return ERR(e, ERR_NOMEM, 0, NULL, "out of memory");
		}
		if ((m->path = strdup(path)) == NULL || (m->ctx = PKCS11_CTX_new()) == NULL) {
			p11_module_free(m);
			return ERR(e, ERR_NOMEM, 0, NULL, "out of memory");
		}
		if (PKCS11_CTX_load(m->ctx, path) != 0) {
			p11_ckr();
			PKCS11_CTX_free(m->ctx);
			m->ctx = NULL;
			p11_module_free(m);
			return ERR(e, ERR_UNAVAILABLE, 0, NULL, "cannot load the PKCS#11 module %s",
				   path);
		}
		if (PKCS11_enumerate_slots(m->ctx, &m->slots, &m->nslots) != 0 ||
		    (m->ready = calloc(m->nslots + 1, sizeof(*m->ready))) == NULL) {
			p11_ckr();
			p11_module_free(m);
			return ERR(e, ERR_UNAVAILABLE, 0, NULL, "cannot list the slots of %s", path);
		}
		m->next = p11_modules;
		p11_modules = m;
	}
	m->refs++;
	*out = m;
	return 0;
}

static void
p11_module_put(struct p11_module *m)
{
	struct p11_module **pp;

	if (m == NULL)
		return;
	pthread_mutex_lock(&p11_modules_lock);
	if (--m->refs == 0) {
		for (pp = &p11_modules; *pp != NULL; pp = &(*pp)->next)
			if (*pp == m) {
				*pp = m->next;
				break;
			}
		p11_module_free(m);
	}
	pthread_mutex_unlock(&p11_modules_lock);
}

/* Copy a libp11 string into a space-padded CK_TOKEN_INFO field, as tokens report them. */
static void
p11_pad(unsigned char *field, size_t n, const char *s)
{
	size_t len = s != NULL ? strlen(s) : 0;

	memset(field, ' ', n);
	memcpy(field, s != NULL ? s : "", len < n ? len : n);
}

/* Whether the token in slot is one the URI names. */
static bool
p11_token_matches(P11KitUri *uri, const PKCS11_TOKEN *t)
{
	CK_TOKEN_INFO info;

	memset(&info, 0, sizeof(info));
	p11_pad(info.label, sizeof(info.label), t->label);
	p11_pad(info.manufacturerID, sizeof(info.manufacturerID), t->manufacturer);
	p11_pad(info.model, sizeof(info.model), t->model);
	p11_pad(info.serialNumber, sizeof(info.serialNumber), t->serialnr);
	return p11_kit_uri_match_token_info(uri, &info) == 1;
}

/* Whether a key has the label and id the URI names (each when named). */
static bool
p11_key_matches(P11KitUri *uri, const PKCS11_KEY *k)
{
	CK_ATTRIBUTE *label = p11_kit_uri_get_attribute(uri, CKA_LABEL);
	CK_ATTRIBUTE *id = p11_kit_uri_get_attribute(uri, CKA_ID);

	if (label != NULL && (k->label == NULL || strlen(k->label) != label->ulValueLen ||
			      memcmp(k->label, label->pValue, label->ulValueLen) != 0))
		return false;
	if (id != NULL && (k->id_len != id->ulValueLen ||
			   memcmp(k->id, id->pValue, id->ulValueLen) != 0))
		return false;
	return true;
}

/* Log in with the PIN read from pin_file (wiped after). */
static int
p11_login(PKCS11_SLOT *slot, const char *pin_file, struct err *e)
{
	char pin[P11_PIN_MAX];
	unsigned long rv;
	int rc, ok;

	if (pin_file == NULL || pin_file[0] == '\0')
		return ERR(e, ERR_INVAL, 0, NULL, "the token needs a PIN: set a PIN file");
	rc = fsperm_check_secret(pin_file, e);
	if (rc != 0)
		return rc;
	rc = fsperm_read_secret_line(pin_file, pin, sizeof(pin), e);
	if (rc != 0)
		return rc;
	ok = PKCS11_login(slot, 0, pin) == 0;
	secure_wipe(pin, sizeof(pin));
	if (ok)
		return 0;
	rv = p11_ckr();
	if (rv == CKR_PIN_INCORRECT || rv == CKR_PIN_INVALID || rv == CKR_PIN_LEN_RANGE)
		return ERR(e, ERR_DENIED, 0, NULL, "the token refused the PIN in %s", pin_file);
	if (rv == CKR_PIN_LOCKED)
		return ERR(e, ERR_DENIED, 0, NULL, "the token's PIN is locked");
	return ERR(e, p11_ckr_away(rv) ? ERR_UNAVAILABLE : ERR_CRYPTO, 0, NULL,
		   "cannot log in to the token (CKR 0x%lx)", rv);
}

/* The one private key on the token that the URI names. */
static int
p11_find_key(P11KitUri *uri, PKCS11_TOKEN *tok, PKCS11_KEY **out, struct err *e)
{
	PKCS11_KEY *keys = NULL, *found = NULL;
	unsigned int n = 0;

	if (PKCS11_enumerate_keys(tok, &keys, &n) != 0) {
		unsigned long rv = p11_ckr();

		return ERR(e, p11_ckr_away(rv) ? ERR_UNAVAILABLE : ERR_CRYPTO, 0, NULL,
			   "cannot list the keys on the token (CKR 0x%lx)", rv);
	}
	/* an empty token may answer n = 0 with no array at all */
	if (keys == NULL)
		n = 0;
	for (unsigned int i = 0; i < n; i++) {
		if (!p11_key_matches(uri, &keys[i]))
			continue;
		if (found != NULL)
			return ERR(e, ERR_INVAL, 0, NULL,
				   "the PKCS#11 URI names more than one key: add object= or id=");
		found = &keys[i];
	}
	if (found == NULL)
		return ERR(e, ERR_NOTFOUND, 0, NULL, "no private key on the token matches the URI");
	*out = found;
	return 0;
}

/*
 * The public half of p->key (its modulus and exponent, which libp11 reads
 * from the private key object, so no public key object need be on the
 * token) as a key OpenSSL holds itself, through DER, since p->key is bound
 * to the token's method; its JWK and kid: the RFC 7638 thumbprint, so a
 * new key on the token gets a new kid by itself.
 */
static int
p11_public(struct p11_signer *p, struct err *e)
{
	unsigned char *der = NULL, *bin = NULL, hash[32];
	const unsigned char *cur;
	BIGNUM *bn_n = NULL, *bn_e = NULL;
	char *b_n = NULL, *b_e = NULL, *canon = NULL;
	int len, bits, rc = 0;

	len = i2d_PUBKEY(p->key, &der);
	cur = der;
	if (len <= 0 || (p->pub = d2i_PUBKEY(NULL, &cur, len)) == NULL) {
		rc = ERR(e, ERR_CRYPTO, 0, NULL, "cannot read the key's public half from the token");
		goto out;
	}
	if (!EVP_PKEY_is_a(p->pub, "RSA")) {
		rc = ERR(e, ERR_CRYPTO, 0, NULL, "the token's key is not an RSA key");
		goto out;
	}
	bits = EVP_PKEY_get_bits(p->pub);
	if (bits < JOSE_RSA_MIN_BITS || bits > JOSE_RSA_MAX_BITS) {
		rc = ERR(e, ERR_CRYPTO, 0, NULL, "the token's RSA key of %d bits is outside %d..%d",
			 bits, JOSE_RSA_MIN_BITS, JOSE_RSA_MAX_BITS);
		goto out;
	}
	if (EVP_PKEY_get_bn_param(p->pub, OSSL_PKEY_PARAM_RSA_N, &bn_n) != 1 ||
	    EVP_PKEY_get_bn_param(p->pub, OSSL_PKEY_PARAM_RSA_E, &bn_e) != 1) {
		rc = ERR(e, ERR_CRYPTO, 0, NULL, "the token's RSA key has no modulus or exponent");
		goto out;
	}
	for (int i = 0; i < 2; i++) {
		const BIGNUM *bn = i == 0 ? bn_n : bn_e;
		size_t nb = (size_t)BN_num_bytes(bn);
		char *txt;

		bin = malloc(nb + 1);
		txt = malloc((nb + 2) / 3 * 4 + 1);
		if (bin == NULL || txt == NULL) {
			free(txt);
			rc = ERR(e, ERR_NOMEM, 0, NULL, "out of memory");
			goto out;
		}
		BN_bn2bin(bn, bin);
		b64url_encode(bin, nb, txt);
		free(bin);
		bin = NULL;
		*(i == 0 ? &b_n : &b_e) = txt;
	}
	/* RFC 7638 3.2: the required members in lexical order, no white space. */
	p->jwk = json_pack("{s:s, s:s, s:s}", "e", b_e, "kty", "RSA", "n", b_n);
	canon = p->jwk != NULL ? json_dumps(p->jwk, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	if (canon == NULL) {
		rc = ERR(e, ERR_NOMEM, 0, NULL, "out of memory");
		goto out;
	}
	sha256(canon, strlen(canon), hash);
	b64url_encode(hash, sizeof(hash), p->kid);
	if (json_object_set_new(p->jwk, "kid", json_string(p->kid)) != 0 ||
	    json_object_set_new(p->jwk, "use", json_string("sig")) != 0 ||
	    json_object_set_new(p->jwk, "alg", json_string(P11_ALG)) != 0)
		rc = ERR(e, ERR_NOMEM, 0, NULL, "out of memory");
out:
	OPENSSL_free(der);
	BN_free(bn_n);
	BN_free(bn_e);
	free(bin);
	free(b_n);
	free(b_e);
	free(canon);
	return rc;
}

/*
 * Sign a probe and check it with the public half: a key that will not
 * sign, or a private key that does not belong to the public one, is found
 * at start-up rather than in the first login.  Called with p->mod->lock held.
 */
static int
p11_probe(struct p11_signer *p, struct err *e)
{
	static const char probe[] = "porten pkcs11 probe";
	unsigned char *sig = NULL;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	size_t len = 0;
	int rc;

	rc = p11_sign_locked(p, probe, sizeof(probe) - 1, &sig, &len, e);
	if (rc != 0)
		goto out;
	if (md == NULL || EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, p->pub) != 1 ||
	    EVP_DigestVerify(md, sig, len, (const unsigned char *)probe, sizeof(probe) - 1) != 1) {
		ERR_clear_error();
		rc = ERR(e, ERR_CRYPTO, 0, NULL,
			 "the token's signature does not verify with its public key");
	}
out:
	EVP_MD_CTX_free(md);
	free(sig);
	return rc;
}

/*
 * Find the token and key p->uri names and log in: p->key.  p->mod is
 * loaded; called with p11_modules_lock held.  A token another signer
 * already logged in to is not logged in to again (PKCS#11 logs in a whole
 * application at once), so only the first signer's PIN is tried.
 */
static int
p11_attach(struct p11_signer *p, struct err *e)
{
	P11KitUri *uri = p->uri;
	struct p11_module *m = p->mod;
	PKCS11_SLOT *slot = NULL;
	PKCS11_KEY *key = NULL;
	unsigned int i;
	int rc;

	for (i = 0; i < m->nslots; i++)
		if (m->slots[i].token != NULL && m->slots[i].token->initialized &&
		    p11_token_matches(uri, m->slots[i].token)) {
			slot = &m->slots[i];
			break;
		}
	if (slot == NULL)
		return ERR(e, ERR_UNAVAILABLE, 0, NULL, "no token matches the PKCS#11 URI");
	if (!m->ready[i]) {
		if (PKCS11_open_session(slot, 0) != 0) {
			p11_ckr();
			return ERR(e, ERR_UNAVAILABLE, 0, NULL, "cannot open a session on the token");
		}
		rc = p11_login(slot, p->pin_file, e);
		if (rc != 0)
			return rc;
		m->ready[i] = true;
	}
	rc = p11_find_key(uri, slot->token, &key, e);
	if (rc != 0)
		return rc;
	p->key = PKCS11_get_private_key(key);
	if (p->key == NULL) {
		p11_ckr();
		return ERR(e, ERR_CRYPTO, 0, NULL, "the token does not give a handle on the key");
	}
	return 0;
}

/* Open the key first: attach, read the public half, sign a probe.  Under p11_modules_lock. */
static int
p11_open(struct p11_signer *p, struct err *e)
{
	int rc = p11_attach(p, e);

	if (rc == 0)
		rc = p11_public(p, e);
	if (rc != 0)
		return rc;
	pthread_mutex_lock(&p->mod->lock);
	rc = p11_probe(p, e);
	pthread_mutex_unlock(&p->mod->lock);
	return rc;
}

/*
 * Open the key again after a reload: it must be the key the signer
 * published (its kid is in JWKS), and sign.  Under both locks.
 */
static int
p11_reopen(struct p11_signer *p, struct err *e)
{
	unsigned char *der = NULL;
	const unsigned char *cur;
	EVP_PKEY *pub = NULL;
	int len, rc;

	rc = p11_attach(p, e);
	if (rc != 0)
		return rc;
	len = i2d_PUBKEY(p->key, &der);
	cur = der;
	if (len > 0)
		pub = d2i_PUBKEY(NULL, &cur, len);
	OPENSSL_free(der);
	rc = pub != NULL && EVP_PKEY_eq(pub, p->pub) == 1
		     ? 0
		     : ERR(e, ERR_UNAVAILABLE, 503, NULL,
			   "the token holds another key than %s under its URI", p->kid);
	EVP_PKEY_free(pub);
	ERR_clear_error();
	return rc == 0 ? p11_probe(p, e) : rc;
}

/*
 * Load the module afresh and open every signer on it again.  Under
 * p11_modules_lock and m->lock, so no signature runs meanwhile.  A signer
 * that cannot open keeps no key (and answers ERR_UNAVAILABLE).
 */
static int
p11_reload(struct p11_module *m, struct err *e)
{
	struct p11_signer *q;
	int rc = 0;

	for (q = m->signers; q != NULL; q = q->next) {
		EVP_PKEY_free(q->key);
		q->key = NULL;
	}
	if (m->slots != NULL)
		PKCS11_release_all_slots(m->ctx, m->slots, m->nslots);
	m->slots = NULL;
	m->nslots = 0;
	free(m->ready);
	m->ready = NULL;
	if (m->ctx != NULL) {
		PKCS11_CTX_unload(m->ctx);
		PKCS11_CTX_free(m->ctx);
	}
	m->ctx = PKCS11_CTX_new();
	if (m->ctx == NULL || PKCS11_CTX_load(m->ctx, m->path) != 0) {
		p11_ckr();
		if (m->ctx != NULL)
			PKCS11_CTX_free(m->ctx);
		m->ctx = NULL;
		return ERR(e, ERR_UNAVAILABLE, 503, NULL, "cannot load the PKCS#11 module %s",
			   m->path);
	}
	if (PKCS11_enumerate_slots(m->ctx, &m->slots, &m->nslots) != 0 ||
	    (m->ready = calloc(m->nslots + 1, sizeof(*m->ready))) == NULL) {
		p11_ckr();
		return ERR(e, ERR_UNAVAILABLE, 503, NULL, "cannot list the slots of %s", m->path);
	}
	for (q = m->signers; q != NULL; q = q->next) {
		struct err qe = { 0 };

		if (p11_reopen(q, &qe) != 0) {
			EVP_PKEY_free(q->key);
			q->key = NULL;
			if (rc == 0) {
				*e = qe;
				rc = qe.code;
			}
		}
	}
	return rc;
}

/* Reload m when it is away and was last tried a while ago; whether it is back. */
static bool
p11_recover(struct p11_module *m)
{
	int64_t now = time_mono_ms();
	struct err e = { 0 };
	bool back;

	pthread_mutex_lock(&p11_modules_lock);
	pthread_mutex_lock(&m->lock);
	if (m->away && now - m->tried_ms >= P11_RETRY_MS) {
		m->tried_ms = now;
		if (p11_reload(m, &e) == 0) {
			m->away = false;
			log_warn(NULL, "the signing token of %s is back", m->path);
		} else {
			log_warn(NULL, "the signing token of %s is still away: %s", m->path, e.msg);
		}
	}
	back = !m->away;
	pthread_mutex_unlock(&m->lock);
	pthread_mutex_unlock(&p11_modules_lock);
	return back;
}

/* jose_signer.sign: a token found away is looked for again (p11_recover), then one more try. */
static int
p11_sign(const struct jose_signer *s, const void *msg, size_t n, unsigned char **sig,
	 size_t *len, struct err *e)
{
	struct p11_signer *p = (struct p11_signer *)s;
	struct p11_module *m = p->mod;
	int rc;

	pthread_mutex_lock(&m->lock);
	rc = p11_sign_locked(p, msg, n, sig, len, e);
	if (rc == ERR_UNAVAILABLE)
		m->away = true;
	pthread_mutex_unlock(&m->lock);
	if (rc != ERR_UNAVAILABLE || !p11_recover(m))
		return rc;
	pthread_mutex_lock(&m->lock);
	rc = p11_sign_locked(p, msg, n, sig, len, e);
	pthread_mutex_unlock(&m->lock);
	return rc;
}

int
jose_signer_pkcs11(const char *uri, const char *pin_file, struct jose_signer **out,
		   struct err *e)
{
	P11KitUri *pu = NULL;
	struct p11_signer *p = NULL;
	const char *module;
	int rc;

	*out = NULL;
	if (uri == NULL || (pu = p11_kit_uri_new()) == NULL)
		return ERR(e, uri == NULL ? ERR_INVAL : ERR_NOMEM, 0, NULL, "no PKCS#11 URI");
	rc = p11_kit_uri_parse(uri, P11_KIT_URI_FOR_ANY, pu);
	if (rc != P11_KIT_URI_OK) {
		rc = ERR(e, ERR_INVAL, 0, NULL, "bad PKCS#11 URI: %s", p11_kit_uri_message(rc));
		goto out;
	}
	module = p11_kit_uri_get_module_path(pu);
	if (module == NULL || module[0] == '\0') {
		rc = ERR(e, ERR_INVAL, 0, NULL,
			 "the PKCS#11 URI must name its module: add ?module-path=/path/to/module.so");
		goto out;
	}
	p = calloc(1, sizeof(*p));
	if (p == NULL) {
		rc = ERR(e, ERR_NOMEM, 0, NULL, "out of memory");
		goto out;
	}
	p->signer = (struct jose_signer){ .kid = p->kid, .alg = P11_ALG, .sign = p11_sign };
	p->uri = pu;
	pu = NULL;
	if (pin_file != NULL && (p->pin_file = strdup(pin_file)) == NULL) {
		rc = ERR(e, ERR_NOMEM, 0, NULL, "out of memory");
		goto out;
	}
	pthread_mutex_lock(&p11_modules_lock);
	rc = p11_module_get(module, &p->mod, e);
	if (rc == 0)
		rc = p11_open(p, e);
	if (rc == 0) {
		p->next = p->mod->signers;
		p->mod->signers = p;
	}
	pthread_mutex_unlock(&p11_modules_lock);
	if (rc != 0)
		goto out;
	*out = &p->signer;
	p = NULL;
out:
	if (p != NULL)
		jose_signer_free(&p->signer);
	p11_kit_uri_free(pu);
	return rc;
}

json_t *
jose_signer_pkcs11_jwk(const struct jose_signer *s)
{
	const struct p11_signer *p = (const struct p11_signer *)s;

	return p != NULL && p->jwk != NULL ? json_deep_copy(p->jwk) : NULL;
}

void
jose_signer_free(struct jose_signer *s)
{
	struct p11_signer *p = (struct p11_signer *)s;

	if (p == NULL)
		return;
	if (p->mod != NULL) {
		struct p11_signer **pp;

		pthread_mutex_lock(&p11_modules_lock);
		for (pp = &p->mod->signers; *pp != NULL; pp = &(*pp)->next)
			if (*pp == p) {
				*pp = p->next;
				break;
			}
		pthread_mutex_unlock(&p11_modules_lock);
	}
	EVP_PKEY_free(p->key);
	EVP_PKEY_free(p->pub);
	json_decref(p->jwk);
	p11_module_put(p->mod);
	if (p->uri != NULL)
		p11_kit_uri_free(p->uri);
	free(p->pin_file);
	free(p);
}

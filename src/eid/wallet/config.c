/*
 * The wallet verifier's settings (spec/eudi-wallet.md §10): its request
 * signing key and certificate chain, from which the client_id is computed,
 * and the PID trust anchors, Norwegian and foreign, each entry labelled
 * with its PID providers' country.  The eID joins the selector only when
 * the key is configured.
 */
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "core/b64.h"
#include "core/crypto.h"
#include "core/fsperm.h"
#include "eid/people.h"
#include "eid/wallet/wallet.h"
#include "eid/wallet/wallet_int.h"

#define PEM_MAX 65536
#define ANCHOR_ENTRY_MAX 1024 /* "CC:" and a path */

struct wallet_conf wallet_conf;
static bool added;

/* x509_hash:<base64url(SHA-256(DER of the leaf))> (HAIP, OpenID4VP 5.9.3). */
static int
client_id_of(const json_t *x5c, char *out, size_t n, struct err *e)
{
	const char *leaf = json_string_value(json_array_get(x5c, 0));
	unsigned char *der = NULL, h[32];
	char b[TOKEN_CHARS + 1];
	size_t len = 0;

	if (leaf == NULL || b64_decode_std(str_c(leaf), &der, &len) != 0)
		return ERR(e, ERR_INVAL, 0, NULL, "wallet_cert_file: unreadable leaf");
	sha256(der, len, h);
	free(der);
	b64url_encode(h, sizeof(h), b);
	snprintf(out, n, "x509_hash:%s", b);
	return 0;
}

static int
anchors_load(const char *path, struct jose_x509_trust **t, struct err *e)
{
	json_t *x5c = NULL, *skis = NULL;
	size_t i;
	json_t *v;
	int rc;

	rc = jose_x509_trust_load(path, NULL, t, e);
	/* trusted_authorities (§3): the anchors' key identifiers. */
	if (rc == 0 && jose_x509_pem_certs(path, &x5c, &skis, e) == 0)
		json_array_foreach(skis, i, v)
			if (json_string_length(v) > 0)
				json_array_append(wallet_conf.akis, v);
	json_decref(x5c);
	json_decref(skis);
	return rc;
}

/*
 * One entry "CC:path" (§10): the anchors of the PID providers of country CC,
 * two upper-case letters.  Those of wallet_anchors_no (no) are NO's, and
 * may leave the label out, as before labels existed; no other setting may
 * hold NO.
 */
static int
anchor_add(char *entry, bool no, struct err *e)
{
	char *colon = strchr(entry, ':'), *slash = strchr(entry, '/'), *path = entry;
	const char *cc = no ? "NO" : NULL;
	struct wallet_anchor *a = &wallet_conf.anchors[wallet_conf.nanchors];
	int rc;

	/* A ':' before any '/' ends a label. */
	if (colon != NULL && (slash == NULL || colon < slash)) {
		if (!people_country_ok((struct str){ entry, (size_t)(colon - entry) }))
			return ERR(e, ERR_INVAL, 0, NULL, "%s: the country before ':' is not two "
				   "upper-case letters (CC:path)", entry);
		*colon = '\0';
		cc = entry;
		path = colon + 1;
	}
	if (cc == NULL)
		return ERR(e, ERR_INVAL, 0, NULL, "%s has no country: write CC:path, e.g. DE:%s",
			   entry, entry);
	if (no && strcmp(cc, "NO") != 0)
		return ERR(e, ERR_INVAL, 0, NULL, "%s: the Norwegian anchors are labelled NO or "
			   "not at all", cc);
	if (!no && strcmp(cc, "NO") == 0)
		return ERR(e, ERR_INVAL, 0, NULL, "NO:%s: Norwegian anchors belong in "
			   "wallet_anchors_no", path);
	if (wallet_conf.nanchors >= WALLET_ANCHORS_MAX)
		return ERR(e, ERR_LIMIT, 0, NULL, "more than %d anchor entries", WALLET_ANCHORS_MAX);
	rc = anchors_load(path, &a->trust, e);
	if (rc != 0)
		return rc;
	memcpy(a->cc, cc, 2);
	wallet_conf.nanchors++;
	return 0;
}

/* A list of anchor entries, separated by spaces or commas. */
static int
anchors_add(const char *list, bool no, struct err *e)
{
	char entry[ANCHOR_ENTRY_MAX + 1];
	const char *p = list;
	struct str item;
	int rc = 0;

	while (rc == 0 && str_next_item(&p, &item)) {
		if (item.len > ANCHOR_ENTRY_MAX)
			return ERR(e, ERR_INVAL, 0, NULL, "an entry is too long");
		memcpy(entry, item.p, item.len);
		entry[item.len] = '\0';
		rc = anchor_add(entry, no, e);
	}
	return rc;
}

/* The chain, whose leaf must hold the public half of the signing key. */
static int
cert_read(const char *path, struct err *e)
{
	json_t *skis = NULL, *leaf = NULL, *mine = jose_eckey_public_jwk(wallet_conf.key);
	int rc = jose_x509_pem_certs(path, &wallet_conf.x5c, &skis, e);

	if (rc == 0)
		rc = jose_x509_leaf_ec_jwk(wallet_conf.x5c, &leaf, e);
	if (rc == 0 && (mine == NULL || !json_equal(json_object_get(mine, "x"),
						      json_object_get(leaf, "x")) ||
			!json_equal(json_object_get(mine, "y"), json_object_get(leaf, "y"))))
		rc = ERR(e, ERR_INVAL, 0, NULL, "the first certificate is not wallet_key_file's");
	json_decref(skis);
	json_decref(leaf);
	json_decref(mine);
	return rc;
}

/* Name the setting at fault in e. */
static int
named(int rc, const char *setting, struct err *e)
{
	char msg[sizeof(e->msg)];

	if (rc == 0)
		return 0;
	snprintf(msg, sizeof(msg), "%s", e->msg);
	return ERR(e, rc, 0, NULL, "%s: %s", setting, msg);
}

static int
conf_read(const struct cfg *c, struct err *e)
{
	char *pem = NULL;
	int rc;

	rc = fsperm_read_file(c->wallet_key_file, PEM_MAX, &pem, e);
	if (rc == 0)
		rc = jose_eckey_from_pem(pem, "verifier", &wallet_conf.key, e);
	rc = named(rc, "wallet_key_file", e);
	if (pem != NULL)
		OPENSSL_cleanse(pem, strlen(pem));
	free(pem);
	if (rc == 0 && c->wallet_cert_file == NULL)
		rc = ERR(e, ERR_INVAL, 0, NULL, "wallet_key_file needs wallet_cert_file");
	else if (rc == 0)
		rc = named(cert_read(c->wallet_cert_file, e), "wallet_cert_file", e);
	if (rc == 0)
		rc = client_id_of(wallet_conf.x5c, wallet_conf.client_id,
				  sizeof(wallet_conf.client_id), e);
	wallet_conf.akis = json_array();
	/* Norwegian first: wallet_jws_x5c tries them in this order. */
	if (rc == 0)
		rc = named(anchors_add(c->wallet_anchors_no, true, e), "wallet_anchors_no", e);
	if (rc == 0)
		rc = named(anchors_add(c->wallet_anchors, false, e), "wallet_anchors", e);
	if (rc == 0 && wallet_conf.nanchors == 0)
		rc = ERR(e, ERR_INVAL, 0, NULL, "the wallet needs wallet_anchors_no or "
			 "wallet_anchors");
	wallet_conf.scheme = c->wallet_scheme;
	wallet_conf.qr = c->wallet_qr;
	wallet_conf.vc_typ = c->wallet_vc_typ;
	return rc;
}

int
wallet_load(const struct cfg *c, bool check, struct err *e)
{
	int rc;

	if (c->wallet_key_file == NULL || c->wallet_key_file[0] == '\0')
		return 0;
	rc = conf_read(c, e);
	if (rc == 0 && !check) {
		rc = eid_provider_add(&eid_wallet, e);
		added = rc == 0;
	}
	if (rc != 0)
		wallet_unload();
	return rc;
}

void
wallet_unload(void)
{
	if (added)
		eid_provider_remove(&eid_wallet);
	added = false;
	jose_eckey_free(wallet_conf.key);
	json_decref(wallet_conf.x5c);
	json_decref(wallet_conf.akis);
	for (size_t i = 0; i < wallet_conf.nanchors; i++)
		jose_x509_trust_free(wallet_conf.anchors[i].trust);
	wallet_status_cleanup();
	memset(&wallet_conf, 0, sizeof(wallet_conf));
}

/*
 * Fuzz the wallet verifier's parsers (spec/eudi-wallet.md §6): the first
 * byte picks
 *   0  the rest is an SD-JWT VC presentation for wallet_sdjwt_verify()
 *   1  the rest is a compact JWE for jose_jwe_decrypt_ecdh() under the
 *      fixture's transaction key; a payload that decrypts is read as the
 *      authorization response and its presentation verified
 * against the anchor, audience, nonce and time of wallet_fixture.h, made
 * with the corpus by gen_wallet_corpus.py (so the success path is in it).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "eid/wallet/wallet_int.h"
#include "wallet_fixture.h"

static struct jose_x509_trust *anchors;
static struct jose_eckey *key;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char path[] = "/tmp/fuzz-wallet-XXXXXX";
	struct err e;
	int fd = mkstemp(path);

	(void)argc;
	(void)argv;
	if (fd < 0 || write(fd, fzw_anchor, sizeof(fzw_anchor) - 1) != (ssize_t)sizeof(fzw_anchor) - 1 ||
	    jose_x509_trust_load(path, NULL, &anchors, &e) != 0 ||
	    jose_eckey_from_pem(fzw_key, NULL, &key, &e) != 0)
		abort();
	close(fd);
	unlink(path);
	return 0;
}

static void
presentation(struct str pres)
{
	struct wallet_anchor a = { .cc = "NO", .trust = anchors };
	struct wallet_check c = {
		.anchors = &a, .nanchors = 1, .aud = FZW_AUD, .nonce = FZW_NONCE,
		.now = FZW_NOW, .tx_start = FZW_NOW - 10,
	};
	const struct wallet_anchor *by;
	enum wallet_fail why;
	json_t *claims = NULL;
	struct err e;

	if (wallet_sdjwt_verify(pres, &c, &claims, &by, &why, &e) == 0)
		json_decref(claims);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct str s = { (const char *)data + 1, size > 0 ? size - 1 : 0 };
	char *plain = NULL;
	size_t len = 0;
	struct err e;
	json_t *p;

	if (size == 0)
		return 0;
	if (data[0] == 0) {
		presentation(s);
		return 0;
	}
	if (jose_jwe_decrypt_ecdh(s, key, &plain, &len, &e) != 0)
		return 0;
	p = json_loadb(plain, len, JSON_REJECT_DUPLICATES, NULL);
	free(plain);
	presentation(str_c(json_string_value(
		json_array_get(json_object_get(json_object_get(p, "vp_token"), "pid"), 0))));
	json_decref(p);
	return 0;
}

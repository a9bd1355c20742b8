/*
 * MinID second factors (spec/minid.md §3): one-time codes by SMS (5 digits,
 * valid 5 minutes, single use, a new one voids the old, at most 10 per
 * number and hour) and TOTP codes from the MinID app (RFC 6238: 30 s
 * steps, 6 digits, ±1 step, each step accepted once).
 *
 * The store keeps only a keyed hash of a one-time code: with 100 000
 * possible codes a plain hash would be no protection for a copy of the
 * database.  TOTP secrets are sealed under the KEK.
 */
#include <liboath/oath.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/b64.h"
#include "core/crypto.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "eid/minid/minid.h"
#include "eid/minid/minid_int.h"
#include "sms/sms.h"
#include "ui/pages.h"

/* ---- random codes and their hashes ---- */

int
minid_random_chars(char *out, size_t n, const char *alphabet)
{
	size_t m = strlen(alphabet), i = 0;

	while (i < n) {
		unsigned char raw[16];

		if (rand_bytes(raw, sizeof(raw)) != 0)
			return ERR_CRYPTO;
		/* Bytes past the last multiple of m are dropped: each character equally likely. */
		for (size_t k = 0; k < sizeof(raw) && i < n; k++)
			if (raw[k] < 256 - 256 % m)
				out[i++] = alphabet[raw[k] % m];
		secure_wipe(raw, sizeof(raw));
	}
	out[n] = '\0';
	return 0;
}

int
minid_code_random(char *out, size_t n)
{
	return minid_random_chars(out, n, "0123456789");
}

void
minid_code_hash(const struct porten *app, const char *flow, const char *code, char out[44])
{
	app_code_hash(app, "minid-code", flow, code, out);
}

/* ---- the SMS gateway of this process ---- */

struct sms_gateway *
minid_sms(struct porten *app, struct err *e)
{
	struct sms_gateway *g = sms_gateway_shared(app->cfg, e);

	if (g == NULL)
		log_err(NULL, "minid: no SMS gateway: %s", e->msg);
	return g;
}

/* Translated text with {code} and {minutes} filled in. */
static void
minid_sms_text(const char *lang, const char *msgid, const char *code, int64_t minutes,
	       char *out, size_t cap)
{
	const char *t = page_text(lang, msgid);
	size_t o = 0;

	while (*t != '\0' && o + 1 < cap) {
		if (strncmp(t, "{code}", 6) == 0 && code != NULL) {
			o += (size_t)snprintf(out + o, cap - o, "%s", code);
			t += 6;
		} else if (strncmp(t, "{minutes}", 9) == 0) {
			o += (size_t)snprintf(out + o, cap - o, "%lld", (long long)minutes);
			t += 9;
		} else {
			out[o++] = *t++;
		}
		if (o >= cap)
			o = cap - 1;
	}
	out[o] = '\0';
}

void
minid_notify(struct porten *app, const char *mobile, const char *lang, const char *msgid)
{
	char text[SMS_MAX_TEXT + 1];
	struct sms_gateway *g;
	struct err e = { 0 };

	if (mobile == NULL)
		return;
	g = minid_sms(app, &e);
	minid_sms_text(lang, msgid, NULL, 0, text, sizeof(text));
	if (g == NULL || sms_send(g, mobile, text, &e) != 0)
		log_warn(NULL, "minid: notice not sent: %s", e.msg);
}

/* ---- one-time codes by SMS ---- */

int
minid_otc_send(struct porten *app, const char *flow, const char *mobile, const char *lang,
	       struct err *e)
{
	char code[MINID_OTC_DIGITS + 1], hash[44], key[64], text[SMS_MAX_TEXT + 1];
	int64_t now = time_now(), hour = now / 3600, slot, exp;
	struct sms_gateway *g;
	json_t *doc = NULL;
	int rc;

	g = minid_sms(app, e);
	if (g == NULL)
		return ERR(e, ERR_UNAVAILABLE, 503, NULL, "no SMS gateway");
	/* §3: at most minid_otc_per_hour codes per number in a clock hour. */
	snprintf(key, sizeof(key), "%s.%lld", mobile, (long long)hour);
	rc = minid_slot_claim(app, MINID_K_SMSQ, key, app->cfg->minid_otc_per_hour,
			      (hour + 2) * 3600, &slot, e);
	if (rc != 0)
		return rc == ERR_LIMIT ? ERR(e, ERR_LIMIT, 429, NULL, "hourly SMS quota used") : rc;
	if (minid_code_random(code, MINID_OTC_DIGITS) != 0)
		return ERR(e, ERR_CRYPTO, 500, NULL, "no randomness");
	minid_code_hash(app, flow, code, hash);
	exp = now + app->cfg->minid_otc_lifetime;
	doc = json_pack("{s:s, s:I}", "h", hash, "exp", (json_int_t)exp);
	if (doc == NULL) {
		rc = ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
		goto out;
	}
	/* A new code voids the previous one (§3). */
	store_call(app->store, minid, doc_delete, MINID_K_OTP, flow, e);
	rc = store_call(app->store, minid, doc_put, MINID_K_OTP, flow, doc, exp, e);
	if (rc == ERR_EXISTS) {
		store_call(app->store, minid, doc_delete, MINID_K_OTP, flow, e);
		rc = store_call(app->store, minid, doc_put, MINID_K_OTP, flow, doc, exp, e);
	}
	if (rc != 0)
		goto out;
	minid_sms_text(lang,
		       "Your one-time code for MinID is {code}. It is valid for {minutes} minutes. "
		       "Never give it to anyone. ID-porten",
		       code, (app->cfg->minid_otc_lifetime + 59) / 60, text, sizeof(text));
	rc = sms_send(g, mobile, text, e);
	if (rc != 0) {
		store_call(app->store, minid, doc_delete, MINID_K_OTP, flow, e);
		rc = ERR(e, ERR_UNAVAILABLE, 503, NULL, "the SMS could not be sent");
	}
out:
	secure_wipe(code, sizeof(code));
	secure_wipe(text, sizeof(text));
	json_decref(doc);
	return rc;
}

void
minid_otc_void(struct porten *app, const char *flow)
{
	struct err e = { 0 };

	store_call(app->store, minid, doc_delete, MINID_K_OTP, flow, &e);
}

static bool
minid_code_shape(struct str code, size_t digits)
{
	return code.len == digits && str_only(code, "0123456789");
}

int
minid_otc_check(struct porten *app, const char *flow, int64_t flow_exp, struct str code,
		bool allow_static, enum minid_code_result *res, int64_t *left, struct err *e)
{
	char key[80], want[44], got[44], typed[MINID_OTC_DIGITS + 1];
	int64_t max = app->cfg->minid_otc_attempts, slot = 0;
	json_t *doc = NULL;
	const char *h;
	int rc;

	*res = MINID_CODE_WRONG;
	*left = 0;
	/*
	 * Claim the attempt first: parallel guesses cannot pass the limit (§5).
	 * One count per flow for both factors: switching between SMS and app
	 * gives no new attempts.
	 */
	snprintf(key, sizeof(key), "code.%s", flow);
	rc = minid_try_claim(app, key, max, flow_exp, &slot, e);
	if (rc == ERR_LIMIT) {
		*res = MINID_CODE_EXHAUSTED;
		return 0;
	}
	if (rc != 0)
		return rc;
	*left = max - slot;
	if (!minid_code_shape(code, MINID_OTC_DIGITS))
		goto wrong;
	memcpy(typed, code.p, MINID_OTC_DIGITS);
	typed[MINID_OTC_DIGITS] = '\0';
	if (allow_static && ct_str_eq(code, STR_LIT(MINID_STATIC_OTC))) {
		/* §8: the static code of synthetic people in TEST; the real one is spent too. */
		minid_otc_void(app, flow);
		secure_wipe(typed, sizeof(typed));
		*res = MINID_CODE_OK;
		return 0;
	}
	/* Taken in one step: a code can be used once, whoever races for it. */
	rc = store_call(app->store, minid, doc_take, MINID_K_OTP, flow, &doc, e);
	if (rc == ERR_NOTFOUND)
		goto wrong;
	if (rc != 0)
		return rc;
	h = json_string_value(json_object_get(doc, "h"));
	minid_code_hash(app, flow, typed, got);
	snprintf(want, sizeof(want), "%s", h ? h : "");
	if (h != NULL && ct_str_eq(str_c(want), str_c(got)) &&
	    json_integer_value(json_object_get(doc, "exp")) > time_now()) {
		*res = MINID_CODE_OK;
		goto out;
	}
	/* Wrong: the code stays live for the next attempt (unless a newer one replaced it). */
	store_call(app->store, minid, doc_put, MINID_K_OTP, flow, doc,
		 json_integer_value(json_object_get(doc, "exp")), e);
wrong:
	*res = *left > 0 ? MINID_CODE_WRONG : MINID_CODE_EXHAUSTED;
	if (*res == MINID_CODE_EXHAUSTED)
		minid_otc_void(app, flow);
out:
	secure_wipe(typed, sizeof(typed));
	json_decref(doc);
	return 0;
}

/* ---- TOTP (RFC 6238) ---- */

static pthread_once_t minid_oath_once = PTHREAD_ONCE_INIT;
static int minid_oath_rc;

static void
minid_oath_init(void)
{
	minid_oath_rc = oath_init();
}

int
minid_totp_code(const unsigned char *secret, size_t n, int64_t t, unsigned digits, int hash,
		char *out)
{
	int flags = hash == 1 ? OATH_TOTP_HMAC_SHA256 : hash == 2 ? OATH_TOTP_HMAC_SHA512 : 0;

	pthread_once(&minid_oath_once, minid_oath_init);
	if (minid_oath_rc != OATH_OK || digits < 6 || digits > 8 || t < 0)
		return ERR_INVAL;
	/* T0 = 0, X = 30 s (RFC 6238 §4.1). */
	if (oath_totp_generate2((const char *)secret, n, (time_t)t, MINID_TOTP_STEP, 0, digits,
				flags, out) != OATH_OK)
		return ERR_INVAL;
	return 0;
}

bool
minid_totp_match(const unsigned char *secret, size_t n, int64_t now, int window, struct str code,
		 int64_t *step)
{
	char cand[9];
	bool hit = false;

	*step = -1;
	if (!minid_code_shape(code, MINID_TOTP_DIGITS) || window < 0 || window > 10)
		return false;
	/* Every candidate is computed and compared: the time taken says nothing. */
	for (int d = -window; d <= window; d++) {
		int64_t t = now + (int64_t)d * MINID_TOTP_STEP;

		if (minid_totp_code(secret, n, t, MINID_TOTP_DIGITS, 0, cand) != 0)
			continue;
		if (ct_str_eq(code, str_c(cand)) && !hit) {
			hit = true;
			*step = t / MINID_TOTP_STEP;
		}
	}
	secure_wipe(cand, sizeof(cand));
	return hit;
}

int
minid_totp_check(struct porten *app, const struct minid_account *a, const char *flow,
		 int64_t flow_exp,
		 struct str code, enum minid_code_result *res, int64_t *left, struct err *e)
{
	unsigned char secret[64];
	const char *pid = a->pid, *sealed = a->totp;
	int64_t max = app->cfg->minid_otc_attempts, slot = 0, step = 0, now = time_now();
	json_t *mark = NULL;
	char key[80], id[64];
	size_t n = 0;
	int rc;

	*res = MINID_CODE_WRONG;
	*left = 0;
	/* The same count as minid_otc_check(): one per flow, whichever factor. */
	snprintf(key, sizeof(key), "code.%s", flow);
	rc = minid_try_claim(app, key, max, flow_exp, &slot, e);
	if (rc == ERR_LIMIT) {
		*res = MINID_CODE_EXHAUSTED;
		return 0;
	}
	if (rc != 0)
		return rc;
	*left = max - slot;
	if (sealed == NULL)
		goto wrong;
	rc = minid_unseal(app, pid, sealed, secret, sizeof(secret), &n, e);
	if (rc != 0)
		goto out;
	if (!minid_totp_match(secret, n, now, 1, code, &step))
		goto wrong;
	/* RFC 6238 §5.2: a code is accepted once; the step is remembered while it is valid. */
	mark = json_object();
	snprintf(id, sizeof(id), "%s.%lld", pid, (long long)step);
	rc = store_call(app->store, minid, doc_put, MINID_K_TOTP, id, mark,
		      (step + 3) * MINID_TOTP_STEP + MINID_TOTP_STEP, e);
	if (rc == ERR_EXISTS)
		goto wrong;
	if (rc != 0)
		goto out;
	*res = MINID_CODE_OK;
	goto out;
wrong:
	rc = 0;
	*res = *left > 0 ? MINID_CODE_WRONG : MINID_CODE_EXHAUSTED;
out:
	secure_wipe(secret, sizeof(secret));
	json_decref(mark);
	return rc;
}

int
minid_totp_new_secret(unsigned char secret[MINID_TOTP_SECRET_BYTES], char **b32, struct err *e)
{
	size_t len = 0;

	*b32 = NULL;
	pthread_once(&minid_oath_once, minid_oath_init);
	if (rand_bytes(secret, MINID_TOTP_SECRET_BYTES) != 0)
		return ERR(e, ERR_CRYPTO, 500, NULL, "no randomness");
	if (oath_base32_encode((const char *)secret, MINID_TOTP_SECRET_BYTES, b32, &len) !=
	    OATH_OK)
		return ERR(e, ERR_NOMEM, 500, NULL, "base32");
	return 0;
}

int
minid_totp_b32(const unsigned char *secret, size_t n, char **b32)
{
	size_t len = 0;

	*b32 = NULL;
	pthread_once(&minid_oath_once, minid_oath_init);
	return oath_base32_encode((const char *)secret, n, b32, &len) == OATH_OK ? 0 : ERR_NOMEM;
}

/* ---- sealing under the KEK ---- */

#define MINID_SEAL_PREFIX "v1."

static void
minid_seal_key(const struct porten *app, unsigned char key[32])
{
	static const char label[] = "porten minid seal v1";

	/* A key of its own, derived from the KEK: signing-key sealing never shares it. */
	hmac_sha256(app->kek.k, sizeof(app->kek.k), label, sizeof(label) - 1, key);
}

int
minid_seal(const struct porten *app, const char *pid, const unsigned char *p, size_t n,
	   char **sealed, struct err *e)
{
	unsigned char key[32], buf[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + 128 +
				     crypto_aead_xchacha20poly1305_ietf_ABYTES];
	unsigned long long clen = 0;
	size_t total, plen = strlen(MINID_SEAL_PREFIX);
	char *out;

	*sealed = NULL;
	if (minid_sodium_ready() != 0 || n > 128)
		return ERR(e, ERR_INVAL, 500, NULL, "cannot seal");
	minid_seal_key(app, key);
	randombytes_buf(buf, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
	/* The national id is the associated data: a sealed secret cannot move to another account. */
	crypto_aead_xchacha20poly1305_ietf_encrypt(
		buf + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, &clen, p, n,
		(const unsigned char *)pid, strlen(pid), NULL, buf, key);
	secure_wipe(key, sizeof(key));
	total = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + (size_t)clen;
	out = malloc(plen + b64url_len(total) + 1);
	if (out == NULL)
		return ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
	memcpy(out, MINID_SEAL_PREFIX, plen);
	b64url_encode(buf, total, out + plen);
	*sealed = out;
	return 0;
}

int
minid_unseal(const struct porten *app, const char *pid, const char *sealed, unsigned char *out,
	     size_t cap, size_t *n, struct err *e)
{
	unsigned char key[32], raw[512];
	unsigned long long mlen = 0;
	size_t rawlen = 0, plen = strlen(MINID_SEAL_PREFIX), slen;
	int rc = 0;

	*n = 0;
	slen = sealed ? strlen(sealed) : 0;
	if (slen <= plen || slen > 600 || strncmp(sealed, MINID_SEAL_PREFIX, plen) != 0 ||
	    b64url_decode((struct str){ sealed + plen, slen - plen }, raw, &rawlen) != 0 ||
	    rawlen < crypto_aead_xchacha20poly1305_ietf_NPUBBYTES +
			     crypto_aead_xchacha20poly1305_ietf_ABYTES ||
	    rawlen - crypto_aead_xchacha20poly1305_ietf_NPUBBYTES -
			    crypto_aead_xchacha20poly1305_ietf_ABYTES >
		    cap ||
	    minid_sodium_ready() != 0)
		return ERR(e, ERR_CRYPTO, 500, NULL, "sealed secret is malformed");
	minid_seal_key(app, key);
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(
		    out, &mlen, NULL, raw + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
		    rawlen - crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
		    (const unsigned char *)pid, strlen(pid), raw, key) != 0)
		rc = ERR(e, ERR_CRYPTO, 500, NULL, "sealed secret does not open (wrong KEK?)");
	else
		*n = (size_t)mlen;
	secure_wipe(key, sizeof(key));
	secure_wipe(raw, sizeof(raw));
	return rc;
}

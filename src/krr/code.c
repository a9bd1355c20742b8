/*
 * Codes that confirm a new e-mail address or mobile number (spec/krr.md
 * §5): a new value is stored only after the person has typed the code
 * sent to it.  A code is kept as a keyed hash in a short-lived document
 * of the person, with its expiry; the right code takes the document (so it
 * works once), too many wrong ones delete it.  Codes reach a phone through
 * the SMS gateway (src/sms) and an address by e-mail: SMTP through
 * libcurl, or a file of JSON lines in test.
 *
 * Anyone logged in can type any address or number, so sending is capped
 * per person and per recipient in each clock hour, and each try of a code
 * is counted before it is judged.  The counts are slots claimed in the
 * store (store_slot_claim), so parallel requests cannot pass a limit:
 *
 *   kind             id                          what
 *   krr-code         code id (random)            the code: pid, channel, value, keyed hash
 *   krr-try          code id.n                   one try of that code
 *   krr-sent-pid     pid.hour.n                  one code the person asked for
 *   krr-sent-to      keyed hash of value.hour.n  one code sent to that address or number
 */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/b64.h"
#include "core/crypto.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "http/client.h"
#include "krr/krr_int.h"
#include "sms/sms.h"
#include "store/store.h"
#include "ui/pages.h"

#define KRR_CODE_KIND "krr-code"
#define KRR_CODE_FOR_KIND "krr-code-for"
#define KRR_TRY_KIND "krr-try"
#define KRR_SENT_PID_KIND "krr-sent-pid"
#define KRR_SENT_TO_KIND "krr-sent-to"
#define KRR_CODE_DIGITS 6

static void
code_hash(const struct porten *app, const char *id, const char *code, char out[44])
{
	app_code_hash(app, "krr-code", id, code, out);
}

static int
code_random(char out[KRR_CODE_DIGITS + 1])
{
	unsigned char r[KRR_CODE_DIGITS];

	if (rand_bytes(r, sizeof(r)) != 0)
		return -1;
	/* 250 of 256 values are spread evenly over ten digits; the bias is 0.4 %. */
	for (size_t i = 0; i < KRR_CODE_DIGITS; i++)
		out[i] = (char)('0' + r[i] % 10);
	out[KRR_CODE_DIGITS] = '\0';
	secure_wipe(r, sizeof(r));
	return 0;
}

/* The translated message with {code} filled in. */
static void
code_text(const char *lang, const char *msgid, const char *code, char *out, size_t cap)
{
	const char *t = page_text(lang, msgid), *at = strstr(t, "{code}");

	if (at == NULL)
		snprintf(out, cap, "%s %s", t, code);
	else
		snprintf(out, cap, "%.*s%s%s", (int)(at - t), t, code, at + 6);
}

/* ---- e-mail ---- */

static int
mail_smtp(const struct cfg *c, const char *to, const char *subject, const char *text,
	  struct err *e)
{
	char msg[2048];
	int n, rc;

	if (c->krr_smtp_url == NULL || c->krr_mail_from == NULL)
		return ERR(e, ERR_UNAVAILABLE, 503, NULL, "krr_mail=smtp needs krr_smtp_url and krr_mail_from");
	n = snprintf(msg, sizeof(msg),
		     "From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\nMIME-Version: 1.0\r\n"
		     "Content-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit\r\n"
		     "\r\n%s\r\n",
		     c->krr_mail_from, to, subject, text);
	if (n < 0 || (size_t)n >= sizeof(msg))
		return ERR(e, ERR_INVAL, 400, NULL, "the message is too long");
	rc = http_client_mail(c->krr_smtp_url, c->krr_mail_from, to, msg, (size_t)n, 10, e);
	secure_wipe(msg, sizeof(msg));
	return rc;
}

static pthread_mutex_t mail_file_mu = PTHREAD_MUTEX_INITIALIZER;

static int
mail_send(const struct cfg *c, const char *to, const char *subject, const char *text,
	  struct err *e)
{
	const char *how = c->krr_mail != NULL ? c->krr_mail : "file";
	char path[1024];
	json_t *j;
	int rc;

	if (strcmp(how, "smtp") == 0)
		return mail_smtp(c, to, subject, text, e);
	if (strcmp(how, "log") == 0) {
		log_info(NULL, "krr: a code by e-mail, not sent (krr_mail=log)");
		return 0;
	}
	/* Codes in clear in a file: never where real people log in. */
	if (c->env == CFG_ENV_PROD)
		return ERR(e, ERR_UNAVAILABLE, 503, NULL, "krr_mail=file is for development");
	if (c->krr_mail_file != NULL && c->krr_mail_file[0] != '\0')
		snprintf(path, sizeof(path), "%s", c->krr_mail_file);
	else
		snprintf(path, sizeof(path), "%s/mail.jsonl", c->data ? c->data : ".");
	j = json_pack("{s:I, s:s, s:s, s:s}", "time", (json_int_t)time_now(), "to", to, "subject",
		      subject, "text", text);
	rc = sms_file_append(path, j, &mail_file_mu, e);
	json_decref(j);
	return rc;
}

/* ---- the codes ---- */

/* The register's documents are the krr facet's. */
static int
krr_doc_put(struct store *s, const char *kind, const char *id, const json_t *doc, int64_t exp,
	    struct err *e)
{
	return store_call(s, krr, doc_put, kind, id, doc, exp, e);
}

/* The lower-case form of an address or number: case makes no new recipient. */
static void
value_low(const char *value, char out[KRR_MAX_EMAIL + 1])
{
	size_t i;

	for (i = 0; i < KRR_MAX_EMAIL && value[i] != '\0'; i++)
		out[i] = (char)tolower((unsigned char)value[i]);
	out[i] = '\0';
}

/*
 * One code more in this clock hour for pid and for value, or ERR_LIMIT
 * (429).  The recipient is counted by a keyed hash of its lower-case form:
 * no address lies in the store in clear, and case makes no new recipient.
 */
static int
code_quota_claim(struct porten *app, const char *pid, const char *value, struct err *e)
{
	int64_t hour = time_now() / 3600, exp = (hour + 2) * 3600, slot;
	char low[KRR_MAX_EMAIL + 1], tag[44], key[96];
	int rc;

	snprintf(key, sizeof(key), "%s.%lld", pid, (long long)hour);
	rc = store_slot_claim(app->store, krr_doc_put, KRR_SENT_PID_KIND, key, NULL,
			      app->cfg->krr_code_per_person, exp, &slot, e);
	if (rc == 0) {
		value_low(value, low);
		app_code_hash(app, KRR_SENT_TO_KIND, "", low, tag);
		snprintf(key, sizeof(key), "%s.%lld", tag, (long long)hour);
		rc = store_slot_claim(app->store, krr_doc_put, KRR_SENT_TO_KIND, key, NULL,
				      app->cfg->krr_code_per_recipient, exp, &slot, e);
		secure_wipe(low, sizeof(low));
	}
	if (rc == ERR_LIMIT)
		return ERR(e, ERR_LIMIT, 429, NULL, "the hourly number of codes is used");
	return rc;
}

/*
 * What a code confirms, as the key of its "krr-code-for" document: a keyed
 * hash of pid, the channel and the value's lower-case form.
 */
static void
code_purpose(const struct porten *app, const char *pid, enum krr_code_channel ch,
	     const char *value, char out[44])
{
	char low[KRR_MAX_EMAIL + 1], what[KRR_MAX_EMAIL + 8];

	value_low(value, low);
	snprintf(what, sizeof(what), "%s\n%s", ch == KRR_CODE_EMAIL ? "email" : "mobile", low);
	app_code_hash(app, KRR_CODE_FOR_KIND, pid, what, out);
	secure_wipe(low, sizeof(low));
	secure_wipe(what, sizeof(what));
}

/* A new code and the voiding of the one it replaces, for store_tx_run. */
struct code_write {
	struct store *store;
	const char *id;          /* the new code's */
	const json_t *doc;
	int64_t exp;
	char purpose[44];        /* keyed hash of pid, channel and the value's lower-case form */
};

static int
code_write_body(void *arg, struct err *e)
{
	const struct code_write *w = arg;
	const char *old;
	json_t *live = NULL, *now = NULL;
	int rc = store_call(w->store, krr, doc_take, KRR_CODE_FOR_KIND, w->purpose, &live, e);

	if (rc == 0) {
		old = json_string_value(json_object_get(live, "id"));
		rc = old != NULL ? store_call(w->store, krr, doc_delete, KRR_CODE_KIND, old, e) : 0;
	}
	if (rc == ERR_NOTFOUND)
		rc = 0;
	if (rc == 0)
		rc = store_call(w->store, krr, doc_put, KRR_CODE_KIND, w->id, w->doc, w->exp, e);
	if (rc == 0) {
		now = json_pack("{s:s}", "id", w->id);
		rc = now != NULL ? store_call(w->store, krr, doc_put, KRR_CODE_FOR_KIND, w->purpose,
					      now, w->exp, e)
				 : ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
	}
	json_decref(live);
	json_decref(now);
	return rc;
}

int
krr_code_send(struct porten *app, const char *pid, enum krr_code_channel ch, const char *value,
	      const char *lang, char *id, struct err *e)
{
	char code[KRR_CODE_DIGITS + 1], hash[44], text[SMS_MAX_TEXT + 1];
	struct code_write w = { .store = app->store, .id = id,
				.exp = time_now() + app->cfg->krr_code_lifetime };
	json_t *doc;
	int rc;

	rc = code_quota_claim(app, pid, value, e);
	if (rc != 0)
		return rc;
	if (rand_token_buf(id) != 0 || code_random(code) != 0)
		return ERR(e, ERR_CRYPTO, 500, NULL, "no randomness");
	code_hash(app, id, code, hash);
	doc = json_pack("{s:s, s:s, s:s, s:s, s:s?}", "pid", pid, "ch",
			ch == KRR_CODE_EMAIL ? "email" : "mobile", "v", value, "h", hash, "lang",
			lang);
	code_purpose(app, pid, ch, value, w.purpose);
	w.doc = doc;
	rc = doc != NULL ? store_tx_run(app->store, code_write_body, &w, e)
			 : ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
	json_decref(doc);
	code_text(lang, "Your confirmation code for the contact register is {code}.", code, text,
		  sizeof(text));
	if (rc == 0 && ch == KRR_CODE_MOBILE) {
		struct sms_gateway *g = sms_gateway_shared(app->cfg, e);

		rc = g != NULL ? sms_send(g, value, text, e) : ERR_UNAVAILABLE;
	} else if (rc == 0) {
		rc = mail_send(app->cfg, value, page_text(lang, "Confirm your e-mail address"), text,
			       e);
	}
	secure_wipe(code, sizeof(code));
	secure_wipe(text, sizeof(text));
	if (rc != 0)
		(void)store_call(app->store, krr, doc_delete, KRR_CODE_KIND, id, &(struct err){ 0 });
	return rc;
}

const char *
krr_code_unsent(const struct err *e)
{
	return e->code == ERR_LIMIT ? "Too many codes have been sent. Try again in an hour."
				    : "The code could not be sent. Try again later.";
}

/* The right code: take the document, once; the new value goes into the record. */
static int
code_apply(struct porten *app, const char *id, const char *pid, struct err *e)
{
	json_t *doc = NULL;
	const char *ch, *v;
	int rc = store_call(app->store, krr, doc_take, KRR_CODE_KIND, id, &doc, e);

	if (rc == ERR_NOTFOUND)
		return ERR(e, ERR_NOTFOUND, 400, NULL, "the code has expired or was used");
	if (rc != 0)
		return rc;
	ch = json_string_value(json_object_get(doc, "ch"));
	v = json_string_value(json_object_get(doc, "v"));
	rc = ch != NULL && v != NULL
		     ? krr_contact_set(app, pid, strcmp(ch, "email") == 0 ? KRR_CODE_EMAIL
									 : KRR_CODE_MOBILE,
				       v, "person", e)
		     : ERR(e, ERR_INTERNAL, 500, NULL, "a code document without its value");
	/* MinID sends its codes to the number the person has just confirmed here */
	if (rc == 0)
		service_contact_changed(app, &(struct service_contact){
			.origin = krr_service.name, .pid = pid,
			.channel = strcmp(ch, "email") == 0 ? SERVICE_CONTACT_EMAIL
							    : SERVICE_CONTACT_MOBILE,
			.value = v, .lang = json_string_value(json_object_get(doc, "lang")) });
	json_decref(doc);
	return rc;
}

int
krr_code_check(struct porten *app, const char *pid, const char *id, const char *code,
	       struct err *e)
{
	char hash[44];
	json_t *doc = NULL;
	const char *want;
	int64_t slot = 0;
	int rc;

	if (id == NULL || strlen(id) != TOKEN_CHARS || code == NULL || strlen(code) > 32)
		return ERR(e, ERR_NOTFOUND, 400, NULL, "the code has expired or was used");
	rc = store_call(app->store, krr, doc_get, KRR_CODE_KIND, id, &doc, e);
	if (rc == ERR_NOTFOUND)
		return ERR(e, ERR_NOTFOUND, 400, NULL, "the code has expired or was used");
	if (rc != 0)
		return rc;
	/* A code sent for another person is no code of this one. */
	want = json_string_value(json_object_get(doc, "h"));
	if (!json_is_string(json_object_get(doc, "pid")) ||
	    strcmp(json_string_value(json_object_get(doc, "pid")), pid) != 0 || want == NULL) {
		rc = ERR(e, ERR_NOTFOUND, 400, NULL, "the code has expired or was used");
		goto out;
	}
	/* Each try claims its slot before it is judged: parallel guesses cannot pass the limit. */
	rc = store_slot_claim(app->store, krr_doc_put, KRR_TRY_KIND, id, NULL,
			      app->cfg->krr_code_attempts, time_now() + app->cfg->krr_code_lifetime,
			      &slot, e);
	if (rc == ERR_LIMIT) {
		(void)store_call(app->store, krr, doc_delete, KRR_CODE_KIND, id, &(struct err){ 0 });
		rc = ERR(e, ERR_NOTFOUND, 400, NULL, "the code has expired or was used");
		goto out;
	}
	if (rc != 0)
		goto out;
	code_hash(app, id, code, hash);
	if (ct_str_eq(str_c(hash), str_c(want))) {
		rc = code_apply(app, id, pid, e);
		goto out;
	}
	/* The last try was wrong: the code is spent. */
	if (slot >= app->cfg->krr_code_attempts) {
		rc = store_call(app->store, krr, doc_delete, KRR_CODE_KIND, id, e);
		if (rc != 0 && rc != ERR_NOTFOUND)
			goto out;
	}
	rc = ERR(e, ERR_DENIED, 400, NULL, "the code is wrong");
out:
	json_decref(doc);
	return rc;
}

int
krr_contact_set(struct porten *app, const char *pid, enum krr_code_channel ch, const char *value,
		const char *who, struct err *e)
{
	struct krr_person p = { 0 };
	struct krr_channel *c;
	int64_t now = krr_now_ms();
	int rc = krr_person_load(app, pid, &p, e);

	if (rc == ERR_NOTFOUND) {
		snprintf(p.pid, sizeof(p.pid), "%s", pid);
		rc = 0;
	}
	if (rc != 0)
		return rc;
	/* A deleted person who registers details again is in the register again. */
	p.status = KRR_AKTIV;
	c = ch == KRR_CODE_EMAIL ? &p.email : &p.mobile;
	free(c->value);
	c->value = strdup(value);
	c->updated = c->verified = now;
	rc = c->value != NULL ? krr_person_save(app, &p, who,
						ch == KRR_CODE_EMAIL ? "epostadresse"
								     : "mobiltelefonnummer",
						e)
			      : ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
	krr_person_clear(&p);
	return rc;
}

/* Load pid's active record for a change of its own; ERR_NOTFOUND when there is none. */
static int
own_load(struct porten *app, const char *pid, struct krr_person *p, struct err *e)
{
	int rc = krr_person_load(app, pid, p, e);

	if (rc == 0 && p->status != KRR_AKTIV) {
		krr_person_clear(p);
		rc = ERR(e, ERR_NOTFOUND, 404, NULL, "the person has no active record");
	}
	return rc;
}

int
krr_contact_confirm(struct porten *app, const char *pid, struct err *e)
{
	struct krr_person p = { 0 };
	int64_t now = krr_now_ms();
	int rc = own_load(app, pid, &p, e);

	if (rc != 0)
		return rc;
	if (p.email.value != NULL)
		p.email.verified = now;
	if (p.mobile.value != NULL)
		p.mobile.verified = now;
	rc = krr_person_save(app, &p, "person", "bekreftet", e);
	krr_person_clear(&p);
	return rc;
}

int
krr_reservation_set(struct porten *app, const char *pid, bool reserved, struct err *e)
{
	struct krr_person p = { 0 };
	int64_t now = krr_now_ms();
	int rc = own_load(app, pid, &p, e);

	if (rc != 0)
		return rc;
	if (p.reserved != reserved) {
		p.reserved = reserved;
		p.reserved_at = reserved ? now : 0;
		p.reservation_updated = now;
		rc = krr_person_save(app, &p, "person", "reservasjon", e);
	}
	krr_person_clear(&p);
	return rc;
}

int
krr_lang_set(struct porten *app, const char *pid, const char *lang, struct err *e)
{
	struct krr_person p = { 0 };
	int rc;

	if (lang == NULL || krr_rule_lang(lang) != NULL)
		return ERR(e, ERR_INVAL, 400, NULL, "the language must be nb, nn, en or se");
	rc = own_load(app, pid, &p, e);
	if (rc != 0)
		return rc;
	if (strcmp(p.lang, lang) != 0) {
		snprintf(p.lang, sizeof(p.lang), "%s", lang);
		p.lang_updated = krr_now_ms();
		rc = krr_person_save(app, &p, "person", "spraak", e);
	}
	krr_person_clear(&p);
	return rc;
}

static int64_t
channel_at(const struct krr_channel *c)
{
	if (c->value == NULL)
		return 0;
	return c->updated > c->verified ? c->updated : c->verified;
}

int64_t
krr_contact_confirmed_at(const struct krr_person *p)
{
	int64_t a = channel_at(&p->email), b = channel_at(&p->mobile);

	return a > b ? a : b;
}

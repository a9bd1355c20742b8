/*
 * The person record (spec/krr.md §1): its stored document, the rules its
 * values obey, the 18-month rule (§2) computed from the dates whenever the
 * record is read, and the shapes it takes on the wire (§3.4).
 */
#include <ctype.h>
#include <stdarg.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app/app.h"
#include "core/b64.h"
#include "core/jsonw.h"
#include "core/timeutil.h"
#include "krr/krr_int.h"

/* ---- times ---- */

int64_t
krr_now_ms(void)
{
	struct timespec ts;

	/* the sub-second part of the wall clock on time_now()'s (shiftable) seconds */
	clock_gettime(CLOCK_REALTIME, &ts);
	return time_now() * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Civil dates from days since the epoch and back (the proleptic Gregorian
 * calendar, H. Hinnant's algorithms): plain arithmetic, where gmtime_r and
 * timegm take the C library's time-zone lock for every call, and a lookup
 * formats and compares thousands of times.
 */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void
civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static bool
leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
month_days(int64_t y, int m)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	return m == 2 && leap(y) ? 29 : mdays[m - 1];
}

/* n decimal digits of v at out. */
static void
put_digits(char *out, int64_t v, int n)
{
	while (n-- > 0) {
		out[n] = (char)('0' + v % 10);
		v /= 10;
	}
}

/* Written digit by digit: a lookup formats thousands of these, printf is most of its cost. */
void
krr_time_format(int64_t ms, char out[KRR_TIME_LEN])
{
	int64_t y, secs, days;
	int m, d, sod;

	if (ms < 0)
		ms = 0;
	secs = ms / 1000;
	days = secs / 86400;
	sod = (int)(secs % 86400);
	civil_from_days(days, &y, &m, &d);
	if (y > 9999)
		y = 9999;
	memcpy(out, "0000-00-00T00:00:00.000Z", 25);
	put_digits(out, y, 4);
	put_digits(out + 5, m, 2);
	put_digits(out + 8, d, 2);
	put_digits(out + 11, sod / 3600, 2);
	put_digits(out + 14, sod / 60 % 60, 2);
	put_digits(out + 17, sod % 60, 2);
	put_digits(out + 20, ms % 1000, 3);
}

/* n digits at *p into *v, advancing p. */
static bool
digits(const char **p, int n, int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++, (*p)++) {
		if (!isdigit((unsigned char)**p))
			return false;
		*v = *v * 10 + (**p - '0');
	}
	return true;
}

/*
 * RFC 3339 date-time, and the shortened offsets the register's examples
 * use ("+02", "+0200"): YYYY-MM-DDTHH:MM:SS[.fff...](Z|±hh[[:]mm]).
 */
int
krr_time_parse(const char *s, int64_t *ms)
{
	int y, mo, d, h, mi, sec, frac = 0, oh = 0, om = 0, sign = 0;
	const char *p = s;

	*ms = 0;
	if (s == NULL || !digits(&p, 4, &y) || *p++ != '-' || !digits(&p, 2, &mo) || *p++ != '-' ||
	    !digits(&p, 2, &d) || (*p != 'T' && *p != 't') || !(p++, digits(&p, 2, &h)) ||
	    *p++ != ':' || !digits(&p, 2, &mi) || *p++ != ':' || !digits(&p, 2, &sec))
		return ERR_INVAL;
	if (y < 1900 || mo < 1 || mo > 12 || d < 1 || d > month_days(y, mo) || h > 23 || mi > 59 ||
	    sec > 60)
		return ERR_INVAL;
	if (*p == '.') {
		int n = 0;

		for (p++; isdigit((unsigned char)*p); p++, n++)
			if (n < 3)
				frac = frac * 10 + (*p - '0');
		if (n == 0 || n > 9)
			return ERR_INVAL;
		for (; n < 3; n++)
			frac *= 10;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p++ == '-' ? -1 : 1;
		if (!digits(&p, 2, &oh) || oh > 23)
			return ERR_INVAL;
		if (*p == ':')
			p++;
		if (*p != '\0' && (!digits(&p, 2, &om) || om > 59))
			return ERR_INVAL;
	} else {
		return ERR_INVAL;
	}
	if (*p != '\0')
		return ERR_INVAL;
	/* a leap second is read as the second before it */
	*ms = ((days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + (sec > 59 ? 59 : sec)) -
	       sign * (oh * 3600 + om * 60)) * 1000 + frac;
	return *ms < 0 ? ERR_INVAL : 0;
}

/* now minus 18 calendar months (spec §2), the day clamped to the month's end. */
static int64_t
minus_18_months(int64_t now_ms)
{
	int64_t secs = now_ms / 1000, y, mi;
	int m, d;

	civil_from_days(secs / 86400, &y, &m, &d);
	mi = y * 12 + (m - 1) - 18;
	y = mi / 12;
	m = (int)(mi % 12) + 1;
	if (d > month_days(y, m))
		d = month_days(y, m);
	return (days_from_civil(y, m, d) * 86400 + secs % 86400) * 1000 + now_ms % 1000;
}

bool
krr_channel_fresh(const struct krr_channel *c, int64_t now_ms)
{
	int64_t last = c->updated > c->verified ? c->updated : c->verified;

	return c->value != NULL && last > minus_18_months(now_ms);
}

bool
krr_can_notify(const struct krr_person *p, int64_t now_ms)
{
	/* (design) one stale channel is expired contact information */
	if (p->status != KRR_AKTIV || p->reserved ||
	    (p->email.value == NULL && p->mobile.value == NULL))
		return false;
	if (p->email.value != NULL && !krr_channel_fresh(&p->email, now_ms))
		return false;
	if (p->mobile.value != NULL && !krr_channel_fresh(&p->mobile, now_ms))
		return false;
	return true;
}

/* ---- rules ---- */

enum natid_context
krr_natid_ctx(const struct porten *app)
{
	return app->cfg->env == CFG_ENV_PROD ? NATID_CTX_PROD : NATID_CTX_TEST;
}

const char *
krr_rule_pid(const char *s, enum natid_context ctx)
{
	struct natid_info info;
	size_t n = s != NULL ? strnlen(s, 12) : 0;

	if (n != 11 || !str_only((struct str){ s, n }, "0123456789"))
		return "personidentifikator must be 11 digits";
	switch (natid_parse((struct str){ s, n }, false, &info)) {
	case NATID_OK:
		break;
	case NATID_BAD_CHECKSUM:
		return "personidentifikator has wrong check digits";
	case NATID_BAD_DATE:
		return "personidentifikator holds no valid date";
	default:
		return "personidentifikator is not a national identity number";
	}
	if (!natid_acceptable((struct str){ s, n }, ctx, NULL))
		return ctx == NATID_CTX_PROD
			       ? "personidentifikator: synthetic numbers are not accepted in prod"
			       : "personidentifikator: only synthetic numbers are accepted in test";
	return NULL;
}

static bool
atext(int c)
{
	return isalnum(c) || (c != '\0' && strchr("!#$%&'*+/=?^_`{|}~-", c) != NULL);
}

/* RFC 5321/5322 addr-spec, dot-atom form, ASCII, a domain of at least two labels. */
const char *
krr_rule_email(const char *s)
{
	const char *at, *p, *label;
	size_t n = s != NULL ? strnlen(s, KRR_MAX_EMAIL + 1) : 0;

	if (n == 0 || n > KRR_MAX_EMAIL)
		return "epostadresse must be 1 to 254 characters";
	at = strchr(s, '@');
	if (at == NULL || strchr(at + 1, '@') != NULL || at == s || at - s > 64)
		return "epostadresse must be local@domain";
	for (p = s; p < at; p++)
		if (!(atext((unsigned char)*p) ||
		      (*p == '.' && p > s && p + 1 < at && p[1] != '.')))
			return "epostadresse has a character or dot not allowed in its local part";
	label = at + 1;
	if (strchr(label, '.') == NULL)
		return "epostadresse needs a domain with a dot";
	for (p = label;; p++) {
		if (*p == '.' || *p == '\0') {
			if (p == label || p - label > 63 || label[0] == '-' || p[-1] == '-')
				return "epostadresse has an empty or malformed domain label";
			if (*p == '\0')
				break;
			label = p + 1;
		} else if (!isalnum((unsigned char)*p) && *p != '-') {
			return "epostadresse has a character not allowed in its domain";
		}
	}
	for (p = label; *p != '\0'; p++)
		if (!isalpha((unsigned char)*p))
			return "epostadresse's top-level domain must be letters";
	if (strlen(label) < 2)
		return "epostadresse's top-level domain must be letters";
	return NULL;
}

/*
 * A mobile number: +<country><number> (E.164, 8 to 15 digits), or a
 * Norwegian number of 8 digits beginning with 4 or 9, taken as +47.
 * Norwegian mobile numbers begin with 4 or 9 (general knowledge).
 */
const char *
krr_rule_mobile(const char *s, char out[20])
{
	size_t n = s != NULL ? strnlen(s, 20) : 0;

	out[0] = '\0';
	if (n == 8 && str_only((struct str){ s, n }, "0123456789")) {
		if (s[0] != '4' && s[0] != '9')
			return "mobiltelefonnummer: a Norwegian mobile number begins with 4 or 9";
		snprintf(out, 20, "+47%s", s);
		return NULL;
	}
	if (n < 9 || n > 16 || s[0] != '+' || s[1] == '0' ||
	    !str_only((struct str){ s + 1, n - 1 }, "0123456789"))
		return "mobiltelefonnummer must be +<country code><number>, 8 to 15 digits";
	if (strncmp(s, "+47", 3) == 0 && (n != 11 || (s[3] != '4' && s[3] != '9')))
		return "mobiltelefonnummer: a Norwegian mobile number is +47 and 8 digits beginning "
		       "with 4 or 9";
	memcpy(out, s, n + 1);
	return NULL;
}

const char *
krr_rule_lang(const char *s)
{
	static const char *const langs[] = { "nb", "nn", "en", "se", NULL };

	for (size_t i = 0; s != NULL && langs[i] != NULL; i++)
		if (strcmp(s, langs[i]) == 0)
			return NULL;
	return "spraak must be nb, nn, en or se";
}

/* base64 (standard, padded) of one DER X.509 certificate. */
const char *
krr_rule_cert(const char *s)
{
	unsigned char *der = NULL;
	const unsigned char *q;
	size_t n = s != NULL ? strnlen(s, KRR_MAX_CERT + 1) : 0, len = 0;
	X509 *x = NULL;
	const char *why = NULL;

	if (n == 0 || n > KRR_MAX_CERT)
		return "sertifikat must be 1 to 16384 base64 characters";
	if (b64_decode_std((struct str){ s, n }, &der, &len) != 0)
		return "sertifikat is not base64";
	q = der;
	x = d2i_X509(NULL, &q, (long)len);
	if (x == NULL || q != der + len)
		why = "sertifikat is not one DER X.509 certificate";
	X509_free(x);
	free(der);
	return why;
}

/* ---- the stored document ---- */

/* Set key to a string (when s) or a time (when t > 0); nothing otherwise. */
static int
put_str(json_t *o, const char *key, const char *s)
{
	return s == NULL ? 0 : json_object_set_new(o, key, json_string(s));
}

static int
put_ms(json_t *o, const char *key, int64_t t)
{
	return t <= 0 ? 0 : json_object_set_new(o, key, json_integer(t));
}

static int
put_time_text(json_t *o, const char *key, int64_t t)
{
	char ts[KRR_TIME_LEN];

	if (t <= 0)
		return 0;
	krr_time_format(t, ts);
	return json_object_set_new(o, key, json_string(ts));
}

/*
 * The record as JSON, its times put by put_time: milliseconds in the stored
 * form, text in the export and wire forms.
 */
static json_t *
person_json(const struct krr_person *p, int (*put_time)(json_t *, const char *, int64_t))
{
	json_t *o = json_pack("{s:s,s:s,s:s}", "personidentifikator", p->pid, "status",
			      p->status == KRR_AKTIV ? "AKTIV" : "SLETTET", "reservasjon",
			      p->reserved ? "JA" : "NEI");
	int bad = 0;

	if (o == NULL)
		return NULL;
	bad |= put_time(o, "reservasjonstidspunkt", p->reserved ? p->reserved_at : 0);
	bad |= put_time(o, "reservasjon_oppdatert", p->reservation_updated);
	bad |= put_str(o, "epostadresse", p->email.value);
	bad |= put_time(o, "epostadresse_oppdatert", p->email.updated);
	bad |= put_time(o, "epostadresse_sist_verifisert", p->email.verified);
	bad |= put_str(o, "mobiltelefonnummer", p->mobile.value);
	bad |= put_time(o, "mobiltelefonnummer_oppdatert", p->mobile.updated);
	bad |= put_time(o, "mobiltelefonnummer_sist_verifisert", p->mobile.verified);
	bad |= put_str(o, "postkasseadresse", p->mailbox);
	bad |= put_str(o, "postkasseleverandoeradresse", p->mailbox_provider);
	bad |= put_str(o, "sertifikat", p->cert);
	bad |= put_str(o, "spraak", p->lang[0] != '\0' ? p->lang : NULL);
	bad |= put_time(o, "spraak_oppdatert", p->lang_updated);
	if (bad != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *
krr_person_encode(const struct krr_person *p)
{
	return person_json(p, put_ms);
}

/* ---- the flat import and export form ---- */

/* The fields of the flat form, in the order export writes them. */
static const char *const krr_fields[] = {
	"personidentifikator", "status", "reservasjon", "reservasjonstidspunkt",
	"reservasjon_oppdatert", "epostadresse", "epostadresse_oppdatert",
	"epostadresse_sist_verifisert", "mobiltelefonnummer", "mobiltelefonnummer_oppdatert",
	"mobiltelefonnummer_sist_verifisert", "postkasseadresse", "postkasseleverandoeradresse",
	"sertifikat", "spraak", "spraak_oppdatert", NULL,
};

/* A field's value, NULL when absent or empty (a CSV's empty cell). */
static const char *
field(const json_t *f, const char *key)
{
	const char *v = json_string_value(json_object_get(f, key));

	return v != NULL && v[0] != '\0' ? v : NULL;
}

static int why_set(char *why, size_t whylen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int
why_set(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	return -1;
}

/* key's time: *t (ms), dflt when absent; refused when malformed or in the future. */
static int
field_time(const json_t *f, const char *key, int64_t dflt, int64_t now, int64_t *t, char *why,
	   size_t whylen)
{
	const char *v = field(f, key);

	*t = dflt;
	if (v == NULL)
		return 0;
	if (krr_time_parse(v, t) != 0)
		return why_set(why, whylen, "%s is not an RFC 3339 date-time", key);
	if (*t > now + 300000)
		return why_set(why, whylen, "%s lies in the future", key);
	return 0;
}

static int
field_channel(const json_t *f, const char *name, int64_t now, struct krr_channel *c, char *why,
	      size_t whylen)
{
	char k1[48], k2[48];

	snprintf(k1, sizeof(k1), "%s_oppdatert", name);
	snprintf(k2, sizeof(k2), "%s_sist_verifisert", name);
	if (c->value == NULL) {
		if (field(f, k1) != NULL || field(f, k2) != NULL)
			return why_set(why, whylen, "%s's times given without the value", name);
		return 0;
	}
	if (field_time(f, k1, now, now, &c->updated, why, whylen) != 0)
		return -1;
	return field_time(f, k2, 0, now, &c->verified, why, whylen);
}

static int
from_fields_values(const json_t *f, struct krr_person *p, char *why, size_t whylen)
{
	const char *v;
	char mob[20];

	if ((v = field(f, "epostadresse")) != NULL) {
		if (krr_rule_email(v) != NULL)
			return why_set(why, whylen, "%s", krr_rule_email(v));
		p->email.value = strdup(v);
	}
	if ((v = field(f, "mobiltelefonnummer")) != NULL) {
		if (krr_rule_mobile(v, mob) != NULL)
			return why_set(why, whylen, "%s", krr_rule_mobile(v, mob));
		p->mobile.value = strdup(mob);
	}
	if ((field(f, "postkasseadresse") == NULL) !=
	    (field(f, "postkasseleverandoeradresse") == NULL))
		return why_set(why, whylen, "%s",
			       "postkasseadresse and postkasseleverandoeradresse come together");
	if ((v = field(f, "postkasseadresse")) != NULL) {
		if (strlen(v) > KRR_MAX_MAILBOX || !str_is_clean_utf8(str_c(v)))
			return why_set(why, whylen, "%s",
				       "postkasseadresse must be at most 128 characters of text");
		if (!orgno_valid_c(field(f, "postkasseleverandoeradresse")))
			return why_set(why, whylen, "%s",
				       "postkasseleverandoeradresse is not an organisation number");
		p->mailbox = strdup(v);
		p->mailbox_provider = strdup(field(f, "postkasseleverandoeradresse"));
	}
	if ((v = field(f, "sertifikat")) != NULL) {
		if (krr_rule_cert(v) != NULL)
			return why_set(why, whylen, "%s", krr_rule_cert(v));
		p->cert = strdup(v);
	}
	if ((v = field(f, "spraak")) != NULL) {
		if (krr_rule_lang(v) != NULL)
			return why_set(why, whylen, "%s", krr_rule_lang(v));
		memcpy(p->lang, v, 3);
	}
	if ((p->email.value == NULL && field(f, "epostadresse") != NULL) ||
	    (p->mobile.value == NULL && field(f, "mobiltelefonnummer") != NULL) ||
	    (p->mailbox == NULL && field(f, "postkasseadresse") != NULL) ||
	    (p->mailbox_provider == NULL && field(f, "postkasseadresse") != NULL) ||
	    (p->cert == NULL && field(f, "sertifikat") != NULL))
		return why_set(why, whylen, "%s", "out of memory");
	return 0;
}

int
krr_person_from_fields(const json_t *f, enum natid_context ctx, int64_t now,
		       struct krr_person *p, char *why, size_t whylen)
{
	const char *key, *v;
	const json_t *val;

	memset(p, 0, sizeof(*p));
	json_object_foreach((json_t *)f, key, val) {
		size_t i;

		for (i = 0; krr_fields[i] != NULL && strcmp(krr_fields[i], key) != 0; i++)
			;
		if (krr_fields[i] == NULL)
			return why_set(why, whylen, "unknown field %s", key);
		if (!json_is_string(val) && !json_is_null(val))
			return why_set(why, whylen, "%s must be a string", key);
	}
	v = field(f, "personidentifikator");
	if (v == NULL)
		return why_set(why, whylen, "%s", "personidentifikator is missing");
	if (krr_rule_pid(v, ctx) != NULL)
		return why_set(why, whylen, "%s", krr_rule_pid(v, ctx));
	memcpy(p->pid, v, 12);
	v = field(f, "status");
	if (v != NULL && strcmp(v, "AKTIV") != 0 && strcmp(v, "SLETTET") != 0)
		return why_set(why, whylen, "%s", "status must be AKTIV or SLETTET");
	p->status = v != NULL && strcmp(v, "SLETTET") == 0 ? KRR_SLETTET : KRR_AKTIV;
	v = field(f, "reservasjon");
	if (v != NULL && strcmp(v, "JA") != 0 && strcmp(v, "NEI") != 0)
		return why_set(why, whylen, "%s", "reservasjon must be JA or NEI");
	p->reserved = v != NULL && strcmp(v, "JA") == 0;
	if (!p->reserved && field(f, "reservasjonstidspunkt") != NULL)
		return why_set(why, whylen, "%s", "reservasjonstidspunkt only with reservasjon JA");
	if (field_time(f, "reservasjonstidspunkt", p->reserved ? now : 0, now, &p->reserved_at,
		       why, whylen) != 0 ||
	    field_time(f, "reservasjon_oppdatert", p->reserved ? p->reserved_at : 0, now,
		       &p->reservation_updated, why, whylen) != 0)
		return -1;
	/* spec §1.1: contact data, mailbox and certificate exist only for AKTIV persons */
	if (p->status == KRR_SLETTET) {
		static const char *const active_only[] = { "epostadresse", "mobiltelefonnummer",
							   "postkasseadresse", "sertifikat",
							   "spraak", NULL };
		for (size_t i = 0; active_only[i] != NULL; i++)
			if (field(f, active_only[i]) != NULL)
				return why_set(why, whylen, "%s given for a person SLETTET",
					       active_only[i]);
	}
	if (from_fields_values(f, p, why, whylen) != 0 ||
	    field_channel(f, "epostadresse", now, &p->email, why, whylen) != 0 ||
	    field_channel(f, "mobiltelefonnummer", now, &p->mobile, why, whylen) != 0 ||
	    field_time(f, "spraak_oppdatert", p->lang[0] != '\0' ? now : 0, now,
		       &p->lang_updated, why, whylen) != 0)
		return -1;
	if (p->lang[0] == '\0' && field(f, "spraak_oppdatert") != NULL)
		return why_set(why, whylen, "%s", "spraak_oppdatert given without spraak");
	return 0;
}


/* The record with its times as text: export, and the body of the wire form. */
json_t *
krr_person_fields(const struct krr_person *p)
{
	return person_json(p, put_time_text);
}

/* ---- the wire (spec §3.4) ---- */

/*
 * The answer is written straight into the response, person after person
 * (core/jsonw): a lookup of 1000 persons would otherwise build and free
 * some 30 000 values.  Values are escaped as json_dumps escapes them.
 */
static void
w_time(struct jsonw *w, const char *key, int64_t t)
{
	char ts[KRR_TIME_LEN];

	if (t <= 0)
		return;
	krr_time_format(t, ts);
	jsonw_str(w, key, ts);
}

static void
w_channel(struct jsonw *w, const char *name, const char *k_updated, const char *k_verified,
	  const struct krr_channel *c, unsigned flags)
{
	if (c->value == NULL)
		return;
	jsonw_str(w, name, c->value);
	w_time(w, k_updated, c->updated);
	if (flags & KRR_F_V2)
		w_time(w, k_verified, c->verified);
}

int
krr_person_write(struct buf *b, const struct krr_person *p, unsigned flags, int64_t now)
{
	bool can = krr_can_notify(p, now);
	bool show = p->status == KRR_AKTIV && (can || !(flags & KRR_F_SUPPRESS));
	struct jsonw w;

	jsonw_begin(&w, b);
	jsonw_str(&w, "personidentifikator", p->pid);
	jsonw_str(&w, "reservasjon", p->reserved ? "JA" : "NEI");
	jsonw_str(&w, "status", p->status == KRR_AKTIV ? "AKTIV" : "SLETTET");
	if (flags & KRR_F_V2) {
		w_time(&w, "reservasjonstidspunkt", p->reserved ? p->reserved_at : 0);
		w_time(&w, "reservasjon_oppdatert", p->reservation_updated);
	}
	if (flags & KRR_F_CONTACT) {
		jsonw_str(&w, "varslingsstatus", can ? "KAN_VARSLES" : "KAN_IKKE_VARSLES");
		if (show && (p->email.value != NULL || p->mobile.value != NULL)) {
			jsonw_obj(&w, "kontaktinformasjon");
			w_channel(&w, "epostadresse", "epostadresse_oppdatert",
				  "epostadresse_sist_verifisert", &p->email, flags);
			w_channel(&w, "mobiltelefonnummer", "mobiltelefonnummer_oppdatert",
				  "mobiltelefonnummer_sist_verifisert", &p->mobile, flags);
			jsonw_close(&w);
		}
		if (p->status == KRR_AKTIV && p->lang[0] != '\0') {
			jsonw_str(&w, "spraak", p->lang);
			if (flags & KRR_F_V2)
				w_time(&w, "spraak_oppdatert", p->lang_updated);
		}
	}
	if ((flags & KRR_F_POST) && show) {
		if (p->mailbox != NULL && p->mailbox_provider != NULL) {
			jsonw_obj(&w, "digital_post");
			jsonw_str(&w, "postkasseadresse", p->mailbox);
			jsonw_str(&w, "postkasseleverandoeradresse", p->mailbox_provider);
			jsonw_close(&w);
		}
		jsonw_str(&w, "sertifikat", p->cert);
	}
	return jsonw_end(&w);
}

int
krr_unregistered_write(struct buf *b, const char *pid, unsigned flags)
{
	struct jsonw w;

	/* spec §1.2: only id and status; §2: such a person cannot be notified */
	jsonw_begin(&w, b);
	jsonw_str(&w, "personidentifikator", pid);
	jsonw_str(&w, "status", "IKKE_REGISTRERT");
	if (flags & KRR_F_CONTACT)
		jsonw_str(&w, "varslingsstatus", "KAN_IKKE_VARSLES");
	return jsonw_end(&w);
}

/* One writer's text as a JSON value (the person's own record, its JWS). */
static json_t *
w_json(int rc, struct buf *b)
{
	json_t *j = rc == 0 ? json_loadb(b->p, b->len, 0, NULL) : NULL;

	buf_free(b);
	return j;
}

json_t *
krr_person_wire(const struct krr_person *p, unsigned flags, int64_t now)
{
	struct buf b;

	buf_init(&b, KRR_MAX_WIRE);
	return w_json(krr_person_write(&b, p, flags, now), &b);
}

json_t *
krr_unregistered_wire(const char *pid, unsigned flags)
{
	struct buf b;

	buf_init(&b, KRR_MAX_WIRE);
	return w_json(krr_unregistered_write(&b, pid, flags), &b);
}

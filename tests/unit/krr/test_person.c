/*
 * Tests for krr/person.c (spec/krr.md §1, §2, §3.4): the times and their
 * forms, the 18-month rule at month ends, varslingsstatus, the rules on
 * each value, the import form, the stored document and the wire shapes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "krr/krr_int.h"

static int64_t
ms(const char *s)
{
	int64_t t = 0;

	assert_int_equal(krr_time_parse(s, &t), 0);
	return t;
}

static void
test_times(void **state)
{
	char out[KRR_TIME_LEN];

	(void)state;
	/* the forms of spec §1.1 */
	assert_int_equal(ms("2023-06-13T13:42:34+02"), ms("2023-06-13T11:42:34Z"));
	assert_int_equal(ms("2023-06-13T13:42:34+0200"), ms("2023-06-13T11:42:34Z"));
	assert_int_equal(ms("2023-06-13T13:42:34+02:00"), ms("2023-06-13T11:42:34Z"));
	assert_int_equal(ms("2023-06-13T10:42:34-01:00"), ms("2023-06-13T11:42:34Z"));
	assert_int_equal(ms("2023-08-05T10:45:15.768Z") - ms("2023-08-05T10:45:15Z"), 768);
	assert_int_equal(ms("2023-08-05T10:45:15.7Z") - ms("2023-08-05T10:45:15Z"), 700);
	assert_int_equal(ms("2023-08-05T10:45:15.123456789Z") - ms("2023-08-05T10:45:15Z"), 123);
	assert_int_equal(ms("2024-02-29T00:00:00Z") % 1000, 0);
	krr_time_format(ms("2023-08-05T10:45:15.768+02:00"), out);
	assert_string_equal(out, "2023-08-05T08:45:15.768Z");
	krr_time_format(0, out);
	assert_string_equal(out, "1970-01-01T00:00:00.000Z");

	static const char *const bad[] = {
		"", "2023-06-13", "2023-06-13T13:42:34", "2023-06-13 13:42:34Z", "2023-02-30T00:00:00Z",
		"2023-13-01T00:00:00Z", "2023-06-13T24:00:00Z", "2023-06-13T13:60:00Z",
		"2023-06-13T13:42:34.Z", "2023-06-13T13:42:34.1234567890Z", "2023-06-13T13:42:34+2",
		"2023-06-13T13:42:34+02:0", "2023-06-13T13:42:34+24:00", "2023-06-13T13:42:34ZZ",
		"1800-01-01T00:00:00Z", "2023-06-13T13:42:34Z\n", "+2023-06-13T13:42:34Z",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int64_t t;

		assert_int_not_equal(krr_time_parse(bad[i], &t), 0);
	}
	{
		int64_t t;

		assert_int_not_equal(krr_time_parse(NULL, &t), 0);
	}
}

static void
test_eighteen_months(void **state)
{
	struct krr_channel c = { .value = "x@example.no" };
	int64_t now = ms("2026-08-31T12:00:00Z");

	(void)state;
	/* 18 months before 31 August is the end of February */
	c.updated = ms("2025-02-28T12:00:00.001Z");
	assert_true(krr_channel_fresh(&c, now));
	c.updated = ms("2025-02-28T12:00:00Z");
	assert_false(krr_channel_fresh(&c, now));
	/* a confirmation keeps an old value fresh */
	c.updated = ms("2020-01-01T00:00:00Z");
	c.verified = ms("2026-01-01T00:00:00Z");
	assert_true(krr_channel_fresh(&c, now));
	/* in a leap year the end of February is the 29th */
	now = ms("2025-08-31T00:00:00Z");
	c.verified = 0;
	c.updated = ms("2024-02-29T00:00:00.001Z");
	assert_true(krr_channel_fresh(&c, now));
	c.updated = ms("2024-02-28T23:59:59Z");
	assert_false(krr_channel_fresh(&c, now));
	/* across a new year */
	now = ms("2026-03-15T10:00:00Z");
	c.updated = ms("2024-09-15T10:00:01Z");
	assert_true(krr_channel_fresh(&c, now));
	c.updated = ms("2024-09-15T09:59:59Z");
	assert_false(krr_channel_fresh(&c, now));
	c.value = NULL;
	assert_false(krr_channel_fresh(&c, now));
}

static void
test_can_notify(void **state)
{
	int64_t now = ms("2026-06-01T00:00:00Z"), fresh = now - 86400000, stale = ms("2020-01-01T00:00:00Z");
	struct krr_person p = { .status = KRR_AKTIV };

	(void)state;
	assert_false(krr_can_notify(&p, now)); /* no channel */
	p.email = (struct krr_channel){ "a@example.no", fresh, 0 };
	assert_true(krr_can_notify(&p, now));
	p.mobile = (struct krr_channel){ "+4799999999", stale, 0 };
	assert_false(krr_can_notify(&p, now)); /* one stale channel is expired information */
	p.mobile.verified = fresh;
	assert_true(krr_can_notify(&p, now));
	p.reserved = true;
	assert_false(krr_can_notify(&p, now));
	p.reserved = false;
	p.status = KRR_SLETTET;
	assert_false(krr_can_notify(&p, now));
}

static void
test_rules(void **state)
{
	char mob[20];

	(void)state;
	assert_null(krr_rule_email("ola.nordmann@example.no"));
	assert_null(krr_rule_email("a+b_c!#$%&'*/=?^`{|}~-@sub-1.example.co"));
	static const char *const bad_email[] = {
		"", "plain", "@example.no", "a@", "a@b", "a@@example.no", "a b@example.no", ".a@example.no",
		"a.@example.no", "a..b@example.no", "a@-example.no", "a@example-.no", "a@example..no",
		"a@example.n0", "a@example.n", "a@exa_mple.no", "æ@example.no", "a@example.no\n",
		"\"a\"@example.no",
	};
	for (size_t i = 0; i < sizeof(bad_email) / sizeof(bad_email[0]); i++)
		assert_non_null(krr_rule_email(bad_email[i]));
	{
		char longer[300];

		memset(longer, 'a', sizeof(longer));
		memcpy(longer + 250, "@x.no", 6);
		assert_non_null(krr_rule_email(longer));
		memset(longer, 'a', 70);
		memcpy(longer + 65, "@x.no", 6);
		assert_non_null(krr_rule_email(longer)); /* a local part over 64 */
	}
	assert_null(krr_rule_mobile("99999999", mob));
	assert_string_equal(mob, "+4799999999");
	assert_null(krr_rule_mobile("+4741234567", mob));
	assert_null(krr_rule_mobile("+46701234567", mob));
	assert_string_equal(mob, "+46701234567");
	static const char *const bad_mob[] = {
		"", "12345678", "9999999", "+479999999", "+47999999999", "+4712345678", "+0123456789",
		"+47 9999999", "4799999999a", "+", "+1234567890123456",
	};
	for (size_t i = 0; i < sizeof(bad_mob) / sizeof(bad_mob[0]); i++)
		assert_non_null(krr_rule_mobile(bad_mob[i], mob));
	assert_null(krr_rule_lang("se"));
	assert_non_null(krr_rule_lang("sv"));
	assert_non_null(krr_rule_lang(NULL));
	assert_non_null(krr_rule_cert("bm90IGEgY2VydA=="));
	assert_non_null(krr_rule_cert("not base64!"));
	assert_non_null(krr_rule_cert(""));
	assert_null(krr_rule_pid("21879498012", NATID_CTX_TEST));
	assert_non_null(krr_rule_pid("21879498013", NATID_CTX_TEST));
	assert_non_null(krr_rule_pid("21879498012", NATID_CTX_PROD));
	assert_non_null(krr_rule_pid("01019012480", NATID_CTX_TEST));
	assert_non_null(krr_rule_pid("2187949801", NATID_CTX_TEST));
	assert_non_null(krr_rule_pid("218794980123", NATID_CTX_TEST));
	assert_non_null(krr_rule_pid(NULL, NATID_CTX_TEST));
}

/* The import form of one row: 0 or the rule broken. */
static const char *
row(const char *json, struct krr_person *p)
{
	static char why[200];
	json_t *f = json_loads(json, 0, NULL);
	int rc;

	assert_non_null(f);
	rc = krr_person_from_fields(f, NATID_CTX_TEST, ms("2026-06-01T00:00:00Z"), p, why,
				    sizeof(why));
	json_decref(f);
	return rc == 0 ? NULL : why;
}

static void
test_from_fields(void **state)
{
	struct krr_person p;
	int64_t now = ms("2026-06-01T00:00:00Z");

	(void)state;
	assert_null(row("{\"personidentifikator\":\"21879498012\",\"epostadresse\":\"a@example.no\","
			"\"mobiltelefonnummer\":\"\",\"reservasjon\":\"JA\"}",
			&p));
	assert_int_equal(p.status, KRR_AKTIV);
	assert_true(p.reserved);
	assert_int_equal(p.reserved_at, now);
	assert_int_equal(p.email.updated, now);
	assert_int_equal(p.email.verified, 0);
	assert_null(p.mobile.value);
	krr_person_clear(&p);

	static const struct {
		const char *json, *why;
	} bad[] = {
		{ "{}", "personidentifikator is missing" },
		{ "{\"personidentifikator\":\"21879498012\",\"x\":\"1\"}", "unknown field x" },
		{ "{\"personidentifikator\":\"21879498012\",\"status\":1}", "status must be a string" },
		{ "{\"personidentifikator\":\"21879498012\",\"status\":\"IKKE_REGISTRERT\"}",
		  "status must be AKTIV or SLETTET" },
		{ "{\"personidentifikator\":\"21879498012\",\"status\":\"SLETTET\",\"spraak\":\"nb\"}",
		  "spraak given for a person SLETTET" },
		{ "{\"personidentifikator\":\"21879498012\",\"reservasjonstidspunkt\":"
		  "\"2020-01-01T00:00:00Z\"}",
		  "reservasjonstidspunkt only with reservasjon JA" },
		{ "{\"personidentifikator\":\"21879498012\",\"mobiltelefonnummer_oppdatert\":"
		  "\"2020-01-01T00:00:00Z\"}",
		  "mobiltelefonnummer's times given without the value" },
		{ "{\"personidentifikator\":\"21879498012\",\"postkasseadresse\":\"a#1\"}",
		  "postkasseadresse and postkasseleverandoeradresse come together" },
		{ "{\"personidentifikator\":\"21879498012\",\"postkasseadresse\":\"a#1\","
		  "\"postkasseleverandoeradresse\":\"984661186\"}",
		  "postkasseleverandoeradresse is not an organisation number" },
		{ "{\"personidentifikator\":\"21879498012\",\"epostadresse\":\"a@example.no\","
		  "\"epostadresse_oppdatert\":\"2030-01-01T00:00:00Z\"}",
		  "epostadresse_oppdatert lies in the future" },
		{ "{\"personidentifikator\":\"21879498012\",\"spraak_oppdatert\":\"2020-01-01T00:00:00Z\"}",
		  "spraak_oppdatert given without spraak" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *why = row(bad[i].json, &p);

		assert_non_null(why);
		assert_string_equal(why, bad[i].why);
		krr_person_clear(&p);
	}
}

/* krr_person_write's text against json_dumps of what it parses to (keys in order). */
static void
expect_dumped(const struct krr_person *p, unsigned flags, int64_t now)
{
	struct buf b;
	json_t *j;
	char *txt;

	buf_init(&b, KRR_MAX_WIRE);
	assert_int_equal(krr_person_write(&b, p, flags, now), 0);
	j = json_loadb(b.p, b.len, 0, NULL);
	assert_non_null(j);
	txt = json_dumps(j, JSON_COMPACT);
	assert_non_null(txt);
	assert_int_equal(b.len, strlen(txt));
	assert_memory_equal(b.p, txt, b.len);
	free(txt);
	json_decref(j);
	buf_free(&b);
}

static void
test_document_and_wire(void **state)
{
	struct krr_person p;
	json_t *doc, *w;
	int64_t now = ms("2026-06-01T00:00:00Z");

	(void)state;
	assert_null(row("{\"personidentifikator\":\"21879498012\",\"epostadresse\":\"a@example.no\","
			"\"epostadresse_sist_verifisert\":\"2026-05-01T00:00:00Z\","
			"\"postkasseadresse\":\"a#1\",\"postkasseleverandoeradresse\":\"984661185\","
			"\"spraak\":\"nn\"}",
			&p));
	/* the history's copy of the record */
	doc = krr_person_encode(&p);
	assert_non_null(doc);
	assert_string_equal(json_string_value(json_object_get(doc, "epostadresse")), "a@example.no");
	assert_int_equal(json_integer_value(json_object_get(doc, "epostadresse_sist_verifisert")),
			 ms("2026-05-01T00:00:00Z"));
	assert_string_equal(json_string_value(json_object_get(doc, "spraak")), "nn");
	assert_null(json_object_get(doc, "reservasjonstidspunkt"));

	w = krr_person_wire(&p, KRR_F_CONTACT | KRR_F_POST | KRR_F_V2, now);
	assert_string_equal(json_string_value(json_object_get(w, "varslingsstatus")), "KAN_VARSLES");
	assert_non_null(json_object_get(json_object_get(w, "kontaktinformasjon"),
					"epostadresse_sist_verifisert"));
	assert_non_null(json_object_get(w, "digital_post"));
	json_decref(w);
	w = krr_person_wire(&p, KRR_F_CONTACT, now);
	assert_null(json_object_get(json_object_get(w, "kontaktinformasjon"),
				    "epostadresse_sist_verifisert"));
	assert_null(json_object_get(w, "digital_post"));
	assert_null(json_object_get(w, "spraak_oppdatert"));
	json_decref(w);
	/* expired: delivered with the switch off, withheld with it on (spec §2) */
	p.email.updated = p.email.verified = ms("2020-01-01T00:00:00Z");
	w = krr_person_wire(&p, KRR_F_CONTACT | KRR_F_POST, now);
	assert_string_equal(json_string_value(json_object_get(w, "varslingsstatus")),
			    "KAN_IKKE_VARSLES");
	assert_non_null(json_object_get(w, "kontaktinformasjon"));
	json_decref(w);
	w = krr_person_wire(&p, KRR_F_CONTACT | KRR_F_POST | KRR_F_SUPPRESS, now);
	assert_null(json_object_get(w, "kontaktinformasjon"));
	assert_null(json_object_get(w, "digital_post"));
	json_decref(w);
	krr_person_clear(&p);
	json_decref(doc);

	/* a mailbox address with a quote and a backslash is escaped, not pasted */
	assert_null(row("{\"personidentifikator\":\"21879498012\",\"postkasseadresse\":\"a\\\"b\\\\c\","
			"\"postkasseleverandoeradresse\":\"984661185\"}",
			&p));
	w = krr_person_wire(&p, KRR_F_POST, now);
	assert_non_null(w);
	assert_string_equal(json_string_value(json_object_get(json_object_get(w, "digital_post"),
							      "postkasseadresse")),
			    "a\"b\\c");
	/* the text as written is the one json_dumps makes of it, byte for byte */
	expect_dumped(&p, KRR_F_POST | KRR_F_CONTACT | KRR_F_V2, now);
	json_decref(w);
	krr_person_clear(&p);
	/* a mobile number alone: the contact object opens on it */
	assert_null(row("{\"personidentifikator\":\"21879498012\",\"mobiltelefonnummer\":"
			"\"+4799000001\",\"spraak\":\"en\"}",
			&p));
	expect_dumped(&p, KRR_F_POST | KRR_F_CONTACT | KRR_F_V2, now);
	expect_dumped(&p, KRR_F_CONTACT, now);
	krr_person_clear(&p);
	w = krr_unregistered_wire("21879498012", KRR_F_POST);
	assert_int_equal(json_object_size(w), 2);
	json_decref(w);
}

/* gotoUrl (spec §5): registered links only, judged on the characters as sent. */
static void
test_goto(void **state)
{
	struct cfg c = { 0 };
	struct err e = { 0 };
	static const char *const good[] = {
		"https://tjeneste.example.no/", "https://tjeneste.example.no/minside?a=1&b=%41",
		"https://annen.example.no/side",
	};
	static const char *const bad[] = {
		"https://evil.example.no/", "https://tjeneste.example.no.evil.no/",
		"https://tjeneste.example.no@evil.no/", "https://tjeneste.example.no\\@evil.no/",
		"HTTPS://tjeneste.example.no/", "https://tjeneste.example.no/A",
		"http://tjeneste.example.no/", "//tjeneste.example.no/", "https://annen.example.no/side2",
		"https://annen.example.no/side/x", "https://annen.example.no", "https://tjeneste.example.no/ x",
		"https://tjeneste.example.no/\x7f", "https://tjeneste.example.no/\xc3\xa6", "", "https://",
	};

	(void)state;
	c.krr_goto_urls = (char *)"https://tjeneste.example.no/, https://annen.example.no/side";
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(krr_goto_allowed(&c, good[i]));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(krr_goto_allowed(&c, bad[i]));
	assert_int_equal(krr_goto_list_check(&c, &e), 0);
	/* in prod, https only, in the list as at the door */
	c.env = CFG_ENV_PROD;
	assert_true(krr_goto_allowed(&c, good[0]));
	c.krr_goto_urls = (char *)"http://tjeneste.example.no/";
	assert_false(krr_goto_allowed(&c, "http://tjeneste.example.no/"));
	assert_int_not_equal(krr_goto_list_check(&c, &e), 0);
	c.env = CFG_ENV_TEST;
	for (const char *const *l = (const char *const[]){ "javascript:x", "https://A.no/",
							   "https:///x/", "https://a@b.no/", NULL };
	     *l != NULL; l++) {
		c.krr_goto_urls = (char *)*l;
		assert_int_not_equal(krr_goto_list_check(&c, &e), 0);
	}
	c.krr_goto_urls = NULL;
	assert_false(krr_goto_allowed(&c, good[0]));
	assert_int_equal(krr_goto_list_check(&c, &e), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_times),
		cmocka_unit_test(test_eighteen_months),
		cmocka_unit_test(test_can_notify),
		cmocka_unit_test(test_rules),
		cmocka_unit_test(test_from_fields),
		cmocka_unit_test(test_document_and_wire),
		cmocka_unit_test(test_goto),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

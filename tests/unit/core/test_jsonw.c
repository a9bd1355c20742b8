/*
 * The JSON object writer against jansson: every object it writes must be the
 * bytes json_dumps(JSON_COMPACT) gives for the same tree, and strings that
 * jansson refuses (not UTF-8) must be refused too.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/jsonw.h"

/* The tree's dump of {"k": s}, or NULL when jansson will not take s. */
static char *
tree_dump(const char *s)
{
	json_t *v = json_string(s), *o;
	char *out;

	if (v == NULL)
		return NULL;
	o = json_object();
	json_object_set_new(o, "k", v);
	out = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return out;
}

static void
check_same(const char *s)
{
	struct buf b;
	struct jsonw w;
	char *want = tree_dump(s);
	int rc;

	buf_init(&b, 1 << 16);
	jsonw_begin(&w, &b);
	jsonw_str(&w, "k", s);
	rc = jsonw_end(&w);
	if (want == NULL) {
		assert_int_equal(rc, ERR_INVAL);
	} else {
		assert_int_equal(rc, 0);
		assert_string_equal(b.p, want);
	}
	free(want);
	buf_free(&b);
}

static void
test_every_byte(void **state)
{
	char s[4];

	(void)state;
	for (int c = 1; c < 256; c++) {
		s[0] = 'a';
		s[1] = (char)c;
		s[2] = 'z';
		s[3] = '\0';
		check_same(s);
	}
}

static void
test_utf8(void **state)
{
	static const char *const cases[] = {
		"Bl\xc3\xa5" "b\xc3\xa6r", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xe2\x80\xa8",
		"\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe2\x82", "\xff", "", "\xe2\x82" "x",
		"quote\" back\\ slash/ tab\t nl\n cr\r bs\b ff\f \x01\x1f\x7f",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_same(cases[i]);
}

/* Around the length up to which a plain member goes out in one piece, with and without an escape. */
static void
test_lengths(void **state)
{
	char s[301];
	struct buf b;

	(void)state;
	for (size_t n = 0; n < sizeof(s); n++) {
		memset(s, 'a', n);
		s[n] = '\0';
		check_same(s);
		if (n > 0) {
			s[n - 1] = '"';
			check_same(s);
			s[n - 1] = '\xc3';
			check_same(s);
		}
	}
	/* a string refused leaves nothing behind */
	buf_init(&b, 64);
	assert_int_equal(buf_puts(&b, "x"), 0);
	assert_int_equal(jsonw_string(&b, "ok \xff"), ERR_INVAL);
	assert_int_equal(b.len, 1);
	assert_string_equal(b.p, "x");
	buf_free(&b);
}

static void
test_object(void **state)
{
	static const char *const amr[] = { "TestID", "x\"y" };
	json_t *t = json_pack("{s:s, s:I, s:[s,s], s:{s:s}, s:[i], s:I, s:b, s:b, s:n}", "iss",
			      "https://a/", "iat", (json_int_t)1700000000, "amr", amr[0], amr[1],
			      "cnf", "jkt", "abc", "raw", 1, "neg", (json_int_t)-5, "yes", 1, "no", 0,
			      "none");
	char *want = json_dumps(t, JSON_COMPACT);
	struct buf b;
	struct jsonw w;

	(void)state;
	buf_init(&b, 4096);
	jsonw_begin(&w, &b);
	jsonw_str(&w, "iss", "https://a/");
	jsonw_str(&w, "absent", NULL);
	jsonw_int(&w, "iat", 1700000000);
	jsonw_strs(&w, "amr", amr, 2);
	jsonw_obj(&w, "cnf");
	jsonw_str(&w, "jkt", "abc");
	jsonw_close(&w);
	jsonw_raw(&w, "raw", "[1]", 3);
	jsonw_int(&w, "neg", -5);
	jsonw_bool(&w, "yes", true);
	jsonw_bool(&w, "no", false);
	jsonw_null(&w, "none");
	assert_int_equal(jsonw_end(&w), 0);
	assert_string_equal(b.p, want);
	free(want);
	json_decref(t);
	buf_free(&b);
}

/* A member holding a tree: its compact dump, nothing for NULL, any JSON value. */
static void
test_tree(void **state)
{
	json_t *v = json_pack("{s:[s,i], s:s}", "a", "x\"\n", 1, "b", "\xc3\xa6");
	json_t *t = json_pack("{s:O, s:s, s:i}", "v", v, "s", "str", "n", 7);
	char *want = json_dumps(t, JSON_COMPACT);
	json_t *str = json_string("str"), *n = json_integer(7);
	struct buf b;
	struct jsonw w;

	(void)state;
	buf_init(&b, 4096);
	jsonw_begin(&w, &b);
	jsonw_tree(&w, "v", v);
	jsonw_tree(&w, "absent", NULL);
	jsonw_tree(&w, "s", str);
	jsonw_tree(&w, "n", n);
	assert_int_equal(jsonw_end(&w), 0);
	assert_string_equal(b.p, want);
	buf_free(&b);
	/* after a failure it writes nothing */
	buf_init(&b, 4096);
	jsonw_begin(&w, &b);
	jsonw_str(&w, "k", "\xff");
	jsonw_tree(&w, "v", v);
	assert_int_equal(jsonw_end(&w), ERR_INVAL);
	assert_null(strstr(b.p != NULL ? b.p : "", "\"v\""));
	buf_free(&b);
	free(want);
	json_decref(str);
	json_decref(n);
	json_decref(t);
	json_decref(v);
}

static void
test_errors_stick(void **state)
{
	struct buf b;
	struct jsonw w;

	(void)state;
	buf_init(&b, 16);
	jsonw_begin(&w, &b);
	jsonw_str(&w, "k", "\xff");
	jsonw_str(&w, "later", "ok");
	assert_int_equal(jsonw_end(&w), ERR_INVAL);
	buf_free(&b);
	/* The buffer's cap holds too. */
	buf_init(&b, 16);
	jsonw_begin(&w, &b);
	jsonw_str(&w, "k", "a value longer than the cap");
	assert_int_equal(jsonw_end(&w), ERR_LIMIT);
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_byte),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_object),
		cmocka_unit_test(test_tree),
		cmocka_unit_test(test_errors_stick),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

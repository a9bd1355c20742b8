/*
 * Tests for oauth/redirect.c (spec/idporten-oidc.md §3): exact matching per
 * RFC 9700 §2.1 and the RFC 8252 §7.3 loopback port rule, with the near
 * misses an attacker would try.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "oauth/oauth.h"

static json_t *client;
static struct client *rec;   /* the same registration as a record */

static int
setup(void **state)
{
	(void)state;
	client = json_pack("{s:s,s:[s,s,s,s,s,s]}", "client_id", "rp", "redirect_uris",
			   "https://rp.example.no/callback",
			   "https://rp.example.no/cb?tenant=a",
			   "http://127.0.0.1:0/native/cb",
			   "http://[::1]:0/v6",
			   "http://127.0.0.1:0",
			   "no.example.app:/oauth2redirect");
	if (client == NULL || reg_client_parse(client, &rec, &(struct err){ 0 }) != 0)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	reg_client_release(rec);
	json_decref(client);
	return 0;
}

static bool
reg(const char *uri)
{
	return oauth_redirect_uri_allowed(rec, str_c(uri));
}

/* A record of a registration with these redirect_uris (doc: a JSON object); NULL if refused. */
static struct client *
rec_of(const char *doc)
{
	json_t *d = json_loads(doc, 0, NULL);
	struct client *c = NULL;

	assert_non_null(d);
	json_object_set_new(d, "client_id", json_string("rp2"));
	if (reg_client_parse(d, &c, &(struct err){ 0 }) != 0)
		c = NULL;
	json_decref(d); /* the record keeps its own reference */
	return c;
}

static void
test_exact(void **state)
{
	(void)state;
	assert_true(reg("https://rp.example.no/callback"));
	assert_true(reg("https://rp.example.no/cb?tenant=a"));
	assert_true(reg("no.example.app:/oauth2redirect"));
}

static void
test_near_misses(void **state)
{
	(void)state;
	assert_false(reg("https://rp.example.no/callback/"));       /* trailing slash */
	assert_false(reg("https://rp.example.no/callbac"));         /* prefix */
	assert_false(reg("https://rp.example.no/callback2"));       /* extension */
	assert_false(reg("https://RP.example.no/callback"));        /* host case */
	assert_false(reg("HTTPS://rp.example.no/callback"));        /* scheme case */
	assert_false(reg("https://rp.example.no/Callback"));        /* path case */
	assert_false(reg("http://rp.example.no/callback"));         /* scheme downgrade */
	assert_false(reg("https://rp.example.no:443/callback"));    /* explicit default port */
	assert_false(reg("https://rp.example.no/callback?x=1"));    /* extra query */
	assert_false(reg("https://rp.example.no/callback#frag"));   /* fragment */
	assert_false(reg("https://rp.example.no/cb?tenant=a&b=c")); /* extra query parameter */
	assert_false(reg("https://rp.example.no/cb?tenant=b"));     /* other query value */
	assert_false(reg("https://rp.example.no/cb"));              /* query dropped */
	assert_false(reg("https://rp.example.no/%63allback"));      /* encoded */
	assert_false(reg("https://rp.example.no.evil.com/callback"));
	assert_false(reg("https://evil.com/https://rp.example.no/callback"));
	assert_false(reg("https://rp.example.no@evil.com/callback"));
	assert_false(reg(""));
	assert_false(oauth_redirect_uri_allowed(rec, STR_NULL));
	/* The registered string followed by a NUL and more bytes. */
	assert_false(oauth_redirect_uri_allowed(
		rec, (struct str){ "https://rp.example.no/callback\0x", 32 }));
}

static void
test_loopback_ports(void **state)
{
	(void)state;
	assert_true(reg("http://127.0.0.1:1/native/cb"));
	assert_true(reg("http://127.0.0.1:8080/native/cb"));
	assert_true(reg("http://127.0.0.1:65535/native/cb"));
	assert_true(reg("http://[::1]:51004/v6"));
	assert_true(reg("http://127.0.0.1:49152"));
	/* Port 0 itself, out of range, leading zeros, signs, missing digits. */
	assert_false(reg("http://127.0.0.1:0/native/cb"));
	assert_false(reg("http://127.0.0.1:65536/native/cb"));
	assert_false(reg("http://127.0.0.1:99999/native/cb"));
	assert_false(reg("http://127.0.0.1:123456/native/cb"));
	assert_false(reg("http://127.0.0.1:08080/native/cb"));
	assert_false(reg("http://127.0.0.1:+80/native/cb"));
	assert_false(reg("http://127.0.0.1:-1/native/cb"));
	assert_false(reg("http://127.0.0.1:/native/cb"));
	assert_false(reg("http://127.0.0.1/native/cb"));
	/* Anything but the port must be identical. */
	assert_false(reg("https://127.0.0.1:8080/native/cb"));
	assert_false(reg("http://localhost:8080/native/cb"));
	assert_false(reg("http://127.0.0.2:8080/native/cb"));
	assert_false(reg("http://127.0.0.1:8080/native/cb/"));
	assert_false(reg("http://127.0.0.1:8080/native/c"));
	assert_false(reg("http://127.0.0.1:8080/native/cb?x=1"));
	assert_false(reg("http://127.0.0.1:8080/NATIVE/cb"));
	assert_false(reg("http://[::1]:8080/native/cb"));            /* other host's path */
	assert_false(reg("http://127.0.0.1:8080/v6"));
	assert_false(reg("http://[0:0:0:0:0:0:0:1]:8080/v6"));
	assert_false(reg("http://127.0.0.1:8080@evil.com/native/cb"));
	assert_false(reg("http://127.0.0.1:8080.evil.com/native/cb"));
	assert_false(reg("http://127.0.0.1:49152/"));                /* registered without path */
}

static void
test_port_rule_only_for_port0(void **state)
{
	struct client *c = rec_of("{\"redirect_uris\": [\"http://127.0.0.1:8080/cb\", "
				  "\"http://127.0.0.1:0x/cb\", \"https://127.0.0.1:0/cb\", "
				  "\"http://localhost:0/cb\"]}");

	(void)state;
	assert_non_null(c);
	/* A registration with a real port is matched exactly. */
	assert_true(oauth_redirect_uri_allowed(c, STR_LIT("http://127.0.0.1:8080/cb")));
	assert_false(oauth_redirect_uri_allowed(c, STR_LIT("http://127.0.0.1:8081/cb")));
	/* ":0x" is not port 0; https and localhost do not get the rule (spec §3). */
	assert_false(oauth_redirect_uri_allowed(c, STR_LIT("http://127.0.0.1:5/cb")));
	assert_true(oauth_redirect_uri_allowed(c, STR_LIT("http://127.0.0.1:0x/cb")));
	assert_false(oauth_redirect_uri_allowed(c, STR_LIT("https://127.0.0.1:443/cb")));
	assert_false(oauth_redirect_uri_allowed(c, STR_LIT("http://localhost:8080/cb")));
	reg_client_release(c);
}

static void
test_bad_registrations(void **state)
{
	struct client *c;

	(void)state;
	assert_false(oauth_redirect_uri_allowed(NULL, STR_LIT("https://a/")));
	/* A registration whose list is no list, or holds other than strings, is refused whole. */
	assert_null(rec_of("{\"redirect_uris\": \"https://a/\"}"));
	assert_null(rec_of("{\"redirect_uris\": [1, null, \"https://a/\"]}"));
	c = rec_of("{\"redirect_uris\": [\"https://a/\"]}");
	assert_non_null(c);
	assert_true(oauth_redirect_uri_allowed(c, STR_LIT("https://a/")));
	assert_false(oauth_redirect_uri_allowed(c, STR_LIT("1")));
	assert_false(oauth_redirect_uri_allowed(c, STR_LIT("")));
	reg_client_release(c);
	c = rec_of("{}");
	assert_non_null(c);
	assert_false(oauth_redirect_uri_allowed(c, STR_LIT("https://a/")));
	reg_client_release(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact),
		cmocka_unit_test(test_near_misses),
		cmocka_unit_test(test_loopback_ports),
		cmocka_unit_test(test_port_rule_only_for_port0),
		cmocka_unit_test(test_bad_registrations),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

/*
 * The session codec (login/session.c) on documents in the stored format of
 * today: decode then encode gives the same document back, byte for byte in
 * the order session.c writes it, and damaged documents are refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "login/session.h"
#include "codec.h"

/* A shared session as session_establish() writes it, before any code. */
static const char SHARED[] =
	"{\"sid\":\"c2lkU2lkU2lkU2lkU2lkU2lkU2lkU2lkU2lkU2lkU2k\",\"kind\":\"shared\","
	"\"pid\":\"01819012365\",\"acr\":\"idporten-loa-substantial\",\"amr\":[\"TestID\"],"
	"\"eid\":\"testid\",\"auth_time\":1764970000,\"created\":1764970000,\"clients\":[]}";

/* An SSO-free client's own session, raised once and joined by two clients. */
static const char CLIENT[] =
	"{\"sid\":\"c2lkU2lkU2lkU2lkU2lkU2lkU2lkU2lkU2lkU2lkU2k\",\"kind\":\"client\","
	"\"client_id\":\"sso-free\",\"pid\":\"01819012365\",\"acr\":\"idporten-loa-high\","
	"\"amr\":[\"Minid-PIN\"],\"eid\":\"minid\",\"auth_time\":1764973600,"
	"\"created\":1764970000,\"clients\":[\"sso-free\",\"web \xc3\xa6\"]}";

/* An eIDAS login the person register did not match: no pid (spec/ansattporten-eidas-testid.md §2). */
static const char EIDAS[] =
	"{\"sid\":\"c2lkU2lkU2lkU2lkU2lkU2lkU2lkU2lkU2lkU2lkU2k\",\"kind\":\"shared\","
	"\"acr\":\"eidas-loa-high\",\"amr\":[\"eIDAS\"],\"eid\":\"eidas\","
	"\"auth_time\":1764970000,\"created\":1764970000,\"clients\":[],"
	"\"eidas_identifier\":\"SE/NO/199001011234\",\"eidas_firstname\":\"Astrid\","
	"\"eidas_lastname\":\"Lindgren\",\"eidas_date_of_birth\":\"1990-01-01\"}";

/* A foreign wallet PID without its number: no identifier, a one-time key (spec/eudi-wallet.md §7). */
static const char WALLET[] =
	"{\"sid\":\"c2lkU2lkU2lkU2lkU2lkU2lkU2lkU2lkU2lkU2lkU2k\",\"kind\":\"shared\","
	"\"acr\":\"eidas-loa-high\",\"amr\":[\"eudiw\"],\"eid\":\"wallet\","
	"\"auth_time\":1764970000,\"created\":1764970000,\"clients\":[],"
	"\"eidas_firstname\":\"Erika\",\"eidas_lastname\":\"Mustermann\","
	"\"eidas_date_of_birth\":\"1964-08-12\",\"nationalities\":\"DE,FR\","
	"\"onetime_key\":\"b25lVGltZUtleU9uZVRpbWVLZXlPbmVUaW1lS2V5T24\"}";

static void
round_trip(const char *text, struct session *out, struct arena *arena)
{
	ASSERT_ROUND_TRIP(text, true, session_decode, session_encode, out, arena);
	assert_null(out->hash);
}

static void
test_shared(void **state)
{
	struct arena *arena = arena_new();
	struct session s;

	(void)state;
	round_trip(SHARED, &s, arena);
	assert_string_equal(s.sid, "c2lkU2lkU2lkU2lkU2lkU2lkU2lkU2lkU2lkU2lkU2k");
	assert_string_equal(s.kind, "shared");
	assert_null(s.client_id);
	assert_string_equal(s.pid, "01819012365");
	assert_string_equal(s.acr, "idporten-loa-substantial");
	assert_int_equal(s.namr, 1);
	assert_string_equal(s.amr[0], "TestID");
	assert_string_equal(s.eid, "testid");
	assert_int_equal(s.auth_time, 1764970000);
	assert_int_equal(s.created, 1764970000);
	assert_non_null(s.clients);
	assert_int_equal(s.nclients, 0);
	arena_free(arena);
}

static void
test_client(void **state)
{
	struct arena *arena = arena_new();
	struct session s;

	(void)state;
	round_trip(CLIENT, &s, arena);
	assert_string_equal(s.kind, "client");
	assert_string_equal(s.client_id, "sso-free");
	assert_int_equal(s.auth_time, 1764973600);
	assert_int_equal(s.nclients, 2);
	assert_string_equal(s.clients[0], "sso-free");
	assert_string_equal(s.clients[1], "web \xc3\xa6");
	arena_free(arena);
}

/* Fields left out stay out; unknown ones are ignored. */
static void
test_sparse(void **state)
{
	struct arena *arena = arena_new();
	struct session s;
	json_t *doc = json_loads("{\"sid\":\"s\",\"later\":{\"x\":1}}", 0, NULL);
	struct err e = { 0 };

	(void)state;
	round_trip("{}", &s, arena);
	assert_null(s.sid);
	assert_null(s.amr);
	assert_null(s.clients);
	assert_true(s.auth_time == SESSION_NO_TIME);
	assert_true(s.created == SESSION_NO_TIME);
	round_trip("{\"sid\":\"s\",\"auth_time\":0}", &s, arena);
	assert_int_equal(s.auth_time, 0);
	assert_non_null(doc);
	assert_int_equal(session_decode(doc, arena, &s, &e), 0);
	assert_string_equal(s.sid, "s");
	json_decref(doc);
	arena_free(arena);
}

static void
test_hostile(void **state)
{
	static const char *const bad[] = {
		"[]",
		"\"sid\"",
		"{\"sid\":7}",
		"{\"kind\":true}",
		"{\"client_id\":null}",
		"{\"pid\":1819012365}",
		"{\"acr\":[\"idporten-loa-high\"]}",
		"{\"amr\":\"TestID\"}",
		"{\"amr\":[1]}",
		"{\"eid\":{}}",
		"{\"auth_time\":\"1764970000\"}",
		"{\"auth_time\":1764970000.5}",
		"{\"created\":false}",
		"{\"clients\":\"web\"}",
		"{\"clients\":[\"web\",null]}",
	};
	struct session s;

	(void)state;
	ASSERT_ALL_REFUSED(bad, session_decode, &s);
}

static void
test_eidas(void **state)
{
	struct arena *arena = arena_new();
	struct session s;

	(void)state;
	round_trip(EIDAS, &s, arena);
	assert_null(s.pid);
	assert_string_equal(session_person(&s), "SE/NO/199001011234");
	assert_string_equal(s.eidas_firstname, "Astrid");
	assert_string_equal(s.eidas_lastname, "Lindgren");
	assert_string_equal(s.eidas_date_of_birth, "1990-01-01");
	assert_null(s.onetime_key);
	assert_null(s.nationalities);
	round_trip(SHARED, &s, arena);
	assert_string_equal(session_person(&s), "01819012365");
	assert_null(s.eidas_identifier);
	/* no stable identifier: the one-time key names the person */
	round_trip(WALLET, &s, arena);
	assert_null(s.pid);
	assert_null(s.eidas_identifier);
	assert_string_equal(session_person(&s), "b25lVGltZUtleU9uZVRpbWVLZXlPbmVUaW1lS2V5T24");
	assert_string_equal(s.nationalities, "DE,FR");
	arena_free(arena);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shared),
		cmocka_unit_test(test_client),
		cmocka_unit_test(test_sparse),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_eidas),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

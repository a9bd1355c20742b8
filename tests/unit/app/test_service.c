/*
 * The service list (src/services.c) and its helpers (app/service.c): every
 * service is named once, no two routes or commands collide, a step's pages
 * are served under its issuers once, services start in list order and
 * stop in reverse, and the configuration reads the rows of the sections
 * it is given, and only those.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "app/service.h"
#include "core/cfg.h"
#include "services.h"

static void
test_names_and_commands(void **state)
{
	size_t n = 0;

	for (size_t i = 0; porten_services[i] != NULL; i++, n++) {
		const struct porten_service *s = porten_services[i];

		assert_non_null(s->name);
		assert_true(s->name[0] != '\0');
		for (size_t k = 0; k < i; k++)
			assert_string_not_equal(porten_services[k]->name, s->name);
		/* routes need issuers to live under */
		if (s->routes != NULL || s->mount != NULL)
			assert_int_not_equal(s->issuer_kinds, 0);
		if (s->cfg != NULL) {
			assert_non_null(s->cfg->rows);
			assert_int_not_equal(s->cfg->nrows, 0);
		}
		for (const struct cli_command *c = s->commands; c && c->name; c++) {
			assert_non_null(c->run);
			assert_non_null(c->usage);
			/* the first service with the name is the one portenctl runs */
			assert_ptr_equal(service_command(porten_services, c->name), c);
			for (size_t k = 0; porten_services[k] != NULL; k++)
				for (const struct cli_command *o = porten_services[k]->commands;
				     o && o->name; o++)
					if (o != c)
						assert_string_not_equal(o->name, c->name);
		}
	}
	assert_true(n >= 5);
	/* portenctl's commands (docs/portenctl.md) */
	assert_non_null(service_command(porten_services, "client"));
	assert_non_null(service_command(porten_services, "keys"));
	assert_non_null(service_command(porten_services, "scope"));
	assert_non_null(service_command(porten_services, "delegation"));
	assert_non_null(service_command(porten_services, "minid"));
	assert_null(service_command(porten_services, "help"));
	assert_null(service_command(porten_services, "nope"));
}

static void
health(struct http_req *r, struct http_resp *w)
{
	(void)r;
	(void)w;
}

static bool
has_route(const struct http_route *rt, const char *method, const char *path)
{
	for (; rt->fn != NULL; rt++)
		if (strcmp(rt->method, method) == 0 && strcmp(rt->path, path) == 0)
			return true;
	return false;
}

/* ID-porten at the root, Maskinporten under /mp, Ansattporten under /ap. */
static void
three_issuers(struct porten *app)
{
	memset(app, 0, sizeof(*app));
	app->issuers[0] = (struct issuer){ ISSUER_IDPORTEN, "http://x", "", "http://x", app };
	app->issuers[1] = (struct issuer){ ISSUER_MASKINPORTEN, "http://x/mp/", "/mp", "http://x/mp",
					   app };
	app->issuers[2] = (struct issuer){ ISSUER_ANSATTPORTEN, "http://x/ap", "/ap", "http://x/ap",
					   app };
	app->nissuers = 3;
}

static void
test_routes(void **state)
{
	static const struct http_route head[] = {
		{ "GET", "/health/live", health, NULL },
		{ NULL, NULL, NULL, NULL },
	};
	struct porten app;
	struct http_route *rt;
	struct err e = { 0 };
	size_t n = 0, idp = 0, mp = 0, ap = 0, krr = 0, adm = 0;

	three_issuers(&app);
	rt = service_routes_build(porten_services, &app, head, &e);
	assert_non_null(rt);
	assert_string_equal(rt[0].path, "/health/live");
	assert_null(rt[0].data);
	for (n = 0; rt[n].fn != NULL; n++) {
		const struct issuer *is = rt[n].data;

		assert_non_null(rt[n].method);
		/* one handler per method and path */
		for (size_t k = 0; k < n; k++)
			assert_false(strcmp(rt[k].method, rt[n].method) == 0 &&
				     strcmp(rt[k].path, rt[n].path) == 0);
		if (n == 0)
			continue;
		assert_non_null(is);
		assert_memory_equal(rt[n].path, is->prefix, strlen(is->prefix));
		/* KRR's APIs, pages and prompt live under ID-porten alone (the register's own host) */
		if (strncmp(rt[n].path, "/rest/", 6) == 0 || strncmp(rt[n].path, "/minprofil", 10) == 0 ||
		    strncmp(rt[n].path, "/krr/", 5) == 0) {
			assert_int_equal(is->kind, ISSUER_IDPORTEN);
			krr++;
			continue;
		}
		/* the SAML proxy is ID-porten's alone (spec/saml-proxy.md) */
		idp += is->kind == ISSUER_IDPORTEN && strncmp(rt[n].path, "/saml/", 6) != 0;
		/* the self-service API lives under ID-porten alone */
		adm += strncmp(rt[n].path, "/selfservice/", 13) == 0 ||
		       strcmp(rt[n].path, "/innlogginger/logg/idporten") == 0 ||
		       strcmp(rt[n].path, "/revokelist") == 0 ||
		       strncmp(rt[n].path, "/authorizations/", 16) == 0;
		mp += is->kind == ISSUER_MASKINPORTEN;
		ap += is->kind == ISSUER_ANSATTPORTEN;
	}
	/*
	 * the issuers that log people in have the same routes, eIDs' pages among
	 * them, but Ansattporten has no userinfo (GET and POST)
	 */
	assert_true(idp > 10);
	assert_int_equal(ap, idp - adm - 2);
	assert_true(has_route(rt, "GET", "/userinfo"));
	assert_false(has_route(rt, "GET", "/ap/userinfo"));
	assert_false(has_route(rt, "POST", "/ap/userinfo"));
	assert_true(has_route(rt, "POST", "/ap/token"));
	assert_true(has_route(rt, "GET", "/ap/.well-known/openid-configuration"));
	assert_int_equal(adm, 24);
	assert_true(has_route(rt, "GET", "/revokelist"));
	assert_true(has_route(rt, "GET", "/innlogginger/logg/idporten"));
	assert_true(has_route(rt, "POST", "/selfservice/clients"));
	assert_true(has_route(rt, "DELETE", "/selfservice/clients/*"));
	assert_true(mp >= 3 && mp < idp);
	assert_true(has_route(rt, "POST", "/token"));
	assert_int_equal(krr, 9); /* 5 APIs, 3 self-service pages, the prompt */
	assert_true(has_route(rt, "POST", "/rest/v2/personer"));
	assert_true(has_route(rt, "GET", "/authorize"));
	assert_true(has_route(rt, "GET", "/testid"));
	assert_true(has_route(rt, "GET", "/ap/minid"));
	assert_true(has_route(rt, "POST", "/mp/token"));
	assert_true(has_route(rt, "GET", "/mp/jwk"));
	assert_false(has_route(rt, "GET", "/mp/authorize"));
	assert_false(has_route(rt, "GET", "/mp/testid"));
	assert_true(has_route(rt, "GET", "/saml/metadata"));
	assert_false(has_route(rt, "GET", "/ap/saml/metadata"));
	/* the consent step's pages come with the step */
	assert_true(has_route(rt, "GET", "/consent"));
	assert_true(has_route(rt, "POST", "/consent"));
	assert_true(has_route(rt, "POST", "/ap/consent"));
	assert_false(has_route(rt, "GET", "/mp/consent"));
	service_routes_free(rt);

	/* no issuers: the head only */
	app.nissuers = 0;
	rt = service_routes_build(porten_services, &app, head, &e);
	assert_non_null(rt);
	assert_non_null(rt[0].fn);
	assert_null(rt[1].fn);
	service_routes_free(rt);
	rt = service_routes_build(porten_services, &app, NULL, &e);
	assert_non_null(rt);
	assert_null(rt[0].fn);
	service_routes_free(rt);
}

/* The side of a route: the browser host's, the back channel's, or both. */
static enum http_side
side_of(const struct http_route *rt, const enum http_side *sides, const char *method,
	const char *path)
{
	for (size_t i = 0; rt[i].fn != NULL; i++)
		if (strcmp(rt[i].method, method) == 0 && strcmp(rt[i].path, path) == 0)
			return sides[i];
	fail_msg("no route %s %s", method, path);
	return HTTP_SIDE_ANY;
}

static void
test_route_sides(void **state)
{
	static const struct http_route head[] = {
		{ "GET", "/health/live", health, NULL },
		{ NULL, NULL, NULL, NULL },
	};
	struct porten app;
	struct http_route *rt;
	enum http_side *sides;
	struct err e = { 0 };

	three_issuers(&app);
	rt = service_routes_build(porten_services, &app, head, &e);
	assert_non_null(rt);
	sides = service_routes_sides(porten_services, head, rt);
	assert_non_null(sides);
	/* spec/idporten-oidc.md §1, under both issuers that log people in */
	static const struct {
		const char *method, *path;
		enum http_side side;
	} want[] = {
		{ "GET", "/authorize", HTTP_SIDE_BROWSER },
		{ "POST", "/authorize", HTTP_SIDE_BROWSER },
		{ "GET", "/logout", HTTP_SIDE_BROWSER },
		{ "POST", "/par", HTTP_SIDE_BACK },
		{ "POST", "/token", HTTP_SIDE_BACK },
		{ "GET", "/jwks.json", HTTP_SIDE_BACK },
		{ "POST", "/revoke", HTTP_SIDE_BACK },
		{ "POST", "/token/introspect", HTTP_SIDE_BACK },
		/* discovery and the pages the login sends the browser to: either */
		{ "GET", "/.well-known/openid-configuration", HTTP_SIDE_ANY },
		{ "GET", "/consent", HTTP_SIDE_ANY },
	};
	for (const char *p = ""; p != NULL; p = p[0] == '\0' ? "/ap" : NULL)
		for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
			char path[64];

			snprintf(path, sizeof(path), "%s%s", p, want[i].path);
			assert_int_equal(side_of(rt, sides, want[i].method, path), want[i].side);
		}
	assert_int_equal(side_of(rt, sides, "GET", "/userinfo"), HTTP_SIDE_BACK);
	/* Maskinporten and the head are not the login issuers' business */
	assert_int_equal(side_of(rt, sides, "POST", "/mp/token"), HTTP_SIDE_ANY);
	assert_int_equal(side_of(rt, sides, "GET", "/health/live"), HTTP_SIDE_ANY);
	free(sides);
	service_routes_free(rt);
}

/* ---- a step's pages, with made-up services ---- */

static const struct http_route step_a_routes[] = {
	{ "GET", "/a", health, NULL },
	{ "POST", "/a", health, NULL },
	{ NULL, NULL, NULL, NULL },
};
static const struct http_route step_b_routes[] = {
	{ "GET", "/b", health, NULL },
	{ NULL, NULL, NULL, NULL },
};
static const struct login_step step_a = { .name = "a",
					  .issuer_kinds = SERVICE_LOGIN_ISSUERS,
					  .routes = step_a_routes };
/* runs under Maskinporten only, though its services serve ID-porten */
static const struct login_step step_b = { .name = "b",
					  .issuer_kinds = SERVICE_ISSUER(ISSUER_MASKINPORTEN),
					  .routes = step_b_routes };
static const struct login_step step_c = { .name = "c",
					  .issuer_kinds = SERVICE_LOGIN_ISSUERS };
static const struct login_step *const steps_one[] = { &step_a, &step_c, &step_a, NULL };
static const struct login_step *const steps_two[] = { &step_b, &step_a, NULL };
static const struct service_route svc_routes[] = {
	{ "GET", "/s", health },
	{ NULL, NULL, NULL },
};
static const struct porten_service svc_one = { .name = "one",
					       .issuer_kinds = SERVICE_LOGIN_ISSUERS,
					       .routes = svc_routes,
					       .steps = steps_one };
static const struct porten_service svc_two = { .name = "two", .steps = steps_two };

/* A step counts at its first listing only, in one service or across two. */
static void
test_step_repeated(void **state)
{
	static const struct porten_service *const list[] = { &svc_one, &svc_two, NULL };

	(void)state;
	assert_false(service_step_repeated(list, 0, 0)); /* one: a */
	assert_false(service_step_repeated(list, 0, 1)); /* one: c */
	assert_true(service_step_repeated(list, 0, 2));  /* one: a again */
	assert_false(service_step_repeated(list, 1, 0)); /* two: b */
	assert_true(service_step_repeated(list, 1, 1));  /* two: a, listed by one */
}

/* The iterator gives each step once, in list order: a, c, b; then NULL, and again NULL. */
static void
test_step_next(void **state)
{
	static const struct porten_service *const list[] = { &svc_one, &svc_two, NULL };
	struct service_step_iter it = { 0 };

	(void)state;
	assert_ptr_equal(service_step_next(list, &it), steps_one[0]);
	assert_ptr_equal(service_step_next(list, &it), steps_one[1]);
	assert_ptr_equal(service_step_next(list, &it), steps_two[0]);
	assert_null(service_step_next(list, &it));
	assert_null(service_step_next(list, &it));
	it = (struct service_step_iter){ 0 };
	assert_null(service_step_next(NULL, &it));
}

/* Every kind's names, and the id read back to its kind; another name is none. */
static void
test_issuer_kind_names(void **state)
{
	static const enum issuer_kind kinds[] = { ISSUER_IDPORTEN, ISSUER_ANSATTPORTEN,
						  ISSUER_MASKINPORTEN };
	enum issuer_kind k = ISSUER_IDPORTEN;

	(void)state;
	assert_string_equal(app_issuer_kind_id(ISSUER_ANSATTPORTEN), "ansattporten");
	assert_string_equal(app_issuer_kind_title(ISSUER_IDPORTEN), "ID-porten");
	assert_string_equal(app_issuer_kind_title(ISSUER_MASKINPORTEN), "Maskinporten");
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		assert_int_equal(app_issuer_kind_parse(app_issuer_kind_id(kinds[i]), &k), 0);
		assert_int_equal(k, kinds[i]);
	}
	assert_int_equal(app_issuer_kind_parse("Ansattporten", &k), -1);
	assert_int_equal(app_issuer_kind_parse("", &k), -1);
	assert_int_equal(app_issuer_kind_parse(NULL, &k), -1);
	assert_int_equal(k, ISSUER_MASKINPORTEN); /* unchanged by a refusal */
}

static size_t
count_route(const struct http_route *rt, const char *method, const char *path)
{
	size_t n = 0;

	for (; rt->fn != NULL; rt++)
		n += strcmp(rt->method, method) == 0 && strcmp(rt->path, path) == 0;
	return n;
}

static void
test_step_routes(void **state)
{
	static const struct porten_service *const list[] = { &svc_one, &svc_two, NULL };
	struct porten app;
	struct http_route *rt;
	struct err e = { 0 };
	size_t n;

	three_issuers(&app);
	rt = service_routes_build(list, &app, NULL, &e);
	assert_non_null(rt);
	/* the table, then the steps' pages, under the issuers each step runs under, once */
	assert_string_equal(rt[0].path, "/s");
	assert_string_equal(rt[1].method, "GET");
	assert_string_equal(rt[1].path, "/a");
	assert_string_equal(rt[2].method, "POST");
	assert_string_equal(rt[2].path, "/a");
	assert_int_equal(count_route(rt, "GET", "/a"), 1);
	assert_int_equal(count_route(rt, "POST", "/a"), 1);
	assert_int_equal(count_route(rt, "GET", "/ap/a"), 1);
	assert_int_equal(count_route(rt, "POST", "/ap/a"), 1);
	assert_int_equal(count_route(rt, "GET", "/mp/a"), 0);
	/* a step's issuers, not its service's, say where its pages are */
	assert_int_equal(count_route(rt, "GET", "/mp/b"), 1);
	assert_int_equal(count_route(rt, "GET", "/b"), 0);
	assert_int_equal(count_route(rt, "GET", "/ap/b"), 0);
	for (n = 0; rt[n].fn != NULL; n++) {
		const struct issuer *is = rt[n].data;

		assert_non_null(is);
		assert_memory_equal(rt[n].path, is->prefix, strlen(is->prefix));
	}
	assert_int_equal(n, 3 + 3 + 1);
	service_routes_free(rt);
}

/* ---- start and stop order, with made-up services ---- */

static char trace[64];
static int fail_at = -1;

static void
note(char what, int who)
{
	size_t n = strlen(trace);

	trace[n] = what;
	trace[n + 1] = (char)('0' + who);
	trace[n + 2] = '\0';
}

#define FAKE(k)                                                                   \
	static int init##k(struct porten *app, struct err *e)                        \
	{                                                                            \
		note('i', k);                                                        \
		return fail_at == k ? ERR(e, ERR_IO, 0, NULL, "service %d", k) : 0; \
	}                                                                            \
	static void tick##k(struct porten *app) { note('t', k); }                    \
	static void close##k(struct porten *app) { note('c', k); }

FAKE(0)
FAKE(1)
FAKE(2)

static const struct porten_service fake0 = { .name = "a", .init = init0, .tick = tick0,
					     .close = close0 };
static const struct porten_service fake1 = { .name = "b", .init = init1, .tick = tick1,
					     .close = close1 };
static const struct porten_service fake2 = { .name = "c", .init = init2, .tick = tick2,
					     .close = close2 };
static const struct porten_service bare = { .name = "d" };

static void
test_init_close_order(void **state)
{
	static const struct porten_service *const list[] = { &fake0, &bare, &fake1, &fake2, NULL };
	struct porten app;
	struct err e = { 0 };

	memset(&app, 0, sizeof(app));
	trace[0] = '\0';
	fail_at = -1;
	assert_int_equal(service_init_all(list, &app, &e), 0);
	service_tick_all(list, &app);
	service_close_all(list, &app);
	assert_string_equal(trace, "i0i1i2t0t1t2c2c1c0");

	/* a failed init closes the failing one and those before it, in reverse */
	trace[0] = '\0';
	fail_at = 1;
	assert_int_equal(service_init_all(list, &app, &e), ERR_IO);
	assert_string_equal(e.msg, "service 1");
	assert_string_equal(trace, "i0i1c1c0");
}

/* ---- configuration sections ---- */

static void
test_cfg_sections(void **state)
{
	char path[] = "/tmp/porten-svc-cfg-XXXXXX";
	struct cfg c;
	struct err e = { 0 };
	int fd;

	unsetenv("PORTEN_ISSUER");
	unsetenv("PORTEN_SESSION_IDLE");
	/* the generic rows alone: no service's defaults */
	assert_int_equal(cfg_load(&c, NULL, NULL, &e), 0);
	assert_string_equal(c.listen, "127.0.0.1:8080");
	assert_int_equal(c.minid_otc_lifetime, 0);
	assert_int_equal(c.session_idle, 0);
	cfg_free(&c);
	/* with the services' sections: theirs too */
	assert_int_equal(service_cfg_load(&c, porten_services, NULL, &e), 0);
	assert_int_equal(c.minid_otc_lifetime, 300);
	assert_int_equal(c.session_idle, 1800);
	assert_int_equal(c.key_publish_delay, 86400);
	assert_string_equal(c.sms_gateway, "file");
	cfg_free(&c);

	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_true(write(fd, "minid_otc_lifetime = 60\nsigning_key_pin_file = /x\n", 50) == 50);
	close(fd);
	/* a service's key is unknown without its section, with the message of old */
	assert_int_equal(cfg_load(&c, path, NULL, &e), ERR_INVAL);
	assert_non_null(strstr(e.msg, ":1: unknown key 'minid_otc_lifetime'"));
	cfg_free(&c);
	assert_int_equal(service_cfg_load(&c, porten_services, path, &e), 0);
	assert_int_equal(c.minid_otc_lifetime, 60);
	assert_string_equal(c.signing_key_pin_file, "/x");
	cfg_free(&c);
	assert_null(c.signing_key_pin_file);

	fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(write(fd, "minid_otc_lifetime = 60\nbogus = 1\n", 34) == 34);
	close(fd);
	assert_int_equal(service_cfg_load(&c, porten_services, path, &e), ERR_INVAL);
	assert_non_null(strstr(e.msg, ":2: unknown key 'bogus'"));
	cfg_free(&c);

	/* a section's own check runs after the load */
	setenv("PORTEN_SESSION_IDLE", "7201", 1);
	assert_int_equal(service_cfg_load(&c, porten_services, NULL, &e), ERR_INVAL);
	assert_string_equal(e.msg, "session_idle must not exceed session_max");
	cfg_free(&c);
	unsetenv("PORTEN_SESSION_IDLE");
	unlink(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_and_commands),
		cmocka_unit_test(test_routes),
		cmocka_unit_test(test_route_sides),
		cmocka_unit_test(test_step_routes),
		cmocka_unit_test(test_step_repeated),
		cmocka_unit_test(test_step_next),
		cmocka_unit_test(test_issuer_kind_names),
		cmocka_unit_test(test_init_close_order),
		cmocka_unit_test(test_cfg_sections),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

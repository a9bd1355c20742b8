/*
 * trusted_proxies (core/netaddr.h) and the client behind them
 * (http/proxy.h): lists and ranges, and X-Forwarded-For from honest and
 * hostile senders: forged by an untrusted peer, garbage, IPv6, many hops,
 * an overlong field.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/socket.h>

#include <cmocka.h>

#include "core/netaddr.h"
#include "http/proxy.h"

static struct net_addr
addr(const char *s)
{
	struct net_addr a;

	assert_int_equal(net_addr_parse(str_c(s), &a), 0);
	return a;
}

static const char *
fmt(const struct net_addr *a)
{
	static char out[NET_ADDR_TEXT];

	net_addr_format(a, out);
	return out;
}

static void
test_addr_parse(void **state)
{
	struct net_addr a;
	static const char *const bad[] = {
		"", " ", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.4:80", "[1.2.3.4]", "host.example",
		"unknown", "::g", "[::1", "fe80::1%eth0", "1.2.3.4 ", "01.2.3.4x", "1.2.3.4/32",
	};

	(void)state;
	a = addr("192.0.2.7");
	assert_int_equal(a.family, AF_INET);
	assert_string_equal(fmt(&a), "192.0.2.7");
	a = addr("2001:db8::1");
	assert_string_equal(fmt(&a), "2001:db8::1");
	a = addr("[2001:DB8::1]");
	assert_string_equal(fmt(&a), "2001:db8::1");
	a = addr("::ffff:192.0.2.7");
	assert_int_equal(a.family, AF_INET);
	assert_string_equal(fmt(&a), "192.0.2.7");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_not_equal(net_addr_parse(str_c(bad[i]), &a), 0);
	assert_int_not_equal(net_addr_parse((struct str){ "1.2.3.4\0", 8 }, &a), 0);
}

static void
test_cidrs_parse_and_match(void **state)
{
	struct net_cidrs l;
	struct net_addr a;
	struct err e = { 0 };
	static const char *const bad[] = {
		"10.0.0.1/8", "10.0.0.0/33", "10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/+8", "10.0.0.0/8x",
		"2001:db8::1/32", "2001:db8::/129", "nonsense", "10.0.0.0/8,,foo", "192.0.2.1:8080",
	};
	char many[NET_CIDRS_MAX * 16 + 32] = "";

	(void)state;
	assert_int_equal(net_cidrs_parse(NULL, &l, &e), 0);
	assert_int_equal(l.n, 0);
	assert_int_equal(net_cidrs_parse(" , ", &l, &e), 0);
	assert_int_equal(l.n, 0);
	assert_int_equal(net_cidrs_parse("10.0.0.0/8, 192.0.2.7 2001:db8::/32,::1\t::ffff:198.51.100.0/120",
					 &l, &e), 0);
	assert_int_equal(l.n, 5);
	a = addr("10.200.3.4");
	assert_true(net_cidrs_match(&l, &a));
	a = addr("11.0.0.1");
	assert_false(net_cidrs_match(&l, &a));
	a = addr("192.0.2.7");
	assert_true(net_cidrs_match(&l, &a));
	a = addr("192.0.2.8");
	assert_false(net_cidrs_match(&l, &a));
	a = addr("2001:db8:ffff::9");
	assert_true(net_cidrs_match(&l, &a));
	a = addr("2001:db9::9");
	assert_false(net_cidrs_match(&l, &a));
	a = addr("::1");
	assert_true(net_cidrs_match(&l, &a));
	a = addr("198.51.100.77"); /* the mapped range counts as 198.51.100.0/24 */
	assert_true(net_cidrs_match(&l, &a));
	a = addr("::ffff:10.1.1.1");
	assert_true(net_cidrs_match(&l, &a));
	assert_int_equal(net_cidrs_parse("0.0.0.0/0", &l, &e), 0);
	a = addr("203.0.113.1");
	assert_true(net_cidrs_match(&l, &a));
	a = addr("2001:db8::1");
	assert_false(net_cidrs_match(&l, &a));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err_clear(&e);
		assert_int_equal(net_cidrs_parse(bad[i], &l, &e), ERR_INVAL);
		assert_non_null(strstr(e.msg, "not an address or range"));
	}
	for (int i = 0; i <= NET_CIDRS_MAX; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many), "10.0.%d.%d,", i / 256,
			 i % 256);
	assert_int_equal(net_cidrs_parse(many, &l, &e), ERR_INVAL);
	assert_non_null(strstr(e.msg, "more than"));
}

/* The client of a request from peer with X-Forwarded-For xff, as text. */
static const char *
client(const char *trusted, const char *peer, const char *xff)
{
	struct net_cidrs l;
	struct net_addr p = addr(peer), out;
	struct err e = { 0 };

	assert_int_equal(net_cidrs_parse(trusted, &l, &e), 0);
	http_forwarded_client(&l, &p, str_c(xff), &out);
	return fmt(&out);
}

static void
test_forwarded(void **state)
{
	const char *tp = "10.0.0.0/8, 2001:db8:1::/48";

	(void)state;
	/* no proxies configured, or an untrusted peer: the header is ignored */
	assert_string_equal(client("", "10.0.0.1", "203.0.113.9"), "10.0.0.1");
	assert_string_equal(client(tp, "198.51.100.4", "203.0.113.9"), "198.51.100.4");
	assert_string_equal(client(tp, "198.51.100.4", "10.0.0.2, 203.0.113.9"), "198.51.100.4");
	/* one proxy */
	assert_string_equal(client(tp, "10.0.0.1", "203.0.113.9"), "203.0.113.9");
	assert_string_equal(client(tp, "10.0.0.1", " 203.0.113.9 "), "203.0.113.9");
	assert_string_equal(client(tp, "10.0.0.1", ""), "10.0.0.1");
	/* the right-most untrusted entry: whatever the client put to its left is not believed */
	assert_string_equal(client(tp, "10.0.0.1", "1.1.1.1, 203.0.113.9"), "203.0.113.9");
	assert_string_equal(client(tp, "10.0.0.1", "1.1.1.1, 203.0.113.9, 10.9.9.9"), "203.0.113.9");
	/* all trusted: the left-most */
	assert_string_equal(client(tp, "10.0.0.1", "10.1.1.1, 10.2.2.2"), "10.1.1.1");
	/* garbage stops the walk at the last trusted hop */
	assert_string_equal(client(tp, "10.0.0.1", "203.0.113.9, unknown"), "10.0.0.1");
	assert_string_equal(client(tp, "10.0.0.1", "203.0.113.9, 10.0.0.5, junk"), "10.0.0.1");
	assert_string_equal(client(tp, "10.0.0.1", "203.0.113.9, junk, 10.0.0.5"), "10.0.0.5");
	assert_string_equal(client(tp, "10.0.0.1", "203.0.113.9,,"), "10.0.0.1");
	assert_string_equal(client(tp, "10.0.0.1", ",203.0.113.9"), "203.0.113.9");
	assert_string_equal(client(tp, "10.0.0.1", "203.0.113.9:4711"), "10.0.0.1");
	assert_string_equal(client(tp, "10.0.0.1", "\"203.0.113.9\""), "10.0.0.1");
	assert_string_equal(client(tp, "10.0.0.1", "203.0.113.9\r\nX-Evil: 1"), "10.0.0.1");
	/* IPv6 */
	assert_string_equal(client(tp, "2001:db8:1::10", "2001:db8:2::77"), "2001:db8:2::77");
	assert_string_equal(client(tp, "2001:db8:1::10", "[2001:db8:2::77]"), "2001:db8:2::77");
	assert_string_equal(client(tp, "::ffff:10.0.0.1", "::ffff:203.0.113.9"), "203.0.113.9");
	assert_string_equal(client(tp, "10.0.0.1", "2001:db8:2::77, 2001:db8:1::1"), "2001:db8:2::77");
}

static void
test_forwarded_many_hops_and_overlong(void **state)
{
	char *xff = malloc(100000);
	size_t n = 0;

	(void)state;
	assert_non_null(xff);
	/* many trusted hops after the client: only HTTP_XFF_MAX_HOPS are read */
	n += (size_t)sprintf(xff + n, "203.0.113.9");
	for (int i = 0; i < HTTP_XFF_MAX_HOPS - 1; i++)
		n += (size_t)sprintf(xff + n, ", 10.0.0.%d", i + 2);
	assert_string_equal(client("10.0.0.0/8", "10.0.0.1", xff), "203.0.113.9");
	n += (size_t)sprintf(xff + n, ", 10.0.0.99");
	assert_string_equal(client("10.0.0.0/8", "10.0.0.1", xff), "10.0.0.2");
	/* a long list of forged entries left of the honest one costs nothing */
	n = 0;
	while (n < 90000)
		n += (size_t)sprintf(xff + n, "198.51.100.%zu,", n % 250);
	sprintf(xff + n, "203.0.113.9");
	assert_string_equal(client("10.0.0.0/8", "10.0.0.1", xff), "203.0.113.9");
	/* one huge entry */
	memset(xff, '1', 99999);
	xff[99999] = '\0';
	assert_string_equal(client("10.0.0.0/8", "10.0.0.1", xff), "10.0.0.1");
	free(xff);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addr_parse),
		cmocka_unit_test(test_cidrs_parse_and_match),
		cmocka_unit_test(test_forwarded),
		cmocka_unit_test(test_forwarded_many_hops_and_overlong),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

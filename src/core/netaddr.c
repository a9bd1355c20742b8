/* IP addresses and CIDR ranges (core/netaddr.h). */
#include "core/netaddr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

static const unsigned char v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

static void
addr_set(struct net_addr *out, int family, const unsigned char *a)
{
	memset(out, 0, sizeof(*out));
	if (family == AF_INET6 && memcmp(a, v4mapped, sizeof(v4mapped)) == 0) {
		out->family = AF_INET;
		memcpy(out->a, a + 12, 4);
		return;
	}
	out->family = family;
	memcpy(out->a, a, family == AF_INET ? 4 : 16);
}

int
net_addr_parse(struct str s, struct net_addr *out)
{
	char buf[NET_ADDR_TEXT];
	unsigned char a[16];

	memset(out, 0, sizeof(*out));
	if (s.len >= 2 && s.p[0] == '[' && s.p[s.len - 1] == ']') {
		s.p++;
		s.len -= 2;
		if (memchr(s.p, ':', s.len) == NULL)
			return ERR_INVAL;
	}
	if (s.len == 0 || s.len >= sizeof(buf) || memchr(s.p, '\0', s.len) != NULL)
		return ERR_INVAL;
	memcpy(buf, s.p, s.len);
	buf[s.len] = '\0';
	if (memchr(s.p, ':', s.len) == NULL) {
		if (inet_pton(AF_INET, buf, a) != 1)
			return ERR_INVAL;
		addr_set(out, AF_INET, a);
		return 0;
	}
	if (inet_pton(AF_INET6, buf, a) != 1)
		return ERR_INVAL;
	addr_set(out, AF_INET6, a);
	return 0;
}

int
net_addr_from_sockaddr(const struct sockaddr *sa, struct net_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (sa == NULL)
		return ERR_INVAL;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)(const void *)sa;

		addr_set(out, AF_INET, (const unsigned char *)&s4->sin_addr);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)sa;

		addr_set(out, AF_INET6, s6->sin6_addr.s6_addr);
		return 0;
	}
	return ERR_INVAL;
}

void
net_addr_format(const struct net_addr *a, char out[NET_ADDR_TEXT])
{
	out[0] = '\0';
	if (a->family == AF_INET || a->family == AF_INET6)
		if (inet_ntop(a->family, a->a, out, NET_ADDR_TEXT) == NULL)
			out[0] = '\0';
}

/* Do a and b agree in their first bits bits? */
static bool
prefix_eq(const unsigned char *a, const unsigned char *b, unsigned bits)
{
	unsigned whole = bits / 8, rest = bits % 8;

	if (memcmp(a, b, whole) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((a[whole] ^ b[whole]) & (unsigned char)(0xff << (8 - rest))) == 0;
}

static int
cidr_parse(struct str s, struct net_cidr *out)
{
	struct str host = s, len = { NULL, 0 };
	const char *slash = memchr(s.p, '/', s.len);
	unsigned max;
	long long bits;

	if (slash != NULL) {
		host.len = (size_t)(slash - s.p);
		len = (struct str){ slash + 1, s.len - host.len - 1 };
	}
	if (net_addr_parse(host, &out->addr) != 0)
		return ERR_INVAL;
	max = out->addr.family == AF_INET ? 32 : 128;
	if (slash == NULL) {
		out->bits = max;
		return 0;
	}
	/* An IPv4-mapped range is written in IPv6: its prefix counts from the IPv4 part. */
	if (memchr(host.p, ':', host.len) != NULL && out->addr.family == AF_INET) {
		if (str_to_ll(len, 96, 128, &bits) != 0 || !str_only(len, "0123456789"))
			return ERR_INVAL;
		bits -= 96;
	} else if (str_to_ll(len, 0, max, &bits) != 0 || !str_only(len, "0123456789")) {
		return ERR_INVAL;
	}
	out->bits = (unsigned)bits;
	/* 10.1.2.3/8 is a typo for a host or a range: refuse rather than guess. */
	for (unsigned i = out->bits; i < max; i++)
		if (out->addr.a[i / 8] & (0x80 >> (i % 8)))
			return ERR_INVAL;
	return 0;
}

int
net_cidrs_parse(const char *list, struct net_cidrs *out, struct err *e)
{
	const char *p = list;
	struct str item;

	memset(out, 0, sizeof(*out));
	while (str_next_item(&p, &item)) {
		if (out->n >= NET_CIDRS_MAX)
			return ERR(e, ERR_INVAL, 0, NULL, "more than %d addresses or ranges",
				   NET_CIDRS_MAX);
		if (cidr_parse(item, &out->v[out->n]) != 0)
			return ERR(e, ERR_INVAL, 0, NULL, "not an address or range: \"%.*s\"",
				   (int)(item.len > 64 ? 64 : item.len), item.p);
		out->n++;
	}
	return 0;
}

bool
net_cidrs_match(const struct net_cidrs *l, const struct net_addr *a)
{
	for (size_t i = 0; l != NULL && i < l->n; i++)
		if (l->v[i].addr.family == a->family && prefix_eq(l->v[i].addr.a, a->a, l->v[i].bits))
			return true;
	return false;
}

bool
net_addr_internal(const struct net_addr *a)
{
	static const char internal[] = "0.0.0.0/8 10.0.0.0/8 100.64.0.0/10 127.0.0.0/8 "
				       "169.254.0.0/16 172.16.0.0/12 192.168.0.0/16 224.0.0.0/3 "
				       "::/127 fc00::/7 fe80::/10 ff00::/8";
	struct net_cidrs l;

	if (a->family == 0 || net_cidrs_parse(internal, &l, NULL) != 0)
		return true;
	return net_cidrs_match(&l, a);
}

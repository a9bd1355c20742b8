/*
 * IP addresses and address ranges (CIDR) as configuration names them:
 * trusted_proxies (docs/operations.md "Behind a proxy").  Pure functions;
 * IPv4 addresses mapped into IPv6 (::ffff:a.b.c.d) count as IPv4.
 */
#ifndef PORTEN_CORE_NETADDR_H
#define PORTEN_CORE_NETADDR_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"
#include "core/str.h"

struct net_addr {
	int family;              /* AF_INET or AF_INET6; 0: none */
	unsigned char a[16];     /* IPv4 in the first 4 bytes */
};

struct net_cidr {
	struct net_addr addr;    /* bits past the prefix are zero */
	unsigned bits;           /* prefix length */
};

#define NET_CIDRS_MAX 64
/* Longest text net_addr_format writes, with its NUL (INET6_ADDRSTRLEN). */
#define NET_ADDR_TEXT 46

struct net_cidrs {
	struct net_cidr v[NET_CIDRS_MAX];
	size_t n;
};

/*
 * A literal address: dotted IPv4 or IPv6 text, IPv6 also in brackets
 * ("[2001:db8::1]").  No host names, ports, zones or spaces: 0 or ERR_INVAL.
 */
int net_addr_parse(struct str s, struct net_addr *out);
struct sockaddr;
/* From a socket address (AF_INET, AF_INET6); ERR_INVAL for other families. */
int net_addr_from_sockaddr(const struct sockaddr *sa, struct net_addr *out);
/* As text (inet_ntop); "" for none. */
void net_addr_format(const struct net_addr *a, char out[NET_ADDR_TEXT]);

/*
 * A list of addresses and ranges ("10.0.0.0/8, 192.0.2.7 2001:db8::/32")
 * separated by commas and/or spaces; NULL or empty is the empty list.  A
 * range with bits set past its prefix, a prefix over 32 (128), an entry
 * that is no address or more than NET_CIDRS_MAX entries: ERR_INVAL with
 * e->msg naming the entry.
 */
int net_cidrs_parse(const char *list, struct net_cidrs *out, struct err *e);
/* Is a inside one of the ranges? */
bool net_cidrs_match(const struct net_cidrs *l, const struct net_addr *a);
/*
 * Is a an address that is not reachable from the internet: unspecified,
 * loopback, private (RFC 1918, RFC 4193), shared (RFC 6598), link-local,
 * multicast or reserved?  What a server must not be sent to on a URL
 * someone else registered.
 */
bool net_addr_internal(const struct net_addr *a);

#endif

/*
 * The client behind a proxy (docs/operations.md "Behind a proxy"): when a
 * connection comes from a trusted proxy (trusted_proxies), the client is
 * the right-most address in X-Forwarded-For that is not itself a trusted
 * proxy.  From anyone else the header is ignored.
 */
#ifndef PORTEN_HTTP_PROXY_H
#define PORTEN_HTTP_PROXY_H

#include "core/netaddr.h"
#include "core/str.h"

/* Entries of X-Forwarded-For looked at, from the right; the rest are ignored. */
#define HTTP_XFF_MAX_HOPS 16

/*
 * The client address of a request from peer carrying X-Forwarded-For xff
 * (all its field lines joined by commas; empty when absent).  peer itself
 * when it is not trusted.  Otherwise the entries are read from the right:
 * the first that is not trusted is the client; when every entry is
 * trusted, the left-most; when an entry is no address (garbage, a host
 * name, "unknown") or after HTTP_XFF_MAX_HOPS entries, the last trusted
 * address reached, so a forged tail never yields an address of its
 * sender's choosing.
 */
void http_forwarded_client(const struct net_cidrs *trusted, const struct net_addr *peer,
			   struct str xff, struct net_addr *out);

#endif

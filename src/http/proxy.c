/* The client behind trusted proxies (http/proxy.h). */
#include "http/proxy.h"

#include <string.h>

void
http_forwarded_client(const struct net_cidrs *trusted, const struct net_addr *peer,
		      struct str xff, struct net_addr *out)
{
	size_t end = xff.len;

	*out = *peer;
	if (trusted == NULL || trusted->n == 0 || !net_cidrs_match(trusted, peer))
		return;
	for (int hops = 0; hops < HTTP_XFF_MAX_HOPS && end > 0; hops++) {
		size_t start = end;
		struct str item;
		struct net_addr a;

		while (start > 0 && xff.p[start - 1] != ',')
			start--;
		item = (struct str){ xff.p + start, end - start };
		while (item.len > 0 && (item.p[0] == ' ' || item.p[0] == '\t')) {
			item.p++;
			item.len--;
		}
		while (item.len > 0 && (item.p[item.len - 1] == ' ' || item.p[item.len - 1] == '\t'))
			item.len--;
		if (net_addr_parse(item, &a) != 0)
			return;
		*out = a;
		if (!net_cidrs_match(trusted, &a))
			return;
		end = start > 0 ? start - 1 : 0;
	}
}

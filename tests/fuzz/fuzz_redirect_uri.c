/*
 * Fuzz target for registry/redirect.c: redirect and logout URIs arrive from
 * the self-service API and portenctl, and the runtime later matches them
 * byte for byte, so the splitter must refuse anything ambiguous.  Checks the
 * rules of spec/selfservice-api.md §6.2 as invariants, beside memory safety.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "registry/registry.h"
#include "registry/registry_int.h"

static bool
ok(const char *uri, const char *type, bool test)
{
	return reg_redirect_uri_valid(uri, type, test, NULL) == 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *uri;
	struct reg_uri u;

	if (size > REG_URI_MAX + 16)
		return 0;
	uri = malloc(size + 1);
	if (uri == NULL)
		return 0;
	memcpy(uri, data, size);
	uri[size] = '\0';

	if (reg_uri_split(uri, &u, NULL) == 0) {
		size_t n = strlen(uri);

		if (n > REG_URI_MAX || strchr(uri, '#') || strchr(uri, '*'))
			abort();
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)uri[i] <= 0x20 || (unsigned char)uri[i] >= 0x7f)
				abort();
		/* The parts lie inside the string. */
		if (u.host.len && (u.host.p < uri || u.host.p + u.host.len > uri + n))
			abort();
		if (u.has_authority && memchr(u.host.p, '@', u.host.len))
			abort();
		if (u.has_port && (u.port_num < 0 || u.port_num > 65535))
			abort();
	}
	/* TEST allows everything PROD does; native everything web does; browser = web. */
	for (int t = 0; t < 2; t++) {
		bool web = ok(uri, "web", t), browser = ok(uri, "browser", t);
		bool native = ok(uri, "native", t);

		if (web != browser || (web && !native))
			abort();
		if (t == 0 && ((web && !ok(uri, "web", true)) ||
			       (native && !ok(uri, "native", true))))
			abort();
		/* PROD web clients: https only. */
		if (t == 0 && web && strncmp(uri, "https://", 8) != 0)
			abort();
	}
	free(uri);
	return 0;
}

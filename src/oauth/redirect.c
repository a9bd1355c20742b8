/*
 * Redirect URI matching (spec/idporten-oidc.md §3): exact string comparison
 * (RFC 9700 §2.1), with one exception, the native-app loopback rule of
 * RFC 8252 §7.3.
 */
#include "oauth/oauth.h"

#include <string.h>

/* Loopback hosts a native client may register with port 0 (spec §3, design). */
static const char *const loopback_hosts[] = {
	"127.0.0.1",
	"[::1]",
	NULL,
};

#define LOOPBACK_SCHEME "http://"

/*
 * If reg is "http://<loopback>:0<rest>", return the length of the
 * "http://<loopback>" part and set *rest to what follows ":0".  The rest
 * must be empty or start with '/' or '?', so "http://127.0.0.1:08/" or
 * "http://127.0.0.1:0x" are not taken for port 0.
 */
static size_t
loopback_port0(struct str reg, const char **host, struct str *rest)
{
	size_t sl = strlen(LOOPBACK_SCHEME);

	if (!str_has_prefix(reg, LOOPBACK_SCHEME))
		return 0;
	for (size_t i = 0; loopback_hosts[i] != NULL; i++) {
		size_t hl = strlen(loopback_hosts[i]);
		size_t prefix = sl + hl;

		if (reg.len < prefix + 2 || memcmp(reg.p + sl, loopback_hosts[i], hl) != 0)
			continue;
		if (reg.p[prefix] != ':' || reg.p[prefix + 1] != '0')
			continue;
		*rest = (struct str){ reg.p + prefix + 2, reg.len - prefix - 2 };
		if (rest->len > 0 && rest->p[0] != '/' && rest->p[0] != '?')
			return 0;
		*host = loopback_hosts[i];
		return prefix;
	}
	return 0;
}

/*
 * RFC 8252 §7.3: the presented URI is "http://<same host>:<port><same rest>"
 * with a port of 1-65535 written in canonical decimal (no sign, no leading
 * zero), so nothing but the port may differ from the registration.
 */
static bool
loopback_match(struct str reg, struct str uri)
{
	const char *host = NULL;
	struct str rest = STR_NULL;
	size_t prefix = loopback_port0(reg, &host, &rest);
	size_t i, digits = 0;
	unsigned long port = 0;

	if (prefix == 0)
		return false;
	/* Scheme and host must be byte-identical: reg and uri share the prefix. */
	if (uri.len <= prefix + 1 || memcmp(uri.p, reg.p, prefix) != 0 || uri.p[prefix] != ':')
		return false;
	for (i = prefix + 1; i < uri.len && uri.p[i] >= '0' && uri.p[i] <= '9'; i++) {
		if (++digits > 5)
			return false;
		port = port * 10 + (unsigned long)(uri.p[i] - '0');
	}
	if (digits == 0 || uri.p[prefix + 1] == '0' || port < 1 || port > 65535)
		return false;
	return str_eq((struct str){ uri.p + i, uri.len - i }, rest);
}

/* Does uri match the one registration reg? */
static bool
redirect_match(struct str reg, struct str uri)
{
	const char *host = NULL;
	struct str rest = STR_NULL;

	/*
	 * A port-0 registration stands for "any port" and never for port 0
	 * itself, which no browser can reach.
	 */
	if (loopback_port0(reg, &host, &rest) != 0)
		return loopback_match(reg, uri);
	/* RFC 9700 §2.1: exact string comparison, length included (no prefix). */
	return str_eq(reg, uri);
}

bool
oauth_redirect_uri_allowed(const struct client *client, struct str uri)
{
	if (client == NULL || uri.p == NULL || uri.len == 0)
		return false;
	for (size_t i = 0; i < client->redirect_uris.n; i++)
		if (redirect_match(str_c(client->redirect_uris.v[i]), uri))
			return true;
	return false;
}

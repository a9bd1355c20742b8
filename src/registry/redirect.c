/*
 * Redirect and logout URI rules (spec/selfservice-api.md §6.2,
 * spec/idporten-oidc.md §3).  Registered URIs are later matched by exact
 * string comparison, so registration is where we refuse anything a browser
 * might read differently from us: fragments, wildcards, userinfo, spaces,
 * backslashes, non-ASCII bytes.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <libpsl.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "core/netaddr.h"
#include "registry/registry.h"
#include "registry/registry_int.h"

/* RFC 3986 §2: unreserved, gen-delims, sub-delims and '%'. */
static const char uri_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
				"-._~:/?#[]@!$&'()*+,;=%";

static bool
is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool
is_lower_alpha(char c)
{
	return c >= 'a' && c <= 'z';
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* A DNS name or IPv4 literal: dot-separated non-empty labels of [A-Za-z0-9-]. */
static bool
host_name_ok(struct str h)
{
	size_t label = 0;

	if (h.len == 0 || h.len > 253)
		return false;
	for (size_t i = 0; i < h.len; i++) {
		char c = h.p[i];

		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
			continue;
		}
		if (!(is_lower_alpha(c) || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '-'))
			return false;
		if (c == '-' && label == 0)
			return false;
		if (++label > 63)
			return false;
	}
	return label > 0;
}

/* "[...]" holding an IPv6 address inet_pton accepts. */
static bool
host_ipv6_ok(struct str h)
{
	char buf[64];
	unsigned char addr[16];

	if (h.len < 4 || h.len - 2 >= sizeof(buf) || h.p[0] != '[' || h.p[h.len - 1] != ']')
		return false;
	memcpy(buf, h.p + 1, h.len - 2);
	buf[h.len - 2] = '\0';
	return inet_pton(AF_INET6, buf, addr) == 1;
}

int
reg_uri_split(const char *s, struct reg_uri *u, struct err *e)
{
	struct str rest, auth;
	size_t n, i;

	memset(u, 0, sizeof(*u));
	if (s == NULL || s[0] == '\0')
		return ERR(e, ERR_INVAL, 400, REG_INVALID_METADATA, "empty URI");
	n = strnlen(s, REG_URI_MAX + 1);
	if (n > REG_URI_MAX)
		return ERR(e, ERR_INVAL, 400, REG_INVALID_METADATA, "URI longer than %d characters",
			   REG_URI_MAX);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= 0x20 || c >= 0x7f)
			return ERR(e, ERR_INVAL, 400, REG_INVALID_METADATA,
				   "URI contains whitespace, control or non-ASCII characters");
		if (c == '#')
			return ERR(e, ERR_INVAL, 400, REG_INVALID_METADATA,
				   "URI must not have a fragment ('#')");
		if (c == '*')
			return ERR(e, ERR_INVAL, 400, REG_INVALID_METADATA,
				   "URI must not contain wildcards ('*')");
		if (strchr(uri_chars, c) == NULL)
			return ERR(e, ERR_INVAL, 400, REG_INVALID_METADATA,
				   "URI contains the character '%c'", c);
		if (c == '%' && (i + 2 >= n || !is_hex(s[i + 1]) || !is_hex(s[i + 2])))
			return ERR(e, ERR_INVAL, 400, REG_INVALID_METADATA,
				   "URI has a malformed percent-escape");
	}

	/* RFC 3986 §3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) */
	for (i = 0; i < n && s[i] != ':'; i++) {
		char c = s[i];

		if (c >= 'A' && c <= 'Z')
			return ERR(e, ERR_INVAL, 400, REG_INVALID_METADATA,
				   "URI scheme must be lower case");
		if (!(is_lower_alpha(c) || (i > 0 && (is_digit(c) || c == '+' || c == '-' ||
						      c == '.'))))
			return ERR(e, ERR_INVAL, 400, REG_INVALID_METADATA,
				   "not an absolute URI (bad or missing scheme)");
	}
	if (i == 0 || i == n)
		return ERR(e, ERR_INVAL, 400, REG_INVALID_METADATA,
			   "not an absolute URI (missing scheme)");
	u->scheme = (struct str){ s, i };
	rest = (struct str){ s + i + 1, n - i - 1 };

	if (rest.len >= 2 && rest.p[0] == '/' && rest.p[1] == '/') {
		size_t a = 2;

		while (a < rest.len && rest.p[a] != '/' && rest.p[a] != '?')
			a++;
		auth = (struct str){ rest.p + 2, a - 2 };
		u->path = (struct str){ rest.p + a, rest.len - a };
		u->has_authority = true;
		if (memchr(auth.p, '@', auth.len) != NULL)
			return ERR(e, ERR_INVAL, 400, REG_INVALID_METADATA,
				   "URI must not carry userinfo ('@') in its authority");
		if (auth.len > 0 && auth.p[0] == '[') {
			const char *close = memchr(auth.p, ']', auth.len);
			size_t hl;

			if (close == NULL)
				return ERR(e, ERR_INVAL, 400, REG_INVALID_METADATA,
					   "URI has an unterminated IPv6 literal");
			hl = (size_t)(close - auth.p) + 1;
			u->host = (struct str){ auth.p, hl };
			if (!host_ipv6_ok(u->host))
				return ERR(e, ERR_INVAL, 400, REG_INVALID_METADATA,
					   "URI has a malformed IPv6 literal");
			auth.p += hl;
			auth.len -= hl;
			if (auth.len > 0 && auth.p[0] != ':')
				return ERR(e, ERR_INVAL, 400, REG_INVALID_METADATA,
					   "URI has a malformed authority");
		} else {
			const char *colon = memchr(auth.p, ':', auth.len);
			size_t hl = colon ? (size_t)(colon - auth.p) : auth.len;

			u->host = (struct str){ auth.p, hl };
			if (u->host.len > 0 && !host_name_ok(u->host))
				return ERR(e, ERR_INVAL, 400, REG_INVALID_METADATA,
					   "URI has a malformed host name");
			auth.p += hl;
			auth.len -= hl;
		}
		if (auth.len > 0) {
			long long port;

			/* auth now starts with ':' */
			u->port = (struct str){ auth.p + 1, auth.len - 1 };
			if (u->port.len == 0 || u->port.len > 5 ||
			    !str_only(u->port, "0123456789") ||
			    str_to_ll(u->port, 0, 65535, &port) != 0)
				return ERR(e, ERR_INVAL, 400, REG_INVALID_METADATA,
					   "URI has a malformed port");
			u->has_port = true;
			u->port_num = (int)port;
		}
	} else {
		u->path = rest;
	}
	/* '[' and ']' are legal only around an IPv6 host (RFC 3986 §3.2.2). */
	if (memchr(u->path.p, '[', u->path.len) != NULL ||
	    memchr(u->path.p, ']', u->path.len) != NULL)
		return ERR(e, ERR_INVAL, 400, REG_INVALID_METADATA,
			   "URI path or query contains '[' or ']'");
	return 0;
}

/* RFC 8252 §7.1: a private-use scheme is a reverse domain name, "no.example.app". */
static bool
scheme_reverse_domain(struct str scheme)
{
	size_t label = 0, labels = 0;

	for (size_t i = 0; i < scheme.len; i++) {
		char c = scheme.p[i];

		if (c == '.') {
			if (label == 0)
				return false;
			labels++;
			label = 0;
		} else if (is_lower_alpha(c) || is_digit(c) || c == '-') {
			label++;
		} else {
			return false;
		}
	}
	return label > 0 && labels >= 1;
}

bool
reg_uri_host_eq(struct str a, struct str b)
{
	return a.len == b.len && a.len > 0 && strncasecmp(a.p, b.p, a.len) == 0;
}

/*
 * The Public Suffix List: Debian's copy (package publicsuffix) when it is
 * newer than the one built into libpsl.  Read once, shared read-only.
 */
static const psl_ctx_t *uri_psl;
static pthread_once_t uri_psl_once = PTHREAD_ONCE_INIT;

static void
uri_psl_load(void)
{
	uri_psl = psl_latest(NULL);
}

/* host lower-cased into buf (ASCII: reg_uri_split refused anything else); false if too long. */
static bool
uri_host_lower(struct str host, char *buf, size_t size)
{
	if (host.len == 0 || host.len >= size)
		return false;
	for (size_t i = 0; i < host.len; i++)
		buf[i] = (char)tolower((unsigned char)host.p[i]);
	buf[host.len] = '\0';
	return true;
}

static bool
uri_host_is_ip(const char *h)
{
	struct in_addr a4;

	return h[0] == '[' || inet_pton(AF_INET, h, &a4) == 1;
}

bool
reg_uri_same_domain(struct str a, struct str b)
{
	char ha[256], hb[256];
	const char *ra, *rb;

	if (reg_uri_host_eq(a, b))
		return true;
	if (!uri_host_lower(a, ha, sizeof(ha)) || !uri_host_lower(b, hb, sizeof(hb)) ||
	    uri_host_is_ip(ha) || uri_host_is_ip(hb))
		return false;
	pthread_once(&uri_psl_once, uri_psl_load);
	if (uri_psl == NULL)
		return false;
	/* NULL for a public suffix itself and for names without one (localhost). */
	ra = psl_registrable_domain(uri_psl, ha);
	rb = psl_registrable_domain(uri_psl, hb);
	return ra != NULL && rb != NULL && strcmp(ra, rb) == 0;
}

bool
reg_uri_host_private(struct str host)
{
	char h[256];
	struct net_addr a;

	if (!uri_host_lower(host, h, sizeof(h)))
		return true;
	if (strcmp(h, "localhost") == 0 ||
	    (strlen(h) > 10 && strcmp(h + strlen(h) - 10, ".localhost") == 0))
		return true;
	return net_addr_parse(str_c(h), &a) == 0 && net_addr_internal(&a);
}

int
reg_redirect_uri_valid(const char *uri, const char *application_type, bool test_env,
		       struct err *e)
{
	struct reg_uri u;
	bool native, loopback_ip, localhost;
	int rc;

	if (application_type == NULL)
		application_type = "web";
	if (strcmp(application_type, "web") != 0 && strcmp(application_type, "browser") != 0 &&
	    strcmp(application_type, "native") != 0)
		return ERR(e, ERR_INVAL, 400, REG_INVALID_METADATA,
			   "application_type must be web, browser or native");
	native = strcmp(application_type, "native") == 0;
	rc = reg_uri_split(uri, &u, e);
	if (rc != 0)
		return rc;

	if (!str_eq_c(u.scheme, "http") && !str_eq_c(u.scheme, "https")) {
		/* RFC 8252 §7.1; spec §6.2 (design): native apps only. */
		if (!native)
			return ERR(e, ERR_INVAL, 400, REG_INVALID_METADATA,
				   "only native clients may use a private-use URI scheme; "
				   "use https");
		if (!scheme_reverse_domain(u.scheme))
			return ERR(e, ERR_INVAL, 400, REG_INVALID_METADATA,
				   "a private-use URI scheme must be a reverse domain name "
				   "such as no.example.app");
		if (u.path.len == 0 || u.path.p[0] != '/')
			return ERR(e, ERR_INVAL, 400, REG_INVALID_METADATA,
				   "a private-use scheme URI needs a path, "
				   "e.g. no.example.app:/cb");
		return 0;
	}
	if (!u.has_authority || u.host.len == 0)
		return ERR(e, ERR_INVAL, 400, REG_INVALID_METADATA, "URI has no host");
	if (u.path.len > 0 && u.path.p[0] != '/' && u.path.p[0] != '?')
		return ERR(e, ERR_INVAL, 400, REG_INVALID_METADATA, "URI has a malformed path");

	loopback_ip = str_eq_c(u.host, "127.0.0.1") || str_eq_c(u.host, "[::1]");
	localhost = reg_uri_host_eq(u.host, STR_LIT("localhost"));

	if (str_eq_c(u.scheme, "https")) {
		/* Spec §6.2 (design): https loopback and localhost are refused. */
		if (loopback_ip || localhost)
			return ERR(e, ERR_INVAL, 400, REG_INVALID_METADATA,
				   "loopback and localhost URIs must use http://");
		if (u.has_port && u.port_num == 0)
			return ERR(e, ERR_INVAL, 400, REG_INVALID_METADATA,
				   "port 0 is only allowed on native loopback URIs "
				   "(http://127.0.0.1:0/...)");
		return 0;
	}

	/* http */
	if (u.has_port && u.port_num == 0 && !(native && loopback_ip))
		return ERR(e, ERR_INVAL, 400, REG_INVALID_METADATA,
			   "port 0 is only allowed on native loopback URIs "
			   "(http://127.0.0.1:0/...)");
	if (loopback_ip || localhost) {
		/* RFC 8252 §7.3: loopback for native apps everywhere; TEST: for all. */
		if (native || test_env)
			return 0;
		return ERR(e, ERR_INVAL, 400, REG_INVALID_METADATA,
			   "loopback and localhost URIs are only allowed for native clients "
			   "in production");
	}
	if (test_env)
		return 0;
	return ERR(e, ERR_INVAL, 400, REG_INVALID_METADATA, "URI must use https in production");
}

/*
 * gotoUrl, the self-service pages' return link (spec/krr.md §5): an
 * absolute URL with its scheme, all lower case, registered by the
 * operator (krr_goto_urls).  An entry ending in "/" after the host covers
 * the addresses below it; any other entry only itself.  The rules are on
 * the characters as sent, with no decoding, so what is checked is what
 * the browser is sent to: no host can be slipped in by userinfo,
 * backslashes, encoded or invisible characters.
 */
#include <string.h>

#include "krr/krr_int.h"

#define KRR_GOTO_MAX 2048

/* Where the host ends (the path's "/"), or NULL when the URL has no valid form. */
static const char *
goto_form(const char *url, bool https_only)
{
	const char *host, *end;
	size_t n = strlen(url);

	if (n == 0 || n > KRR_GOTO_MAX)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)url[i];

		/* printable ASCII, lower case, none of the characters that end or bend a URL */
		if (ch <= 0x20 || ch >= 0x7f || (ch >= 'A' && ch <= 'Z') ||
		    strchr("\"<>\\^`{|}", ch) != NULL)
			return NULL;
	}
	if (strncmp(url, "https://", 8) == 0)
		host = url + 8;
	else if (!https_only && strncmp(url, "http://", 7) == 0)
		host = url + 7;
	else
		return NULL;
	end = host + strcspn(host, "/?#");
	/* a host, and no userinfo (the "@" of https://service.no@evil.example/) */
	if (end == host || memchr(host, '@', (size_t)(end - host)) != NULL)
		return NULL;
	return end;
}

static bool
goto_entry_covers(const char *entry, size_t len, const char *url)
{
	if (strlen(url) == len && strncmp(entry, url, len) == 0)
		return true;
	/* "https://tjeneste.no/" or ".../minside/": the host fixed, paths below it */
	return len > 0 && entry[len - 1] == '/' && strncmp(entry, url, len) == 0;
}

bool
krr_goto_allowed(const struct cfg *c, const char *url)
{
	const char *p = c->krr_goto_urls;
	struct str item;

	if (url == NULL || p == NULL || goto_form(url, c->env == CFG_ENV_PROD) == NULL)
		return false;
	while (str_next_item(&p, &item))
		if (goto_entry_covers(item.p, item.len, url))
			return true;
	return false;
}

int
krr_goto_list_check(const struct cfg *c, struct err *e)
{
	const char *p = c->krr_goto_urls;
	char entry[KRR_GOTO_MAX + 1];
	struct str item;

	while (str_next_item(&p, &item)) {
		size_t len = item.len;
		const char *end;

		if (len > KRR_GOTO_MAX)
			return ERR(e, ERR_INVAL, 0, NULL, "krr_goto_urls: an entry is too long");
		memcpy(entry, item.p, len);
		entry[len] = '\0';
		end = goto_form(entry, c->env == CFG_ENV_PROD);
		/* a prefix entry must fix the host: its "/" comes after it */
		if (end == NULL || (entry[len - 1] == '/' && end == entry + len))
			return ERR(e, ERR_INVAL, 0, NULL,
				   "krr_goto_urls: %s is not an absolute lower-case URL%s", entry,
				   c->env == CFG_ENV_PROD ? " with https" : "");
	}
	return 0;
}

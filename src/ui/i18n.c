/*
 * Translations are GNU gettext catalogues.  glibc chooses a catalogue by
 * the LC_MESSAGES locale of the calling thread, and a national service
 * cannot depend on nb_NO, nn_NO and se_NO locales being generated on every
 * node.  So each language is its own text domain ("porten-nb", ...), all
 * under the C.UTF-8 locale that glibc always has, and a lookup switches the
 * calling thread to that locale with uselocale() for the call only: no
 * process-wide setlocale(), no LANGUAGE variable, safe in request threads.
 */
#include "ui/i18n.h"

#include <libintl.h>
#include <limits.h>
#include <locale.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"

const char *const page_lang_names[PAGE_NLANGS][2] = {
	{ "nb", "Bokmål" }, { "nn", "Nynorsk" }, { "en", "English" }, { "se", "Davvisámegiella" },
};
static const char *const page_domains[PAGE_NLANGS] = {
	"porten-nb", "porten-nn", "porten-en", "porten-se",
};

static pthread_mutex_t page_mu = PTHREAD_MUTEX_INITIALIZER;
static char page_dir[PATH_MAX];
static bool page_ready, page_found;
static locale_t page_locale = (locale_t)0;
/* Set by ui_init() before the first request; zero (no config) until then. */
static struct ui_settings ui_settings;

void
ui_init(const struct ui_settings *s)
{
	pthread_mutex_lock(&page_mu);
	ui_settings = *s;
	pthread_mutex_unlock(&page_mu);
}

/* The directory of the running program + "/locale", or "" when unknown. */
static void
page_dir_beside_program(char *out, size_t n)
{
	char exe[PATH_MAX];
	ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	out[0] = '\0';
	if (len <= 0)
		return;
	exe[len] = '\0';
	slash = strrchr(exe, '/');
	if (slash == NULL)
		return;
	*slash = '\0';
	/* A path that does not fit is treated as unknown. */
	if (strlen(exe) + sizeof("/locale") > n)
		return;
	memcpy(out, exe, strlen(exe));
	memcpy(out + strlen(exe), "/locale", sizeof("/locale"));
}

static bool
page_dir_has_catalogues(const char *dir)
{
	char probe[PATH_MAX + 64];
	struct stat st;

	if (dir == NULL || dir[0] == '\0')
		return false;
	snprintf(probe, sizeof(probe), "%s/C.UTF-8/LC_MESSAGES/porten-nb.mo", dir);
	return stat(probe, &st) == 0 && S_ISREG(st.st_mode);
}

/* Bind the four domains to dir; caller holds page_mu. */
static void
page_bind(const char *dir)
{
	snprintf(page_dir, sizeof(page_dir), "%s", dir);
	for (size_t i = 0; i < PAGE_NLANGS; i++) {
		bindtextdomain(page_domains[i], page_dir);
		bind_textdomain_codeset(page_domains[i], "UTF-8");
	}
}

void
page_init(const char *locale_dir)
{
	char beside[PATH_MAX];
	const char *env;

	pthread_mutex_lock(&page_mu);
	if (page_locale == (locale_t)0)
		page_locale = newlocale(LC_MESSAGES_MASK, "C.UTF-8", (locale_t)0);
	/* A configured directory wins, also over an earlier guess. */
	if (locale_dir != NULL && locale_dir[0] != '\0') {
		if (!page_ready || strcmp(page_dir, locale_dir) != 0) {
			page_bind(locale_dir);
			page_found = page_dir_has_catalogues(locale_dir);
			if (!page_found)
				log_warn(NULL, "no translations in locale_dir %s: pages in English",
					 locale_dir);
		}
		page_ready = true;
		goto out;
	}
	if (page_ready)
		goto out;
	page_ready = true;
	env = getenv("PORTEN_LOCALE_DIR");
	page_dir_beside_program(beside, sizeof(beside));
	if (env != NULL && env[0] != '\0')
		page_bind(env);
#ifdef PORTEN_LOCALEDIR
	/* A copy of the program elsewhere still finds the catalogues it was built with. */
	else if (!page_dir_has_catalogues(beside) && page_dir_has_catalogues(PORTEN_LOCALEDIR))
		page_bind(PORTEN_LOCALEDIR);
#endif
	else
		page_bind(beside);
	page_found = page_dir_has_catalogues(page_dir);
	if (!page_found)
		log_warn(NULL, "no translations found in %s: pages in English",
			 page_dir[0] ? page_dir : "(unknown directory)");
out:
	pthread_mutex_unlock(&page_mu);
}

bool
page_translations_loaded(void)
{
	bool found;

	page_init(NULL);
	pthread_mutex_lock(&page_mu);
	found = page_found && page_locale != (locale_t)0;
	pthread_mutex_unlock(&page_mu);
	return found;
}

const char *
page_lang_pick(struct str list)
{
	struct str rest = list, tok;

	while (rest.len > 0) {
		str_split(rest, ' ', &tok, &rest);
		for (size_t i = 0; i < PAGE_NLANGS; i++) {
			/* "nb-NO" counts as nb; "no" as bokmål. */
			struct str base = tok, dummy;

			str_split(tok, '-', &base, &dummy);
			if (str_eq_c(base, page_lang_names[i][0]))
				return page_lang_names[i][0];
			if (str_eq_c(base, "no") || str_eq_c(base, "nob"))
				return "nb";
			if (str_eq_c(base, "nno"))
				return "nn";
			if (str_eq_c(base, "sme"))
				return "se";
		}
	}
	return NULL;
}

const char *
ui_brand(void)
{
	const char *b = ui_settings.brand ? ui_settings.brand(http_request_route_data()) : NULL;

	return b != NULL ? b : "ID-porten";
}

/* The catalogues of the configured folder (of the default one without ui_init()). */
static void
page_load(void)
{
	const char *dir;

	pthread_mutex_lock(&page_mu);
	dir = ui_settings.locale_dir;
	pthread_mutex_unlock(&page_mu);
	page_init(dir);
}

const char *
page_lang(const struct http_req *r, const char *fallback)
{
	const char *c = http_cookie(r, PAGE_LANG_COOKIE);
	const char *l = c ? page_lang_pick(str_c(c)) : NULL;

	page_load();
	if (l != NULL)
		return l;
	if (fallback != NULL && (l = page_lang_pick(str_c(fallback))) != NULL)
		return l;
	return "nb";
}

const char *
page_lang_choose(struct http_req *r, struct http_resp *w, const char *fallback)
{
	const char *pick = http_param_c(&r->query, "lang");
	const char *l = pick ? page_lang_pick(str_c(pick)) : NULL;

	if (l != NULL) {
		struct http_cookie_opts o = {
			.max_age = 365 * 86400, .path = "/", .same_site = "Lax", .http_only = true,
		};
		bool (*secure)(const struct http_req *r);

		pthread_mutex_lock(&page_mu);
		secure = ui_settings.cookie_secure;
		pthread_mutex_unlock(&page_mu);
		o.secure = secure != NULL ? secure(r) : r->tls;
		http_resp_cookie(w, PAGE_LANG_COOKIE, l, &o);
		page_load();
		return l;
	}
	return page_lang(r, fallback);
}

static int
page_lang_index(const char *lang)
{
	for (int i = 0; i < PAGE_NLANGS; i++)
		if (lang != NULL && strcmp(lang, page_lang_names[i][0]) == 0)
			return i;
	return 0;
}

/* One catalogue lookup in the calling thread; msgid itself when absent. */
static const char *
page_lookup(int idx, const char *msgid)
{
	locale_t old;
	const char *t;

	if (page_locale == (locale_t)0)
		return msgid;
	old = uselocale(page_locale);
	t = dgettext(page_domains[idx], msgid);
	uselocale(old);
	return t;
}

const char *
page_text(const char *lang, const char *msgid)
{
	int idx = page_lang_index(lang);
	const char *t;

	if (msgid == NULL || msgid[0] == '\0')
		return "";
	if (!page_ready)
		page_init(NULL);
	t = page_lookup(idx, msgid);
	/* gettext hands back msgid itself when a catalogue lacks it: bokmål is the fallback. */
	if (t == msgid && idx != 0 && idx != 2)
		t = page_lookup(0, msgid);
	return t;
}

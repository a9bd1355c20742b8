/*
 * Identity matching against the person register
 * (spec/ansattporten-eidas-testid.md §2.4): a match needs the person in the
 * register, the foreign identifier registered on them, and the country to
 * send that same identifier; (design) exactly one person must hold it.
 */
#include <string.h>

#include "core/log.h"
#include "core/natid.h"
#include "core/timeutil.h"
#include "eid/people.h"
#include "http/http.h"
#include "store/store.h"

bool
people_country_ok(struct str cc)
{
	return cc.len == 2 && cc.p[0] >= 'A' && cc.p[0] <= 'Z' && cc.p[1] >= 'A' && cc.p[1] <= 'Z';
}

/* The parts of "CC/NO/value" (§2.3); false when ident is not of that form. */
static bool
people_split(const char *ident, char country[3], const char **value)
{
	if (ident == NULL || strlen(ident) < 7 || ident[2] != '/' || ident[5] != '/')
		return false;
	if (!people_country_ok((struct str){ ident, 2 }))
		return false;
	/* The destination is Norway: an identifier meant for another country is not ours. */
	if (strncmp(ident + 3, "NO", 2) != 0)
		return false;
	memcpy(country, ident, 2);
	country[2] = '\0';
	*value = ident + 6;
	return true;
}

static const char *
people_how_name(enum people_match how)
{
	return how == PEOPLE_MATCHED ? "matched" : how == PEOPLE_AMBIGUOUS ? "ambiguous" : "unmatched";
}

/*
 * The event of one attempt: the country, the outcome, the eID, and tags
 * (app_person_tag) of the foreign identity and of the match, so the log
 * holds neither number.
 */
static int
people_event(struct http_req *r, const char *eid, const char *country, const char *ident,
	     const char *pid, enum people_match how, struct err *e)
{
	struct porten *app = r->app;
	char tag[APP_PERSON_TAG_LEN], ptag[APP_PERSON_TAG_LEN];
	json_t *ev;
	int rc;

	app_person_tag(app, ident, tag);
	if (pid != NULL)
		app_person_tag(app, pid, ptag);
	ev = json_pack("{s:s, s:s, s:s, s:s, s:s?, s:I}", "eid", eid, "country", country, "result",
		       people_how_name(how), "foreign", tag, "person", pid ? ptag : NULL, "time",
		       (json_int_t)time_now());
	if (ev == NULL)
		return ERR(e, ERR_NOMEM, 500, "server_error", "out of memory");
	rc = store_event_add_tree(app->store, "eidas_match", ev, e);
	json_decref(ev);
	return rc;
}

bool
people_pid_ok(const struct porten *app, const char *pid)
{
	const struct natid_policy pol = { .allow_2032 = app->cfg->natid_allow_2032 };

	return pid != NULL &&
	       natid_acceptable(str_c(pid), app->test_env ? NATID_CTX_TEST : NATID_CTX_PROD, &pol);
}

int
people_match_eidas(struct http_req *r, const char *eid, const char *ident, const char **pid,
		   enum people_match *how, struct err *e)
{
	struct porten *app = r->app;
	char country[3];
	const char *value;
	json_t *pids = NULL;
	size_t n;
	int rc;

	*pid = NULL;
	*how = PEOPLE_UNMATCHED;
	if (!people_split(ident, country, &value))
		return ERR(e, ERR_INVAL, 0, NULL, "the eIDAS identifier is not CC/NO/value");
	rc = store_call(app->store, people, match, country, value, &pids, e);
	if (rc != 0)
		return rc;
	n = json_array_size(pids);
	if (n == 1 && !people_pid_ok(app, json_string_value(json_array_get(pids, 0)))) {
		/* natid §4: a number that is never a pid here (an H-number, say) stays out. */
		log_warn(r->rid, "eidas match from %s: the register's number is not a pid here",
			 country);
		n = 0;
	}
	if (n == 1) {
		*pid = arena_strdup(r->arena, json_string_value(json_array_get(pids, 0)));
		*how = PEOPLE_MATCHED;
	} else if (n > 1) {
		*how = PEOPLE_AMBIGUOUS;
	}
	json_decref(pids);
	if (n == 1 && *pid == NULL)
		return ERR(e, ERR_NOMEM, 500, "server_error", "out of memory");
	log_info(r->rid, "eidas match from %s: %s", country, people_how_name(*how));
	return people_event(r, eid, country, ident, *pid, *how, e);
}

int
people_unique(struct porten *app, const char *pid, bool *unique, struct err *e)
{
	json_t *doc = NULL;
	int rc = store_call(app->store, people, get, pid, &doc, e);

	*unique = true;
	if (rc == ERR_NOTFOUND)
		return 0;
	if (rc != 0)
		return rc;
	*unique = !json_is_false(json_object_get(doc, "unique"));
	json_decref(doc);
	return 0;
}

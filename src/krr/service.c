/*
 * KRR as a service (app/service.h): its routes under the ID-porten issuer
 * (the register's own host in production; spec/krr.md §3.1, §4), its
 * scopes, made at start-up when they are missing, and `portenctl krr`.
 */
#include <string.h>

#include "core/log.h"
#include "krr/krr_int.h"
#include "registry/registry.h"
#include "store/store.h"

/* Digdir runs the register and owns the krr prefix (spec §3.3). */
#define KRR_OWNER_ORGNO "991825827"

static const struct cfg_row krr_rows[] = {
	CFG_ROW("krr_suppress_expired", CFG_BOOL, krr_suppress_expired, "false", 0, 0),
	CFG_ROW("krr_testdata_reset", CFG_INT, krr_testdata_reset, "0", 0, 31536000),
	CFG_ROW("krr_prompt", CFG_BOOL, krr_prompt, "false", 0, 0),
	CFG_ROW("krr_mail", CFG_STR, krr_mail, "file", 0, 0),
	CFG_ROW("krr_mail_file", CFG_STR, krr_mail_file, NULL, 0, 0),
	CFG_ROW("krr_smtp_url", CFG_STR, krr_smtp_url, NULL, 0, 0),
	CFG_ROW("krr_mail_from", CFG_STR, krr_mail_from, NULL, 0, 0),
	CFG_ROW("krr_code_lifetime", CFG_INT, krr_code_lifetime, "600", 60, 86400),
	CFG_ROW("krr_code_attempts", CFG_INT, krr_code_attempts, "5", 1, 20),
	CFG_ROW("krr_code_per_person", CFG_INT, krr_code_per_person, "10", 1, 1000),
	CFG_ROW("krr_code_per_recipient", CFG_INT, krr_code_per_recipient, "5", 1, 1000),
	CFG_ROW("krr_goto_urls", CFG_STR, krr_goto_urls, NULL, 0, 0),
};

static const struct cfg_section krr_cfg = {
	"krr", krr_rows, sizeof(krr_rows) / sizeof(krr_rows[0]), krr_goto_list_check,
};

static const struct service_route krr_routes[] = {
	{ "POST", "/rest/v1/personer", krr_handle_personer_v1 },
	{ "POST", "/rest/v2/personer", krr_handle_personer_v2 },
	{ "POST", "/rest/v2/krr/hentEndringer", krr_handle_changes },
	{ "GET", "/rest/v1/person", krr_handle_person },
	{ "PATCH", "/rest/v1/person", krr_handle_person },
	{ "GET", "/minprofil", krr_handle_profile },
	{ "POST", "/minprofil", krr_handle_profile_post },
	{ "GET", "/minprofil/callback", krr_handle_profile_callback },
	{ NULL, NULL, NULL },
};

/*
 * The self-service pages live on the browser host when a node serves one
 * (spec/idporten-oidc.md §1): their cookies are that host's, as the SSO
 * session is; asked for on the issuer's host they are sent there.
 */
static const struct service_side krr_sides[] = {
	{ "/minprofil", HTTP_SIDE_BROWSER },
	{ "/minprofil/callback", HTTP_SIDE_BROWSER },
	{ NULL, HTTP_SIDE_ANY },
};

struct krr_scope {
	const char *name, *description;
	bool user;  /* a person's own record: ID-porten clients, open to all */
};

static const struct krr_scope krr_scopes[] = {
	{ KRR_SCOPE_CONTACT, "KRR: contact details and notification status", false },
	{ KRR_SCOPE_POST, "KRR: digital mailbox and encryption certificate", false },
	{ KRR_SCOPE_FEED, "KRR: the change feed for holders of a local copy", false },
	{ KRR_SCOPE_USER_CONTACT, "KRR: the person's own contact details", true },
	{ KRR_SCOPE_USER_POST, "KRR: the person's own digital mailbox", true },
	{ KRR_SCOPE_USER_LANG, "KRR: change the person's preferred language", true },
};

/*
 * The organisations' scopes are closed: only those on the access list
 * (portenctl scope grant) get Maskinporten tokens for them.
 */
int
krr_scopes_ensure(struct porten *app, struct err *e)
{
	json_t *doc = NULL, *in = NULL, *out = NULL;
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < sizeof(krr_scopes) / sizeof(krr_scopes[0]); i++) {
		const struct krr_scope *s = &krr_scopes[i];

		rc = reg_scope_get(app, s->name, &doc, e);
		json_decref(doc);
		doc = NULL;
		if (rc != ERR_NOTFOUND)
			continue;
		if (s->user)
			in = json_pack("{s:s,s:s,s:[ss],s:b,s:s}", "name", s->name, "description",
				       s->description, "allowed_integration_types", "idporten",
				       "api_klient", "accessible_for_all", 1, "owner_orgno",
				       KRR_OWNER_ORGNO);
		else
			in = json_pack("{s:s,s:s,s:[ss],s:b,s:s}", "name", s->name, "description",
				       s->description, "allowed_integration_types", "maskinporten",
				       "krr", "accessible_for_all", 0, "owner_orgno",
				       KRR_OWNER_ORGNO);
		rc = in != NULL ? reg_scope_put(app, in, &out, e)
				: ERR(e, ERR_NOMEM, 0, NULL, "out of memory");
		if (rc == 0)
			log_info(NULL, "krr: scope %s created", s->name);
		json_decref(in);
		json_decref(out);
		in = out = NULL;
	}
	return rc;
}

int
krr_person_load(struct porten *app, const char *pid, struct krr_person *p, struct err *e)
{
	return store_call(app->store, krr, person_get, pid, p, e);
}

int
krr_person_save(struct porten *app, const struct krr_person *p, const char *who,
		const char *what, struct err *e)
{
	json_t *doc = krr_person_encode(p), *hist = NULL;
	int64_t change = 0, prev = 0;
	int rc;

	/* the history keeps who changed what, and the record as it became */
	if (doc != NULL)
		hist = json_pack("{s:s,s:s,s:O}", "who", who, "what", what, "record", doc);
	if (doc == NULL || hist == NULL)
		rc = ERR(e, ERR_NOMEM, 0, NULL, "out of memory");
	else
		rc = store_call(app->store, krr, person_put, p, hist, krr_now_ms(), 0, &change,
				&prev, e);
	json_decref(doc);
	json_decref(hist);
	return rc;
}

/* When the test persons were last written by this process (ms); 0: not yet. */
static _Atomic int64_t krr_testdata_at;

/* spec §7 (design): the test persons are reset every krr_testdata_reset seconds, in test only. */
static void
krr_testdata_tick(struct porten *app)
{
	struct err e = { 0 };
	int64_t now = krr_now_ms(), every = app->cfg->krr_testdata_reset * 1000;
	int n = 0;

	if (app->cfg->env != CFG_ENV_TEST || every <= 0 || (krr_testdata_at != 0 &&
							    now - krr_testdata_at < every))
		return;
	krr_testdata_at = now;
	if (krr_testdata_write(app, &n, &e) != 0)
		log_warn(NULL, "krr: cannot reset the test persons: %s", e.msg);
	else
		log_info(NULL, "krr: %d test persons reset", n);
}

static int
krr_init(struct porten *app, struct err *e)
{
	int rc = krr_scopes_ensure(app, e);

	if (rc == 0)
		rc = krr_pages_init(app, e);
	if (rc == 0)
		krr_testdata_tick(app);
	return rc;
}

/*
 * A number MinID has just confirmed (activation, its account page) is the
 * person's number in the register too (spec/minid.md: creating a MinID
 * creates or updates the person in KRR), updated and verified now.
 */
static void
krr_contact_changed(struct porten *app, const struct service_contact *c)
{
	struct err e = { 0 };
	const char *who = strcmp(c->origin, "eid") == 0 ? "minid" : c->origin;

	if (krr_contact_set(app, c->pid,
			    c->channel == SERVICE_CONTACT_EMAIL ? KRR_CODE_EMAIL : KRR_CODE_MOBILE,
			    c->value, who, &e) != 0)
		log_warn(c->rid, "krr: a contact detail from %s was not stored: %s", who, e.msg);
}

static const struct cli_command krr_commands[] = {
	{ "krr", krr_cmd, krr_cmd_usage },
	{ NULL, NULL, NULL },
};

/* spec §6: the 90-day prompt, in ID-porten logins only. */
static const struct login_step *const krr_steps[] = {
	&krr_prompt_step,
	NULL,
};

const struct porten_service krr_service = {
	.name = "krr",
	.issuer_kinds = SERVICE_ISSUER(ISSUER_IDPORTEN),
	.cfg = &krr_cfg,
	.routes = krr_routes,
	.steps = krr_steps,
	.sides = krr_sides,
	.commands = krr_commands,
	.init = krr_init,
	.tick = krr_testdata_tick,
	.contact_changed = krr_contact_changed,
};

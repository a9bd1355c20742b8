/*
 * The eIDs as a service (app/service.h): TestID's and MinID's settings
 * (MinID's SMS gateway among them), the upstream eIDs' file (read at
 * start-up into the eID list) and portenctl's minid and person commands.  The
 * providers' pages are mounted by the login core, behind its door
 * (eid/eid.h).
 */
#include "eid/eid.h"

#include "app/service.h"
#include "eid/minid/minid.h"
#include "eid/people.h"
#include "eid/upstream/upstream.h"
#include "eid/wallet/wallet.h"

static const struct cfg_row eid_rows[] = {
	CFG_ROW("testid_accept_real", CFG_BOOL, testid_accept_real, "false", 0, 0),
	/* MinID (spec/minid.md §3-§8) and its SMS gateway. */
	CFG_ROW("minid_argon_ops", CFG_INT, minid_argon_ops, "2", 1, 20),
	CFG_ROW("minid_argon_mem_kib", CFG_INT, minid_argon_mem_kib, "19456", 8192, 4194304),
	CFG_ROW("minid_lock_failures", CFG_INT, minid_lock_failures, "5", 1, 100),
	CFG_ROW("minid_lock_seconds", CFG_INT, minid_lock_seconds, "3600", 1, 30 * 86400),
	CFG_ROW("minid_lock_window", CFG_INT, minid_lock_window, "86400", 60, 365 * 86400LL),
	CFG_ROW("minid_lock_max", CFG_INT, minid_lock_max, "3", 1, 100),
	CFG_ROW("minid_otc_lifetime", CFG_INT, minid_otc_lifetime, "300", 30, 3600),
	CFG_ROW("minid_otc_attempts", CFG_INT, minid_otc_attempts, "5", 1, 20),
	CFG_ROW("minid_otc_resends", CFG_INT, minid_otc_resends, "3", 0, 20),
	CFG_ROW("minid_otc_per_hour", CFG_INT, minid_otc_per_hour, "10", 1, 1000),
	CFG_ROW("minid_rate_per_min", CFG_INT, minid_rate_per_min, "30", 0, 100000),
	CFG_ROW("minid_activation_lifetime", CFG_INT, minid_activation_lifetime, "2592000", 600,
		365 * 86400LL),
	CFG_ROW("minid_min_age", CFG_INT, minid_min_age, "13", 0, 120),
	CFG_ROW("minid_unique_identity", CFG_BOOL, minid_unique_identity, "true", 0, 0),
	CFG_ROW("minid_static_otc", CFG_BOOL, minid_static_otc, "true", 0, 0),
	CFG_ROW("sms_gateway", CFG_STR, sms_gateway, "file", 0, 0),
	CFG_ROW("sms_file", CFG_STR, sms_file, NULL, 0, 0),
	CFG_ROW("sms_url", CFG_STR, sms_url, NULL, 0, 0),
	CFG_ROW("sms_template", CFG_STR, sms_template,
		"{\"to\":\"{to}\",\"from\":\"{sender}\",\"message\":\"{text}\"}", 0, 0),
	CFG_ROW("sms_content_type", CFG_STR, sms_content_type, "application/json", 0, 0),
	CFG_ROW("sms_auth_file", CFG_STR, sms_auth_file, NULL, 0, 0),
	CFG_ROW("sms_sender", CFG_STR, sms_sender, "ID-porten", 0, 0),
	CFG_ROW("sms_timeout", CFG_INT, sms_timeout, "10", 1, 120),
	/* Upstream OIDC eIDs (eid/upstream/): BankID, Buypass, Commfides. */
	CFG_ROW("upstream_eids", CFG_STR, upstream_eids, NULL, 0, 0),
	CFG_ROW("upstream_timeout", CFG_INT, upstream_timeout, "10", 1, 60),
	CFG_ROW("upstream_cache", CFG_INT, upstream_cache, "3600", 0, 86400),
	CFG_ROW("upstream_retry", CFG_INT, upstream_retry, "30", 0, 3600),
	/* The EU wallet (eid/wallet/). */
	CFG_ROW("wallet_key_file", CFG_STR, wallet_key_file, NULL, 0, 0),
	CFG_ROW("wallet_cert_file", CFG_STR, wallet_cert_file, NULL, 0, 0),
	CFG_ROW("wallet_anchors_no", CFG_STR, wallet_anchors_no, NULL, 0, 0),
	CFG_ROW("wallet_anchors", CFG_STR, wallet_anchors, NULL, 0, 0),
	CFG_ROW("wallet_scheme", CFG_STR, wallet_scheme, "openid4vp://", 0, 0),
	CFG_ROW("wallet_qr", CFG_BOOL, wallet_qr, "true", 0, 0),
	CFG_ROW("wallet_vc_typ", CFG_BOOL, wallet_vc_typ, "false", 0, 0),
};

static const struct cfg_section eid_cfg = {
	"eid", eid_rows, sizeof(eid_rows) / sizeof(eid_rows[0]), NULL,
};

static const struct cli_command eid_commands[] = {
	{ "minid", minid_cmd, minid_cmd_usage },
	{ "person", people_cmd, people_cmd_usage },
	{ NULL, NULL, NULL },
};

/* portend --check-config: the upstream eIDs' file reads (keys and secrets included). */
static int
eid_check(const struct cfg *c, struct err *e)
{
	int rc = upstream_load(c, true, e);

	upstream_unload();
	if (rc == 0)
		rc = wallet_load(c, true, e);
	wallet_unload();
	return rc;
}

/* The upstream eIDs join the list before the routes are built. */
static int
eid_init(struct porten *app, struct err *e)
{
	int rc = upstream_load(app->cfg, app->test_env, e);

	return rc == 0 ? wallet_load(app->cfg, false, e) : rc;
}

static void
eid_close(struct porten *app)
{
	(void)app;
	upstream_unload();
	wallet_unload();
}

const struct porten_service eid_service = {
	.name = "eid",
	.cfg = &eid_cfg,
	.commands = eid_commands,
	.check = eid_check,
	.init = eid_init,
	.contact_changed = minid_contact_changed,
	.close = eid_close,
};

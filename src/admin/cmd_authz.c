/*
 * portenctl authorization list|revoke|revokelist: the operator's twins of
 * the authorizations API and the revocation list (spec/selfservice-api.md
 * §10), through the same functions (adm_authz_find, adm_authz_revoke,
 * adm_revokelist).  The operator acts for an organisation with --orgno,
 * or for none, seeing and revoking every authorization.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "admin/admin_int.h"
#include "core/natid.h"
#include "core/str.h"

enum { OPT_ORGNO = 1, OPT_PROVIDER, OPT_ALL, OPT_VISIBILITY, OPT_PID };

void
adm_cmd_authz_usage(FILE *f)
{
	fputs("  authorization list PID [--orgno ORGNO [--provider]] [--all] [--visibility V]\n"
	      "       (a person's authorizations: to ORGNO's clients, with --provider those\n"
	      "        holding its scopes, else every one; --all: not only those needing\n"
	      "        consent; V PUBLIC or PRIVATE)\n"
	      "  authorization revoke [--orgno ORGNO] [--pid PID] [--] ID\n"
	      "       (end an authorization, its refresh and stored access tokens at once;\n"
	      "        an ID that begins with \"-\" goes after \"--\")\n"
	      "  authorization revokelist CLIENT_ID   the client's revoked, unexpired access tokens\n",
	      f);
}

/* The options; the rest of argv from *first. */
struct authz_opts {
	const char *orgno, *pid;
	struct adm_authz_filter f;
};

static int
read_opts(int argc, char **argv, struct authz_opts *o, int *first)
{
	static const struct option opts[] = {
		{ "orgno", required_argument, NULL, OPT_ORGNO },
		{ "provider", no_argument, NULL, OPT_PROVIDER },
		{ "all", no_argument, NULL, OPT_ALL },
		{ "visibility", required_argument, NULL, OPT_VISIBILITY },
		{ "pid", required_argument, NULL, OPT_PID },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	memset(o, 0, sizeof(*o));
	o->f.consent_only = true;
	optind = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case OPT_ORGNO: o->orgno = optarg; break;
		case OPT_PROVIDER: o->f.provider = true; break;
		case OPT_ALL: o->f.consent_only = false; break;
		case OPT_VISIBILITY: o->f.visibility = optarg; break;
		case OPT_PID: o->pid = optarg; break;
		default: return cli_usage_error("authorization %s: unknown option or missing value",
						argv[0]);
		}
	}
	if (o->orgno != NULL && !orgno_valid_c(o->orgno))
		return cli_usage_error("--orgno must be an organisation number");
	if (o->f.provider && o->orgno == NULL)
		return cli_usage_error("--provider needs --orgno");
	if (o->f.visibility != NULL && strcmp(o->f.visibility, "PUBLIC") != 0 &&
	    strcmp(o->f.visibility, "PRIVATE") != 0)
		return cli_usage_error("--visibility must be PUBLIC or PRIVATE");
	*first = optind;
	return CLI_OK;
}

static bool
pid_ok(const char *pid)
{
	struct natid_info info;

	return pid != NULL && natid_parse(str_c(pid), true, &info) == NATID_OK;
}

/* Open the store, run the operation, print what it gave. */
static int
authz_run(struct cli *c, const char *sub, const char *arg, const struct authz_opts *o)
{
	struct arena *a = arena_new();
	struct err e = { 0 };
	json_t *out = NULL;
	int rc, status = cli_open(c);

	if (status != CLI_OK || a == NULL) {
		arena_free(a);
		return status != CLI_OK ? status : CLI_STORE;
	}
	if (strcmp(sub, "list") == 0)
		rc = adm_authz_find(&c->app, a, arg, o->orgno, &o->f, &out, &e);
	else if (strcmp(sub, "revoke") == 0)
		rc = adm_authz_revoke(&c->app, a, o->pid, o->orgno, arg, &e);
	else
		rc = adm_revokelist(&c->app, arg, &out, &e);
	arena_free(a);
	if (rc != 0)
		return cli_fail(rc, &e);
	if (out != NULL)
		cli_print_json(c, out);
	else
		cli_print_result(c, NULL, "revoked");
	json_decref(out);
	return CLI_OK;
}

int
adm_cmd_authz(struct cli *c, int argc, char **argv)
{
	const char *sub = argv[0];
	struct authz_opts o;
	int first = 0, status;

	if (strcmp(sub, "list") != 0 && strcmp(sub, "revoke") != 0 &&
	    strcmp(sub, "revokelist") != 0)
		return cli_usage_error("authorization list|revoke|revokelist ...");
	status = read_opts(argc, argv, &o, &first);
	if (status != CLI_OK)
		return status;
	if (argc - first != 1)
		return cli_usage_error("authorization %s takes one %s", sub,
				       strcmp(sub, "list") == 0     ? "PID"
				       : strcmp(sub, "revoke") == 0 ? "ID"
								    : "CLIENT_ID");
	if (strcmp(sub, "list") == 0 && !pid_ok(argv[first]))
		return cli_usage_error("PID must be a national identity number");
	if (o.pid != NULL && (strcmp(sub, "revoke") != 0 || !pid_ok(o.pid)))
		return cli_usage_error("--pid goes with revoke and must be a national identity number");
	if (strcmp(sub, "list") != 0 && (o.f.provider || !o.f.consent_only || o.f.visibility))
		return cli_usage_error("--provider, --all and --visibility go with list");
	if (strcmp(sub, "revokelist") == 0 && o.orgno != NULL)
		return cli_usage_error("revokelist takes no --orgno");
	return authz_run(c, sub, argv[first], &o);
}

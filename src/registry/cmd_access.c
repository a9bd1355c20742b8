/*
 * portenctl scope grant|revoke|access (spec/maskinporten.md §8.3): who may
 * use a scope, through the registry like the self-service API.
 */
#include <stdio.h>
#include <string.h>

#include "registry/cmd_int.h"
#include "registry/registry.h"

void
reg_cmd_access_usage(FILE *f)
{
	fputs("  scope grant NAME ORGNO    give an organisation access to a scope\n"
	      "  scope revoke NAME ORGNO   take it away (the record is kept, inactive)\n"
	      "  scope access NAME [--all] the scope's access list (--all: revoked too)\n",
	      f);
}

static void
print_access(struct cli *c, const json_t *list)
{
	size_t i;
	json_t *r;

	fprintf(c->out, "%-40s %-10s %-7s %-20s\n", "SCOPE", "CONSUMER", "ACTIVE", "UPDATED");
	json_array_foreach(list, i, r)
		fprintf(c->out, "%-40s %-10s %-7s %-20s\n",
			json_string_value(json_object_get(r, "scope")),
			json_string_value(json_object_get(r, "consumer_orgno")),
			json_is_true(json_object_get(r, "active")) ? "yes" : "no",
			json_string_value(json_object_get(r, "last_updated")));
	if (json_array_size(list) == 0)
		fprintf(c->out, "(nobody has access)\n");
}

int
reg_cmd_access(struct cli *c, int argc, char **argv)
{
	const char *sub = argv[0];
	json_t *res = NULL;
	struct err e = { 0 };
	int rc, status;
	bool all = false;

	if (strcmp(sub, "access") == 0) {
		if (argc == 3 && strcmp(argv[2], "--all") == 0)
			all = true;
		else if (argc != 2)
			return cli_usage_error("scope access NAME [--all]");
	} else if (argc != 3) {
		return cli_usage_error("scope %s NAME ORGNO", sub);
	}
	status = cli_open(c);
	if (status != CLI_OK)
		return status;
	if (strcmp(sub, "grant") == 0)
		rc = reg_scope_access_grant_as(&c->app, &reg_operator, argv[1], argv[2], &res, &e);
	else if (strcmp(sub, "revoke") == 0)
		rc = reg_scope_access_revoke_as(&c->app, &reg_operator, argv[1], argv[2], NULL,
						&e);
	else
		rc = reg_scope_access_list(&c->app, argv[1], all, &res, &e);
	if (rc != 0)
		return cli_fail(rc, &e);
	if (strcmp(sub, "access") == 0 && !c->json)
		print_access(c, res);
	else
		cli_print_result(c, res, "access revoked");
	json_decref(res);
	return CLI_OK;
}

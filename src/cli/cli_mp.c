/*
 * portenctl for Maskinporten (spec/maskinporten.md §8.3, §9): who may use
 * a scope (scope grant|revoke|access) and who acts for whom
 * (delegation add|list|remove), through the registry like the
 * self-service API.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "registry/registry.h"

void
cli_mp_usage(FILE *f)
{
	fputs("  scope grant NAME ORGNO    give an organisation access to a scope\n"
	      "  scope revoke NAME ORGNO   take it away (the record is kept, inactive)\n"
	      "  scope access NAME [--all] the scope's access list (--all: revoked too)\n"
	      "  delegation add --scope NAME --consumer ORGNO --supplier ORGNO\n"
	      "                            the consumer lets the supplier's clients act for it\n"
	      "                            (the scope needs --delegation-source)\n"
	      "  delegation list [--scope NAME]\n"
	      "  delegation remove --scope NAME --consumer ORGNO --supplier ORGNO\n",
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

static void
print_delegations(struct cli *c, const json_t *list)
{
	size_t i;
	json_t *r;

	fprintf(c->out, "%-40s %-10s %-10s %-20s\n", "SCOPE", "CONSUMER", "SUPPLIER", "CREATED");
	json_array_foreach(list, i, r)
		fprintf(c->out, "%-40s %-10s %-10s %-20s\n",
			json_string_value(json_object_get(r, "scope")),
			json_string_value(json_object_get(r, "consumer_orgno")),
			json_string_value(json_object_get(r, "supplier_orgno")),
			json_string_value(json_object_get(r, "created")));
	if (json_array_size(list) == 0)
		fprintf(c->out, "(no delegations)\n");
}

/* Print a result: JSON, or its fields, or a one-line confirmation. */
static void
print_result(struct cli *c, const json_t *obj, const char *done)
{
	if (c->json) {
		json_t *ok = obj != NULL ? NULL : json_pack("{s:b}", "ok", 1);

		cli_print_json(c, obj != NULL ? obj : ok);
		json_decref(ok);
	} else if (obj != NULL) {
		cli_print_fields(c, obj, NULL);
	} else {
		fprintf(c->out, "%s\n", done);
	}
}

int
cli_mp_scope(struct cli *c, int argc, char **argv)
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
		rc = reg_scope_access_grant(&c->app, argv[1], argv[2], &res, &e);
	else if (strcmp(sub, "revoke") == 0)
		rc = reg_scope_access_revoke(&c->app, argv[1], argv[2], &e);
	else
		rc = reg_scope_access_list(&c->app, argv[1], all, &res, &e);
	if (rc != 0)
		return cli_fail(rc, &e);
	if (strcmp(sub, "access") == 0 && !c->json)
		print_access(c, res);
	else
		print_result(c, res, "access revoked");
	json_decref(res);
	return CLI_OK;
}

int
cli_delegation(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "scope", required_argument, NULL, 's' },
		{ "consumer", required_argument, NULL, 'c' },
		{ "supplier", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sub = argv[0], *scope = NULL, *consumer = NULL, *supplier = NULL;
	json_t *res = NULL;
	struct err e = { 0 };
	int ch, rc, status;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 's': scope = optarg; break;
		case 'c': consumer = optarg; break;
		case 'p': supplier = optarg; break;
		default:
			return cli_usage_error("delegation %s: unknown option or missing value: %s",
					       sub, argv[optind - 1]);
		}
	}
	if (optind != argc)
		return cli_usage_error("delegation %s takes options only", sub);
	if (strcmp(sub, "list") == 0) {
		if (consumer != NULL || supplier != NULL)
			return cli_usage_error("delegation list [--scope NAME]");
	} else if (strcmp(sub, "add") == 0 || strcmp(sub, "remove") == 0) {
		if (scope == NULL || consumer == NULL || supplier == NULL)
			return cli_usage_error("delegation %s --scope NAME --consumer ORGNO "
					       "--supplier ORGNO", sub);
	} else {
		return cli_usage_error("unknown command 'delegation %s'", sub);
	}
	status = cli_open(c);
	if (status != CLI_OK)
		return status;
	if (strcmp(sub, "add") == 0)
		rc = reg_delegation_add(&c->app, scope, consumer, supplier, &res, &e);
	else if (strcmp(sub, "remove") == 0)
		rc = reg_delegation_remove(&c->app, scope, consumer, supplier, &e);
	else
		rc = reg_delegation_list(&c->app, scope, &res, &e);
	if (rc != 0)
		return cli_fail(rc, &e);
	if (strcmp(sub, "list") == 0 && !c->json)
		print_delegations(c, res);
	else
		print_result(c, res, "delegation removed");
	json_decref(res);
	return CLI_OK;
}

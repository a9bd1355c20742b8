/*
 * portenctl delegation add|list|remove (spec/maskinporten.md §9): who acts
 * for whom, through the registry like the self-service API.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "app/cli.h"
#include "maskinporten/mp_int.h"
#include "registry/registry.h"

void
mp_cmd_delegation_usage(FILE *f)
{
	fputs("  delegation add --scope NAME --consumer ORGNO --supplier ORGNO\n"
	      "                            the consumer lets the supplier's clients act for it\n"
	      "                            (the scope needs --delegation-source)\n"
	      "  delegation list [--scope NAME]\n"
	      "  delegation remove --scope NAME --consumer ORGNO --supplier ORGNO\n",
	      f);
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

int
mp_cmd_delegation(struct cli *c, int argc, char **argv)
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
		cli_print_result(c, res, "delegation removed");
	json_decref(res);
	return CLI_OK;
}

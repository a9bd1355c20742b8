/* portenctl audit ...: the registry's audit trail (registry/audit.c). */
#include <stdio.h>
#include <string.h>

#include "core/str.h"
#include "registry/cmd_int.h"
#include "registry/registry.h"

void
reg_cmd_audit_usage(FILE *f)
{
	fputs("  audit org ORGNO | id ID | actor ORGNO|operator [LIMIT]\n"
	      "       (changes to clients, keys, onbehalfof, scopes, access and prefixes,\n"
	      "        newest first; LIMIT 1-1000, default 100)\n",
	      f);
}

int
reg_cmd_audit(struct cli *c, int argc, char **argv)
{
	static const char *const keys[][2] = { { "org", "orgno" }, { "id", "id" },
					       { "actor", "actor" } };
	const char *key = NULL;
	long long limit = 100;
	struct err e = { 0 };
	json_t *list = NULL;
	int rc, status;

	for (size_t i = 0; i < 3; i++)
		if (strcmp(argv[0], keys[i][0]) == 0)
			key = keys[i][1];
	if (key == NULL || argc < 2 || argc > 3 ||
	    (argc == 3 && str_to_ll(str_c(argv[2]), 1, 1000, &limit) != 0))
		return cli_usage_error("audit org ORGNO | id ID | actor ORGNO|operator [LIMIT]");
	status = cli_open(c);
	if (status != CLI_OK)
		return status;
	rc = reg_audit_list(&c->app, key, argv[1], limit, &list, &e);
	if (rc != 0)
		return cli_fail(rc, &e);
	cli_print_json(c, list);
	json_decref(list);
	return CLI_OK;
}

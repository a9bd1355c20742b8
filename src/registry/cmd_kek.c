/* portenctl kek rotate: every stored signing key sealed anew under a new key-encryption key. */
#include <stdio.h>
#include <string.h>

#include "registry/cmd_int.h"
#include "registry/registry.h"

void
reg_cmd_kek_usage(FILE *f)
{
	fputs("  kek rotate        (with kek = the new KEK, kek_previous = the current one)\n", f);
}

int
reg_cmd_kek(struct cli *c, int argc, char **argv)
{
	struct err e = { 0 };
	size_t resealed = 0, current = 0, n, m;
	json_t *out = NULL;
	int status, rc;

	if (argc != 1 || strcmp(argv[0], "rotate") != 0)
		return cli_usage_error("kek: expected 'kek rotate'");
	status = cli_open(c);
	if (status != CLI_OK)
		return status;
	out = json_array();
	for (int i = 0; i < c->app.nissuers; i++) {
		const struct issuer *is = &c->app.issuers[i];

		rc = reg_keys_reseal(&c->app, is, &n, &m, &e);
		if (rc != 0) {
			json_decref(out);
			return cli_fail(rc, &e);
		}
		resealed += n;
		current += m;
		json_array_append_new(out, json_pack("{s:s, s:I, s:I}", "issuer", is->iss,
						     "resealed", (json_int_t)n, "current",
						     (json_int_t)m));
	}
	if (c->json)
		cli_print_json(c, out);
	else
		fprintf(c->out, "%zu signing keys sealed anew under the new KEK, %zu already under "
				"it; nodes may now drop kek_previous\n", resealed, current);
	json_decref(out);
	return CLI_OK;
}

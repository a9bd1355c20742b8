/* portenctl keys list|rotate|withdraw: an issuer's signing keys. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry/cmd_int.h"
#include "registry/registry.h"

void
reg_cmd_keys_usage(FILE *f)
{
	fputs("  keys list [--issuer idporten|maskinporten|ansattporten]\n"
	      "  keys rotate [--issuer idporten|maskinporten|ansattporten]\n"
	      "  keys withdraw KID [--issuer idporten|maskinporten|ansattporten]\n",
	      f);
}

/* keys withdraw: a compromised key out of the JWKS and out of signing at once. */
static int
keys_withdraw(struct cli *c, struct issuer *is, const char *kid)
{
	struct err e = { 0 };
	char *next = NULL;
	int rc;

	rc = reg_keys_withdraw(&c->app, is, kid, &next, &e);
	if (rc != 0)
		return cli_fail(rc, &e);
	if (c->json) {
		json_t *o = json_pack("{s:s, s:s, s:o}", "issuer", is->iss, "withdrawn", kid,
				      "signing_key", next ? json_string(next) : json_null());

		cli_print_json(c, o);
		json_decref(o);
	} else {
		fprintf(c->out, "key %s withdrawn from %s: gone from the JWKS and no longer "
				"signing on any node within 5 s\n", kid, is->iss);
		if (next != NULL)
			fprintf(c->out, "new signing key %s signs at once\n", next);
	}
	free(next);
	return CLI_OK;
}

int
reg_cmd_keys(struct cli *c, int argc, char **argv)
{
	struct issuer *is;
	struct err e = { 0 };
	json_t *list = NULL;
	char *kid = NULL;
	size_t i;
	json_t *k;
	int rc, status;

	enum issuer_kind kind = ISSUER_IDPORTEN;
	const char *kid_arg = NULL;
	bool withdraw = argc >= 1 && strcmp(argv[0], "withdraw") == 0;

	/* keys list|rotate [--issuer idporten|maskinporten|ansattporten]; keys withdraw KID [--issuer ...] */
	if (withdraw && argc >= 2) {
		kid_arg = argv[1];
		argv++;
		argc--;
	}
	if (argc == 3 && strcmp(argv[1], "--issuer") == 0) {
		if (app_issuer_kind_parse(argv[2], &kind) != 0)
			return cli_usage_error("keys: --issuer is idporten, maskinporten or "
					       "ansattporten");
		argc = 1;
	}
	if (withdraw && (kid_arg == NULL || argc != 1 || kid_arg[0] == '\0' ||
			 strlen(kid_arg) > 128))
		return cli_usage_error("keys: expected 'keys withdraw KID [--issuer "
				       "idporten|maskinporten|ansattporten]'");
	if (argc != 1 || (!withdraw && strcmp(argv[0], "list") != 0 &&
			  strcmp(argv[0], "rotate") != 0))
		return cli_usage_error("keys: expected 'keys list|rotate|withdraw [KID] [--issuer "
				       "idporten|maskinporten|ansattporten]'");
	status = cli_open(c);
	if (status != CLI_OK)
		return status;
	is = app_issuer(&c->app, kind);
	if (is == NULL) {
		fprintf(stderr, "portenctl: that issuer is not configured\n");
		return CLI_USAGE;
	}
	if (withdraw)
		return keys_withdraw(c, is, kid_arg);
	if (strcmp(argv[0], "rotate") == 0) {
		rc = reg_keys_rotate(&c->app, is, &kid, &e);
		if (rc != 0)
			return cli_fail(rc, &e);
		if (c->json) {
			json_t *o = json_pack("{s:s, s:s, s:I}", "issuer", is->iss, "kid", kid,
					      "key_publish_delay",
					      (json_int_t)c->cfg.key_publish_delay);

			cli_print_json(c, o);
			json_decref(o);
		} else {
			fprintf(c->out, "new signing key %s for %s: published now, signs after "
					"%lld s (unless it is the first key)\n",
				kid, is->iss, (long long)c->cfg.key_publish_delay);
		}
		free(kid);
		return CLI_OK;
	}
	rc = reg_keys_list(&c->app, is, &list, &e);
	if (rc != 0)
		return cli_fail(rc, &e);
	if (c->json) {
		cli_print_json(c, list);
	} else {
		fprintf(c->out, "%-24s %-9s %-20s %-20s %-20s\n", "KID", "STATE", "ACTIVE_FROM",
			"RETIRED_AT", "EXPIRES_AT");
		json_array_foreach(list, i, k) {
			const char *ra = json_string_value(json_object_get(k, "retired_at"));
			const char *ea = json_string_value(json_object_get(k, "expires_at"));

			fprintf(c->out, "%-24s %-9s %-20s %-20s %-20s\n",
				json_string_value(json_object_get(k, "kid")),
				json_string_value(json_object_get(k, "state")),
				json_string_value(json_object_get(k, "active_from")),
				ra ? ra : "-", ea ? ea : "-");
		}
		if (json_array_size(list) == 0)
			fprintf(c->out, "(no keys: portend creates the first one at start)\n");
	}
	json_decref(list);
	return CLI_OK;
}

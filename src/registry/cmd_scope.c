/*
 * portenctl scope ...: the scope registry (create, update, list, show);
 * grant, revoke and access go to the access lists (cmd_access.c).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/str.h"
#include "registry/cmd_int.h"
#include "registry/registry.h"

void
reg_cmd_scope_usage(FILE *f)
{
	fputs("  scope create --name PREFIX:SUBSCOPE --description D [--long-description D]\n"
	      "       [--token-type SELF_CONTAINED|OPAQUE] [--visibility PUBLIC|PRIVATE|INTERNAL]\n"
	      "       [--requires-pseudonymous-tokens] [--requires-user-authentication]\n"
	      "       [--requires-user-consent] [--accessible-for-all] [--inactive]\n"
	      "       [--allowed-integration-type T]... [--enforced-aud-for-introspection ID]...\n"
	      "       [--at-max-age N] [--authorization-max-age N] [--owner-orgno N]\n"
	      "       [--delegation-source URI]\n"
	      "  scope update NAME [same options as create; booleans take =true|=false]\n"
	      "  scope list\n"
	      "  scope show NAME\n"
	      "  scope prefix assign PREFIX ORGNO   (the organisation manages scopes under it)\n"
	      "  scope prefix list\n",
	      f);
	reg_cmd_access_usage(f);
}

enum {
	OPT_NAME = 256, OPT_DESCRIPTION, OPT_LONG_DESCRIPTION, OPT_TOKEN_TYPE, OPT_VISIBILITY,
	OPT_PSEUDO, OPT_USER_AUTH, OPT_USER_CONSENT, OPT_ALL, OPT_INACTIVE, OPT_TYPE, OPT_AUD,
	OPT_AT_MAX, OPT_AUTHZ_MAX, OPT_OWNER, OPT_DELEGATION_SOURCE,
};

static const char *const scope_order[] = {
	"name", "description", "active", "token_type", "visibility", "allowed_integration_types",
	"accessible_for_all", "requires_user_consent", "requires_user_authentication",
	"requires_pseudonymous_tokens", "at_max_age", "authorization_max_age",
	"enforced_aud_for_introspection", "owner_orgno", NULL,
};

/* --flag or --flag=true|false. */
static int
parse_bool(const char *name, const char *arg, bool *out)
{
	if (arg == NULL || strcmp(arg, "true") == 0 || strcmp(arg, "yes") == 0 ||
	    strcmp(arg, "1") == 0)
		*out = true;
	else if (strcmp(arg, "false") == 0 || strcmp(arg, "no") == 0 || strcmp(arg, "0") == 0)
		*out = false;
	else
		return cli_usage_error("--%s takes true or false, not '%s'", name, arg);
	return 0;
}

static int
parse_int(const char *name, const char *arg, json_int_t *out)
{
	long long v;

	if (str_to_ll(str_c(arg), -(1LL << 53), 1LL << 53, &v) != 0)
		return cli_usage_error("--%s needs a whole number, not '%s'", name, arg);
	*out = (json_int_t)v;
	return 0;
}

static int
append_to(json_t *set, const char *field, const char *value)
{
	json_t *arr = json_object_get(set, field);

	if (arr == NULL) {
		arr = json_array();
		if (arr == NULL || json_object_set_new(set, field, arr) != 0)
			return -1;
	}
	return json_array_append_new(arr, json_string(value));
}

static int
scope_edit(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, OPT_NAME },
		{ "description", required_argument, NULL, OPT_DESCRIPTION },
		{ "long-description", required_argument, NULL, OPT_LONG_DESCRIPTION },
		{ "token-type", required_argument, NULL, OPT_TOKEN_TYPE },
		{ "visibility", required_argument, NULL, OPT_VISIBILITY },
		{ "requires-pseudonymous-tokens", optional_argument, NULL, OPT_PSEUDO },
		{ "requires-user-authentication", optional_argument, NULL, OPT_USER_AUTH },
		{ "requires-user-consent", optional_argument, NULL, OPT_USER_CONSENT },
		{ "accessible-for-all", optional_argument, NULL, OPT_ALL },
		{ "inactive", optional_argument, NULL, OPT_INACTIVE },
		{ "allowed-integration-type", required_argument, NULL, OPT_TYPE },
		{ "enforced-aud-for-introspection", required_argument, NULL, OPT_AUD },
		{ "at-max-age", required_argument, NULL, OPT_AT_MAX },
		{ "authorization-max-age", required_argument, NULL, OPT_AUTHZ_MAX },
		{ "owner-orgno", required_argument, NULL, OPT_OWNER },
		{ "delegation-source", required_argument, NULL, OPT_DELEGATION_SOURCE },
		{ NULL, 0, NULL, 0 },
	};
	const char *sub = argv[0], *name = NULL;
	json_t *set = json_object(), *in = NULL, *out = NULL, *list = NULL, *v;
	struct err e = { 0 };
	int ch, rc, status = CLI_USAGE;
	size_t i;

	if (set == NULL)
		return CLI_STORE;
	optind = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		const char *field = NULL;
		bool b = false;
		json_int_t n = 0;

		switch (ch) {
		case OPT_NAME: field = "name"; break;
		case OPT_DESCRIPTION: field = "description"; break;
		case OPT_LONG_DESCRIPTION: field = "long_description"; break;
		case OPT_TOKEN_TYPE: field = "token_type"; break;
		case OPT_VISIBILITY: field = "visibility"; break;
		case OPT_OWNER: field = "owner_orgno"; break;
		case OPT_DELEGATION_SOURCE: field = "delegation_source"; break;
		case OPT_PSEUDO:
		case OPT_USER_AUTH:
		case OPT_USER_CONSENT:
		case OPT_ALL:
		case OPT_INACTIVE:
			field = ch == OPT_PSEUDO	   ? "requires_pseudonymous_tokens"
				: ch == OPT_USER_AUTH	   ? "requires_user_authentication"
				: ch == OPT_USER_CONSENT ? "requires_user_consent"
				: ch == OPT_ALL		   ? "accessible_for_all"
							   : "active";
			if (parse_bool(field, optarg, &b) != 0)
				goto out;
			json_object_set_new(set, field, json_boolean(ch == OPT_INACTIVE ? !b : b));
			continue;
		case OPT_TYPE:
		case OPT_AUD:
			if (append_to(set, ch == OPT_TYPE ? "allowed_integration_types"
							  : "enforced_aud_for_introspection",
				      optarg) != 0) {
				status = CLI_STORE;
				goto out;
			}
			continue;
		case OPT_AT_MAX:
		case OPT_AUTHZ_MAX:
			field = ch == OPT_AT_MAX ? "at_max_age" : "authorization_max_age";
			if (parse_int(field, optarg, &n) != 0)
				goto out;
			json_object_set_new(set, field, json_integer(n));
			continue;
		default:
			status = cli_usage_error("scope %s: unknown option or missing value: %s",
						 sub, argv[optind - 1]);
			goto out;
		}
		json_object_set_new(set, field, json_string(optarg));
	}

	if (strcmp(sub, "create") == 0 || strcmp(sub, "update") == 0) {
		bool create = strcmp(sub, "create") == 0;

		if (create && optind != argc) {
			status = cli_usage_error("scope create takes no arguments besides options");
			goto out;
		}
		if (!create) {
			if (optind + 1 != argc) {
				status = cli_usage_error("scope update NAME [options]");
				goto out;
			}
			name = argv[optind];
			if (json_object_get(set, "name") != NULL) {
				status = cli_usage_error("scope update: the name cannot change");
				goto out;
			}
		} else if ((name = json_string_value(json_object_get(set, "name"))) == NULL) {
			status = cli_usage_error("scope create needs --name PREFIX:SUBSCOPE");
			goto out;
		}
		status = cli_open(c);
		if (status != CLI_OK)
			goto out;
		rc = reg_scope_get(&c->app, name, &in, &e);
		if (rc == 0) {
			/* the registry shares what it returns: change a copy */
			json_t *own = json_deep_copy(in);

			json_decref(in);
			in = own;
			rc = in != NULL ? 0 : ERR(&e, ERR_NOMEM, 0, NULL, "out of memory");
			/* Stored before audience left the attributes (spec §9 has none). */
			if (in != NULL)
				json_object_del(in, "audience");
		}
		if (create && rc == 0) {
			status = cli_fail(ERR_EXISTS, &(struct err){ .msg = "scope exists already; "
									   "use scope update" });
			goto out;
		}
		if (create && rc == ERR_NOTFOUND) {
			in = json_object();
			rc = in ? 0 : ERR_NOMEM;
		}
		if (rc != 0) {
			status = cli_fail(rc, &e);
			goto out;
		}
		/* The options replace what was there; the rest is kept. */
		json_object_update(in, set);
		json_object_set_new(in, "name", json_string(name));
		rc = reg_scope_put(&c->app, in, &out, &e);
		if (rc != 0) {
			status = cli_fail(rc, &e);
			goto out;
		}
		if (c->json)
			cli_print_json(c, out);
		else
			cli_print_fields(c, out, scope_order);
		status = CLI_OK;
	} else if (strcmp(sub, "list") == 0 || strcmp(sub, "show") == 0) {
		bool show = strcmp(sub, "show") == 0;

		if (json_object_size(set) != 0 || optind + (show ? 1 : 0) != argc) {
			status = cli_usage_error(show ? "scope show NAME" : "scope list");
			goto out;
		}
		status = cli_open(c);
		if (status != CLI_OK)
			goto out;
		rc = show ? reg_scope_get(&c->app, argv[optind], &list, &e)
			  : reg_scope_list(&c->app, &list, &e);
		if (rc != 0) {
			status = cli_fail(rc, &e);
			goto out;
		}
		if (c->json) {
			cli_print_json(c, list);
		} else if (show) {
			cli_print_fields(c, list, scope_order);
		} else {
			fprintf(c->out, "%-40s %-8s %-14s %s\n", "NAME", "ACTIVE", "TOKEN_TYPE",
				"DESCRIPTION");
			json_array_foreach(list, i, v) {
				const char *d =
					json_string_value(json_object_get(v, "description"));

				fprintf(c->out, "%-40s %-8s %-14s %s\n",
					json_string_value(json_object_get(v, "name")),
					json_is_true(json_object_get(v, "active")) ? "yes" : "no",
					json_string_value(json_object_get(v, "token_type")),
					d ? d : "");
			}
		}
		status = CLI_OK;
	} else {
		status = cli_usage_error("unknown command 'scope %s'", sub);
	}
out:
	json_decref(set);
	json_decref(in);
	json_decref(out);
	json_decref(list);
	return status;
}

/* scope prefix assign PREFIX ORGNO | scope prefix list (spec §9: the operator's step). */
static int
scope_prefix(struct cli *c, int argc, char **argv)
{
	struct err e = { 0 };
	json_t *out = NULL;
	bool assign = argc == 4 && strcmp(argv[1], "assign") == 0;
	int rc, status;

	if (!assign && !(argc == 2 && strcmp(argv[1], "list") == 0))
		return cli_usage_error("scope prefix assign PREFIX ORGNO | scope prefix list");
	status = cli_open(c);
	if (status != CLI_OK)
		return status;
	rc = assign ? reg_prefix_assign(&c->app, argv[2], argv[3], &out, &e)
		    : reg_prefix_list(&c->app, &out, &e);
	if (rc != 0)
		return cli_fail(rc, &e);
	cli_print_json(c, out);
	json_decref(out);
	return CLI_OK;
}

int
reg_cmd_scope(struct cli *c, int argc, char **argv)
{
	if (strcmp(argv[0], "prefix") == 0)
		return scope_prefix(c, argc, argv);
	if (strcmp(argv[0], "grant") == 0 || strcmp(argv[0], "revoke") == 0 ||
	    strcmp(argv[0], "access") == 0)
		return reg_cmd_access(c, argc, argv);
	return scope_edit(c, argc, argv);
}

/*
 * portenctl: the operator's tool for clients, scopes and signing keys.  It
 * opens the same store as portend (same configuration file and PORTEN_*
 * environment) and calls the same registry functions as the self-service
 * API, so every rule applies in both places.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app/cli.h"
#include "cli/commands.h"
#include "core/cfg.h"
#include "core/str.h"
#include "registry/registry.h"

/* `portenctl minid ...` (eid/minid/cmd_minid.c). */
int cli_minid(struct cli *c, int argc, char **argv);
void cli_minid_usage(FILE *f);

static void
usage(FILE *f)
{
	fputs("usage: portenctl [-c FILE] [--json] COMMAND ...\n"
	      "\n"
	      "options:\n"
	      "  -c, --config FILE   configuration file (default: $PORTEN_CONFIG, then defaults\n"
	      "                      and PORTEN_* environment variables)\n"
	      "      --json          print JSON on standard output\n"
	      "  -h, --help          this text\n"
	      "\n"
	      "commands:\n",
	      f);
	cli_client_usage(f);
	fputs("  keys list [--issuer idporten|maskinporten]\n"
	      "  keys rotate [--issuer idporten|maskinporten]\n"
	      "  scope create --name PREFIX:SUBSCOPE [--description D] [--long-description D]\n"
	      "       [--token-type SELF_CONTAINED|OPAQUE] [--visibility PUBLIC|PRIVATE]\n"
	      "       [--requires-pseudonymous-tokens] [--requires-user-authentication]\n"
	      "       [--requires-user-consent] [--accessible-for-all] [--inactive]\n"
	      "       [--allowed-integration-type T]... [--enforced-aud-for-introspection ID]...\n"
	      "       [--at-max-age N] [--authorization-max-age N] [--owner-orgno N]\n"
	      "       [--delegation-source URI] [--audience URI]...\n"
	      "  scope update NAME [same options as create; booleans take =true|=false]\n"
	      "  scope list\n"
	      "  scope show NAME\n",
	      f);
	cli_mp_usage(f);
	cli_minid_usage(f);
	fputs("\n"
	      "exit status: 0 done, 1 usage or validation error, 2 store or system failure\n",
	      f);
}

/* ---- keys ---- */

static int
cmd_keys(struct cli *c, int argc, char **argv)
{
	struct issuer *is;
	struct err e = { 0 };
	json_t *list = NULL;
	char *kid = NULL;
	size_t i;
	json_t *k;
	int rc, status;

	enum issuer_kind kind = ISSUER_IDPORTEN;

	/* keys list|rotate [--issuer idporten|maskinporten] */
	if (argc == 3 && strcmp(argv[1], "--issuer") == 0) {
		if (strcmp(argv[2], "maskinporten") == 0)
			kind = ISSUER_MASKINPORTEN;
		else if (strcmp(argv[2], "idporten") != 0)
			return cli_usage_error("keys: --issuer is idporten or maskinporten");
		argc = 1;
	}
	if (argc != 1 || (strcmp(argv[0], "list") != 0 && strcmp(argv[0], "rotate") != 0))
		return cli_usage_error("keys: expected 'keys list|rotate [--issuer idporten|maskinporten]'");
	status = cli_open(c);
	if (status != CLI_OK)
		return status;
	is = app_issuer(&c->app, kind);
	if (is == NULL) {
		fprintf(stderr, "portenctl: that issuer is not configured\n");
		return CLI_USAGE;
	}
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

/* ---- scopes ---- */

enum {
	OPT_NAME = 256, OPT_DESCRIPTION, OPT_LONG_DESCRIPTION, OPT_TOKEN_TYPE, OPT_VISIBILITY,
	OPT_PSEUDO, OPT_USER_AUTH, OPT_USER_CONSENT, OPT_ALL, OPT_INACTIVE, OPT_TYPE, OPT_AUD,
	OPT_AT_MAX, OPT_AUTHZ_MAX, OPT_OWNER, OPT_DELEGATION_SOURCE, OPT_AUDIENCE,
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
cmd_scope(struct cli *c, int argc, char **argv)
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
		{ "audience", required_argument, NULL, OPT_AUDIENCE },
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
		case OPT_AUDIENCE:
			if (append_to(set, ch == OPT_TYPE ? "allowed_integration_types"
					   : ch == OPT_AUD ? "enforced_aud_for_introspection"
							   : "audience",
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

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli c;
	const char *group;
	int ch, fd, status;

	memset(&c, 0, sizeof(c));
	opterr = 0; /* our messages, with the subcommand's name */
	/*
	 * Logs are JSON lines on standard output, which is where results go:
	 * keep a handle on the real stdout for results and send fd 1 (and so
	 * every log line) to stderr.
	 */
	fd = dup(STDOUT_FILENO);
	if (fd < 0 || (c.out = fdopen(fd, "w")) == NULL || dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
		perror("portenctl");
		return CLI_STORE;
	}
	while ((ch = getopt_long(argc, argv, "+c:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			c.config_path = optarg;
			break;
		case 'j':
			c.json = true;
			break;
		case 'h':
			usage(c.out);
			fclose(c.out);
			return CLI_OK;
		default:
			cli_usage_error("unknown option or missing value: %s", argv[optind - 1]);
			fclose(c.out);
			return CLI_USAGE;
		}
	}
	if (c.config_path == NULL)
		c.config_path = getenv("PORTEN_CONFIG");
	if (optind >= argc) {
		usage(stderr);
		fclose(c.out);
		return CLI_USAGE;
	}
	group = argv[optind];
	argc -= optind + 1;
	argv += optind + 1;
	for (int i = 0; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			group = "help";
	if (strcmp(group, "help") == 0) {
		usage(c.out);
		status = CLI_OK;
	} else if (strcmp(group, "minid") == 0) {
		status = cli_minid(&c, argc, argv);
	} else if (strcmp(group, "client") != 0 && strcmp(group, "keys") != 0 &&
		   strcmp(group, "scope") != 0 && strcmp(group, "delegation") != 0) {
		status = cli_usage_error("unknown command '%s'", group);
	} else if (argc == 0) {
		status = cli_usage_error("'%s' needs a subcommand", group);
	} else if (strcmp(group, "client") == 0) {
		status = cli_client(&c, argc, argv);
	} else if (strcmp(group, "keys") == 0) {
		status = cmd_keys(&c, argc, argv);
	} else if (strcmp(group, "delegation") == 0) {
		status = cli_delegation(&c, argc, argv);
	} else if (strcmp(argv[0], "grant") == 0 || strcmp(argv[0], "revoke") == 0 ||
		   strcmp(argv[0], "access") == 0) {
		status = cli_mp_scope(&c, argc, argv);
	} else {
		status = cmd_scope(&c, argc, argv);
	}
	/* the keys the commands unsealed, before the store closes */
	reg_keys_cleanup();
	cli_close(&c);
	if (fclose(c.out) != 0 && status == CLI_OK)
		status = CLI_STORE;
	return status;
}

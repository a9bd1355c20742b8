/* portenctl client ...: client registrations through the registry. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry/cmd_int.h"
#include "core/crypto.h"
#include "core/str.h"
#include "registry/client.h"
#include "registry/registry.h"

enum flag_kind {
	K_STR,    /* string; "" clears the field on update */
	K_LIST,   /* repeatable; the values given replace the list */
	K_SCOPES, /* like K_LIST, and each value may hold several space-separated scopes */
	K_BOOL,   /* --flag or --flag=true|false */
	K_INT,
	K_FILE,   /* a JSON file */
};

struct flag {
	const char *opt;
	const char *field;
	enum flag_kind kind;
};

#define FLAG_BASE 300

static const struct flag flags[] = {
	{ "client-id", "client_id", K_STR },
	{ "client-name", "client_name", K_STR },
	{ "description", "description", K_STR },
	{ "client-uri", "client_uri", K_STR },
	{ "integration-type", "integration_type", K_STR },
	{ "application-type", "application_type", K_STR },
	{ "token-endpoint-auth-method", "token_endpoint_auth_method", K_STR },
	{ "redirect-uri", "redirect_uris", K_LIST },
	{ "post-logout-redirect-uri", "post_logout_redirect_uris", K_LIST },
	{ "frontchannel-logout-uri", "frontchannel_logout_uri", K_STR },
	{ "frontchannel-logout-session-required", "frontchannel_logout_session_required", K_BOOL },
	{ "backchannel-logout-uri", "backchannel_logout_uri", K_STR },
	{ "scope", "scopes", K_SCOPES },
	{ "grant-type", "grant_types", K_LIST },
	{ "sso-disabled", "sso_disabled", K_BOOL },
	{ "code-challenge-method", "code_challenge_method", K_STR },
	{ "access-token-lifetime", "access_token_lifetime", K_INT },
	{ "refresh-token-lifetime", "refresh_token_lifetime", K_INT },
	{ "authorization-lifetime", "authorization_lifetime", K_INT },
	{ "client-orgno", "client_orgno", K_STR },
	{ "jwks-file", "jwks", K_FILE },
	{ "jwk-file", "jwk", K_FILE },
};

#define NFLAGS (sizeof(flags) / sizeof(flags[0]))

static const char *const client_order[] = {
	"client_id", "client_name", "description", "client_uri", "integration_type",
	"application_type", "token_endpoint_auth_method", "grant_types", "scopes",
	"redirect_uris", "post_logout_redirect_uris", "frontchannel_logout_uri",
	"frontchannel_logout_session_required", "backchannel_logout_uri",
	"backchannel_logout_session_required", "sso_disabled", "code_challenge_method",
	"access_token_lifetime", "refresh_token_lifetime", "authorization_lifetime",
	"refresh_token_usage", "client_orgno", "supplier_orgno", "jwks", "active", "created",
	"last_updated", "client_secret_expires_at", NULL,
};

void
reg_cmd_client_usage(FILE *f)
{
	fputs("  client create [--client-id ID] --client-name N --description D\n"
	      "       [--integration-type idporten|api_klient|ansattporten]\n"
	      "       [--application-type web|browser|native]\n"
	      "       [--token-endpoint-auth-method client_secret_basic|client_secret_post|\n"
	      "                                     private_key_jwt|none]\n"
	      "       --redirect-uri U... --post-logout-redirect-uri U...\n"
	      "       [--frontchannel-logout-uri U]\n"
	      "       [--frontchannel-logout-session-required] [--backchannel-logout-uri U]\n"
	      "       [--scope S...] [--grant-type G]...\n"
	      "       [--sso-disabled] [--code-challenge-method S256|none] [--client-uri U]\n"
	      "       [--access-token-lifetime N] [--refresh-token-lifetime N]\n"
	      "       [--authorization-lifetime N] [--client-orgno N] [--jwks-file F]\n"
	      "  client list\n"
	      "  client show ID\n"
	      "  client update ID [create's options but --client-id; a list option replaces\n"
	      "       the list, '' clears a URI, booleans take =true|=false]\n"
	      "  client delete ID          (deactivates; the record is kept)\n"
	      "  client rotate-secret ID\n"
	      "  client add-key ID --jwk-file F\n"
	      "  client keys ID            (the key set)\n"
	      "  client set-keys ID --jwks-file F   (replaces the whole set; each key valid a year)\n"
	      "  client delete-keys ID\n"
	      "  client onbehalfof ID list | show OBO | add FILE | update OBO FILE | remove OBO\n",
	      f);
}

/* Append each space-separated word of arg to the array field of set. */
static int
add_words(json_t *set, const char *field, const char *arg, bool split)
{
	json_t *arr = json_object_get(set, field);
	struct str rest = str_c(arg), word;

	if (arr == NULL) {
		arr = json_array();
		if (arr == NULL || json_object_set_new(set, field, arr) != 0)
			return ERR_NOMEM;
	}
	if (!split)
		return json_array_append_new(arr, json_string(arg)) == 0 ? 0 : ERR_NOMEM;
	while (rest.len > 0) {
		str_split(rest, ' ', &word, &rest);
		if (word.len == 0)
			continue;
		if (json_array_append_new(arr, json_stringn(word.p, word.len)) != 0)
			return ERR_NOMEM;
	}
	return 0;
}

/* Parse the options into set (JSON field -> value; null = clear).  Returns a CLI_* status. */
static int
parse_flags(int argc, char **argv, json_t *set)
{
	struct option opts[NFLAGS + 1];
	struct err e = { 0 };
	int ch, rc;

	for (size_t i = 0; i < NFLAGS; i++)
		opts[i] = (struct option){ flags[i].opt,
					   flags[i].kind == K_BOOL ? optional_argument
								   : required_argument,
					   NULL, FLAG_BASE + (int)i };
	opts[NFLAGS] = (struct option){ NULL, 0, NULL, 0 };
	optind = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		const struct flag *fl;
		long long n = 0;
		json_t *v = NULL;

		if (ch < FLAG_BASE || ch >= FLAG_BASE + (int)NFLAGS)
			return cli_usage_error("client %s: unknown option or missing value: %s",
					       argv[0], argv[optind - 1]);
		fl = &flags[ch - FLAG_BASE];
		switch (fl->kind) {
		case K_STR:
			v = optarg[0] == '\0' ? json_null() : json_string(optarg);
			if (v == NULL)
				return cli_usage_error("--%s: not valid UTF-8", fl->opt);
			break;
		case K_LIST:
		case K_SCOPES:
			if (add_words(set, fl->field, optarg, fl->kind == K_SCOPES) != 0)
				return cli_usage_error("--%s: not valid UTF-8", fl->opt);
			continue;
		case K_BOOL:
			if (optarg == NULL || strcmp(optarg, "true") == 0)
				v = json_true();
			else if (strcmp(optarg, "false") == 0)
				v = json_false();
			else
				return cli_usage_error("--%s takes =true or =false", fl->opt);
			break;
		case K_INT:
			if (str_to_ll(str_c(optarg), -(1LL << 53), 1LL << 53, &n) != 0)
				return cli_usage_error("--%s needs a whole number of seconds",
						       fl->opt);
			v = json_integer(n);
			break;
		case K_FILE:
			rc = cli_read_json(optarg, &v, &e);
			if (rc != 0)
				return cli_fail(rc, &e);
			break;
		}
		if (json_object_get(set, fl->field) != NULL) {
			json_decref(v);
			return cli_usage_error("--%s given twice", fl->opt);
		}
		json_object_set_new(set, fl->field, v);
	}
	return CLI_OK;
}

/* Print a client (and a new secret, once). */
static void
print_client(struct cli *c, const json_t *doc, const char *secret)
{
	json_t *pub = reg_client_public(doc);

	if (pub == NULL)
		return;
	if (secret != NULL)
		json_object_set_new(pub, "client_secret", json_string(secret));
	if (c->json) {
		cli_print_json(c, pub);
	} else {
		cli_print_fields(c, pub, client_order);
		if (secret != NULL)
			fprintf(stderr, "portenctl: the client secret is shown only now; keep it "
					"safe\n");
	}
	json_decref(pub);
}

static void
secret_free(char *s)
{
	if (s != NULL) {
		secure_wipe(s, strlen(s));
		free(s);
	}
}

static int
client_create(struct cli *c, json_t *set)
{
	struct err e = { 0 };
	json_t *out = NULL;
	char *secret = NULL;
	int rc;

	if (json_object_get(set, "jwk") != NULL)
		return cli_usage_error("--jwk-file belongs to client add-key; use --jwks-file");
	if (json_object_get(set, "integration_type") == NULL)
		json_object_set_new(set, "integration_type", json_string("idporten"));
	rc = reg_client_create_as(&c->app, &reg_operator, set, &out, &secret, &e);
	if (rc != 0)
		return cli_fail(rc, &e);
	print_client(c, out, secret);
	secret_free(secret);
	json_decref(out);
	return CLI_OK;
}

static int
client_update(struct cli *c, const char *id, json_t *set)
{
	struct err e = { 0 };
	json_t *in = NULL, *out = NULL, *v;
	const char *key;
	char *secret = NULL;
	int rc, status;

	if (json_object_get(set, "jwk") != NULL)
		return cli_usage_error("--jwk-file belongs to client add-key");
	if (json_object_get(set, "client_id") != NULL)
		return cli_usage_error("client update: the client id cannot change");
	rc = reg_client_get_as(&c->app, &reg_operator, id, &in, &e);
	if (rc != 0)
		return cli_fail(rc, &e);
	/* Start from the registration as it is; the options replace fields. */
	json_object_foreach(set, key, v) {
		if (json_is_null(v))
			json_object_del(in, key);
		else
			json_object_set(in, key, v);
	}
	rc = reg_client_update_as(&c->app, &reg_operator, id, in, &out, &secret, &e);
	if (rc != 0) {
		status = cli_fail(rc, &e);
	} else {
		print_client(c, out, secret);
		status = CLI_OK;
	}
	secret_free(secret);
	json_decref(in);
	json_decref(out);
	return status;
}

/*
 * One line of `client list`: the listed document read as a client record;
 * one the record refuses (it cannot be stored so) shows its client_id only.
 */
static void
client_list_row(struct cli *c, const json_t *d)
{
	struct client *rec = NULL;
	struct err e = { 0 };
	const char *id;

	if (reg_client_parse(d, &rec, &e) != 0) {
		id = json_string_value(json_object_get(d, "client_id"));
		fprintf(c->out, "%-36s %-12s %-8s %-6s %s\n", id ? id : "-", "-", "-", "no", "");
		return;
	}
	fprintf(c->out, "%-36s %-12s %-8s %-6s %s\n", rec->client_id,
		rec->integration_type ? rec->integration_type : "-",
		rec->application_type ? rec->application_type : "-", rec->active ? "yes" : "no",
		rec->client_name ? rec->client_name : "");
	reg_client_release(rec);
}

static int
client_list(struct cli *c)
{
	struct err e = { 0 };
	json_t *list = NULL, *d;
	size_t i;
	int rc;

	rc = reg_client_list_as(&c->app, &reg_operator, true, &list, &e);
	if (rc != 0)
		return cli_fail(rc, &e);
	if (c->json) {
		cli_print_json(c, list);
	} else {
		fprintf(c->out, "%-36s %-12s %-8s %-6s %s\n", "CLIENT_ID", "TYPE", "APP",
			"ACTIVE", "NAME");
		json_array_foreach(list, i, d)
			client_list_row(c, d);
	}
	json_decref(list);
	return CLI_OK;
}

static int
client_add_key(struct cli *c, const char *id, json_t *set)
{
	struct err e = { 0 };
	json_t *jwk = json_object_get(set, "jwk"), *doc = NULL;
	int rc;

	if (jwk == NULL || json_object_size(set) != 1)
		return cli_usage_error("client add-key ID --jwk-file F (and nothing else)");
	/* A file may hold one JWK or a JWKS: all its keys are added, or none. */
	rc = reg_client_add_key(&c->app, id, jwk, &e);
	if (rc != 0)
		return cli_fail(rc, &e);
	rc = reg_client_get_as(&c->app, &reg_operator, id, &doc, &e);
	if (rc != 0)
		return cli_fail(rc, &e);
	print_client(c, doc, NULL);
	json_decref(doc);
	return CLI_OK;
}

/* client keys | set-keys | delete-keys: the key set sub-resource (spec §7). */
static int
client_keys(struct cli *c, const char *sub, const char *id, json_t *set)
{
	json_t *jwks = NULL, *file = json_object_get(set, "jwks");
	struct err e = { 0 };
	int rc;

	if (strcmp(sub, "set-keys") == 0) {
		if (file == NULL || json_object_size(set) != 1)
			return cli_usage_error("client set-keys ID --jwks-file F (and nothing else)");
		rc = reg_client_jwks_set_as(&c->app, &reg_operator, id, file, NULL, &e);
	} else if (strcmp(sub, "delete-keys") == 0) {
		rc = reg_client_jwks_delete_as(&c->app, &reg_operator, id, &e);
	} else {
		rc = 0;
	}
	if (rc == 0)
		rc = reg_client_jwks_get_as(&c->app, &reg_operator, id, &jwks, &e);
	if (rc != 0)
		return cli_fail(rc, &e);
	cli_print_json(c, jwks);
	json_decref(jwks);
	return CLI_OK;
}

/*
 * client onbehalfof ID list | show OBO | add FILE | update OBO FILE | remove OBO:
 * the sub-registrations (spec §8); FILE holds the JSON the API takes.
 */
static int
client_obo(struct cli *c, int argc, char **argv)
{
	const char *op = argc >= 3 ? argv[2] : "", *id = argc >= 2 ? argv[1] : "";
	struct err e = { 0 };
	json_t *in = NULL, *out = NULL;
	int rc, status;
	bool ok = (argc == 3 && strcmp(op, "list") == 0) ||
		  (argc == 4 && (strcmp(op, "show") == 0 || strcmp(op, "add") == 0 ||
				 strcmp(op, "remove") == 0)) ||
		  (argc == 5 && strcmp(op, "update") == 0);

	if (!ok)
		return cli_usage_error("client onbehalfof ID list | show OBO | add FILE | "
				       "update OBO FILE | remove OBO");
	if (strcmp(op, "add") == 0 || strcmp(op, "update") == 0) {
		rc = cli_read_json(argv[argc - 1], &in, &e);
		if (rc != 0)
			return cli_fail(rc, &e);
	}
	status = cli_open(c);
	if (status != CLI_OK)
		goto out;
	if (strcmp(op, "list") == 0)
		rc = reg_onbehalfof_list_as(&c->app, &reg_operator, id, &out, &e);
	else if (strcmp(op, "show") == 0)
		rc = reg_onbehalfof_get_as(&c->app, &reg_operator, id, argv[3], &out, &e);
	else if (strcmp(op, "add") == 0)
		rc = reg_onbehalfof_create_as(&c->app, &reg_operator, id, in, &out, &e);
	else if (strcmp(op, "update") == 0)
		rc = reg_onbehalfof_update_as(&c->app, &reg_operator, id, argv[3], in, &out, &e);
	else
		rc = reg_onbehalfof_delete_as(&c->app, &reg_operator, id, argv[3], &e);
	if (rc != 0) {
		status = cli_fail(rc, &e);
		goto out;
	}
	if (out != NULL)
		cli_print_json(c, out);
	else if (!c->json)
		fprintf(c->out, "onbehalfof %s removed from client %s\n", argv[3], id);
	status = CLI_OK;
out:
	json_decref(in);
	json_decref(out);
	return status;
}

int
reg_cmd_client(struct cli *c, int argc, char **argv)
{
	const char *sub = argv[0], *id = NULL;
	json_t *set = json_object();
	struct err e = { 0 };
	bool takes_id, takes_flags;
	char *secret = NULL;
	int status, rc;

	if (set == NULL)
		return CLI_STORE;
	if (strcmp(sub, "onbehalfof") == 0) {
		json_decref(set);
		return client_obo(c, argc, argv);
	}
	takes_id = strcmp(sub, "show") == 0 || strcmp(sub, "update") == 0 ||
		   strcmp(sub, "delete") == 0 || strcmp(sub, "rotate-secret") == 0 ||
		   strcmp(sub, "add-key") == 0 || strcmp(sub, "keys") == 0 ||
		   strcmp(sub, "set-keys") == 0 || strcmp(sub, "delete-keys") == 0;
	takes_flags = strcmp(sub, "create") == 0 || strcmp(sub, "update") == 0 ||
		      strcmp(sub, "add-key") == 0 || strcmp(sub, "set-keys") == 0;
	if (!takes_id && strcmp(sub, "create") != 0 && strcmp(sub, "list") != 0) {
		status = cli_usage_error("unknown command 'client %s'", sub);
		goto out;
	}
	status = parse_flags(argc, argv, set);
	if (status != CLI_OK)
		goto out;
	if (!takes_flags && json_object_size(set) != 0) {
		status = cli_usage_error("client %s takes no options", sub);
		goto out;
	}
	if (optind + (takes_id ? 1 : 0) != argc) {
		status = cli_usage_error(takes_id ? "client %s needs exactly one client id"
						  : "client %s takes no arguments", sub);
		goto out;
	}
	if (takes_id)
		id = argv[optind];
	status = cli_open(c);
	if (status != CLI_OK)
		goto out;

	if (strcmp(sub, "create") == 0) {
		status = client_create(c, set);
	} else if (strcmp(sub, "update") == 0) {
		status = client_update(c, id, set);
	} else if (strcmp(sub, "list") == 0) {
		status = client_list(c);
	} else if (strcmp(sub, "add-key") == 0) {
		status = client_add_key(c, id, set);
	} else if (strcmp(sub, "keys") == 0 || strcmp(sub, "set-keys") == 0 ||
		   strcmp(sub, "delete-keys") == 0) {
		status = client_keys(c, sub, id, set);
	} else if (strcmp(sub, "show") == 0) {
		json_t *doc = NULL;

		rc = reg_client_get_as(&c->app, &reg_operator, id, &doc, &e);
		if (rc != 0) {
			status = cli_fail(rc, &e);
			goto out;
		}
		print_client(c, doc, NULL);
		json_decref(doc);
	} else if (strcmp(sub, "delete") == 0) {
		rc = reg_client_delete_as(&c->app, &reg_operator, id, &e);
		if (rc != 0) {
			status = cli_fail(rc, &e);
			goto out;
		}
		if (c->json) {
			json_t *o = json_pack("{s:s, s:b}", "client_id", id, "active", 0);

			cli_print_json(c, o);
			json_decref(o);
		} else {
			fprintf(c->out, "client %s deactivated\n", id);
		}
	} else if (strcmp(sub, "rotate-secret") == 0) {
		json_t *o = NULL;

		rc = reg_client_rotate_secret_as(&c->app, &reg_operator, id, &secret, &o, &e);
		if (rc != 0) {
			status = cli_fail(rc, &e);
			goto out;
		}
		if (c->json) {
			cli_print_json(c, o);
		} else {
			fprintf(c->out, "client_id: %s\nclient_secret: %s\n", id, secret);
			fprintf(stderr, "portenctl: the client secret is shown only now; keep it "
					"safe\n");
		}
		json_decref(o);
	}
out:
	secret_free(secret);
	json_decref(set);
	return status;
}

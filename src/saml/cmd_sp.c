/*
 * portenctl saml sp import|list|show|remove: the operator registers SAML
 * service providers (spec/saml-proxy.md §2: manual registration, no
 * self-service; a registered SP changes only by a certificate renewal).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/natid.h"
#include "saml/saml_int.h"
#include "store/store.h"

void
saml_cmd_usage(FILE *f)
{
	fputs("  saml sp import METADATA.xml --orgno ORGNO [--cert CERT.pem]\n"
	      "       [--sig-alg rsa-sha256|rsa-sha1] [--enc aes128-cbc|aes256-cbc|aes256-gcm]\n"
	      "       [--replace]\n"
	      "  saml sp list\n"
	      "  saml sp show ENTITY_ID\n"
	      "  saml sp remove ENTITY_ID\n",
	      f);
}

static const char *const sp_order[] = {
	"entity_id", "orgno", "acs", "slo", "slo_response", "sig_alg", "enc_alg", "cert_not_after",
	NULL,
};

/* A file of at most max bytes, NUL-terminated; *n its length. */
static int
read_file(const char *path, size_t max, char **out, size_t *n, struct err *e)
{
	FILE *f = fopen(path, "r");
	char *buf;

	*out = NULL;
	if (f == NULL)
		return ERR(e, ERR_INVAL, 0, NULL, "cannot open %s: %s", path, strerror(errno));
	buf = malloc(max + 1);
	*n = buf != NULL ? fread(buf, 1, max + 1, f) : 0;
	fclose(f);
	if (buf == NULL)
		return ERR(e, ERR_NOMEM, 0, NULL, "out of memory");
	if (*n > max) {
		free(buf);
		return ERR(e, ERR_INVAL, 0, NULL, "%s is larger than %zu bytes", path, max);
	}
	buf[*n] = '\0';
	*out = buf;
	return 0;
}

/* The registration as operators see it: without the reduced metadata. */
static json_t *
sp_public(const json_t *doc)
{
	json_t *o = json_deep_copy(doc);

	json_object_del(o, "metadata");
	return o;
}

static void
print_sp(struct cli *c, const json_t *doc)
{
	json_t *pub = sp_public(doc), *dropped = json_object_get(doc, "dropped"), *v;
	size_t i;

	if (c->json) {
		cli_print_json(c, pub);
		json_decref(pub);
		return;
	}
	json_object_del(pub, "dropped");
	json_object_del(pub, "cert");
	cli_print_fields(c, pub, sp_order);
	if (json_array_size(dropped) > 0)
		fprintf(c->out, "dropped from the metadata:\n");
	json_array_foreach(dropped, i, v)
		fprintf(c->out, "  - %s\n", json_string_value(v));
	json_decref(pub);
}

/* --replace: only a certificate renewal (spec §2 design): endpoints stay. */
static int
check_renewal(const json_t *old, const json_t *neu, struct err *e)
{
	static const char *const same[] = { "acs", "slo", "slo_response", NULL };
	size_t i;

	for (i = 0; same[i] != NULL; i++)
		if (!json_equal(json_object_get(old, same[i]), json_object_get(neu, same[i])))
			return ERR(e, ERR_INVAL, 0, NULL,
				   "--replace renews the certificate only, and %s changed "
				   "(remove the SP and import it again to change it)",
				   same[i]);
	return 0;
}

enum { OPT_CERT = 256, OPT_SIG, OPT_ENC, OPT_REPLACE, OPT_ORGNO };

/*
 * The operator's settings of the registration: the organisation its
 * logins are counted for (spec/billing.md §2) and the algorithms of spec
 * §8.  A renewal changes the certificate, nothing else (spec §2 design):
 * what the command line does not name again is carried over from the
 * registration it replaces (old), never reset to the defaults.
 */
static int
set_settings(json_t *doc, const json_t *old, const char *orgno, const struct saml_sp_opts *o,
	     struct err *e)
{
	const struct {
		const char *field, *given;
	} set[] = {
		{ "orgno", orgno },
		{ "sig_alg", o->sig_alg },
		{ "enc_alg", o->enc_alg },
	};
	const char *v;
	size_t i;

	for (i = 0; i < sizeof(set) / sizeof(set[0]); i++) {
		v = set[i].given;
		if (v == NULL && old != NULL)
			v = saml_sp_str(old, set[i].field);
		/* a new SP without them: saml_sp_reduce's defaults stand */
		if (v == NULL)
			continue;
		if (json_object_set_new(doc, set[i].field, json_string(v)) != 0)
			return ERR(e, ERR_NOMEM, 0, NULL, "out of memory");
	}
	if (saml_sp_str(doc, "orgno") == NULL)
		return ERR(e, ERR_INVAL, 0, NULL, "--orgno: the SP's organisation number is needed");
	return 0;
}

static int
cmd_import(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "cert", required_argument, NULL, OPT_CERT },
		{ "sig-alg", required_argument, NULL, OPT_SIG },
		{ "enc", required_argument, NULL, OPT_ENC },
		{ "replace", no_argument, NULL, OPT_REPLACE },
		{ "orgno", required_argument, NULL, OPT_ORGNO },
		{ NULL, 0, NULL, 0 },
	};
	struct saml_sp_opts o = { 0 };
	struct err e = { 0 };
	char *xml = NULL, *pem = NULL;
	const char *cert_path = NULL, *orgno = NULL;
	json_t *doc = NULL, *old = NULL;
	bool replace = false;
	size_t n = 0, cn = 0;
	int opt, rc = 0, status;

	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (opt == OPT_CERT)
			cert_path = optarg;
		else if (opt == OPT_SIG)
			o.sig_alg = optarg;
		else if (opt == OPT_ENC)
			o.enc_alg = optarg;
		else if (opt == OPT_REPLACE)
			replace = true;
		else if (opt == OPT_ORGNO)
			orgno = optarg;
		else
			return cli_usage_error("saml sp import: unknown option %s", argv[optind - 1]);
	}
	if (optind != argc - 1)
		return cli_usage_error("saml sp import: expected one metadata file");
	if (orgno != NULL && !orgno_valid_c(orgno))
		return cli_usage_error("--orgno must be an organisation number (9 digits, mod 11)");
	status = cli_open(c);
	if (status != CLI_OK)
		return status;
	o.test_env = c->app.test_env;
	rc = read_file(argv[optind], SAML_MAX_METADATA, &xml, &n, &e);
	if (rc == 0 && cert_path != NULL)
		rc = read_file(cert_path, SAML_MAX_CERT, &pem, &cn, &e);
	o.cert_pem = pem;
	if (rc == 0)
		rc = saml_sp_reduce(xml, n, &o, &doc, &e);
	if (rc == 0) {
		rc = store_call(c->app.store, saml, sp_get, saml_sp_str(doc, "entity_id"), &old, &e);
		if (rc == 0 && !replace)
			rc = ERR(&e, ERR_EXISTS, 0, NULL,
				 "%s is registered already (--replace to renew its certificate)",
				 saml_sp_str(doc, "entity_id"));
		else if (rc == 0)
			rc = check_renewal(old, doc, &e);
		else if (rc == ERR_NOTFOUND && replace)
			rc = ERR(&e, ERR_NOTFOUND, 0, NULL, "--replace: %s is not registered",
				 saml_sp_str(doc, "entity_id"));
		else if (rc == ERR_NOTFOUND)
			rc = 0;
	}
	if (rc == 0)
		rc = set_settings(doc, old, orgno, &o, &e);
	if (rc == 0)
		rc = store_call(c->app.store, saml, sp_put, saml_sp_str(doc, "entity_id"), doc, &e);
	if (rc == 0) {
		if (!c->json)
			fprintf(c->out, "%s service provider %s\n", replace ? "renewed" : "registered",
				saml_sp_str(doc, "entity_id"));
		print_sp(c, doc);
	}
	free(xml);
	free(pem);
	json_decref(doc);
	json_decref(old);
	return rc == 0 ? CLI_OK : cli_fail(rc, &e);
}

static int
cmd_list(struct cli *c)
{
	struct err e = { 0 };
	json_t *list = NULL, *out, *v;
	size_t i;
	int rc, status = cli_open(c);

	if (status != CLI_OK)
		return status;
	rc = store_call(c->app.store, saml, sp_list, &list, &e);
	if (rc != 0)
		return cli_fail(rc, &e);
	if (c->json) {
		out = json_array();
		json_array_foreach(list, i, v)
			json_array_append_new(out, sp_public(v));
		cli_print_json(c, out);
		json_decref(out);
	} else {
		json_array_foreach(list, i, v)
			fprintf(c->out, "%s\t%s\t%s\n", saml_sp_str(v, "entity_id"),
				saml_sp_str(v, "acs"), saml_sp_str(v, "cert_not_after"));
	}
	json_decref(list);
	return CLI_OK;
}

static int
cmd_one(struct cli *c, bool remove, const char *entity_id)
{
	struct err e = { 0 };
	json_t *doc = NULL;
	int rc, status = cli_open(c);

	if (status != CLI_OK)
		return status;
	if (remove)
		rc = store_call(c->app.store, saml, sp_delete, entity_id, &e);
	else
		rc = saml_sp_get(&c->app, entity_id, &doc, &e);
	if (rc == ERR_NOTFOUND)
		rc = ERR(&e, ERR_NOTFOUND, 0, NULL, "no service provider %s", entity_id);
	if (rc != 0)
		return cli_fail(rc, &e);
	if (remove)
		cli_print_result(c, NULL, "removed");
	else
		print_sp(c, doc);
	json_decref(doc);
	return CLI_OK;
}

int
saml_cmd(struct cli *c, int argc, char **argv)
{
	if (strcmp(argv[0], "sp") != 0 || argc < 2)
		return cli_usage_error("saml: expected 'saml sp import|list|show|remove'");
	if (strcmp(argv[1], "import") == 0)
		return cmd_import(c, argc - 1, argv + 1);
	if (strcmp(argv[1], "list") == 0 && argc == 2)
		return cmd_list(c);
	if ((strcmp(argv[1], "show") == 0 || strcmp(argv[1], "remove") == 0) && argc == 3)
		return cmd_one(c, strcmp(argv[1], "remove") == 0, argv[2]);
	return cli_usage_error("saml sp: expected import FILE, list, show ENTITY_ID or "
			       "remove ENTITY_ID");
}

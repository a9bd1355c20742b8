/*
 * What every portenctl command shares: opening the configuration and the
 * store as portend does, reading JSON files, printing results, and the
 * exit statuses for errors.
 */
#include "app/cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cfg.h"

#define CLI_JSON_FILE_MAX (64 * 1024)

int
cli_usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("portenctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (see portenctl --help)\n", stderr);
	return CLI_USAGE;
}

int
cli_fail(int rc, const struct err *e)
{
	fprintf(stderr, "portenctl: %s\n", e->msg[0] ? e->msg : err_name(rc));
	switch (rc) {
	case ERR_INVAL:
	case ERR_NOTFOUND:
	case ERR_EXISTS:
	case ERR_DENIED:
	case ERR_LIMIT:
	case ERR_DUP:
		return CLI_USAGE;
	default:
		return CLI_STORE;
	}
}

int
cli_read_json(const char *path, json_t **out, struct err *e)
{
	char *buf = NULL;
	size_t n;
	json_error_t je;
	FILE *f;
	int rc = 0;

	*out = NULL;
	f = fopen(path, "r");
	if (f == NULL)
		return ERR(e, ERR_INVAL, 0, NULL, "cannot open %s: %s", path, strerror(errno));
	buf = malloc(CLI_JSON_FILE_MAX + 1);
	if (buf == NULL) {
		rc = ERR(e, ERR_NOMEM, 0, NULL, "out of memory");
		goto out;
	}
	n = fread(buf, 1, CLI_JSON_FILE_MAX + 1, f);
	if (ferror(f)) {
		rc = ERR(e, ERR_INVAL, 0, NULL, "cannot read %s", path);
		goto out;
	}
	if (n > CLI_JSON_FILE_MAX) {
		rc = ERR(e, ERR_INVAL, 0, NULL, "%s is larger than %d bytes", path,
			 CLI_JSON_FILE_MAX);
		goto out;
	}
	*out = json_loadb(buf, n, JSON_REJECT_DUPLICATES, &je);
	if (*out == NULL)
		rc = ERR(e, ERR_INVAL, 0, NULL, "%s: line %d: %s", path, je.line, je.text);
out:
	free(buf);
	fclose(f);
	return rc;
}

void
cli_print_json(struct cli *c, const json_t *v)
{
	json_dumpf(v, c->out, JSON_INDENT(2) | JSON_ENCODE_ANY);
	fputc('\n', c->out);
}

static void
print_value(struct cli *c, const char *name, const json_t *v)
{
	size_t i;
	json_t *item;

	if (json_is_array(v)) {
		fprintf(c->out, "%s:%s", name, json_array_size(v) ? "" : " -");
		json_array_foreach(v, i, item) {
			if (json_is_string(item))
				fprintf(c->out, "%s%s", i ? ", " : " ", json_string_value(item));
			else
				fprintf(c->out, "%s(object)", i ? ", " : " ");
		}
		fputc('\n', c->out);
	} else if (json_is_string(v)) {
		fprintf(c->out, "%s: %s\n", name, json_string_value(v));
	} else if (json_is_object(v) && json_is_array(json_object_get(v, "keys"))) {
		/* a JWKS: show the kids */
		fprintf(c->out, "%s:", name);
		json_array_foreach(json_object_get(v, "keys"), i, item)
			fprintf(c->out, "%s%s", i ? ", " : " ",
				json_string_value(json_object_get(item, "kid"))
					? json_string_value(json_object_get(item, "kid"))
					: "(no kid)");
		fputc('\n', c->out);
	} else {
		char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

		fprintf(c->out, "%s: %s\n", name, s ? s : "?");
		free(s);
	}
}

void
cli_print_fields(struct cli *c, const json_t *obj, const char *const *order)
{
	const char *key;
	json_t *v;

	for (size_t i = 0; order != NULL && order[i] != NULL; i++)
		if ((v = json_object_get(obj, order[i])) != NULL)
			print_value(c, order[i], v);
	json_object_foreach((json_t *)obj, key, v) {
		bool listed = false;

		for (size_t i = 0; order != NULL && order[i] != NULL; i++)
			listed |= strcmp(order[i], key) == 0;
		if (!listed)
			print_value(c, key, v);
	}
}

/* Print a result: JSON, or its fields, or a one-line confirmation. */
void
cli_print_result(struct cli *c, const json_t *obj, const char *done)
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
cli_open(struct cli *c)
{
	struct err e = { 0 };
	int rc;

	rc = service_cfg_load(&c->cfg, c->services, c->config_path, &e);
	if (rc != 0) {
		fprintf(stderr, "portenctl: configuration: %s\n", e.msg);
		cfg_free(&c->cfg);
		return CLI_USAGE;
	}
	rc = app_init(&c->app, &c->cfg, &e);
	if (rc != 0) {
		fprintf(stderr, "portenctl: %s\n", e.msg);
		cfg_free(&c->cfg);
		return rc == ERR_INVAL ? CLI_USAGE : CLI_STORE;
	}
	c->opened = true;
	return CLI_OK;
}

void
cli_close(struct cli *c)
{
	if (!c->opened)
		return;
	/* what the commands acquired (the keys they unsealed), before the store closes */
	service_close_all(c->services, &c->app);
	app_close(&c->app);
	cfg_free(&c->cfg);
	c->opened = false;
}

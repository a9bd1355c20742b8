/*
 * portenctl person: the person register (facet people).  An import file
 * is a JSON array of persons,
 *   [{"pid": "...", "unique": true, "foreign": [{"country": "SE", "id": "..."}]}]
 * each replacing what the register held for that number (its flag and its
 * foreign identifiers); the whole file goes in one transaction, or
 * nothing of it when one entry is wrong.
 */
#include <string.h>

#include "app/cli.h"
#include "eid/people.h"
#include "store/store.h"

#define PEOPLE_MAX_ID 256       /* longest foreign identifier taken */

void
people_cmd_usage(FILE *f)
{
	fputs("  person import FILE        persons, their unique-identity flag and foreign\n"
	      "                            identifiers from a JSON file (docs/people.md)\n"
	      "  person show PID           what the person register holds for PID\n",
	      f);
}

/* One entry of the file checked: ERR_INVAL naming its index and what is wrong. */
static int
people_entry_check(struct cli *c, const json_t *p, size_t i, struct err *e)
{
	const json_t *fl = json_object_get(p, "foreign"), *u = json_object_get(p, "unique"), *f;
	const char *pid = json_string_value(json_object_get(p, "pid"));
	size_t k;

	/* natid §4: an H-number is never a pid, nor a synthetic number in PROD. */
	if (pid == NULL || !people_pid_ok(&c->app, pid))
		return ERR(e, ERR_INVAL, 0, NULL,
			   "entry %zu: pid is not a national identity number accepted as a pid in "
			   "this environment",
			   i);
	if (u != NULL && !json_is_boolean(u))
		return ERR(e, ERR_INVAL, 0, NULL, "entry %zu: unique must be true or false", i);
	if (fl != NULL && !json_is_array(fl))
		return ERR(e, ERR_INVAL, 0, NULL, "entry %zu: foreign must be an array", i);
	json_array_foreach(fl, k, f) {
		const char *id = json_string_value(json_object_get(f, "id"));

		if (!people_country_ok(str_c(json_string_value(json_object_get(f, "country")))) ||
		    id == NULL || id[0] == '\0' || strlen(id) > PEOPLE_MAX_ID)
			return ERR(e, ERR_INVAL, 0, NULL,
				   "entry %zu: foreign %zu needs a country (two capitals) and an id",
				   i, k);
	}
	return 0;
}

struct people_import {
	struct store *store;
	const json_t *list;
};

static int
people_import_body(void *arg, struct err *e)
{
	const struct people_import *im = arg;
	const json_t *p, *f;
	size_t i, k;
	int rc = 0;

	json_array_foreach(im->list, i, p) {
		const char *pid = json_string_value(json_object_get(p, "pid"));

		rc = store_call(im->store, people, put, pid,
				!json_is_false(json_object_get(p, "unique")), e);
		if (rc == 0)
			rc = store_call(im->store, people, foreign_clear, pid, e);
		json_array_foreach(json_object_get(p, "foreign"), k, f) {
			if (rc != 0)
				break;
			rc = store_call(im->store, people, foreign_add, pid,
					json_string_value(json_object_get(f, "country")),
					json_string_value(json_object_get(f, "id")), e);
		}
		if (rc != 0)
			break;
	}
	return rc;
}

static int
people_import(struct cli *c, const char *path, struct err *e)
{
	json_error_t je;
	json_t *list = json_load_file(path, JSON_REJECT_DUPLICATES, &je), *p;
	size_t i;
	int rc = 0;

	if (list == NULL)
		return ERR(e, ERR_INVAL, 0, NULL, "%s: %s (line %d)", path, je.text, je.line);
	if (!json_is_array(list))
		rc = ERR(e, ERR_INVAL, 0, NULL, "%s: not a JSON array", path);
	json_array_foreach(list, i, p) {
		if (rc != 0)
			break;
		rc = people_entry_check(c, p, i, e);
	}
	if (rc == 0) {
		struct people_import im = { c->app.store, list };

		rc = store_tx_run(c->app.store, people_import_body, &im, e);
	}
	if (rc == 0)
		fprintf(c->json ? stderr : c->out, "%zu persons imported\n", json_array_size(list));
	json_decref(list);
	return rc;
}

static int
people_run(struct cli *c, int argc, char **argv, struct err *e)
{
	json_t *doc = NULL;
	int rc;

	if (argc == 2 && strcmp(argv[0], "import") == 0)
		return people_import(c, argv[1], e);
	if (argc != 2 || strcmp(argv[0], "show") != 0)
		return cli_usage_error("person import FILE | person show PID");
	rc = store_call(c->app.store, people, get, argv[1], &doc, e);
	if (rc == 0)
		cli_print_json(c, doc);
	json_decref(doc);
	return rc;
}

int
people_cmd(struct cli *c, int argc, char **argv)
{
	struct err e = { 0 };
	int status = cli_open(c), rc;

	if (status != CLI_OK)
		return status;
	if (argc < 1)
		return cli_usage_error("person import FILE | person show PID");
	rc = people_run(c, argc, argv, &e);
	if (rc == CLI_USAGE)
		return CLI_USAGE;
	if (rc != 0)
		return cli_fail(rc, &e);
	if (strcmp(argv[0], "import") == 0 && c->json)
		cli_print_result(c, NULL, "done");
	return CLI_OK;
}

/*
 * portenctl krr: import and export of the register (CSV and JSON lines,
 * streamed: one row in memory at a time), one person's record and
 * history, and the synthetic test persons of spec/krr.md §7.
 *
 * An import runs in one transaction: every row is checked, each bad row is
 * reported with its line and the rule it broke, and nothing is kept unless
 * every row was good (--partial keeps the good ones).  A number that an
 * earlier row of the same file already wrote is a bad row, and the earlier
 * row stays; the store tells (the record's change number is this
 * import's, and then it writes nothing), so no list of numbers is kept.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/cli.h"
#include "krr/krr_int.h"
#include "store/store.h"

#define KRR_MAX_REPORTED 1000     /* bad rows printed; the rest are counted */

void
krr_cmd_usage(FILE *f)
{
	fputs("  krr import [--format csv|json] [--partial] FILE|-\n"
	      "                            load person records (CSV with a header row of field\n"
	      "                            names, or JSON lines); all or nothing unless --partial\n"
	      "  krr export [--format csv|json] [FILE]\n"
	      "  krr show PID | krr history PID\n"
	      "  krr testdata              (re)write the synthetic test persons (spec/krr.md §7)\n",
	      f);
}

/* ---- import ---- */

struct krr_import {
	struct cli *c;
	bool partial;
	long rows, written, bad;
	int64_t first_change;     /* this import's first change number */
};

static void
report(struct krr_import *im, long line, const char *why)
{
	im->bad++;
	if (im->bad <= KRR_MAX_REPORTED)
		fprintf(stderr, "line %ld: %s\n", line, why);
}

static int
import_row(struct krr_import *im, const json_t *row, long line, struct err *e)
{
	struct porten *app = &im->c->app;
	struct krr_person p;
	json_t *doc = NULL, *hist = NULL;
	int64_t change = 0, prev = 0;
	char why[200];
	int rc = 0;

	if (krr_person_from_fields(row, krr_natid_ctx(app), krr_now_ms(), &p, why,
				   sizeof(why)) != 0) {
		report(im, line, why);
		krr_person_clear(&p);
		return 0;
	}
	doc = krr_person_encode(&p);
	hist = doc != NULL ? json_pack("{s:s,s:s,s:O}", "who", "import", "what", "import",
				       "record", doc)
			   : NULL;
	if (hist == NULL) {
		rc = ERR(e, ERR_NOMEM, 0, NULL, "out of memory");
		goto out;
	}
	rc = store_call(app->store, krr, person_put, &p, hist, krr_now_ms(), im->first_change,
			&change, &prev, e);
	if (rc == ERR_EXISTS) {
		/* an earlier row of this file wrote the person: that one stays */
		report(im, line, "personidentifikator repeats an earlier row's");
		rc = 0;
		goto out;
	}
	if (rc != 0)
		goto out;
	if (im->first_change == 0)
		im->first_change = change;
	im->written++;
out:
	json_decref(doc);
	json_decref(hist);
	krr_person_clear(&p);
	return rc;
}

static int
krr_import(struct cli *c, FILE *f, bool csv, bool partial)
{
	struct krr_import im = { c, partial, 0, 0, 0, 0 };
	struct krr_reader rd;
	struct err e = { 0 };
	json_t *row = NULL;
	char why[200];
	bool commit;
	int rc, status = CLI_OK;

	if (krr_reader_open(&rd, f, csv, why, sizeof(why)) != 0) {
		fprintf(stderr, "line %ld: %s\n", rd.row_line, why);
		return CLI_USAGE;
	}
	rc = store_tx_begin(c->app.store, &e);
	if (rc != 0) {
		krr_reader_close(&rd);
		return cli_fail(rc, &e);
	}
	while ((rc = krr_reader_next(&rd, &row, why, sizeof(why))) == 1) {
		im.rows++;
		if (row == NULL) {
			report(&im, rd.row_line, why);
			continue;
		}
		rc = import_row(&im, row, rd.row_line, &e);
		json_decref(row);
		row = NULL;
		if (rc != 0)
			break;
	}
	if (rc < 0 && why[0] != '\0') {
		/* the file itself is broken: its rows cannot be told apart any more */
		report(&im, rd.row_line, why);
		rc = 0;
	}
	commit = rc == 0 && (im.bad == 0 || partial);
	if (store_tx_end(c->app.store, commit, commit ? &e : &(struct err){ 0 }) != 0 &&
	    commit) {
		commit = false;
		rc = e.code != 0 ? e.code : ERR_INTERNAL;
	}
	if (rc != 0) {
		status = cli_fail(rc, &e);
	} else if (!commit) {
		fprintf(stderr, "portenctl: %ld of %ld rows refused; nothing was imported\n", im.bad,
			im.rows);
		status = CLI_USAGE;
	} else {
		if (im.bad != 0)
			fprintf(stderr, "portenctl: %ld of %ld rows refused\n", im.bad, im.rows);
		if (c->json)
			fprintf(c->out, "{\"imported\": %ld, \"refused\": %ld}\n", im.written,
				im.bad);
		else
			fprintf(c->out, "imported %ld persons\n", im.written);
		status = im.bad != 0 ? CLI_USAGE : CLI_OK;
	}
	krr_reader_close(&rd);
	return status;
}

/* ---- export ---- */

static const char *const krr_export_fields[] = {
	"personidentifikator", "status", "reservasjon", "reservasjonstidspunkt",
	"reservasjon_oppdatert", "epostadresse", "epostadresse_oppdatert",
	"epostadresse_sist_verifisert", "mobiltelefonnummer", "mobiltelefonnummer_oppdatert",
	"mobiltelefonnummer_sist_verifisert", "postkasseadresse", "postkasseleverandoeradresse",
	"sertifikat", "spraak", "spraak_oppdatert", NULL,
};

static void
csv_cell(FILE *out, const char *v)
{
	if (v == NULL)
		return;
	if (strpbrk(v, ",\"\r\n") == NULL) {
		fputs(v, out);
		return;
	}
	fputc('"', out);
	for (; *v != '\0'; v++) {
		if (*v == '"')
			fputc('"', out);
		fputc(*v, out);
	}
	fputc('"', out);
}

static int
krr_export(struct cli *c, FILE *out, bool csv)
{
	struct err e = { 0 };
	struct krr_person *v = NULL;
	json_t *fields;
	char after[12] = "";
	size_t i, n = 0;
	int rc;

	if (csv) {
		for (i = 0; krr_export_fields[i] != NULL; i++)
			fprintf(out, "%s%s", i ? "," : "", krr_export_fields[i]);
		fputs("\r\n", out);
	}
	do {
		rc = store_call(c->app.store, krr, person_list, after, STORE_KRR_BATCH, &v, &n, &e);
		if (rc != 0)
			return cli_fail(rc, &e);
		for (i = 0; i < n; i++) {
			fields = krr_person_fields(&v[i]);
			memcpy(after, v[i].pid, sizeof(after));
			if (fields == NULL) {
				krr_persons_free(v, n);
				return cli_fail(ERR_NOMEM, &(struct err){ .msg = "out of memory" });
			}
			if (csv) {
				for (size_t k = 0; krr_export_fields[k] != NULL; k++) {
					if (k != 0)
						fputc(',', out);
					csv_cell(out, json_string_value(
							      json_object_get(fields, krr_export_fields[k])));
				}
				fputs("\r\n", out);
			} else {
				json_dumpf(fields, out, JSON_COMPACT | JSON_PRESERVE_ORDER);
				fputc('\n', out);
			}
			json_decref(fields);
		}
		krr_persons_free(v, n);
		v = NULL;
	} while (n == STORE_KRR_BATCH);
	return fflush(out) == 0 ? CLI_OK : cli_fail(ERR_IO, &(struct err){ .msg = "write failed" });
}

/* ---- test data (spec §7) ---- */

static int
krr_testdata(struct cli *c)
{
	struct err e = { 0 };
	int n = 0, rc = krr_testdata_write(&c->app, &n, &e);

	if (rc != 0)
		return cli_fail(rc, &e);
	if (c->json)
		fprintf(c->out, "{\"persons\": %d}\n", n);
	else
		fprintf(c->out, "wrote %d synthetic test persons\n", n);
	return CLI_OK;
}

/* ---- the command ---- */

static int
krr_show(struct cli *c, const char *pid, bool history)
{
	struct err e = { 0 };
	struct krr_person p;
	json_t *out = NULL;
	int rc;

	if (history) {
		rc = store_call(c->app.store, krr, history, pid, &out, &e);
	} else {
		rc = krr_person_load(&c->app, pid, &p, &e);
		if (rc == 0) {
			out = krr_person_fields(&p);
			if (out != NULL)
				json_object_set_new(out, "varslingsstatus",
						    json_string(krr_can_notify(&p, krr_now_ms())
									? "KAN_VARSLES"
									: "KAN_IKKE_VARSLES"));
			krr_person_clear(&p);
			rc = out != NULL ? 0 : ERR(&e, ERR_NOMEM, 0, NULL, "out of memory");
		}
	}
	if (rc != 0)
		return cli_fail(rc, &e);
	cli_print_json(c, out);
	json_decref(out);
	return CLI_OK;
}

int
krr_cmd(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "partial", no_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sub = argv[0], *format = NULL, *path = NULL;
	bool partial = false, csv;
	FILE *f = NULL;
	int ch, status;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'f': format = optarg; break;
		case 'p': partial = true; break;
		default:
			return cli_usage_error("krr %s: unknown option or missing value: %s", sub,
					       argv[optind - 1]);
		}
	}
	if (format != NULL && strcmp(format, "csv") != 0 && strcmp(format, "json") != 0)
		return cli_usage_error("krr %s: --format csv or json", sub);
	if (optind < argc)
		path = argv[optind++];
	if (optind != argc)
		return cli_usage_error("krr %s: too many arguments", sub);
	/* the format by option, else by the file's name; CSV by default */
	csv = format != NULL ? strcmp(format, "csv") == 0
			     : !(path != NULL && (strstr(path, ".json") != NULL));
	if (strcmp(sub, "import") == 0) {
		if (path == NULL)
			return cli_usage_error("krr import [--format csv|json] [--partial] FILE|-");
	} else if (strcmp(sub, "show") == 0 || strcmp(sub, "history") == 0) {
		if (path == NULL || format != NULL || partial)
			return cli_usage_error("krr %s PID", sub);
	} else if (strcmp(sub, "export") == 0 || strcmp(sub, "testdata") == 0) {
		if (partial || (strcmp(sub, "testdata") == 0 && (path != NULL || format != NULL)))
			return cli_usage_error("krr %s: wrong arguments", sub);
	} else {
		return cli_usage_error("unknown command 'krr %s'", sub);
	}
	status = cli_open(c);
	if (status != CLI_OK)
		return status;
	if (strcmp(sub, "show") == 0 || strcmp(sub, "history") == 0)
		return krr_show(c, path, strcmp(sub, "history") == 0);
	if (strcmp(sub, "testdata") == 0)
		return krr_testdata(c);
	if (path != NULL && strcmp(path, "-") != 0) {
		f = fopen(path, strcmp(sub, "import") == 0 ? "r" : "w");
		if (f == NULL) {
			fprintf(stderr, "portenctl: cannot open %s\n", path);
			return CLI_USAGE;
		}
	}
	if (strcmp(sub, "import") == 0)
		status = krr_import(c, f != NULL ? f : stdin, csv, partial);
	else
		status = krr_export(c, f != NULL ? f : c->out, csv);
	if (f != NULL && fclose(f) != 0 && status == CLI_OK)
		status = cli_fail(ERR_IO, &(struct err){ .msg = "cannot write the file" });
	return status;
}

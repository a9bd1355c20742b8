/*
 * portenctl krr: import and export of the register (CSV and JSON lines,
 * streamed: one row in memory at a time), one person's record and
 * history, and the synthetic test persons of spec/krr.md §7.
 *
 * An import runs in one transaction: every row is checked, each bad row is
 * reported with its line and the rule it broke, and nothing is kept unless
 * every row was good (--partial keeps the good ones).  A number that an
 * earlier row of the same file already wrote is a bad row; the store tells
 * (its change number is this import's), so no list of numbers is kept.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/cli.h"
#include "krr/krr_int.h"
#include "store/store.h"

#define KRR_MAX_ROW (64 * 1024)   /* bytes of one row, a certificate included */
#define KRR_MAX_COLS 32
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

/* ---- reading rows ---- */

struct krr_reader {
	FILE *f;
	bool csv;
	long line;                /* physical line the next read starts on */
	long row_line;            /* where the row just read began */
	json_t *header;           /* CSV: the field names */
	char *cell;               /* CSV: the cell being read */
	size_t cell_len, row_len;
};

/* One CSV character, with CR LF and a lone CR read as LF. */
static int
csv_getc(struct krr_reader *rd)
{
	int ch = getc(rd->f);

	if (ch == '\r') {
		int next = getc(rd->f);

		if (next != '\n' && next != EOF)
			ungetc(next, rd->f);
		ch = '\n';
	}
	if (ch == '\n')
		rd->line++;
	return ch;
}

static int
cell_add(struct krr_reader *rd, int ch, char *why, size_t whylen)
{
	if (ch == '\0') {
		snprintf(why, whylen, "a NUL byte in a cell");
		return -1;
	}
	if (++rd->row_len > KRR_MAX_ROW) {
		snprintf(why, whylen, "the row is longer than %d bytes", KRR_MAX_ROW);
		return -1;
	}
	rd->cell[rd->cell_len++] = (char)ch;
	return 0;
}

/*
 * One CSV record (RFC 4180: quoted cells may hold commas, quotes doubled,
 * line breaks) into *cells, a new array of strings.  1 a record, 0 at the
 * end, -1 with why (the rest of the file cannot be read reliably).
 */
static int
csv_record(struct krr_reader *rd, json_t **cells, char *why, size_t whylen)
{
	bool quoted = false, was_quoted = false;
	int ch;

	*cells = json_array();
	rd->cell_len = rd->row_len = 0;
	rd->row_line = rd->line;
	if (*cells == NULL)
		return snprintf(why, whylen, "out of memory"), -1;
	for (;;) {
		ch = csv_getc(rd);
		if (quoted) {
			if (ch == EOF) {
				snprintf(why, whylen, "a quoted cell is not closed before the end");
				return -1;
			}
			if (ch == '"') {
				int next = getc(rd->f);

				if (next == '"') {
					if (cell_add(rd, '"', why, whylen) != 0)
						return -1;
					continue;
				}
				if (next != EOF)
					ungetc(next, rd->f);
				quoted = false;
				continue;
			}
			if (cell_add(rd, ch, why, whylen) != 0)
				return -1;
			continue;
		}
		if (ch == '"') {
			if (rd->cell_len != 0 || was_quoted) {
				snprintf(why, whylen, "a quote inside an unquoted cell");
				return -1;
			}
			quoted = was_quoted = true;
			continue;
		}
		if (ch == ',' || ch == '\n' || ch == EOF) {
			if (ch == EOF && json_array_size(*cells) == 0 && rd->cell_len == 0 &&
			    !was_quoted)
				return 0;
			if (json_array_append_new(*cells, json_stringn(rd->cell, rd->cell_len)) != 0)
				return snprintf(why, whylen, "a cell is not UTF-8 text"), -1;
			if (json_array_size(*cells) > KRR_MAX_COLS)
				return snprintf(why, whylen, "more than %d cells", KRR_MAX_COLS), -1;
			rd->cell_len = 0;
			was_quoted = false;
			if (ch != ',')
				return 1;
			continue;
		}
		if (was_quoted) {
			snprintf(why, whylen, "text after the closing quote of a cell");
			return -1;
		}
		if (cell_add(rd, ch, why, whylen) != 0)
			return -1;
	}
}

/* A file may begin with a UTF-8 byte order mark: skip it. */
static void
skip_bom(FILE *f)
{
	int a = getc(f), b, c;

	if (a != 0xEF) {
		if (a != EOF)
			ungetc(a, f);
		return;
	}
	b = getc(f);
	c = getc(f);
	if (b != 0xBB || c != 0xBF) {
		/* not a BOM: the first cell then fails its rule, which is reported */
		if (c != EOF)
			ungetc(c, f);
	}
}

static bool
known_field(const char *name)
{
	static const char *const names[] = {
		"personidentifikator", "status", "reservasjon", "reservasjonstidspunkt",
		"reservasjon_oppdatert", "epostadresse", "epostadresse_oppdatert",
		"epostadresse_sist_verifisert", "mobiltelefonnummer",
		"mobiltelefonnummer_oppdatert", "mobiltelefonnummer_sist_verifisert",
		"postkasseadresse", "postkasseleverandoeradresse", "sertifikat", "spraak",
		"spraak_oppdatert", NULL,
	};

	for (size_t i = 0; names[i] != NULL; i++)
		if (strcmp(names[i], name) == 0)
			return true;
	return false;
}

static int
csv_header(struct krr_reader *rd, char *why, size_t whylen)
{
	json_t *cells = NULL, *v, *seen = json_object();
	size_t i;
	int rc = csv_record(rd, &cells, why, whylen);

	if (rc == 0)
		snprintf(why, whylen, "the file is empty: a header row of field names comes first");
	if (rc != 1 || seen == NULL)
		goto fail;
	json_array_foreach(cells, i, v) {
		const char *name = json_string_value(v);

		if (!known_field(name)) {
			snprintf(why, whylen, "header: unknown field '%.40s'", name);
			goto fail;
		}
		if (json_object_get(seen, name) != NULL) {
			snprintf(why, whylen, "header: field %s twice", name);
			goto fail;
		}
		json_object_set_new(seen, name, json_true());
	}
	if (json_object_get(seen, "personidentifikator") == NULL) {
		snprintf(why, whylen, "header: no personidentifikator column");
		goto fail;
	}
	json_decref(seen);
	rd->header = cells;
	return 0;
fail:
	json_decref(seen);
	json_decref(cells);
	return -1;
}

/*
 * The next row as an object of field names and strings.  1 a row (or a
 * row with a problem: *row NULL and why set, reading goes on), 0 at the
 * end, -1 when the file cannot be read further (why set).
 */
static int
next_row(struct krr_reader *rd, json_t **row, char *why, size_t whylen)
{
	json_t *cells = NULL, *v;
	json_error_t jerr;
	size_t i;
	int rc;

	*row = NULL;
	why[0] = '\0';
	if (rd->csv) {
		rc = csv_record(rd, &cells, why, whylen);
		if (rc != 1) {
			json_decref(cells);
			return rc;
		}
		if (json_array_size(cells) == 1 && json_string_length(json_array_get(cells, 0)) == 0) {
			json_decref(cells);
			return next_row(rd, row, why, whylen); /* an empty line */
		}
		if (json_array_size(cells) != json_array_size(rd->header)) {
			snprintf(why, whylen, "%zu cells, the header has %zu", json_array_size(cells),
				 json_array_size(rd->header));
			json_decref(cells);
			return 1;
		}
		*row = json_object();
		json_array_foreach(cells, i, v)
			json_object_set(*row, json_string_value(json_array_get(rd->header, i)), v);
		json_decref(cells);
		return 1;
	}
	for (;;) {
		char *buf = NULL;
		size_t cap = 0;
		ssize_t n = getline(&buf, &cap, rd->f);

		rd->row_line = ++rd->line;
		if (n < 0) {
			free(buf);
			return 0;
		}
		while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
			buf[--n] = '\0';
		if (n == 0) {
			free(buf);
			continue;
		}
		if (n > KRR_MAX_ROW) {
			snprintf(why, whylen, "the row is longer than %d bytes", KRR_MAX_ROW);
		} else {
			*row = json_loadb(buf, (size_t)n, JSON_REJECT_DUPLICATES, &jerr);
			if (*row == NULL)
				snprintf(why, whylen, "not JSON: %s", jerr.text);
			else if (!json_is_object(*row)) {
				json_decref(*row);
				*row = NULL;
				snprintf(why, whylen, "not a JSON object");
			}
		}
		free(buf);
		return 1;
	}
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
	rc = store_call(app->store, krr, person_put, &p, hist, krr_now_ms(), &change, &prev, e);
	if (rc != 0)
		goto out;
	if (im->first_change == 0)
		im->first_change = change;
	if (prev != 0 && prev >= im->first_change) {
		/* the person was written by an earlier row of this file */
		report(im, line, "personidentifikator repeats an earlier row's");
		if (im->partial)
			rc = ERR(e, ERR_INVAL, 0, NULL, "a repeated personidentifikator (line %ld)",
				 line);
		goto out;
	}
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
	struct krr_reader rd = { f, csv, csv ? 1 : 0, 1, NULL, NULL, 0, 0 };
	struct err e = { 0 };
	json_t *row = NULL;
	char why[200];
	bool commit;
	int rc, status = CLI_OK;

	rd.cell = malloc(KRR_MAX_ROW + 1);
	if (rd.cell == NULL)
		return cli_fail(ERR_NOMEM, &(struct err){ .msg = "out of memory" });
	skip_bom(f);
	if (csv && csv_header(&rd, why, sizeof(why)) != 0) {
		fprintf(stderr, "line %ld: %s\n", rd.row_line, why);
		free(rd.cell);
		return CLI_USAGE;
	}
	rc = store_tx_begin(c->app.store, &e);
	if (rc != 0) {
		free(rd.cell);
		return cli_fail(rc, &e);
	}
	while ((rc = next_row(&rd, &row, why, sizeof(why))) == 1) {
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
	json_decref(rd.header);
	free(rd.cell);
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

struct krr_testperson {
	const char *pid, *profile;
	const char *email, *mobile;
	int age_days;             /* how long ago the contact details were set */
	bool mailbox, deleted, reserved;
};

/*
 * The six profiles of the register's test users, and reserved ones.
 * Synthetic numbers (month + 80), so they never name a real person.
 */
static const struct krr_testperson krr_testpersons[] = {
	{ "12838540056", "mobile, e-mail and mailbox", "ola.nordmann@example.no", "+4799000001",
	  10, true, false, false },
	{ "04879140078", "mobile and e-mail", "kari.nordmann@example.no", "+4799000002", 30,
	  false, false, false },
	{ "23917840059", "mobile only", NULL, "+4799000003", 60, false, false, false },
	{ "30816640004", "e-mail only", "per.hansen@example.no", NULL, 90, false, false, false },
	{ "15858240090", "deleted from the register", NULL, NULL, 0, false, true, false },
	{ "09899940080", "expired by the 18-month rule", "gammel@example.no", "+4799000006",
	  800, false, false, false },
	{ "17828840185", "reserved", "reservert@example.no", "+4799000007", 20, false, false,
	  true },
	{ "28867440072", "reserved, with mailbox", NULL, "+4799000008", 20, true, false, true },
	{ "21879498012", "the TestID demo person: mobile and e-mail", "demo@example.no",
	  "+4799000009", 100, false, false, false },
};

static int
krr_testdata(struct cli *c)
{
	struct err e = { 0 };
	int64_t now = krr_now_ms();
	int rc = 0, n = 0;

	for (size_t i = 0; rc == 0 && i < sizeof(krr_testpersons) / sizeof(krr_testpersons[0]);
	     i++) {
		const struct krr_testperson *t = &krr_testpersons[i];
		int64_t set = now - (int64_t)t->age_days * 86400000;
		struct krr_person p = { 0 };

		memcpy(p.pid, t->pid, sizeof(p.pid));
		p.status = t->deleted ? KRR_SLETTET : KRR_AKTIV;
		p.reserved = t->reserved;
		p.reserved_at = p.reservation_updated = t->reserved ? set : 0;
		if (!t->deleted) {
			p.email.value = t->email != NULL ? strdup(t->email) : NULL;
			p.email.updated = p.email.verified = t->email != NULL ? set : 0;
			p.mobile.value = t->mobile != NULL ? strdup(t->mobile) : NULL;
			p.mobile.updated = p.mobile.verified = t->mobile != NULL ? set : 0;
			memcpy(p.lang, "nb", 3);
			p.lang_updated = set;
		}
		if (t->mailbox) {
			/* Digipost's organisation number (spec §1.1) */
			p.mailbox = strdup("testperson#9YDT");
			p.mailbox_provider = strdup("984661185");
		}
		if ((t->email != NULL && !t->deleted && p.email.value == NULL) ||
		    (t->mobile != NULL && !t->deleted && p.mobile.value == NULL) ||
		    (t->mailbox && (p.mailbox == NULL || p.mailbox_provider == NULL)))
			rc = ERR(&e, ERR_NOMEM, 0, NULL, "out of memory");
		if (rc == 0)
			rc = krr_person_save(&c->app, &p, "testdata", t->profile, &e);
		krr_person_clear(&p);
		n += rc == 0;
	}
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

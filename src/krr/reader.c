/*
 * Reading an import file (portenctl krr import), one row at a time: CSV
 * (RFC 4180, a header row of field names, quoted cells with commas, quotes
 * and line breaks, CRLF, LF and CR line ends mixed, a UTF-8 BOM skipped) or
 * JSON lines.  Every limit is here; tests/fuzz/fuzz_krr_import.c feeds it
 * arbitrary bytes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "krr/krr_int.h"

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
int
krr_reader_next(struct krr_reader *rd, json_t **row, char *why, size_t whylen)
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
			return krr_reader_next(rd, row, why, whylen); /* an empty line */
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

int
krr_reader_open(struct krr_reader *rd, FILE *f, bool csv, char *why, size_t whylen)
{
	memset(rd, 0, sizeof(*rd));
	rd->f = f;
	rd->csv = csv;
	rd->line = csv ? 1 : 0;
	rd->row_line = 1;
	rd->cell = malloc(KRR_MAX_ROW + 1);
	if (rd->cell == NULL) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	skip_bom(f);
	if (csv && csv_header(rd, why, whylen) != 0) {
		krr_reader_close(rd);
		return -1;
	}
	return 0;
}

void
krr_reader_close(struct krr_reader *rd)
{
	json_decref(rd->header);
	free(rd->cell);
	rd->header = NULL;
	rd->cell = NULL;
}

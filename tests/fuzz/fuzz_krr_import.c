/*
 * Fuzz the KRR import reader (src/krr/reader.c) and the rules a row must
 * pass (src/krr/person.c): files come from outside.  The first byte picks
 * CSV or JSON lines, the rest is the file.  Whatever the bytes, reading
 * ends, every row is an object of strings with known names, lines only
 * grow, and a row the rules accept writes back to the wire as JSON.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "krr/krr_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_row(const json_t *row)
{
	struct krr_person p;
	const char *key;
	const json_t *v;
	char why[200];
	json_t *w;

	if (!json_is_object(row))
		abort();
	json_object_foreach((json_t *)row, key, v)
		if (!json_is_string(v) && !json_is_null(v) && !json_is_number(v) &&
		    !json_is_boolean(v) && !json_is_array(v) && !json_is_object(v))
			abort();
	if (krr_person_from_fields(row, NATID_CTX_TEST, INT64_C(1780000000000), &p, why,
				   sizeof(why)) == 0) {
		if (strlen(p.pid) != 11)
			abort();
		w = krr_person_wire(&p, KRR_F_CONTACT | KRR_F_POST | KRR_F_V2, INT64_C(1780000000000));
		if (w == NULL)
			abort();
		json_decref(w);
	} else if (why[0] == '\0') {
		abort(); /* a refusal always says why */
	}
	krr_person_clear(&p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct krr_reader rd;
	char why[200];
	json_t *row = NULL;
	long last = 0;
	FILE *f;
	int rc, rows = 0;

	if (size < 1)
		return 0;
	f = fmemopen((void *)(data + 1), size - 1 ? size - 1 : 1, "rb");
	if (f == NULL)
		return 0;
	if (size == 1)
		fgetc(f); /* an empty file */
	if (krr_reader_open(&rd, f, (data[0] & 1) != 0, why, sizeof(why)) == 0) {
		while ((rc = krr_reader_next(&rd, &row, why, sizeof(why))) == 1) {
			if (rd.row_line < last || ++rows > 1000000)
				abort();
			last = rd.row_line;
			if (row != NULL)
				check_row(row);
			else if (why[0] == '\0')
				abort();
			json_decref(row);
			row = NULL;
		}
		if (rc < 0 && why[0] == '\0')
			abort();
		krr_reader_close(&rd);
	}
	fclose(f);
	{
		/* the time parser on the same bytes */
		char *s = malloc(size);
		int64_t t;

		if (s != NULL) {
			memcpy(s, data + 1, size - 1);
			s[size - 1] = '\0';
			if (krr_time_parse(s, &t) == 0 && t < 0)
				abort();
			free(s);
		}
	}
	return 0;
}

/*
 * Schema golden files (tests/unit/store/schema/): what a freshly migrated
 * database looks like, captured from the schema as it shipped.  A test
 * compares its dump with the file; with PORTEN_GOLDEN_WRITE=1 in the
 * environment it writes the file instead (only when the schema is meant to
 * change, by a new migration).
 */
#ifndef PORTEN_TEST_STORE_GOLDEN_H
#define PORTEN_TEST_STORE_GOLDEN_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
golden_check(const char *name, const char *dump)
{
	char path[1024];
	const char *w = getenv("PORTEN_GOLDEN_WRITE");
	FILE *f;
	char *want;
	long n;

	snprintf(path, sizeof(path), "%s/tests/unit/store/schema/%s", PORTEN_SOURCE_DIR, name);
	if (w != NULL && strcmp(w, "1") == 0) {
		f = fopen(path, "w");
		assert_non_null(f);
		assert_int_equal(fputs(dump, f) >= 0, 1);
		assert_int_equal(fclose(f), 0);
		return;
	}
	f = fopen(path, "r");
	if (f == NULL)
		fail_msg("cannot read %s", path);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	want = calloc(1, (size_t)n + 1);
	assert_non_null(want);
	assert_int_equal(fread(want, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	if (strcmp(want, dump) != 0)
		fail_msg("schema differs from %s:\n%s", path, dump);
	free(want);
}

#endif

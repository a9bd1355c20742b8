/*
 * Fuzz the form and query-string parser: whatever the bytes, it must either
 * fail cleanly or give parameters whose names and values are clean UTF-8,
 * within the limits, with nothing read past the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "copy.h"
#include "http/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena *a = arena_new();
	struct http_params p;
	struct str v;
	struct err e;
	char *copy;
	int rc;

	if (a == NULL)
		return 0;
	copy = fz_copy(data, size);
	if (copy == NULL)
		goto out;
	err_clear(&e);
	rc = http_parse_urlencoded(a, (struct str){ copy, size }, &p, &e);
	if (rc == 0) {
		if (p.n > HTTP_MAX_PARAMS)
			abort();
		for (size_t i = 0; i < p.n; i++) {
			if (p.v[i].name.len == 0 || p.v[i].name.len > HTTP_MAX_PARAM_NAME ||
			    p.v[i].value.len > HTTP_MAX_PARAM_VALUE)
				abort();
			if (!str_is_clean_utf8(p.v[i].name) || !str_is_clean_utf8(p.v[i].value))
				abort();
			if (p.v[i].name.p[p.v[i].name.len] != '\0' ||
			    p.v[i].value.p[p.v[i].value.len] != '\0')
				abort();
			rc = http_param(&p, p.v[i].name.p, &v);
			if (rc != 0 && rc != ERR_DUP)
				abort();
		}
	} else if ((rc != ERR_INVAL && rc != ERR_LIMIT) || p.n != 0 || e.msg[0] == '\0') {
		abort();
	}
	free(copy);
out:
	arena_free(a);
	return 0;
}

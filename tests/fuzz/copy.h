/* A fuzz input copied for the parsers that take it as a string. */
#ifndef PORTEN_TESTS_FUZZ_COPY_H
#define PORTEN_TESTS_FUZZ_COPY_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/*
 * An exact-size heap copy of data (free it), so ASan catches any read past
 * the end; NULL when out of memory.
 */
static inline char *
fz_copy(const uint8_t *data, size_t size)
{
	char *copy = malloc(size ? size : 1);

	if (copy != NULL && size)
		memcpy(copy, data, size);
	return copy;
}

#endif

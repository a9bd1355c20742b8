/*
 * Store facet of the person register (docs/people.md): national identity
 * numbers, whether each is the person's unique identity, and the foreign
 * identifiers registered on each person by country
 * (spec/ansattporten-eidas-testid.md §2.4).  Written by portenctl
 * (`portenctl person import`), read by eIDAS matching and MinID.  Reached
 * through store_call(s, people, op, ...).
 */
#ifndef PORTEN_STORE_FACET_PEOPLE_H
#define PORTEN_STORE_FACET_PEOPLE_H

#include <jansson.h>
#include <stdbool.h>

#include "core/err.h"

struct store;

struct store_people_ops {
	/* Add the person pid, or change whether the number is their unique identity. */
	int (*put)(struct store *s, const char *pid, bool unique, struct err *e);
	/* Take every foreign identifier off pid (none is no error). */
	int (*foreign_clear)(struct store *s, const char *pid, struct err *e);
	/*
	 * Register the identifier id from country (two letters) on pid; the
	 * person must be in the register (ERR_NOTFOUND otherwise).  Adding one
	 * already there changes nothing.
	 */
	int (*foreign_add)(struct store *s, const char *pid, const char *country, const char *id,
			   struct err *e);
	/*
	 * {"pid","unique","foreign":[{"country","id"}, ...]} of pid, foreign
	 * ordered by country and identifier (the caller's); ERR_NOTFOUND.
	 */
	int (*get)(struct store *s, const char *pid, json_t **doc, struct err *e);
	/*
	 * Every person who has id from country registered: *pids an array of
	 * their numbers, ordered (the caller's), empty when none.
	 */
	int (*match)(struct store *s, const char *country, const char *id, json_t **pids,
		     struct err *e);
};

#endif

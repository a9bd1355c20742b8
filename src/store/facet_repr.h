/*
 * Store facet of the local register of representation
 * (docs/representation.md): persons, organisations with main and
 * sub-units, resources, a person's rights on a resource for an
 * organisation, and fullmakts.  Written by portenctl (`portenctl repr`),
 * read by the login's choosers; the login never writes it.  Reached
 * through store_call(s, repr, op, ...).
 */
#ifndef PORTEN_STORE_FACET_REPR_H
#define PORTEN_STORE_FACET_REPR_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"

struct store;

struct store_repr_ops {
	/* Add the person pid (full name), or rename one. */
	int (*person_put)(struct store *s, const char *pid, const char *name, struct err *e);
	/* {"pid","name"} of pid (the caller's); ERR_NOTFOUND. */
	int (*person_get)(struct store *s, const char *pid, json_t **doc, struct err *e);
	/*
	 * Add or change an organisation: its number, name, unit type (an
	 * organisation form code: AS, BEDR, NUF, ...), the main unit of a
	 * sub-unit (parent, or NULL for a main unit) and whether it is deleted.
	 */
	int (*org_put)(struct store *s, const char *orgno, const char *name, const char *unit_type,
		       const char *parent, bool deleted, struct err *e);
	/* Name a resource (its full URN). */
	int (*resource_put)(struct store *s, const char *resource, const char *name,
			    struct err *e);
	/* {"resource","name"} (the caller's); ERR_NOTFOUND. */
	int (*resource_get)(struct store *s, const char *resource, json_t **doc, struct err *e);
	/*
	 * pid's rights on resource for orgno: rights a JSON array of strings,
	 * replacing what was there; an empty array takes them away.
	 */
	int (*right_put)(struct store *s, const char *pid, const char *orgno, const char *resource,
			 const json_t *rights, struct err *e);
	/*
	 * The organisations for which pid holds rights on resource, by
	 * number: *docs an array of {"orgno","name","unit_type","parent"
	 * (null for a main unit),"deleted","rights"} (the caller's).
	 */
	int (*reportees)(struct store *s, const char *pid, const char *resource, json_t **docs,
			 struct err *e);
	/*
	 * authorizer lets representative act in permissions (an array of
	 * {"owner","role"}) from valid_from until valid_to (0: no end);
	 * replaces an earlier one between the two.
	 */
	int (*fullmakt_put)(struct store *s, const char *representative, const char *authorizer,
			    const json_t *permissions, int64_t valid_from, int64_t valid_to,
			    struct err *e);
	/*
	 * The fullmakts of representative valid at now, by authorizer: *docs
	 * an array of {"authorizer","name" (null when the register has no
	 * such person),"permissions"} (the caller's).
	 */
	int (*fullmakts)(struct store *s, const char *representative, int64_t now, json_t **docs,
			 struct err *e);
};

#endif

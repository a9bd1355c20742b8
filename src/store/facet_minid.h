/*
 * Store facet of MinID: its accounts, one-time codes and locks are
 * documents by kind, kept like the login's short-lived documents (the
 * same operations on the same table, under MinID's own kinds).  Reached
 * through store_call(s, minid, op, ...).
 */
#ifndef PORTEN_STORE_FACET_MINID_H
#define PORTEN_STORE_FACET_MINID_H

#include <jansson.h>
#include <stdint.h>

#include "core/err.h"
#include "store/facet_doc.h"

struct store;

struct store_minid_ops {
	/* Documents under MinID's kinds (facet_doc.h). */
	STORE_DOC_OPS;
};

#endif

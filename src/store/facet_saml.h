/*
 * Store facet of the SAML proxy (spec/saml-proxy.md): the registered
 * service providers, one row each keyed by entityID, and its short-lived
 * documents (artifacts, logins in progress, AuthnRequest ids seen) under
 * its own kinds in the documents table.  Reached through
 * store_call(s, saml, op, ...).
 */
#ifndef PORTEN_STORE_FACET_SAML_H
#define PORTEN_STORE_FACET_SAML_H

#include <jansson.h>
#include <stdint.h>

#include "core/err.h"
#include "store/facet_doc.h"

struct store;

struct store_saml_ops {
	/* Artifacts, logins in progress, request ids: documents under SAML's kinds (facet_doc.h). */
	STORE_DOC_OPS;
	/* One SP: doc is its reduced registration (src/saml/sp.c); ERR_NOTFOUND. */
	int (*sp_get)(struct store *s, const char *entity_id, json_t **doc, struct err *e);
	/* Register or replace (a renewed certificate) the SP of that entityID. */
	int (*sp_put)(struct store *s, const char *entity_id, const json_t *doc, struct err *e);
	/* ERR_NOTFOUND when there is none. */
	int (*sp_delete)(struct store *s, const char *entity_id, struct err *e);
	/* A JSON array of every SP's doc, ordered by entityID. */
	int (*sp_list)(struct store *s, json_t **docs, struct err *e);
};

#endif

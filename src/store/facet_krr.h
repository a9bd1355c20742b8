/*
 * Store facet of KRR, the contact and reservation register (spec/krr.md):
 * one record per person (current values only), a history entry
 * per change, and the change numbers the feed for local copies pages by.
 * Reached through store_call(s, krr, op, ...).
 */
#ifndef PORTEN_STORE_FACET_KRR_H
#define PORTEN_STORE_FACET_KRR_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "store/facet_doc.h"

struct store;

/* The most persons one call reads (a lookup's batch, a feed's page). */
#define STORE_KRR_BATCH 1000

/*
 * The register's record of one person (spec/krr.md §1.1), the facet's
 * typed row: one column per field, so a lookup reads values, not
 * documents.  src/krr/ owns the rules on the values.  Times are ms since
 * the epoch, 0 when absent; strings are the record's own (malloc'd),
 * NULL when absent; krr_person_clear frees them.
 */
enum krr_status { KRR_AKTIV, KRR_SLETTET };

struct krr_channel {
	char *value;             /* NULL: no such channel */
	int64_t updated;         /* <channel>_oppdatert */
	int64_t verified;        /* <channel>_sist_verifisert */
};

struct krr_person {
	char pid[12];
	enum krr_status status;
	bool reserved;           /* reservasjon JA */
	int64_t reserved_at;     /* reservasjonstidspunkt (only when reserved) */
	int64_t reservation_updated;
	struct krr_channel email, mobile;
	char *mailbox;           /* postkasseadresse */
	char *mailbox_provider;  /* postkasseleverandoeradresse (organisation number) */
	char *cert;              /* sertifikat, base64 DER */
	char lang[3];            /* spraak: nb nn en se, "" absent */
	int64_t lang_updated;
};

static inline void
krr_person_clear(struct krr_person *p)
{
	free(p->email.value);
	free(p->mobile.value);
	free(p->mailbox);
	free(p->mailbox_provider);
	free(p->cert);
	memset(p, 0, sizeof(*p));
}

/* Clear and free n records of an array the facet returned. */
static inline void
krr_persons_free(struct krr_person *v, size_t n)
{
	for (size_t i = 0; v != NULL && i < n; i++)
		krr_person_clear(&v[i]);
	free(v);
}

struct store_krr_ops {
	/*
	 * The register's short-lived documents (facet_doc.h): the self-service
	 * pages' sessions and logins, and the codes that confirm a new e-mail
	 * address or mobile number (kinds "krr-*").
	 */
	STORE_DOC_OPS;
	/* One person's record into *out (the caller clears it); ERR_NOTFOUND when not registered. */
	int (*person_get)(struct store *s, const char *pid, struct krr_person *out, struct err *e);
	/*
	 * The records of the persons pids names (a JSON array of at most
	 * STORE_KRR_BATCH strings), read by one query; persons without a
	 * record are left out, and the order is the store's.  *out an array
	 * of *n records (krr_persons_free), NULL when none.
	 */
	int (*person_get_many)(struct store *s, const json_t *pids, struct krr_person **out,
			       size_t *n, struct err *e);
	/*
	 * Write p (new or replacing) and append hist to its history, both
	 * under the next change number.  The number is taken under a lock
	 * held until the write commits, so no change becomes visible with a
	 * number below one already visible.  *change the new
	 * number, *prev the record's number before (0: new).  since above 0
	 * keeps a record whose number is since or above (one an import has
	 * just written in its transaction): nothing is written, ERR_EXISTS.
	 */
	int (*person_put)(struct store *s, const struct krr_person *p, const json_t *hist,
			  int64_t now, int64_t since, int64_t *change, int64_t *prev,
			  struct err *e);
	/*
	 * The change feed: the records whose change number is from or above
	 * (and at most the newest), by number, at most limit of them: *out as
	 * for person_get_many; *til the last number among them (0 when none);
	 * *latest the newest number the register has given out.
	 */
	int (*changes)(struct store *s, int64_t from, int64_t limit, struct krr_person **out,
		       size_t *n, int64_t *til, int64_t *latest, struct err *e);
	/* Records with pid greater than after ("" from the start), by pid, at most limit. */
	int (*person_list)(struct store *s, const char *after, int64_t limit,
			   struct krr_person **out, size_t *n, struct err *e);
	/*
	 * pid's history, oldest first: an array of {"change", "time", "entry"}
	 * (entry: hist as written).  An empty array when there is none.
	 */
	int (*history)(struct store *s, const char *pid, json_t **list, struct err *e);
};

#endif

/*
 * The store: everything that must outlive a request.  The only code that
 * speaks SQL lives behind this interface (engines: SQLite, PostgreSQL).
 *
 * Operations are grouped by domain into facets (facet_<domain>.h), each a
 * table the engine fills: s->oauth, s->login, s->registry, s->minid,
 * s->events, s->billing, s->saml, s->krr, s->repr, s->people.  Callers reach
 * them through store_call(s, facet, op, ...), which counts and times every
 * call (store_stats()).
 *
 * Records are small typed rows plus, where the shape belongs to a service, a
 * JSON document (`doc`) the service owns.  Single-use things are consumed
 * atomically inside the backend.  Secrets (codes, tokens, session cookies)
 * are keyed by their SHA-256 (base64url, see sha256_b64url()); callers hash.
 *
 * Ownership: strings and json_t returned through out-parameters belong to
 * the caller: char * with free(), json_t with json_decref().
 *
 * Thread safety: one struct store is shared by all threads; backends keep
 * one database connection per thread.
 *
 * Errors: 0; ERR_NOTFOUND (no such live record); ERR_EXISTS (key taken,
 * replayed jti); ERR_REUSED (single-use record presented again);
 * ERR_UNAVAILABLE (database away); ERR_INTERNAL.
 */
#ifndef PORTEN_STORE_STORE_H
#define PORTEN_STORE_STORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "store/facet_billing.h"
#include "store/facet_events.h"
#include "store/facet_krr.h"
#include "store/facet_repr.h"
#include "store/facet_people.h"
#include "store/facet_login.h"
#include "store/facet_minid.h"
#include "store/facet_oauth.h"
#include "store/facet_registry.h"
#include "store/facet_saml.h"

/*
 * What store_open() opens.  target names the database: a PostgreSQL URI
 * ("postgresql://..." or "postgres://...") or else an SQLite path, "file:"
 * URI or ":memory:".  pool_size: PostgreSQL connections per store; 0 takes
 * PORTEN_PG_POOL_SIZE from the environment, else STORE_POOL_DEFAULT; values
 * above STORE_POOL_MAX are capped.  SQLite keeps its own pool.
 */
struct store_opts {
	const char *target;
	int pool_size;
};

#define STORE_POOL_DEFAULT 8      /* PostgreSQL connections per store (per node) */
#define STORE_POOL_MAX 256

/* The facets, numbered for the statistics; STORE_FACET_OPS slots each. */
#define STORE_FACET_IDX_oauth 0
#define STORE_FACET_IDX_login 1
#define STORE_FACET_IDX_registry 2
#define STORE_FACET_IDX_minid 3
#define STORE_FACET_IDX_events 4
#define STORE_FACET_IDX_billing 5
#define STORE_FACET_IDX_saml 6
#define STORE_FACET_IDX_krr 7
#define STORE_FACET_IDX_repr 8
#define STORE_FACET_IDX_people 9
#define STORE_NFACETS 10
#define STORE_FACET_OPS 16

/* One operation's calls so far (store_stats()). */
struct store_op_stat {
	const char *name;        /* "facet.op"; NULL until first called */
	uint64_t calls;
	uint64_t errors;         /* calls that returned non-zero */
	uint64_t ns;             /* time spent in them, summed */
};

struct store_engine;         /* the engine behind the facets (backend_int.h) */

struct store {
	const struct store_engine *engine;
	const struct store_oauth_ops *oauth;
	const struct store_login_ops *login;
	const struct store_registry_ops *registry;
	const struct store_minid_ops *minid;
	const struct store_event_ops *events;
	const struct store_billing_ops *billing;
	const struct store_saml_ops *saml;
	const struct store_krr_ops *krr;
	const struct store_repr_ops *repr;
	const struct store_people_ops *people;
	uint64_t serial;         /* unique per store_open in this process (caches tell stores apart) */
	struct store_op_stat stats[STORE_NFACETS * STORE_FACET_OPS];
};

/*
 * Call an operation: store_call(s, oauth, code_consume, hash, &doc, &gid, e)
 * runs s->oauth->code_consume(s, hash, &doc, &gid, e) and gives its result,
 * counting and timing the call and logging it at debug level.  s is
 * evaluated once.
 */
#define store_call(s, facet, op, ...) store_call_(s, facet, op, __VA_ARGS__)
#ifdef __CPPCHECK__
/*
 * The static analyser does not follow a statement expression into the
 * call, so it sees outputs never written; it reads the bare call instead.
 */
#define store_call_(s, facet, op, ...) ((s)->facet->op((s), __VA_ARGS__))
#else
#define store_call_(s, facet, op, ...)                                                      \
	__extension__({                                                                      \
		struct store *store_call_s_ = (s);                                           \
		int64_t store_call_t0_ = store_call_clock();                                 \
		int store_call_rc_ = store_call_s_->facet->op(store_call_s_, __VA_ARGS__);   \
		store_call_done(store_call_s_,                                               \
				STORE_FACET_IDX_##facet * STORE_FACET_OPS +                  \
					(unsigned)(__builtin_offsetof(                       \
							   __typeof__(*store_call_s_->facet), op) / \
						   sizeof(void (*)(void))),                  \
				#facet "." #op, store_call_rc_, store_call_t0_);             \
	})
#endif

/* store_call's wrapper: a monotonic clock in ns, and the count, time and log of one call. */
int64_t store_call_clock(void);
int store_call_done(struct store *s, unsigned slot, const char *name, int rc, int64_t t0);

/* Copy the operations called so far into out (at most max); returns how many. */
size_t store_stats(const struct store *s, struct store_op_stat *out, size_t max);

/* Open the engine that fits o->target (src/store/open.c). */
int store_open(struct store **out, const struct store_opts *o, struct err *e);
/* The PostgreSQL pool size o asks for (see struct store_opts). */
unsigned store_pool_size(const struct store_opts *o);
void store_close(struct store *s);
/* "sqlite" or "pg". */
const char *store_engine_name(const struct store *s);

/*
 * One transaction around the writes of one request that belong together
 * (one commit instead of one per write; all or nothing).  Every operation
 * the calling thread runs on s between store_tx_begin and store_tx_end
 * joins it.  Begins nest: only the outermost end commits.
 * store_tx_end(commit=false), or any operation failing inside in a way the
 * engine cannot step back from, makes the outermost end roll back and
 * return an error.  Keep what runs inside short (no signing): with SQLite
 * it holds the database's one write lock.  Prefer store_tx_run().
 * Inside one, an engine may send a plain insert later, with the next
 * operation that needs an answer or with the commit (PostgreSQL does, to
 * save round trips): the insert's failure then comes back from that
 * operation or from the outermost end, and the whole rolls back all the
 * same.  Only inserts under fresh keys are sent later, and a replay key
 * (jti_remember: its "seen before" may come from the end, as ERR_EXISTS,
 * or from the next operation that needs an answer, as that operation's
 * error); any other answer a caller acts on ("not found", a taken id)
 * still comes from its own operation.
 */
int store_tx_begin(struct store *s, struct err *e);
int store_tx_end(struct store *s, bool commit, struct err *e);
/* How deep the calling thread's transaction on s nests: 0 outside one. */
int store_tx_depth(struct store *s);

/*
 * Run body(arg, e) in one transaction (store_tx_begin ... store_tx_end):
 * committed when it returns 0, rolled back when it fails, whose error is
 * returned.  When the outermost transaction fails with ERR_UNAVAILABLE (the
 * connection was lost on the way, a database restart) nothing of it was
 * committed, and it runs once more on a fresh connection: body must be safe
 * to run twice (write values computed before it, or start its own output
 * afresh).  A nested run is not retried: the outer transaction is already
 * lost.
 */
int store_tx_run(struct store *s, int (*body)(void *arg, struct err *e), void *arg,
		 struct err *e);

/*
 * Append an event whose document is a tree: its compact text through
 * event_add (for the writers that build one; the hot paths write text).
 */
int store_event_add_tree(struct store *s, const char *type, const json_t *doc, struct err *e);

/* Delete everything expired before now; *n = rows removed. */
int store_sweep(struct store *s, int64_t now, int64_t *n, struct err *e);

#endif

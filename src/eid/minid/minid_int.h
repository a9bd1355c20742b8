/* Declarations shared by the files of MinID (src/eid/minid/). */
#ifndef PORTEN_EID_MINID_MINID_INT_H
#define PORTEN_EID_MINID_MINID_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "app/app.h"
#include "core/buf.h"
#include "eid/minid/minid.h"
#include "http/http.h"

/* common_passwords.c */
extern const char *const minid_common_passwords[];
extern const size_t minid_common_passwords_n;

/* otc.c: n characters drawn evenly from alphabet (at most 256), NUL-terminated. */
int minid_random_chars(char *out, size_t n, const char *alphabet);

/* password.c: sodium_init() once; 0 or -1. */
int minid_sodium_ready(void);

/* Store kinds (see minid.h). */
#define MINID_K_ACCOUNT "minid_account"
#define MINID_K_GUARD "minid_guard"
#define MINID_K_FAIL "minid_fail"
#define MINID_K_FLOW "minid_flow"
#define MINID_K_OTP "minid_otp"
#define MINID_K_TRY "minid_try"
#define MINID_K_TOTP "minid_totp"
#define MINID_K_SMSQ "minid_smsq"
#define MINID_K_ACT "minid_act"

/* Records that never expire: the store wants an expiry, this is year 9999. */
#define MINID_FOREVER INT64_C(253402300799)
/* How long a lock until reset is remembered for an id without an account. */
#define MINID_HARD_MEMORY (30 * 86400)
/* A failure slot still pending after this belongs to a request that died. */
#define MINID_ATTEMPT_STALE 300

/*
 * store_slot_claim on the minid facet: the first free slot key.1 ..
 * key.max of kind; *slot gets n.  ERR_LIMIT when all are taken.
 */
int minid_slot_claim(struct porten *app, const char *kind, const char *key, int64_t max,
		     int64_t exp, int64_t *slot, struct err *e);

/* ---- one request on a MinID page (context.c) ---- */

struct minid_ctx {
	struct http_req *r;
	struct http_resp *w;
	struct porten *app;
	const struct issuer *is;
	bool post;
	const struct http_params *p;  /* form on POST, query on GET */
	const char *lang;
	const struct eid_host *host;  /* the login core (eid/eid.h) */
	const char *ar;               /* the pending authorization (a login), or NULL */
	struct eid_flow login;        /* that login, when ar is set */
	const char *flow_id;          /* the flow of this page, or NULL */
	json_t *flow;                 /* its document, ours */
	int64_t flow_exp;
	const char *path;             /* "/minid", "/minid/reset", ... (for links and forms) */
};

/*
 * Open a page request: parse, language (?lang= sets the cookie), the
 * browser cookie, the optional pending authorization ar, the flow when the
 * request names one (its purpose must be one of purposes, space-separated)
 * and, on POST, the CSRF token.  On failure an error page has been written
 * and the return is nonzero.
 */
int minid_ctx_open(struct minid_ctx *c, struct http_req *r, struct http_resp *w,
		   const struct eid_flow *door, const char *path, const char *purposes);
void minid_ctx_close(struct minid_ctx *c);

/* Start a new flow for purpose (pid may be NULL); sets c->flow_id, c->flow. */
int minid_flow_new(struct minid_ctx *c, const char *purpose, const char *pid, struct err *e);
/* Write c->flow back (same expiry). */
int minid_flow_save(struct minid_ctx *c, struct err *e);
/* Remove the flow and its code. */
void minid_flow_end(struct minid_ctx *c);
const char *minid_flow_str(const struct minid_ctx *c, const char *field);
int64_t minid_flow_int(const struct minid_ctx *c, const char *field);

/* Per-address limit on MinID form posts; false (and a 429 page written) when over. */
bool minid_rate_ok(struct minid_ctx *c);
/*
 * The limiter itself, for tests: key, limit per minute (a bucket of
 * per_min posts refilled at per_min a minute; 0: no limit), now_ms
 * monotonic milliseconds.
 */
bool minid_rate_take(const char *key, int64_t per_min, int64_t now_ms);

/* The CSRF token of this page's forms. */
const char *minid_csrf(struct minid_ctx *c);

/* Page parts. */
void minid_page_begin(struct minid_ctx *c, struct buf *b, const char *title_msgid);
/* Close: cancel (in a login) and language switch; then send with status. */
void minid_page_send(struct minid_ctx *c, struct buf *b, int status);
/* <form ...> with the hidden ar, flow and csrf fields. */
void minid_form_begin(struct minid_ctx *c, struct buf *b, const char *id, const char *path);
void minid_button(struct buf *b, const char *lang, const char *cls, const char *name,
		  const char *value, const char *msgid);
void minid_text(struct buf *b, const char *lang, const char *tag, const char *msgid);
/* A link to one of our pages, keeping ar. */
void minid_link(struct minid_ctx *c, struct buf *b, const char *id, const char *path,
		const char *msgid);
/* 302 to one of our pages with the flow (and ar). */
void minid_redirect(struct minid_ctx *c, const char *path);
/* A full page with one message (and a way back), status. */
void minid_message_page(struct minid_ctx *c, int status, const char *title_msgid,
			const char *msgid, const char *back_path, const char *back_msgid);
/* The 503 page when the store or a crypto step failed. */
void minid_unavailable(struct minid_ctx *c);
/* The 400 page for a flow that is gone or not this browser's; a way back when back_path. */
void minid_expired(struct minid_ctx *c, const char *back_path);
/* "********012" (arena): enough to follow a case in the logs, not enough to name a person. */
const char *minid_log_pid(struct minid_ctx *c, const char *pid);
/* The locked message for a lock kind. */
const char *minid_lock_text(enum minid_lock_kind kind);
/* Read and bound a national id from the form: digits only, arena copy, or NULL. */
const char *minid_form_pid(struct minid_ctx *c);

/* ---- shared steps (pages_login.c) ---- */

struct minid_login_view {
	const char *pid;         /* as typed, for redisplay */
	const char *pid_err;     /* msgids */
	const char *pw_err;
	const char *summary;     /* an error not tied to one field */
};

/* The number + password form posting to c->path. */
void minid_login_form(struct minid_ctx *c, const struct minid_login_view *v, int status);
/* Check number and password; on success a flow of purpose at the code step. */
void minid_password_step(struct minid_ctx *c, const char *purpose);

/* What a code page shows besides its form (login, reset, activation, new mobile). */
struct minid_otc_view {
	const char *err;        /* msgid of an error */
	const char *notice;     /* msgid of a status message */
	int64_t left;           /* attempts left, with err */
};
/* v's notice, if any; goes before the page's info paragraph. */
void minid_otc_notice(struct minid_ctx *c, struct buf *b, const struct minid_otc_view *v);
/* After the info: the test-code hint (when static_hint) and v's error. */
void minid_otc_alerts(struct minid_ctx *c, struct buf *b, bool static_hint,
		      const struct minid_otc_view *v);
/* A one-time code page (reset, activation, new mobile) posting to path. */
void minid_otc_page(struct minid_ctx *c, const char *title_msgid, const char *info_msgid,
		    const char *mobile, const struct minid_otc_view *v, const char *path,
		    int status);
/* The new-password fields (password, confirm) with the rules as a hint. */
void minid_new_password_fields(struct minid_ctx *c, struct buf *b, const char *err);
/*
 * Check a new password pair from the form for pid against the rules and,
 * when current is set, against the current hash.  NULL or the error msgid.
 */
const char *minid_new_password_check(struct minid_ctx *c, const char *pid, const char *current);
/*
 * Set the new password the form posted (checked before) on acct, the
 * account of pid, and save it in one transaction with the end of every
 * SSO session of the person, whoever holds it (§6 step 4, design; a change
 * on the account pages likewise).  The flow of the page stays.  0, or the
 * error of the hash or the store (the caller shows minid_unavailable).
 */
int minid_new_password_save(struct minid_ctx *c, struct minid_account *acct, const char *pid,
			    struct err *e);

/*
 * Send (or re-send) the SMS code of the current flow to its account's
 * mobile; returns the page error msgid or NULL.
 */
const char *minid_flow_send_code(struct minid_ctx *c, const char *mobile);

#endif

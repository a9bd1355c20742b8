/*
 * MinID (spec/minid.md): the state's own eID at idporten-loa-substantial.
 * National identity number + password, then a one-time code by SMS
 * (amr Minid-OTC) or a TOTP code from the MinID app (amr Minid-TOTP).
 *
 * Records live in the store's generic documents, so every backend carries
 * them without a schema of their own:
 *
 *   kind            id                      what
 *   minid_account   national id             the account (below); never expires
 *   minid_guard     national id             failure generation, temporary lock, lock history
 *   minid_fail      pid.gen.n               a password attempt being checked, or a failure
 *                                           (n = 1..failures); pid.gen.lock: the lock's claim
 *   minid_flow      flow id (random)        a MinID page flow bound to the browser
 *   minid_otp       flow id                 the live one-time code (keyed hash, expiry)
 *   minid_try       code.flow.n / act.pid.n one claimed code attempt (SMS or app alike)
 *   minid_totp      pid.step                a TOTP step already used (replay)
 *   minid_smsq      mobile.hour.n           one SMS in a number's hourly quota
 *   minid_act       national id             the live activation code (keyed hash)
 *
 * Counters that must hold under concurrency are not read-modify-write:
 * each attempt claims the next free slot with doc_put (which fails with
 * ERR_EXISTS when the id is taken), so the store's primary key does the
 * counting and no two requests can both be "attempt 4".
 *
 * The account document:
 *   pid, status (PENDING_ACTIVATION | ACTIVE | LOCKED | CLOSED), blocked
 *   (operator), pwhash (Argon2id string: parameters inside), mobile (E.164),
 *   totp (sealed secret, optional), created, updated, last_login,
 *   pw_changed, lock_reason.
 */
#ifndef PORTEN_EID_MINID_MINID_H
#define PORTEN_EID_MINID_MINID_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "app/app.h"
#include "core/str.h"
#include "eid/eid.h"

extern const struct eid_provider eid_minid;

#define MINID_AMR_OTC "Minid-OTC"
#define MINID_AMR_TOTP "Minid-TOTP"
/* Spec §8: the static one-time code of synthetic test people, TEST only. */
#define MINID_STATIC_OTC "12345"
#define MINID_OTC_DIGITS 5
#define MINID_TOTP_DIGITS 6
#define MINID_TOTP_STEP 30
#define MINID_TOTP_SECRET_BYTES 20
#define MINID_PW_MIN 10
#define MINID_PW_MAX 256

/* ---- passwords (password.c) ---- */

enum minid_pw_problem {
	MINID_PW_OK = 0,
	MINID_PW_INVALID,     /* not UTF-8, or a control character */
	MINID_PW_TOO_SHORT,   /* fewer than 10 characters (after NFC) */
	MINID_PW_TOO_LONG,    /* more than 256 characters */
	MINID_PW_CLASSES,     /* lacks an upper-case letter, a lower-case letter or a digit */
	MINID_PW_HAS_PID,     /* contains the national identity number */
	MINID_PW_COMMON,      /* one of the 1 000 most common passwords */
};

/* The page text (English msgid) for a problem. */
const char *minid_pw_problem_text(enum minid_pw_problem p);
/*
 * Unicode NFC form of pw (spec §4: normalised before hashing and checking).
 * *out is malloc'd and NUL-terminated; wipe and free it.  ERR_INVAL when pw
 * is not valid UTF-8.
 */
int minid_password_nfc(struct str pw, char **out, size_t *outlen);
/* The rules of spec §4 for a new password of person pid (NFC applied inside). */
enum minid_pw_problem minid_password_check(struct str pw, const char *pid);
/* Is pw (any case) one of the 1 000 most common passwords? */
bool minid_password_common(struct str pw);
/*
 * Argon2id hash of NFC(pw) with ops passes and mem_kib KiB, as the PHC
 * string libsodium writes ($argon2id$v=19$m=..,t=..,p=1$salt$hash); *out
 * is malloc'd.  ERR_INVAL for invalid UTF-8, ERR_NOMEM when the memory for
 * the hash cannot be had.
 */
int minid_password_hash(struct str pw, int64_t ops, int64_t mem_kib, char **out, struct err *e);
/* Constant-time check of pw against a stored hash; false for anything malformed. */
bool minid_password_verify(const char *hash, struct str pw);
/* Verify against a fixed hash so unknown ids cost as much as known ones. */
void minid_password_dummy_verify(struct str pw, int64_t ops, int64_t mem_kib);
/* True when hash was made with other parameters than ops/mem_kib (rehash on login). */
bool minid_password_needs_rehash(const char *hash, int64_t ops, int64_t mem_kib);

/* ---- lockout arithmetic (lock.c; pure, unit-tested) ---- */

#define MINID_MAX_LOCKS 16

struct minid_lock_policy {
	int64_t failures;     /* consecutive failures that lock */
	int64_t seconds;      /* length of a temporary lock */
	int64_t window;       /* temporary locks within this add up */
	int64_t max;          /* this many temporary locks in the window: locked until reset */
};

struct minid_lockstate {
	int64_t lock_until;              /* 0: not temporarily locked */
	int64_t locks[MINID_MAX_LOCKS];  /* times of recent temporary locks, oldest first */
	int nlocks;
	bool hard;                       /* locked until the password is reset */
};

enum minid_lock_kind { MINID_UNLOCKED, MINID_LOCKED_TEMPORARY, MINID_LOCKED_HARD };

void minid_lock_policy_from_cfg(const struct cfg *c, struct minid_lock_policy *p);
/* Do n failures in a row reach the threshold? */
bool minid_lock_slot_locks(const struct minid_lock_policy *p, int64_t failed);
/* Record a lock at now: drop locks older than the window, add now, set until/hard. */
void minid_lock_apply(const struct minid_lock_policy *p, int64_t now, struct minid_lockstate *s);
/* The state at now; *until gets the end of a temporary lock. */
enum minid_lock_kind minid_lock_check(const struct minid_lockstate *s, int64_t now,
				      int64_t *until);
/* To and from the guard document. */
void minid_lockstate_from_json(const json_t *guard, struct minid_lockstate *s);
void minid_lockstate_to_json(const struct minid_lockstate *s, json_t *guard);

/* ---- the guard: attempts against a national id (lock.c) ---- */

struct minid_attempt {
	char gen[33];   /* the guard's failure generation */
	int64_t slot;   /* the failure slot this attempt holds (1-based) */
};

/*
 * Before checking a password for pid: refuse when locked (*kind, *until),
 * else claim the next free failure slot into *a.  While the password is
 * checked the slot is held, so parallel guesses cannot outrun the
 * threshold; minid_attempt_fail() or minid_attempt_release() settles it.
 * All slots held: *kind is MINID_LOCKED_TEMPORARY.  0 or a store error.
 */
int minid_attempt_begin(struct porten *app, const char *pid, struct minid_attempt *a,
			enum minid_lock_kind *kind, int64_t *until, struct err *e);
/*
 * The attempt failed: its slot is marked as a failure.  When every slot of
 * the generation is a failure the id is locked, once per generation
 * (temporarily, or until reset on the max-th lock in the window; the
 * account, if any, becomes LOCKED).  *kind and *until tell the page.
 */
int minid_attempt_fail(struct porten *app, const char *pid, const struct minid_attempt *a,
		       enum minid_lock_kind *kind, int64_t *until, struct err *e);
/*
 * The password was right: the slot is freed.  Neither a failure nor a
 * reset: only a whole login (minid_attempt_succeed) resets the count.
 */
int minid_attempt_release(struct porten *app, const char *pid, const struct minid_attempt *a,
			  struct err *e);
/*
 * One failure outside a password check (a second factor given up, §5):
 * begin and fail in one call.  Nothing is counted while the id is locked
 * (*kind says so).
 */
int minid_attempt_failure(struct porten *app, const char *pid, enum minid_lock_kind *kind,
			  int64_t *until, struct err *e);
/* A full login succeeded, or a reset/unlock: counters and locks cleared. */
int minid_attempt_succeed(struct porten *app, const char *pid, struct err *e);
/* Current lock state of pid without claiming anything. */
int minid_lock_state(struct porten *app, const char *pid, enum minid_lock_kind *kind,
		     int64_t *until, struct err *e);
/*
 * Claim attempt slot n of at most max for key (kind minid_try), expiring at
 * exp.  *slot gets n; ERR_LIMIT when all max are taken.
 */
int minid_try_claim(struct porten *app, const char *key, int64_t max, int64_t exp,
		    int64_t *slot, struct err *e);

/* ---- accounts (account.c) ---- */

/*
 * May a new MinID be issued to pid?  0; ERR_DENIED when the person
 * register says the number is not the person's unique identity and the
 * setting minid_unique_identity is on; another code when the store is away.
 */
int minid_unique_ok(struct porten *app, const char *pid, struct err *e);
/* What the person is told when minid_unique_ok refuses. */
extern const char minid_not_unique[];
/* Is pid a synthetic test person that may use the static code here (spec §8)? */
bool minid_static_otc_allowed(const struct porten *app, const char *pid);

enum minid_status {
	MINID_ST_NONE = 0,            /* no status yet (a record made before activation) */
	MINID_ST_PENDING_ACTIVATION,  /* a letter is on its way (§7) */
	MINID_ST_ACTIVE,
	MINID_ST_LOCKED,              /* hard lock after failures (§5); reset lifts it */
	MINID_ST_CLOSED,
};

/*
 * An account, decoded from the stored document described above.  Strings
 * are the record's own (heap) and freed by minid_account_clear(), the
 * password hash wiped first; a time of 0 is absent.  Keys this version does
 * not know ride along in rest and are written back unchanged.
 */
struct minid_account {
	char pid[12];
	enum minid_status status;
	bool blocked;        /* by an operator */
	char *pwhash;        /* Argon2id string, or NULL */
	char *mobile;        /* E.164, or NULL */
	char *totp;          /* the sealed authenticator-app secret, or NULL */
	char *lock_reason;   /* why status is LOCKED ("failures"), or NULL */
	int64_t created, updated, activated, pw_changed, last_login;
	json_t *rest;
};

/* The stored document <-> the record.  Decode refuses a field of the wrong type. */
int minid_account_decode(const json_t *doc, struct minid_account *a, struct err *e);
json_t *minid_account_encode(const struct minid_account *a);
void minid_account_clear(struct minid_account *a);
/* Replace a string field of the record with a copy of v (NULL clears it); -1 out of memory. */
int minid_account_set(char **field, const char *v);
const char *minid_status_name(enum minid_status st);

/* The account of pid into *a (cleared first; clear it after); ERR_NOTFOUND. */
int minid_account_get(struct porten *app, const char *pid, struct minid_account *a,
		      struct err *e);
/* Store a (updated = now), creating the document when pid has none. */
int minid_account_save(struct porten *app, struct minid_account *a, struct err *e);
/*
 * MinID and KRR share the mobile number (eid/minid/krr.c): share tells the
 * other services of a number MinID has just confirmed; contact_changed is
 * eid's part of the service contract, a number confirmed elsewhere.
 */
struct service_contact;
void minid_mobile_share(struct porten *app, const char *pid, const char *mobile, const char *lang,
			const char *rid);
void minid_contact_changed(struct porten *app, const struct service_contact *c);
/*
 * Create an ACTIVE account (operators, activation): pid valid, password
 * per the rules, mobile normalised.  ERR_EXISTS when pid has an account
 * (unless replace), ERR_INVAL with why in e.
 */
int minid_account_create(struct porten *app, const char *pid, const char *password,
			 const char *mobile, bool replace, struct err *e);
/* Operator block / unblock (unblock also clears locks and failure counters). */
int minid_account_block(struct porten *app, const char *pid, bool blocked, struct err *e);
/*
 * The account for display: no hash, no secret; status folded with the
 * guard (LOCKED_TEMPORARY with locked_until) and the block (BLOCKED).
 */
json_t *minid_account_public(struct porten *app, const struct minid_account *a);
/* Can this account log in at all (ACTIVE, not blocked)? */
bool minid_account_usable(const struct minid_account *a);

/* ---- codes (otc.c) ---- */

/* A uniformly random code of n digits into out (n + 1 bytes). */
int minid_code_random(char *out, size_t n);
/* Keyed hash of a code for flow (what the store keeps), base64url into out (44 bytes). */
void minid_code_hash(const struct porten *app, const char *flow, const char *code,
		     char out[44]);

enum minid_code_result {
	MINID_CODE_OK,
	MINID_CODE_WRONG,     /* wrong or expired; attempts remain */
	MINID_CODE_EXHAUSTED, /* the last allowed attempt failed */
};

/*
 * Send a fresh one-time code for flow to mobile (voiding the previous one),
 * within the per-number hourly quota (ERR_LIMIT).  The SMS text is in lang.
 * ERR_UNAVAILABLE when the gateway failed.
 */
int minid_otc_send(struct porten *app, const char *flow, const char *mobile, const char *lang,
		   struct err *e);
/*
 * Check code for flow: one attempt claimed (at most cfg minid_otc_attempts
 * per flow, whichever factor: minid_totp_check() counts in the same), the
 * live code taken in one step when it matches (single use).
 * allow_static: also accept MINID_STATIC_OTC (synthetic id in TEST).
 * *left gets the attempts that remain.
 */
int minid_otc_check(struct porten *app, const char *flow, int64_t flow_exp, struct str code,
		    bool allow_static, enum minid_code_result *res, int64_t *left, struct err *e);
/* Void the live code of flow. */
void minid_otc_void(struct porten *app, const char *flow);

/*
 * RFC 6238 TOTP of secret at time t: digits (6..8), hash 0 = SHA-1,
 * 1 = SHA-256, 2 = SHA-512.  out gets digits + 1 bytes.  0 or ERR_INVAL.
 */
int minid_totp_code(const unsigned char *secret, size_t n, int64_t t, unsigned digits, int hash,
		    char *out);
/*
 * Does code match secret at now within ±window steps (constant time over
 * every candidate)?  *step gets the matching time step.
 */
bool minid_totp_match(const unsigned char *secret, size_t n, int64_t now, int window,
		      struct str code, int64_t *step);
/*
 * Check a TOTP code for account acct in flow: one attempt claimed, the
 * secret unsealed, a step used once only (replay refused).
 */
int minid_totp_check(struct porten *app, const struct minid_account *a, const char *flow,
		     int64_t flow_exp, struct str code, enum minid_code_result *res, int64_t *left, struct err *e);
/* A new random secret; *b32 the base32 text for an authenticator (malloc'd). */
int minid_totp_new_secret(unsigned char secret[MINID_TOTP_SECRET_BYTES], char **b32,
			  struct err *e);
/* Base32 text of a secret (RFC 4648, what authenticator apps take); *b32 malloc'd. */
int minid_totp_b32(const unsigned char *secret, size_t n, char **b32);
/* Seal / unseal a TOTP secret under the KEK, bound to pid (XChaCha20-Poly1305). */
int minid_seal(const struct porten *app, const char *pid, const unsigned char *p, size_t n,
	       char **sealed, struct err *e);
int minid_unseal(const struct porten *app, const char *pid, const char *sealed,
		 unsigned char *out, size_t cap, size_t *n, struct err *e);

/* The SMS gateway of this process (made from cfg on first use); NULL when misconfigured. */
struct sms_gateway *minid_sms(struct porten *app, struct err *e);
/* Send a notice (no code) to mobile; failures are logged, not returned. */
void minid_notify(struct porten *app, const char *mobile, const char *lang, const char *msgid);

/* ---- pages (pages_login.c, pages_lifecycle.c, pages_account.c) ---- */

/* The pages sit behind the login core's door as EID_DOOR_OWN: flow->host joins a login. */
void minid_handle_login(struct http_req *r, struct http_resp *w,
			const struct eid_flow *flow);   /* GET/POST /minid */
void minid_handle_code(struct http_req *r, struct http_resp *w,
		       const struct eid_flow *flow);    /* GET/POST /minid/code */
void minid_handle_reset(struct http_req *r, struct http_resp *w,
			const struct eid_flow *flow);   /* GET/POST /minid/reset */
void minid_handle_register(struct http_req *r, struct http_resp *w,
			   const struct eid_flow *flow);  /* GET/POST /minid/register */
void minid_handle_activate(struct http_req *r, struct http_resp *w,
			   const struct eid_flow *flow);  /* GET/POST /minid/activate */
void minid_handle_account(struct http_req *r, struct http_resp *w,
			  const struct eid_flow *flow);   /* GET/POST /minid/account */

/* ---- portenctl (cmd_minid.c) ---- */

struct cli;
/* `portenctl minid create|show|lock|unlock ...`: a CLI_* status (app/cli.h). */
int minid_cmd(struct cli *c, int argc, char **argv);
void minid_cmd_usage(FILE *f);

#endif

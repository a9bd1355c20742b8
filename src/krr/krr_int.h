/* Private to src/krr/: the rules, the wire shapes and the handlers. */
#ifndef PORTEN_KRR_KRR_INT_H
#define PORTEN_KRR_KRR_INT_H

#include <stddef.h>

#include "core/natid.h"
#include "app/cli.h"
#include "core/buf.h"
#include "http/http.h"
#include "krr/krr.h"

/* Which fields an answer carries (spec §3.3, §3.1). */
enum {
	KRR_F_CONTACT = 1 << 0,  /* kontaktinformasjon, varslingsstatus, spraak */
	KRR_F_POST = 1 << 1,     /* digital_post, sertifikat */
	KRR_F_V2 = 1 << 2,       /* the v2 attribute set: verified times, reservation times */
	KRR_F_SUPPRESS = 1 << 3, /* withhold contact details when KAN_IKKE_VARSLES (spec §2) */
};

#define KRR_MAX_IDS 1000          /* identifiers per lookup (spec §3.2) */
#define KRR_FEED_PAGE 1000        /* persons per page of the change feed (spec §3.6) */
#define KRR_MAX_EMAIL 254
#define KRR_MAX_MAILBOX 128
#define KRR_MAX_CERT 16384        /* base64 characters of one certificate */
#define KRR_MAX_WIRE (64 * 1024)   /* one person on the wire, a certificate included */
#define KRR_TIME_LEN 64           /* "2023-08-05T10:45:15.768Z", with room for any int */

/* Times: RFC 3339 in UTC with milliseconds; parse the forms of spec §1.1. */
void krr_time_format(int64_t ms, char out[KRR_TIME_LEN]);
int krr_time_parse(const char *s, int64_t *ms);

/* The rules on single values; each returns NULL or the rule broken. */
const char *krr_rule_pid(const char *s, enum natid_context ctx);
const char *krr_rule_email(const char *s);
/* Mobile numbers are stored as +<digits>; out gets the normalised form. */
const char *krr_rule_mobile(const char *s, char out[20]);
const char *krr_rule_lang(const char *s);
const char *krr_rule_cert(const char *s);

/*
 * A record from the flat import form (the field names of spec §1.1, every
 * value a string, times RFC 3339): p filled, or the rule broken written to
 * why (0 or -1).  Absent times of a present value default to now.
 */
int krr_person_from_fields(const json_t *fields, enum natid_context ctx, int64_t now,
			   struct krr_person *p, char *why, size_t whylen);
/* The flat form back (export), new reference. */
json_t *krr_person_fields(const struct krr_person *p);

/*
 * One element of `personer` for p, or for a person not registered (spec
 * §3.4): appended to b as JSON text (0 or buf_append's error), or as a
 * new JSON value (NULL when out of memory).
 */
int krr_person_write(struct buf *b, const struct krr_person *p, unsigned flags, int64_t now);
int krr_unregistered_write(struct buf *b, const char *pid, unsigned flags);
json_t *krr_person_wire(const struct krr_person *p, unsigned flags, int64_t now);
json_t *krr_unregistered_wire(const char *pid, unsigned flags);

/* Where national ids are judged: the environment's context. */
enum natid_context krr_natid_ctx(const struct porten *app);

/* The fields a token's scopes allow (the krr:user/ scopes when user). */
struct oauth_bearer;
unsigned krr_flags(const struct porten *app, const struct oauth_bearer *tok, bool user);

/* Handlers (api.c, own.c). */
void krr_handle_personer_v1(struct http_req *r, struct http_resp *w);
void krr_handle_personer_v2(struct http_req *r, struct http_resp *w);
void krr_handle_changes(struct http_req *r, struct http_resp *w);
void krr_handle_person(struct http_req *r, struct http_resp *w);

/* An import file, read one row at a time (reader.c). */
#define KRR_MAX_ROW (64 * 1024)   /* bytes of one row, a certificate included */
#define KRR_MAX_COLS 32

struct krr_reader {
	FILE *f;
	bool csv;
	long line;                /* physical line the next read starts on */
	long row_line;            /* where the row just read began */
	json_t *header;           /* CSV: the field names */
	char *cell;               /* CSV: the cell being read */
	size_t cell_len, row_len;
};

/*
 * Start reading f (a BOM skipped; CSV: the header row read and checked):
 * 0, or -1 with why (rd->row_line the line).  krr_reader_close after 0.
 */
int krr_reader_open(struct krr_reader *rd, FILE *f, bool csv, char *why, size_t whylen);
/*
 * The next row as an object of field names and strings (new reference).
 * 1 a row, or a row with a problem (*row NULL, why set; reading goes on);
 * 0 at the end; -1 when the file cannot be read further (why set).
 * rd->row_line is the line the row began on.
 */
int krr_reader_next(struct krr_reader *rd, json_t **row, char *why, size_t whylen);
void krr_reader_close(struct krr_reader *rd);

/* Commands (cmd.c). */
int krr_cmd(struct cli *c, int argc, char **argv);
void krr_cmd_usage(FILE *f);

/* (Re)write the synthetic test persons (testdata.c); *written how many. */
int krr_testdata_write(struct porten *app, int *written, struct err *e);

/* The scopes of spec §3.3 and §4 exist (service init and portenctl krr). */
int krr_scopes_ensure(struct porten *app, struct err *e);

/*
 * The person's own changes (code.c, spec §5).  A new e-mail address or
 * mobile number is confirmed by a code sent to it: krr_code_send keeps it
 * under *id (TOKEN_CHARS) for krr_code_check, which stores the value when
 * code is right for pid (ERR_DENIED wrong; ERR_NOTFOUND expired, used,
 * spent by too many wrong tries, voided by a newer code for the same pid
 * and value, or another person's).  krr_code_send
 * gives ERR_LIMIT (429) when pid has asked for cfg krr_code_per_person
 * codes in this clock hour, or value has been sent krr_code_per_recipient.
 */
enum krr_code_channel { KRR_CODE_EMAIL, KRR_CODE_MOBILE };
int krr_code_send(struct porten *app, const char *pid, enum krr_code_channel ch, const char *value,
		  const char *lang, char *id, struct err *e);
/* The page's text (a msgid) when krr_code_send failed with e. */
const char *krr_code_unsent(const struct err *e);
int krr_code_check(struct porten *app, const char *pid, const char *id, const char *code,
		   struct err *e);
/*
 * A confirmed value into the record (new, or AKTIV again): _oppdatert and
 * _sist_verifisert now; who for the history ("person", "minid").
 */
int krr_contact_set(struct porten *app, const char *pid, enum krr_code_channel ch,
		    const char *value, const char *who, struct err *e);
/* "Confirm unchanged": _sist_verifisert now for every channel the person has. */
int krr_contact_confirm(struct porten *app, const char *pid, struct err *e);
/* Reservation (JA/NEI) and language; ERR_NOTFOUND without an active record. */
int krr_reservation_set(struct porten *app, const char *pid, bool reserved, struct err *e);
int krr_lang_set(struct porten *app, const char *pid, const char *lang, struct err *e);

/*
 * The last time the person confirmed or changed a channel (spec §6:
 * max of *_sist_verifisert, *_oppdatert), 0 when none.
 */
int64_t krr_contact_confirmed_at(const struct krr_person *p);

/* The pages' shared parts (pages.c): a masked value for the prompt, and the forms. */
void krr_mask_email(const char *v, char *out, size_t cap);
struct buf;
/* err when the refusal is of field ("" for the page's own alert: no field), else NULL. */
const char *krr_field_err(const char *err, const char *err_field, const char *field);
/* A form of one button posting action what (and the hidden fields) to action. */
void krr_form_button(struct buf *b, const char *lang, const char *action, const char *const *hidden,
		     const char *what, const char *msgid, bool secondary);
/* The fields of the change forms, posted to action with hidden fields (name, value pairs, NULL ends). */
void krr_form_change(struct buf *b, const char *lang, const char *action, const char *const *hidden,
		     const char *email_err, const char *mobile_err);
/* The code form after a code was sent to shown (masked or plain). */
void krr_form_code(struct buf *b, const char *lang, const char *action, const char *const *hidden,
		   const char *cid, const char *shown, const char *err);
/*
 * A typed new e-mail (field "epost") or mobile number ("mobil") of the
 * form, checked: *ch, *value (arena), or the msgid of the error and which.
 */
const char *krr_form_new_value(struct http_req *r, enum krr_code_channel *ch, const char **value,
			       const char **which);

/*
 * gotoUrl (goto.c, spec §5): is url a return link the operator registered
 * (krr_goto_urls)?  And the list's check at start-up and --check-config.
 */
bool krr_goto_allowed(const struct cfg *c, const char *url);
int krr_goto_list_check(const struct cfg *c, struct err *e);

/* The self-service pages' client of the ID-porten issuer. */
#define KRR_CLIENT_ID "krr-minprofil"

/* Handlers of the self-service pages (pages.c) and the prompt step (prompt.c). */
void krr_handle_profile(struct http_req *r, struct http_resp *w);
void krr_handle_profile_post(struct http_req *r, struct http_resp *w);
void krr_handle_profile_callback(struct http_req *r, struct http_resp *w);
int krr_pages_init(struct porten *app, struct err *e);
extern const struct login_step krr_prompt_step;

/* Answer 500: an answer could not be built (out of memory); what was written goes. */
void krr_answer_failed(struct http_req *r, struct http_resp *w);

#endif

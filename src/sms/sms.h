/*
 * SMS gateway: how MinID one-time codes and notices reach a phone.  One
 * interface, picked by configuration (sms_gateway):
 *
 *   http  POST to a provider's URL (sms_url) with a body made from a
 *         template (sms_template, placeholders {to} {text} {sender}),
 *         escaped for the content type (JSON or form); libcurl underneath.
 *   file  append one JSON line {"time","to","sender","text"} per message to
 *         sms_file (default <data>/sms.jsonl): development and tests read
 *         their codes from it.  Refused in prod: it holds codes in clear.
 *   log   one log line per message with the digits masked (no code ever
 *         reaches a log, spec/minid.md §10): a sink that delivers nothing.
 *
 * A gateway is thread-safe; one is shared by all request threads.
 */
#ifndef PORTEN_SMS_SMS_H
#define PORTEN_SMS_SMS_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/cfg.h"
#include "core/err.h"
#include "core/str.h"

/* Longest message text accepted, bytes (a few concatenated SMS parts). */
#define SMS_MAX_TEXT 480
/* Longest recipient number: "+" and up to 15 digits (E.164). */
#define SMS_MAX_TO 16

struct sms_gateway;

struct sms_ops {
	const char *name;
	int (*send)(struct sms_gateway *g, const char *to, const char *text, struct err *e);
	void (*free)(struct sms_gateway *g);
};

/* Backend state embeds this as its first member. */
struct sms_gateway {
	const struct sms_ops *ops;
	char *sender;
};

/*
 * The gateway the configuration asks for.  ERR_INVAL with why in e for an
 * unknown name, a missing sms_url, an unreadable sms_auth_file, or the file
 * sink in prod.  Free with sms_gateway_free().
 */
int sms_gateway_new(const struct cfg *c, struct sms_gateway **out, struct err *e);
void sms_gateway_free(struct sms_gateway *g);
/*
 * The gateway of this process for configuration c, made on first use and
 * shared by every caller (MinID's codes, KRR's); a process serving a new
 * configuration (tests) gets a new one.  NULL when it cannot be made (e).
 */
struct sms_gateway *sms_gateway_shared(const struct cfg *c, struct err *e);

/*
 * Send text to the number to (E.164, checked with sms_number_valid).
 * ERR_INVAL for a bad number or an empty/oversized text, ERR_UNAVAILABLE
 * when the gateway did not take the message.
 */
int sms_send(struct sms_gateway *g, const char *to, const char *text, struct err *e);

/*
 * A mobile number as Porten keeps it: "+" and 8 to 15 digits (E.164).
 * sms_number_normalise() accepts what people type ("+47 999 99 999",
 * "0047 99999999", or 8 digits meaning Norway) and writes the E.164 form
 * into out (SMS_MAX_TO + 1 bytes); ERR_INVAL when it is not a number.
 */
bool sms_number_valid(const char *to);
int sms_number_normalise(struct str typed, char out[SMS_MAX_TO + 1]);
/* "+47******99": for logs and pages (arena-free: writes into out, 24 bytes). */
void sms_number_mask(const char *to, char out[24]);

/*
 * Append j as one line of compact JSON to path (made 0600), in one write
 * under mu (or none): the file sinks of codes in test (SMS, KRR's e-mail).
 * The line is wiped from memory after; ERR_UNAVAILABLE when it cannot be written.
 */
int sms_file_append(const char *path, const json_t *j, pthread_mutex_t *mu, struct err *e);

/* The backends, for tests. */
int sms_file_new(const char *path, const char *sender, struct sms_gateway **out, struct err *e);
int sms_log_new(const char *sender, struct sms_gateway **out, struct err *e);
struct sms_http_opts {
	const char *url;
	const char *template;
	const char *content_type;
	const char *auth_header;   /* "Name: value" or NULL */
	const char *sender;
	long timeout;              /* seconds */
};
int sms_http_new(const struct sms_http_opts *o, struct sms_gateway **out, struct err *e);

/*
 * Fill template: {to}, {text}, {sender} replaced by the values escaped for
 * content_type (JSON string content for application/json, percent-encoding
 * for application/x-www-form-urlencoded, as is otherwise).  *body is
 * malloc'd.  ERR_INVAL for an unknown {placeholder}.  (Exposed for tests.)
 */
int sms_http_body(const char *template, const char *content_type, const char *to,
		  const char *text, const char *sender, char **body, struct err *e);

#endif

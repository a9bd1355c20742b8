/* Errors: functions return 0 or a negative ERR_*; struct err says why. */
#ifndef PORTEN_CORE_ERR_H
#define PORTEN_CORE_ERR_H

enum {
	ERR_OK = 0,
	ERR_NOMEM = -1,
	ERR_INVAL = -2,       /* bad input from outside */
	ERR_NOTFOUND = -3,    /* no such record, or expired, or used */
	ERR_EXISTS = -4,      /* record already there (duplicate id, replayed jti) */
	ERR_IO = -5,
	ERR_CRYPTO = -6,
	ERR_DENIED = -7,      /* authentication or authorization failed */
	ERR_LIMIT = -8,       /* over a configured limit */
	ERR_INTERNAL = -9,    /* broken invariant or library failure */
	ERR_UNAVAILABLE = -10,/* backend away (database down) */
	ERR_DUP = -11,        /* parameter given more than once */
	ERR_REUSED = -12,     /* single-use record presented again */
};

/*
 * Why something failed.  oauth is an RFC 6749 error code (a string constant)
 * when the failure maps to one; msg is a human-readable description that is
 * safe to show to the client (never secrets).  status is an HTTP status hint
 * (0 = let the caller decide).
 */
struct err {
	int code;
	int status;
	const char *oauth;
	char msg[256];
	const char *file;
	int line;
};

void err_set_at(struct err *e, const char *file, int line, int code, int status,
		const char *oauth, const char *fmt, ...) __attribute__((format(printf, 7, 8)));

/* Record an error and evaluate to its code: `return ERR(e, ERR_INVAL, 400, "invalid_request", "...")`. */
#define ERR(e, code, status, oauth, ...) \
	(err_set_at((e), __FILE__, __LINE__, (code), (status), (oauth), __VA_ARGS__), (code))

void err_clear(struct err *e);

/* Short name of an ERR_* code, for logs. */
const char *err_name(int code);

#endif

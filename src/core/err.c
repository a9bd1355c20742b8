#include "core/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void
err_set_at(struct err *e, const char *file, int line, int code, int status, const char *oauth,
	   const char *fmt, ...)
{
	va_list ap;

	if (e == NULL)
		return;
	e->code = code;
	e->status = status;
	e->oauth = oauth;
	e->file = file;
	e->line = line;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
}

void
err_clear(struct err *e)
{
	if (e != NULL)
		memset(e, 0, sizeof(*e));
}

const char *
err_name(int code)
{
	switch (code) {
	case ERR_OK: return "ok";
	case ERR_NOMEM: return "nomem";
	case ERR_INVAL: return "inval";
	case ERR_NOTFOUND: return "notfound";
	case ERR_EXISTS: return "exists";
	case ERR_IO: return "io";
	case ERR_CRYPTO: return "crypto";
	case ERR_DENIED: return "denied";
	case ERR_LIMIT: return "limit";
	case ERR_INTERNAL: return "internal";
	case ERR_UNAVAILABLE: return "unavailable";
	case ERR_DUP: return "dup";
	case ERR_REUSED: return "reused";
	}
	return "unknown";
}

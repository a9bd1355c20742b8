/*
 * SMS gateway: the choice by configuration, phone numbers, and the two
 * development sinks (file, log).  The HTTP gateway is in sms_http.c.
 */
#include "sms/sms.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/crypto.h"
#include "core/fsperm.h"
#include "core/log.h"
#include "core/timeutil.h"

/* ---- numbers ---- */

bool
sms_number_valid(const char *to)
{
	size_t n;

	if (to == NULL || to[0] != '+')
		return false;
	n = strlen(to + 1);
	/* E.164: at most 15 digits; 8 is the shortest national number we send to. */
	return n >= 8 && n <= 15 && str_only((struct str){ to + 1, n }, "0123456789") &&
	       to[1] != '0';
}

int
sms_number_normalise(struct str typed, char out[SMS_MAX_TO + 1])
{
	char digits[40];
	size_t n = 0, i = 0;
	bool plus = false;

	out[0] = '\0';
	if (typed.len == 0 || typed.len > 32)
		return ERR_INVAL;
	/* Leading blanks and a + or 00 international prefix. */
	while (i < typed.len && typed.p[i] == ' ')
		i++;
	if (i < typed.len && typed.p[i] == '+') {
		plus = true;
		i++;
	}
	for (; i < typed.len; i++) {
		char ch = typed.p[i];

		/* Spaces, dashes and dots are how people group digits. */
		if (ch == ' ' || ch == '-' || ch == '.')
			continue;
		if (ch < '0' || ch > '9' || n >= sizeof(digits) - 1)
			return ERR_INVAL;
		digits[n++] = ch;
	}
	digits[n] = '\0';
	if (!plus && n > 2 && digits[0] == '0' && digits[1] == '0') {
		memmove(digits, digits + 2, n - 1);
		n -= 2;
		plus = true;
	}
	if (!plus) {
		/* Eight digits: a Norwegian number (country code 47). */
		if (n != 8)
			return ERR_INVAL;
		memcpy(out, "+47", 3);
		memcpy(out + 3, digits, 9);
	} else {
		if (n > SMS_MAX_TO - 1)
			return ERR_INVAL;
		out[0] = '+';
		memcpy(out + 1, digits, n + 1);
	}
	if (!sms_number_valid(out)) {
		out[0] = '\0';
		return ERR_INVAL;
	}
	return 0;
}

void
sms_number_mask(const char *to, char out[24])
{
	size_t n = to ? strlen(to) : 0;

	if (n < 6 || n > 20) {
		snprintf(out, 24, "***");
		return;
	}
	/* Country code and the last two digits, as a bank statement would. */
	snprintf(out, 24, "%.3s%.*s%s", to, (int)(n - 5), "*****************", to + n - 2);
}

/* ---- file sink ---- */

struct sms_file {
	struct sms_gateway super;
	char *path;
	pthread_mutex_t mu;
};

int
sms_file_append(const char *path, const json_t *j, pthread_mutex_t *mu, struct err *e)
{
	char *line = j ? json_dumps(j, JSON_COMPACT) : NULL;
	int fd = -1, rc = 0;
	size_t len;
	ssize_t wr;

	if (line == NULL)
		return ERR(e, ERR_NOMEM, 0, NULL, "out of memory");
	len = strlen(line);
	line[len] = '\n';
	/* One write of the whole line under a lock: readers never see half a message. */
	if (mu != NULL)
		pthread_mutex_lock(mu);
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0) {
		wr = write(fd, line, len + 1);
		if (wr != (ssize_t)(len + 1))
			rc = ERR(e, ERR_UNAVAILABLE, 0, NULL, "cannot append to %s", path);
		close(fd);
	} else {
		rc = ERR(e, ERR_UNAVAILABLE, 0, NULL, "cannot open %s: %s", path, strerror(errno));
	}
	if (mu != NULL)
		pthread_mutex_unlock(mu);
	secure_wipe(line, len + 1);
	free(line);
	return rc;
}

static int
sms_file_send(struct sms_gateway *g, const char *to, const char *text, struct err *e)
{
	struct sms_file *f = (struct sms_file *)g;
	json_t *j = json_pack("{s:I, s:s, s:s, s:s}", "time", (json_int_t)time_now(), "to", to,
			      "sender", g->sender, "text", text);
	int rc = sms_file_append(f->path, j, &f->mu, e);

	json_decref(j);
	return rc;
}

static void
sms_file_free(struct sms_gateway *g)
{
	struct sms_file *f = (struct sms_file *)g;

	pthread_mutex_destroy(&f->mu);
	free(f->path);
}

static const struct sms_ops sms_file_ops = {
	.name = "file",
	.send = sms_file_send,
	.free = sms_file_free,
};

int
sms_file_new(const char *path, const char *sender, struct sms_gateway **out, struct err *e)
{
	struct sms_file *f = calloc(1, sizeof(*f));

	*out = NULL;
	if (f == NULL || (f->path = strdup(path)) == NULL ||
	    (f->super.sender = strdup(sender ? sender : "ID-porten")) == NULL) {
		if (f != NULL) {
			free(f->path);
			free(f);
		}
		return ERR(e, ERR_NOMEM, 0, NULL, "out of memory");
	}
	f->super.ops = &sms_file_ops;
	pthread_mutex_init(&f->mu, NULL);
	*out = &f->super;
	return 0;
}

/* ---- log sink ---- */

static int
sms_log_send(struct sms_gateway *g, const char *to, const char *text, struct err *e)
{
	char masked[SMS_MAX_TEXT + 1], who[24];
	size_t i;

	/* Digits are the code: the log never gets them (spec/minid.md §10). */
	for (i = 0; i < SMS_MAX_TEXT && text[i] != '\0'; i++)
		masked[i] = text[i] >= '0' && text[i] <= '9' ? '#' : text[i];
	masked[i] = '\0';
	sms_number_mask(to, who);
	log_info(NULL, "sms (log sink, not delivered) to %s: %s", who, masked);
	return 0;
}

static void
sms_log_free(struct sms_gateway *g)
{
}

static const struct sms_ops sms_log_ops = {
	.name = "log",
	.send = sms_log_send,
	.free = sms_log_free,
};

int
sms_log_new(const char *sender, struct sms_gateway **out, struct err *e)
{
	struct sms_gateway *g = calloc(1, sizeof(*g));

	*out = NULL;
	if (g == NULL || (g->sender = strdup(sender ? sender : "ID-porten")) == NULL) {
		free(g);
		return ERR(e, ERR_NOMEM, 0, NULL, "out of memory");
	}
	g->ops = &sms_log_ops;
	*out = g;
	return 0;
}

/* ---- choice and the common entry ---- */

/* The secret header for the HTTP gateway: one line, trailing newline dropped. */
static int
sms_read_auth(const char *path, char **out, struct err *e)
{
	char line[1024];
	struct err why = { 0 };

	*out = NULL;
	if (fsperm_read_secret_line(path, line, sizeof(line), &why) != 0)
		return ERR(e, ERR_INVAL, 0, NULL, "sms_auth_file: %s", why.msg);
	if (strchr(line, ':') == NULL || !str_is_clean_utf8(str_c(line))) {
		secure_wipe(line, sizeof(line));
		return ERR(e, ERR_INVAL, 0, NULL, "sms_auth_file must hold one 'Name: value' line");
	}
	*out = strdup(line);
	secure_wipe(line, sizeof(line));
	return *out ? 0 : ERR(e, ERR_NOMEM, 0, NULL, "out of memory");
}

int
sms_gateway_new(const struct cfg *c, struct sms_gateway **out, struct err *e)
{
	const char *name = c->sms_gateway ? c->sms_gateway : "file";
	char *auth = NULL, *path = NULL;
	int rc;

	*out = NULL;
	if (strcmp(name, "log") == 0)
		return sms_log_new(c->sms_sender, out, e);
	if (strcmp(name, "file") == 0) {
		/* Codes in clear in a file: never where real people log in. */
		if (c->env == CFG_ENV_PROD)
			return ERR(e, ERR_INVAL, 0, NULL,
				   "sms_gateway=file is for development; prod needs sms_gateway=http");
		if (c->sms_file != NULL && c->sms_file[0] != '\0')
			return sms_file_new(c->sms_file, c->sms_sender, out, e);
		if (asprintf(&path, "%s/sms.jsonl", c->data ? c->data : ".") < 0)
			return ERR(e, ERR_NOMEM, 0, NULL, "out of memory");
		rc = sms_file_new(path, c->sms_sender, out, e);
		free(path);
		return rc;
	}
	if (strcmp(name, "http") == 0) {
		if (c->sms_url == NULL || c->sms_url[0] == '\0')
			return ERR(e, ERR_INVAL, 0, NULL, "sms_gateway=http needs sms_url");
		if (c->sms_auth_file != NULL && sms_read_auth(c->sms_auth_file, &auth, e) != 0)
			return e->code;
		rc = sms_http_new(&(struct sms_http_opts){ .url = c->sms_url,
							  .template = c->sms_template,
							  .content_type = c->sms_content_type,
							  .auth_header = auth,
							  .sender = c->sms_sender,
							  .timeout = (long)c->sms_timeout },
				  out, e);
		if (auth != NULL)
			secure_wipe(auth, strlen(auth));
		free(auth);
		return rc;
	}
	return ERR(e, ERR_INVAL, 0, NULL, "sms_gateway must be file, log or http, not '%s'", name);
}

void
sms_gateway_free(struct sms_gateway *g)
{
	if (g == NULL)
		return;
	g->ops->free(g);
	free(g->sender);
	free(g);
}

static pthread_mutex_t sms_shared_mu = PTHREAD_MUTEX_INITIALIZER;
static struct sms_gateway *sms_shared_gw;
static const struct cfg *sms_shared_cfg;

struct sms_gateway *
sms_gateway_shared(const struct cfg *c, struct err *e)
{
	struct sms_gateway *g;

	pthread_mutex_lock(&sms_shared_mu);
	if (sms_shared_gw == NULL || sms_shared_cfg != c) {
		struct sms_gateway *made = NULL;

		/* A process serves one configuration; a new one (tests) gets a new gateway. */
		if (sms_gateway_new(c, &made, e) == 0) {
			sms_gateway_free(sms_shared_gw);
			sms_shared_gw = made;
			sms_shared_cfg = c;
		}
	}
	g = sms_shared_cfg == c ? sms_shared_gw : NULL;
	pthread_mutex_unlock(&sms_shared_mu);
	return g;
}

int
sms_send(struct sms_gateway *g, const char *to, const char *text, struct err *e)
{
	size_t n = text ? strlen(text) : 0;

	if (!sms_number_valid(to))
		return ERR(e, ERR_INVAL, 0, NULL, "not a mobile number in E.164 form");
	if (n == 0 || n > SMS_MAX_TEXT || !str_is_clean_utf8((struct str){ text, n }))
		return ERR(e, ERR_INVAL, 0, NULL, "SMS text empty, too long or not clean UTF-8");
	return g->ops->send(g, to, text, e);
}

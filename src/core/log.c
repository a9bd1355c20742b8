#include "core/log.h"

#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

static enum log_level log_level = LOG_INFO;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

void
log_set_level(enum log_level lvl)
{
	log_level = lvl;
}

void
log_msg(enum log_level lvl, const char *rid, const char *fmt, ...)
{
	static const char *names[] = { "error", "warn", "info", "debug" };
	char msg[1024], ts[32];
	struct timespec now;
	struct tm tm;
	json_t *j;
	char *line;
	va_list ap;

	if (lvl > log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	j = json_pack("{s:s+,s:s,s:s}", "time", ts, "Z", "level", names[lvl], "msg", msg);
	if (j == NULL)
		return;
	if (rid != NULL)
		json_object_set_new(j, "rid", json_string(rid));
	line = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(j);
	if (line == NULL)
		return;
	pthread_mutex_lock(&log_lock);
	fputs(line, stdout);
	fputc('\n', stdout);
	fflush(stdout);
	pthread_mutex_unlock(&log_lock);
	free(line);
}

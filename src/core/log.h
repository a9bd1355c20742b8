/* JSON-lines logging on stdout.  Never log secrets: mask them with log_mask(). */
#ifndef PORTEN_CORE_LOG_H
#define PORTEN_CORE_LOG_H

enum log_level { LOG_ERR, LOG_WARN, LOG_INFO, LOG_DEBUG };

void log_set_level(enum log_level lvl);
/* rid: the request id, or NULL outside a request. */
void log_msg(enum log_level lvl, const char *rid, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_err(rid, ...) log_msg(LOG_ERR, (rid), __VA_ARGS__)
#define log_warn(rid, ...) log_msg(LOG_WARN, (rid), __VA_ARGS__)
#define log_info(rid, ...) log_msg(LOG_INFO, (rid), __VA_ARGS__)
#define log_debug(rid, ...) log_msg(LOG_DEBUG, (rid), __VA_ARGS__)

#endif

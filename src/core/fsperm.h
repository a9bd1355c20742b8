/*
 * File permission checks at start-up: the data directory, the database
 * file and the key-encryption key file hold what a national login service
 * must keep to itself.  A file anybody on the machine can write is a way
 * in (swap a client's keys, plant a session); one anybody can read gives
 * away hashes, events and sealed keys.
 */
#ifndef PORTEN_CORE_FSPERM_H
#define PORTEN_CORE_FSPERM_H

#include <stddef.h>

#include "core/err.h"

/*
 * Check a data directory or database file (symlinks followed).
 *   0             fine; also when it is world-readable, which is logged as
 *                 a warning naming the path (the caller goes on)
 *   ERR_DENIED    writable by others (world-writable), or neither a
 *                 directory nor a regular file: the caller must refuse to
 *                 start
 *   ERR_NOTFOUND  the path does not exist (the caller creates it)
 *   ERR_IO        cannot stat it
 * e->msg says which and names the path.
 */
int fsperm_check_private(const char *path, struct err *e);

/*
 * Check a file holding a secret (kek_file): ERR_DENIED when anyone but its
 * owner can read or write it (group or other permission bits), or when it
 * is not a regular file; ERR_NOTFOUND / ERR_IO as above.
 */
int fsperm_check_secret(const char *path, struct err *e);

/*
 * The first line of a file holding a secret (kek_file, sms_auth_file, a
 * password file; "-" reads standard input), without its line end, into
 * buf of n bytes: at most n - 2 bytes besides the line end ("\n", "\r\n" or
 * the end of the file).  ERR_IO when it cannot be opened; ERR_INVAL when
 * the line is empty or does not fit (never cut short).  A file is read
 * unbuffered, so no copy stays in stdio's buffer; on failure buf is wiped,
 * on success the caller wipes it after use.
 */
int fsperm_read_secret_line(const char *path, char *buf, size_t n, struct err *e);

/*
 * A whole file of at most max bytes as NUL-terminated text (a PEM
 * certificate or key): *out malloc'd, the caller frees it (wiping a
 * secret first).  ERR_IO when it cannot be read; ERR_LIMIT when it is
 * larger than max; ERR_INVAL when it is empty or holds a NUL byte.
 */
int fsperm_read_file(const char *path, size_t max, char **out, struct err *e);

#endif

/*
 * Permission checks on the files portend keeps its state in.  stat()
 * follows symlinks on purpose: what matters is who can change the bytes
 * the store reads, not the link.
 */
#include "core/fsperm.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/crypto.h"
#include "core/log.h"

static int
fsperm_stat(const char *path, struct stat *st, struct err *e)
{
	if (path == NULL || path[0] == '\0')
		return ERR(e, ERR_NOTFOUND, 0, NULL, "no path given");
	if (stat(path, st) != 0) {
		if (errno == ENOENT)
			return ERR(e, ERR_NOTFOUND, 0, NULL, "%s does not exist", path);
		return ERR(e, ERR_IO, 0, NULL, "cannot stat %s: %s", path, strerror(errno));
	}
	return 0;
}

int
fsperm_check_private(const char *path, struct err *e)
{
	struct stat st;
	int rc;

	rc = fsperm_stat(path, &st, e);
	if (rc != 0)
		return rc;
	if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
		return ERR(e, ERR_DENIED, 0, NULL, "%s is neither a directory nor a regular file",
			   path);
	if (st.st_mode & S_IWOTH)
		return ERR(e, ERR_DENIED, 0, NULL,
			   "%s is world-writable (mode %04o): refusing to use it; chmod o-w it",
			   path, (unsigned)(st.st_mode & 07777));
	if (st.st_mode & S_IROTH)
		log_warn(NULL, "%s is world-readable (mode %04o): chmod o-rwx it", path,
			 (unsigned)(st.st_mode & 07777));
	return 0;
}

int
fsperm_check_secret(const char *path, struct err *e)
{
	struct stat st;
	int rc;

	rc = fsperm_stat(path, &st, e);
	if (rc != 0)
		return rc;
	if (!S_ISREG(st.st_mode))
		return ERR(e, ERR_DENIED, 0, NULL, "%s is not a regular file", path);
	if (st.st_mode & (S_IRWXG | S_IRWXO))
		return ERR(e, ERR_DENIED, 0, NULL,
			   "%s holds a secret but others may read or write it (mode %04o): "
			   "chmod 600 it",
			   path, (unsigned)(st.st_mode & 07777));
	return 0;
}

/* After a '\r': does the line end here (a '\n' or the end of the file)? */
static bool
line_ends(FILE *f)
{
	int c = fgetc(f);

	return c == '\n' || c == EOF;
}

int
fsperm_read_secret_line(const char *path, char *buf, size_t n, struct err *e)
{
	bool in = strcmp(path, "-") == 0;
	FILE *f;
	size_t len;
	int rc = 0;

	if (n < 2 || n > INT32_MAX)
		return ERR(e, ERR_INVAL, 0, NULL, "no room to read %s", path);
	f = in ? stdin : fopen(path, "r");
	if (f == NULL)
		return ERR(e, ERR_IO, 0, NULL, "cannot read %s: %s", path, strerror(errno));
	/* byte by byte: no stdio buffer keeps a copy of the secret after the close */
	if (!in)
		setvbuf(f, NULL, _IONBF, 0);
	if (fgets(buf, (int)n, f) == NULL)
		buf[0] = '\0';
	len = strlen(buf);
	/*
	 * A full buffer without the line end: the line goes on past it, unless
	 * what filled it ends in the '\r' of a CRLF (or of the file).
	 */
	if (len == n - 1 && buf[len - 1] != '\n' &&
	    !(buf[len - 1] == '\r' && line_ends(f))) {
		rc = ERR(e, ERR_INVAL, 0, NULL, "the first line of %s is longer than %zu bytes",
			 path, n - 2);
	} else {
		buf[strcspn(buf, "\r\n")] = '\0';
		if (buf[0] == '\0')
			rc = ERR(e, ERR_INVAL, 0, NULL, "%s is empty", path);
	}
	if (!in)
		fclose(f);
	if (rc != 0)
		secure_wipe(buf, n);
	return rc;
}

int
fsperm_read_file(const char *path, size_t max, char **out, struct err *e)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len;
	int rc = 0;

	*out = NULL;
	if (f == NULL)
		return ERR(e, ERR_IO, 0, NULL, "cannot read %s: %s", path, strerror(errno));
	/* unbuffered: a private key leaves no copy in stdio's buffer */
	setvbuf(f, NULL, _IONBF, 0);
	buf = malloc(max + 2);
	if (buf == NULL) {
		fclose(f);
		return ERR(e, ERR_NOMEM, 0, NULL, "out of memory");
	}
	len = fread(buf, 1, max + 1, f);
	if (ferror(f))
		rc = ERR(e, ERR_IO, 0, NULL, "cannot read %s: %s", path, strerror(errno));
	else if (len > max)
		rc = ERR(e, ERR_LIMIT, 0, NULL, "%s is larger than %zu bytes", path, max);
	else if (len == 0 || memchr(buf, '\0', len) != NULL)
		rc = ERR(e, ERR_INVAL, 0, NULL, "%s is empty or not text", path);
	fclose(f);
	if (rc != 0) {
		secure_wipe(buf, max + 2);
		free(buf);
		return rc;
	}
	buf[len] = '\0';
	*out = buf;
	return 0;
}

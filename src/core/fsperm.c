/*
 * Permission checks on the files portend keeps its state in.  stat()
 * follows symlinks on purpose: what matters is who can change the bytes
 * the store reads, not the link.
 */
#include "core/fsperm.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

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

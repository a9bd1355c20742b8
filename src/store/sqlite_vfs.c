/*
 * SQLite backend: the default VFS with a WAL file whose appends go out in
 * one write per commit.
 *
 * SQLite writes a commit's WAL frames one by one, each as two writes (its
 * 24-byte header, then the page), so a commit of 16 pages is 32 pwrite
 * calls.  Here the appends of a transaction gather in a buffer, and the
 * write of the commit frame's page (its header names the database size)
 * sends them all in one call, before SQLite publishes the commit in the
 * wal-index: another connection cannot see a frame that is not in the
 * file yet, and COMMIT returns with its frames in the kernel as before
 * (synchronous = NORMAL: the sync is the checkpointer's).  Any other call
 * on the WAL file (a read, a sync, a truncate, a write that does not
 * continue the buffer) first writes out what is buffered, so the file
 * reads as if every write had gone through at once.  A failed
 * write-out fails the commit's write, as a failed pwrite did.  The
 * database file and the other files are the default VFS's own.
 *
 * A transaction that spills pages before its commit (cache_spill, on by
 * default) writes frames with no commit frame after them.  If it rolls
 * back, those frames are dead: SQLite leaves them past the WAL's end and
 * the next writer writes over them.  Here they would still be buffered,
 * and writing them out later (at the next read, sync or close) could land
 * over frames another connection wrote after the write lock was released.
 * So every connection on this VFS has a rollback hook
 * (store_sq_vfs_watch) that drops the buffer of its WAL when a write
 * transaction ends without a commit: SQLite calls it from
 * sqlite3RollbackAll for every such end (ROLLBACK, a failed statement or
 * COMMIT), before the connection touches its WAL again; the close of a
 * connection in a transaction (which the hook is documented not to
 * report) closes its WAL, and that drops the buffer too.  Buffered frames are written out only
 * while the write transaction that wrote them is open (its commit frame,
 * a full buffer, a write elsewhere in the file, a read, a sync), as SQLite
 * would have written them.  Closing the WAL drops what is left: a WAL is
 * closed only outside a write transaction, so what is left is dead.
 */
#include "store/sqlite_int.h"

#include <stdlib.h>
#include <string.h>

#define SQ_VFS_NAME "porten-wal"
#define SQ_WAL_FRAME_HDR 24
#define SQ_WAL_BUF_MAX (1024 * 1024) /* write out at this size mid-transaction */
/* the most the default VFS writes in one call (it keeps 17 bits of the length) */
#define SQ_WAL_WRITE_MAX (120 * 1024)

struct sq_walfile {
	sqlite3_file base;
	sqlite3_file *real; /* the default VFS's file, after this struct */
	char *buf;
	size_t len, cap;
	sqlite3_int64 at;   /* the file offset of buf[0] */
	bool commit_next;   /* the last write was a commit frame's header */
	bool settled;       /* a commit went out; its checksum rewrites go straight to the file */
	sqlite3_int64 commit_at; /* the offset of the last commit frame's header */
};

static sqlite3_vfs sq_vfs;
static sqlite3_vfs *sq_vfs_real;
static bool sq_vfs_ok;
static pthread_once_t sq_vfs_once = PTHREAD_ONCE_INIT;

static int
sq_wal_flush(struct sq_walfile *f)
{
	size_t done = 0, n;
	int rc = SQLITE_OK;

	while (rc == SQLITE_OK && done < f->len) {
		n = f->len - done < SQ_WAL_WRITE_MAX ? f->len - done : SQ_WAL_WRITE_MAX;
		rc = f->real->pMethods->xWrite(f->real, f->buf + done, (int)n,
					       f->at + (sqlite3_int64)done);
		done += n;
	}
	f->len = 0;
	return rc;
}

/* Forget the buffer: frames of a transaction that ended without a commit. */
static void
sq_wal_drop(struct sq_walfile *f)
{
	f->len = 0;
	f->commit_next = false;
	f->settled = false;
}

static int
sq_wal_close(sqlite3_file *p)
{
	struct sq_walfile *f = (struct sq_walfile *)p;
	int rc;

	sq_wal_drop(f);
	rc = f->real->pMethods->xClose(f->real);
	free(f->buf);
	f->buf = NULL;
	return rc;
}

static int
sq_wal_read(sqlite3_file *p, void *out, int n, sqlite3_int64 off)
{
	struct sq_walfile *f = (struct sq_walfile *)p;
	int rc = sq_wal_flush(f);

	return rc != SQLITE_OK ? rc : f->real->pMethods->xRead(f->real, out, n, off);
}

/* Room for n more bytes in the buffer; false when it cannot grow. */
static bool
sq_wal_room(struct sq_walfile *f, size_t n)
{
	size_t cap;
	char *b;

	if (f->len + n <= f->cap)
		return true;
	cap = f->cap != 0 ? f->cap : 64 * 1024;
	while (cap < f->len + n)
		cap *= 2;
	b = realloc(f->buf, cap);
	if (b == NULL)
		return false;
	f->buf = b;
	f->cap = cap;
	return true;
}

/* A frame header whose second word, the database size, is not 0 ends a commit. */
static void
sq_wal_mark(struct sq_walfile *f, const unsigned char *d, int n, sqlite3_int64 off)
{
	if (n == SQ_WAL_FRAME_HDR && (d[4] | d[5] | d[6] | d[7]) != 0) {
		f->commit_next = true;
		f->commit_at = off;
	}
}

static int
sq_wal_write(sqlite3_file *p, const void *data, int n, sqlite3_int64 off)
{
	struct sq_walfile *f = (struct sq_walfile *)p;
	const unsigned char *d = data;
	bool commit = f->commit_next;
	int rc;

	f->commit_next = false;
	if (n <= 0)
		return f->real->pMethods->xWrite(f->real, data, n, off);
	/*
	 * After a commit's frames, SQLite may rewrite the checksums of its
	 * frame headers (a page written twice in one transaction), before
	 * it releases the write lock: those writes, at or before the commit
	 * frame, go to the file at once.  An append past it, or a new WAL
	 * header, begins the next transaction's batch.
	 */
	if (f->settled) {
		if (off <= f->commit_at && off != 0) {
			rc = sq_wal_flush(f);
			if (rc == SQLITE_OK)
				rc = f->real->pMethods->xWrite(f->real, data, n, off);
			/* (or the first frame of a commit after another's WAL restart) */
			sq_wal_mark(f, d, n, off);
			return rc;
		}
		f->settled = false;
	}
	/* only appends that continue the buffer are gathered */
	if (f->len != 0 && off != f->at + (sqlite3_int64)f->len) {
		rc = sq_wal_flush(f);
		if (rc != SQLITE_OK)
			return rc;
	}
	if (f->len + (size_t)n > SQ_WAL_BUF_MAX) {
		rc = sq_wal_flush(f);
		if (rc != SQLITE_OK)
			return rc;
	}
	if (!sq_wal_room(f, (size_t)n)) {
		rc = sq_wal_flush(f);
		if (rc == SQLITE_OK)
			rc = f->real->pMethods->xWrite(f->real, data, n, off);
	} else {
		if (f->len == 0)
			f->at = off;
		memcpy(f->buf + f->len, data, (size_t)n);
		f->len += (size_t)n;
		rc = commit ? sq_wal_flush(f) : SQLITE_OK;
	}
	sq_wal_mark(f, d, n, off);
	if (commit)
		f->settled = true;
	return rc;
}

static int
sq_wal_truncate(sqlite3_file *p, sqlite3_int64 size)
{
	struct sq_walfile *f = (struct sq_walfile *)p;
	int rc = sq_wal_flush(f);

	return rc != SQLITE_OK ? rc : f->real->pMethods->xTruncate(f->real, size);
}

static int
sq_wal_sync(sqlite3_file *p, int flags)
{
	struct sq_walfile *f = (struct sq_walfile *)p;
	int rc = sq_wal_flush(f);

	return rc != SQLITE_OK ? rc : f->real->pMethods->xSync(f->real, flags);
}

static int
sq_wal_size(sqlite3_file *p, sqlite3_int64 *size)
{
	struct sq_walfile *f = (struct sq_walfile *)p;
	int rc = sq_wal_flush(f);

	return rc != SQLITE_OK ? rc : f->real->pMethods->xFileSize(f->real, size);
}

static int
sq_wal_lock(sqlite3_file *p, int lock)
{
	struct sq_walfile *f = (struct sq_walfile *)p;

	return f->real->pMethods->xLock(f->real, lock);
}

static int
sq_wal_unlock(sqlite3_file *p, int lock)
{
	struct sq_walfile *f = (struct sq_walfile *)p;
	int rc = sq_wal_flush(f);
	int rc2 = f->real->pMethods->xUnlock(f->real, lock);

	return rc != SQLITE_OK ? rc : rc2;
}

static int
sq_wal_reserved(sqlite3_file *p, int *out)
{
	struct sq_walfile *f = (struct sq_walfile *)p;

	return f->real->pMethods->xCheckReservedLock(f->real, out);
}

static int
sq_wal_control(sqlite3_file *p, int op, void *arg)
{
	struct sq_walfile *f = (struct sq_walfile *)p;
	int rc = sq_wal_flush(f);

	return rc != SQLITE_OK ? rc : f->real->pMethods->xFileControl(f->real, op, arg);
}

static int
sq_wal_sector(sqlite3_file *p)
{
	struct sq_walfile *f = (struct sq_walfile *)p;

	return f->real->pMethods->xSectorSize(f->real);
}

static int
sq_wal_device(sqlite3_file *p)
{
	struct sq_walfile *f = (struct sq_walfile *)p;

	return f->real->pMethods->xDeviceCharacteristics(f->real);
}

/* Version 1: a WAL file has no shared memory and is never mapped. */
static const sqlite3_io_methods sq_wal_methods = {
	.iVersion = 1,
	.xClose = sq_wal_close,
	.xRead = sq_wal_read,
	.xWrite = sq_wal_write,
	.xTruncate = sq_wal_truncate,
	.xSync = sq_wal_sync,
	.xFileSize = sq_wal_size,
	.xLock = sq_wal_lock,
	.xUnlock = sq_wal_unlock,
	.xCheckReservedLock = sq_wal_reserved,
	.xFileControl = sq_wal_control,
	.xSectorSize = sq_wal_sector,
	.xDeviceCharacteristics = sq_wal_device,
};

static int
sq_vfs_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *p, int flags, int *out_flags)
{
	struct sq_walfile *f = (struct sq_walfile *)p;
	int rc;

	(void)vfs;
	/* every file but a WAL is the default VFS's, opened in place */
	if (!(flags & SQLITE_OPEN_WAL))
		return sq_vfs_real->xOpen(sq_vfs_real, name, p, flags, out_flags);
	memset(f, 0, sizeof(*f));
	f->real = (sqlite3_file *)(f + 1);
	rc = sq_vfs_real->xOpen(sq_vfs_real, name, f->real, flags, out_flags);
	if (f->real->pMethods == NULL)
		return rc;
	f->base.pMethods = &sq_wal_methods;
	return rc;
}

/*
 * The rollback hook: the connection's write transaction ended without a
 * commit, so the frames its WAL still holds are dead.  SQLite calls it
 * after the rollback, with the write lock released, and before anything
 * else on the connection; dropping (never writing) them is what is safe
 * then.
 */
static void
sq_vfs_rolled_back(void *arg)
{
	sqlite3 *db = arg;
	sqlite3_file *j = NULL;

	if (sqlite3_file_control(db, "main", SQLITE_FCNTL_JOURNAL_POINTER, &j) == SQLITE_OK &&
	    j != NULL && j->pMethods == &sq_wal_methods)
		sq_wal_drop((struct sq_walfile *)j);
}

void
store_sq_vfs_watch(sqlite3 *db)
{
	sqlite3_rollback_hook(db, sq_vfs_rolled_back, db);
}

static void
sq_vfs_register(void)
{
	sq_vfs_real = sqlite3_vfs_find(NULL);
	if (sq_vfs_real == NULL)
		return;
	sq_vfs = *sq_vfs_real;
	sq_vfs.szOsFile = (int)sizeof(struct sq_walfile) + sq_vfs_real->szOsFile;
	sq_vfs.zName = SQ_VFS_NAME;
	sq_vfs.pNext = NULL;
	sq_vfs.xOpen = sq_vfs_open;
	sq_vfs_ok = sqlite3_vfs_register(&sq_vfs, 0) == SQLITE_OK;
}

const char *
store_sq_vfs(void)
{
	pthread_once(&sq_vfs_once, sq_vfs_register);
	return sq_vfs_ok ? SQ_VFS_NAME : NULL;
}

/*
 * fsperm: world-writable refused, world-readable warned (but accepted),
 * secrets private to their owner, symlinks judged by their target.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/fsperm.h"
#include "core/log.h"

static char dir[64];
static char path[128];

static int
setup(void **state)
{
	snprintf(dir, sizeof(dir), "%s", "/tmp/porten-fsperm-XXXXXX");
	log_set_level(LOG_ERR);
	return mkdtemp(dir) != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
	char p[160];

	snprintf(p, sizeof(p), "%s/db", dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/link", dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/sub", dir);
	rmdir(p);
	rmdir(dir);
	return 0;
}

static const char *
file(const char *name, mode_t mode)
{
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
	return path;
}

static void
test_private_dir(void **state)
{
	struct err e = { 0 };

	assert_int_equal(chmod(dir, 0700), 0);
	assert_int_equal(fsperm_check_private(dir, &e), 0);
	/* World-readable: a warning, not a refusal. */
	assert_int_equal(chmod(dir, 0755), 0);
	assert_int_equal(fsperm_check_private(dir, &e), 0);
	/* World-writable, sticky or not: refused. */
	assert_int_equal(chmod(dir, 0777), 0);
	assert_int_equal(fsperm_check_private(dir, &e), ERR_DENIED);
	assert_non_null(strstr(e.msg, "world-writable"));
	assert_non_null(strstr(e.msg, dir));
	assert_int_equal(chmod(dir, 01777), 0);
	assert_int_equal(fsperm_check_private(dir, &e), ERR_DENIED);
	assert_int_equal(chmod(dir, 0700), 0);
}

static void
test_private_file(void **state)
{
	struct err e = { 0 };

	assert_int_equal(fsperm_check_private(file("db", 0600), &e), 0);
	assert_int_equal(fsperm_check_private(file("db", 0644), &e), 0);
	assert_int_equal(fsperm_check_private(file("db", 0666), &e), ERR_DENIED);
	assert_int_equal(fsperm_check_private(file("db", 0602), &e), ERR_DENIED);
	/* Group-writable is the operator's choice (a service group). */
	assert_int_equal(fsperm_check_private(file("db", 0660), &e), 0);
}

static void
test_symlink_and_missing(void **state)
{
	struct err e = { 0 };
	char link[160], sub[160];

	snprintf(link, sizeof(link), "%s/link", dir);
	snprintf(sub, sizeof(sub), "%s/sub", dir);
	/* A private-looking link to a world-writable target is judged by the target. */
	file("db", 0666);
	assert_int_equal(symlink(path, link), 0);
	assert_int_equal(fsperm_check_private(link, &e), ERR_DENIED);
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(fsperm_check_private(link, &e), 0);
	unlink(link);
	/* A dangling link, a missing file, no path. */
	assert_int_equal(symlink("/nonexistent/porten", link), 0);
	assert_int_equal(fsperm_check_private(link, &e), ERR_NOTFOUND);
	assert_int_equal(fsperm_check_private("/nonexistent/porten.db", &e), ERR_NOTFOUND);
	assert_int_equal(fsperm_check_private(NULL, &e), ERR_NOTFOUND);
	assert_int_equal(fsperm_check_private("", &e), ERR_NOTFOUND);
	/* Neither a file nor a directory. */
	assert_int_equal(fsperm_check_private("/dev/null", &e), ERR_DENIED);
	assert_int_equal(mkdir(sub, 0700), 0);
	assert_int_equal(fsperm_check_private(sub, &e), 0);
}

static void
test_secret(void **state)
{
	struct err e = { 0 };

	assert_int_equal(fsperm_check_secret(file("db", 0600), &e), 0);
	assert_int_equal(fsperm_check_secret(file("db", 0400), &e), 0);
	assert_int_equal(fsperm_check_secret(file("db", 0640), &e), ERR_DENIED);
	assert_int_equal(fsperm_check_secret(file("db", 0604), &e), ERR_DENIED);
	assert_int_equal(fsperm_check_secret(file("db", 0620), &e), ERR_DENIED);
	assert_non_null(strstr(e.msg, "chmod 600"));
	assert_int_equal(fsperm_check_secret(dir, &e), ERR_DENIED);
	assert_int_equal(fsperm_check_secret("/nonexistent/kek", &e), ERR_NOTFOUND);
}

/* Write text to dir/db and read its first line into a buffer of n bytes. */
static int
read_line(const char *text, char *buf, size_t n, struct err *e)
{
	FILE *f;

	snprintf(path, sizeof(path), "%s/db", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
	fclose(f);
	memset(buf, 'x', n);
	return fsperm_read_secret_line(path, buf, n, e);
}

static void
test_secret_line(void **state)
{
	struct err e = { 0 };
	char buf[8];

	assert_int_equal(read_line("secret\n", buf, sizeof(buf), &e), 0);
	assert_string_equal(buf, "secret");
	assert_int_equal(read_line("sec\r\nsecond line\n", buf, sizeof(buf), &e), 0);
	assert_string_equal(buf, "sec");
	assert_int_equal(read_line("secret", buf, sizeof(buf), &e), 0);
	assert_string_equal(buf, "secret");
	/* Six bytes and the line end fit in eight; seven do not, and are not cut. */
	assert_int_equal(read_line("abcdef\n", buf, sizeof(buf), &e), 0);
	assert_string_equal(buf, "abcdef");
	assert_int_equal(read_line("abcdefg\n", buf, sizeof(buf), &e), ERR_INVAL);
	assert_non_null(strstr(e.msg, "longer than 6 bytes"));
	/* The same bound with a CRLF, or a '\r' at the end of the file. */
	assert_int_equal(read_line("abcdef\r\n", buf, sizeof(buf), &e), 0);
	assert_string_equal(buf, "abcdef");
	assert_int_equal(read_line("abcdef\r", buf, sizeof(buf), &e), 0);
	assert_string_equal(buf, "abcdef");
	assert_int_equal(read_line("abcdefg\r\n", buf, sizeof(buf), &e), ERR_INVAL);
	assert_int_equal(read_line("abcdef\rX\n", buf, sizeof(buf), &e), ERR_INVAL);
	assert_int_equal(read_line("abcdefghijk", buf, sizeof(buf), &e), ERR_INVAL);
	/* What was read is wiped when refused. */
	for (size_t i = 0; i < sizeof(buf); i++)
		assert_int_equal(buf[i], 0);
	assert_int_equal(read_line("", buf, sizeof(buf), &e), ERR_INVAL);
	assert_non_null(strstr(e.msg, "empty"));
	assert_int_equal(read_line("\nsecret\n", buf, sizeof(buf), &e), ERR_INVAL);
	assert_int_equal(fsperm_read_secret_line("/nonexistent/kek", buf, sizeof(buf), &e),
			 ERR_IO);
	assert_int_equal(fsperm_read_secret_line(path, buf, 1, &e), ERR_INVAL);
}

/* Write n bytes to dir/db and read the whole file with fsperm_read_file (max bytes). */
static int
read_all(const char *text, size_t n, size_t max, char **out, struct err *e)
{
	FILE *f;

	snprintf(path, sizeof(path), "%s/db", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, n, f), n);
	fclose(f);
	return fsperm_read_file(path, max, out, e);
}

static void
test_read_file(void **state)
{
	struct err e = { 0 };
	char *out = NULL;

	assert_int_equal(read_all("-----BEGIN X-----\n", 18, 64, &out, &e), 0);
	assert_string_equal(out, "-----BEGIN X-----\n");
	free(out);
	/* Exactly max bytes fit; one more does not. */
	assert_int_equal(read_all("abcd", 4, 4, &out, &e), 0);
	assert_string_equal(out, "abcd");
	free(out);
	assert_int_equal(read_all("abcde", 5, 4, &out, &e), ERR_LIMIT);
	assert_null(out);
	assert_non_null(strstr(e.msg, "larger than 4 bytes"));
	assert_int_equal(read_all("", 0, 4, &out, &e), ERR_INVAL);
	assert_int_equal(read_all("a\0b", 3, 4, &out, &e), ERR_INVAL);
	assert_null(out);
	assert_int_equal(fsperm_read_file("/nonexistent/cert.pem", 4, &out, &e), ERR_IO);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_private_dir),
		cmocka_unit_test(test_private_file),
		cmocka_unit_test(test_symlink_and_missing),
		cmocka_unit_test(test_secret),
		cmocka_unit_test(test_secret_line),
		cmocka_unit_test(test_read_file),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

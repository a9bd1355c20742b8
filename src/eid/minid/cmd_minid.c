/*
 * `portenctl minid ...`: operators' access to MinID accounts on the same
 * store as portend (spec/minid.md §5 operator block, §7 accounts).  The
 * password is never printed; --json shows the account without secrets.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app/cli.h"
#include "core/crypto.h"
#include "core/fsperm.h"
#include "eid/minid/minid.h"

void
minid_cmd_usage(FILE *f)
{
	fputs("  minid create PID --mobile NUMBER (--password P | --password-file FILE)\n"
	      "       [--replace]\n"
	      "  minid show PID\n"
	      "  minid lock PID          (operator block: no login until unlocked)\n"
	      "  minid unlock PID        (lift a block or a failure lock)\n",
	      f);
}

static const char *const minid_order[] = {
	"pid", "status", "mobile", "app", "locked_until", "lock_reason", "password",
	"created", "updated", "pw_changed", "last_login", NULL,
};

/*
 * The first line of a file (a password kept out of argv and the shell
 * history); NULL with e saying why (cannot open, empty, too long).
 */
static char *
cli_minid_read_password(const char *path, struct err *e)
{
	char line[1100];
	char *out;

	if (fsperm_read_secret_line(path, line, sizeof(line), e) != 0)
		return NULL;
	out = strdup(line);
	secure_wipe(line, sizeof(line));
	if (out == NULL)
		(void)ERR(e, ERR_NOMEM, 0, NULL, "out of memory");
	return out;
}

static int
cli_minid_print(struct cli *c, const char *pid)
{
	struct err e = { 0 };
	struct minid_account acct;
	json_t *pub = NULL;
	int rc;

	rc = minid_account_get(&c->app, pid, &acct, &e);
	if (rc == ERR_NOTFOUND)
		return cli_fail(rc, &(struct err){ .msg = "no MinID for this national identity "
							  "number" });
	if (rc != 0)
		return cli_fail(rc, &e);
	pub = minid_account_public(&c->app, &acct);
	if (c->json)
		cli_print_json(c, pub);
	else
		cli_print_fields(c, pub, minid_order);
	json_decref(pub);
	minid_account_clear(&acct);
	return CLI_OK;
}

static int
cli_minid_create(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "mobile", required_argument, NULL, 'm' },
		{ "password", required_argument, NULL, 'p' },
		{ "password-file", required_argument, NULL, 'f' },
		{ "replace", no_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	const char *mobile = NULL, *pid = NULL;
	char *password = NULL;
	bool replace = false;
	struct err e = { 0 };
	int ch, rc, status = CLI_USAGE;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'm':
			mobile = optarg;
			break;
		case 'p':
		case 'f':
			if (password != NULL) {
				status = cli_usage_error("minid create: give the password once");
				goto out;
			}
			password = ch == 'p' ? strdup(optarg) : cli_minid_read_password(optarg, &e);
			if (password == NULL) {
				status = cli_usage_error("minid create: cannot read the password: %s",
							 e.msg[0] ? e.msg : "out of memory");
				goto out;
			}
			break;
		case 'r':
			replace = true;
			break;
		default:
			status = cli_usage_error("minid create: unknown option or missing value: %s",
						 argv[optind - 1]);
			goto out;
		}
	}
	if (optind + 1 != argc) {
		status = cli_usage_error("minid create PID --mobile NUMBER --password P");
		goto out;
	}
	pid = argv[optind];
	if (mobile == NULL || password == NULL) {
		status = cli_usage_error("minid create needs --mobile and --password "
					 "(or --password-file)");
		goto out;
	}
	status = cli_open(c);
	if (status != CLI_OK)
		goto out;
	rc = minid_account_create(&c->app, pid, password, mobile, replace, &e);
	if (rc != 0) {
		status = cli_fail(rc, &e);
		goto out;
	}
	status = cli_minid_print(c, pid);
out:
	if (password != NULL)
		secure_wipe(password, strlen(password));
	free(password);
	return status;
}

int
minid_cmd(struct cli *c, int argc, char **argv)
{
	struct err e = { 0 };
	const char *sub;
	int rc, status;

	if (argc == 0)
		return cli_usage_error("'minid' needs a subcommand");
	sub = argv[0];
	if (strcmp(sub, "create") == 0)
		return cli_minid_create(c, argc, argv);
	if (strcmp(sub, "show") != 0 && strcmp(sub, "lock") != 0 && strcmp(sub, "unlock") != 0)
		return cli_usage_error("unknown command 'minid %s'", sub);
	if (argc != 2)
		return cli_usage_error("minid %s PID", sub);
	status = cli_open(c);
	if (status != CLI_OK)
		return status;
	if (strcmp(sub, "lock") == 0 || strcmp(sub, "unlock") == 0) {
		rc = minid_account_block(&c->app, argv[1], strcmp(sub, "lock") == 0, &e);
		if (rc != 0)
			return cli_fail(rc, &e);
	}
	return cli_minid_print(c, argv[1]);
}

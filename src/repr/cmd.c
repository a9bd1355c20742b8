/*
 * portenctl repr: the local register of representation (facet repr).
 * Persons, organisations (main units and sub-units), resource names,
 * rights per resource, and fullmakts with roles and validity; and the two
 * lists the choosers read, to see what a person would be offered.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/cli.h"
#include "core/natid.h"
#include "core/timeutil.h"
#include "repr/repr_int.h"
#include "store/store.h"

void
repr_cmd_usage(FILE *f)
{
	fputs("  repr person PID NAME      add a person to the local register (or rename)\n"
	      "  repr org ORGNO NAME UNIT_TYPE [PARENT_ORGNO] [deleted]\n"
	      "                            an organisation; with a parent, a sub-unit\n"
	      "  repr resource URN NAME    the name of a resource (urn:altinn:resource:...)\n"
	      "  repr right PID ORGNO URN [RIGHT,...]\n"
	      "                            PID's rights on URN for ORGNO (none: taken away);\n"
	      "                            URN urn:altinn:rolecode:HADM: main administrator\n"
	      "  repr fullmakt REPRESENTATIVE AUTHORIZER OWNER:ROLE[,...] [FROM [TO]]\n"
	      "                            a fullmakt, valid from FROM until TO (seconds since\n"
	      "                            the epoch; TO 0 or absent: no end)\n"
	      "  repr reportees PID URN | repr fullmakts PID\n"
	      "                            what the choosers would offer PID\n"
	      "  repr events CLIENT_ID [LIMIT]\n"
	      "                            the representations chosen at that client, newest first\n",
	      f);
}

static bool
repr_pid_ok(struct cli *c, const char *pid)
{
	struct natid_info info;

	return natid_parse(str_c(pid), c->cfg.natid_allow_2032, &info) == NATID_OK;
}

/* "a,b,c" as a JSON array of strings; "" gives []. */
static json_t *
repr_split(const char *list)
{
	json_t *a = json_array();
	struct str rest = str_c(list), tok;

	while (a != NULL && rest.len > 0) {
		str_split(rest, ',', &tok, &rest);
		if (tok.len > 0)
			json_array_append_new(a, json_stringn(tok.p, tok.len));
	}
	return a;
}

/* "nav:arbeid,skatt:post" as [{owner, role}]; NULL when one has no colon. */
static json_t *
repr_permissions(const char *list)
{
	json_t *names = repr_split(list), *out = json_array(), *v;
	size_t i;

	json_array_foreach(names, i, v) {
		const char *s = json_string_value(v), *colon = strchr(s, ':');

		if (colon == NULL || colon == s || colon[1] == '\0') {
			json_decref(out);
			out = NULL;
			break;
		}
		json_array_append_new(out, json_pack("{s:s%, s:s}", "owner", s, (size_t)(colon - s),
						     "role", colon + 1));
	}
	json_decref(names);
	return out != NULL && json_array_size(out) > 0 ? out : (json_decref(out), NULL);
}

static int
repr_time_arg(const char *s, long long *out)
{
	return str_to_ll(str_c(s), 0, 1LL << 40, out);
}

static int
cmd_org(struct cli *c, int argc, char **argv, struct err *e)
{
	const char *parent = argc >= 5 && strcmp(argv[4], "deleted") != 0 ? argv[4] : NULL;
	bool deleted = strcmp(argv[argc - 1], "deleted") == 0 && argc >= 5;

	if (argc < 4 || argc > 6 || !orgno_valid_c(argv[1]) ||
	    (parent != NULL && !orgno_valid_c(parent)) || strlen(argv[2]) == 0 ||
	    strlen(argv[3]) == 0 || strlen(argv[3]) > 16)
		return cli_usage_error("repr org ORGNO NAME UNIT_TYPE [PARENT_ORGNO] [deleted]");
	return store_call(c->app.store, repr, org_put, argv[1], argv[2], argv[3], parent, deleted,
			  e);
}

static int
cmd_right(struct cli *c, int argc, char **argv, struct err *e)
{
	json_t *rights;
	int rc;

	/* the pilot's main administrators are a right on its role code (spec §1.4) */
	if (argc < 4 || argc > 5 || !repr_pid_ok(c, argv[1]) || !orgno_valid_c(argv[2]) ||
	    (strncmp(argv[3], REPR_RESOURCE_PREFIX, strlen(REPR_RESOURCE_PREFIX)) != 0 &&
	     strcmp(argv[3], REPR_SJEF_RESOURCE) != 0))
		return cli_usage_error("repr right PID ORGNO urn:altinn:resource:...|%s [RIGHT,...]",
				       REPR_SJEF_RESOURCE);
	rights = repr_split(argc == 5 ? argv[4] : "");
	rc = store_call(c->app.store, repr, right_put, argv[1], argv[2], argv[3], rights, e);
	json_decref(rights);
	return rc;
}

static int
cmd_fullmakt(struct cli *c, int argc, char **argv, struct err *e)
{
	long long from = 0, to = 0;
	json_t *perms;
	int rc;

	if (argc < 4 || argc > 6 || !repr_pid_ok(c, argv[1]) || !repr_pid_ok(c, argv[2]) ||
	    strcmp(argv[1], argv[2]) == 0 || (argc >= 5 && repr_time_arg(argv[4], &from) != 0) ||
	    (argc == 6 && repr_time_arg(argv[5], &to) != 0) || (to != 0 && to <= from) ||
	    (perms = repr_permissions(argv[3])) == NULL)
		return cli_usage_error("repr fullmakt REPRESENTATIVE AUTHORIZER OWNER:ROLE[,...] "
				       "[FROM [TO]]");
	rc = store_call(c->app.store, repr, fullmakt_put, argv[1], argv[2], perms, from, to, e);
	json_decref(perms);
	return rc;
}

/* The lists the choosers read, printed as JSON. */
static int
cmd_list(struct cli *c, int argc, char **argv, struct err *e)
{
	json_t *out = NULL;
	int rc;

	if (strcmp(argv[0], "reportees") == 0) {
		if (argc != 3 || !repr_pid_ok(c, argv[1]))
			return cli_usage_error("repr reportees PID URN");
		rc = repr_register_local.reportees(&c->app, argv[1], argv[2], &out, e);
	} else {
		if (argc != 2 || !repr_pid_ok(c, argv[1]))
			return cli_usage_error("repr fullmakts PID");
		rc = repr_register_local.fullmakts(&c->app, argv[1], &out, e);
	}
	if (rc == 0)
		cli_print_json(c, out);
	json_decref(out);
	return rc;
}

/* The events of the choices at one client (page.c repr_event). */
static int
cmd_events(struct cli *c, int argc, char **argv, struct err *e)
{
	long long limit = 100;
	json_t *out = NULL;
	int rc;

	if (argc < 2 || argc > 3 || argv[1][0] == '\0' ||
	    (argc == 3 && str_to_ll(str_c(argv[2]), 1, 1000, &limit) != 0))
		return cli_usage_error("repr events CLIENT_ID [LIMIT]");
	rc = store_call(c->app.store, events, event_find, "representation", "client_id", argv[1],
			(int64_t)limit, &out, e);
	if (rc == 0)
		cli_print_json(c, out);
	json_decref(out);
	return rc;
}

static int
repr_cmd_run(struct cli *c, int argc, char **argv, struct err *e)
{
	const char *sub = argv[0];

	if (strcmp(sub, "person") == 0) {
		if (argc != 3 || !repr_pid_ok(c, argv[1]) || argv[2][0] == '\0')
			return cli_usage_error("repr person PID NAME");
		return store_call(c->app.store, repr, person_put, argv[1], argv[2], e);
	}
	if (strcmp(sub, "org") == 0)
		return cmd_org(c, argc, argv, e);
	if (strcmp(sub, "resource") == 0) {
		if (argc != 3 || strncmp(argv[1], REPR_RESOURCE_PREFIX,
					 strlen(REPR_RESOURCE_PREFIX)) != 0 || argv[2][0] == '\0')
			return cli_usage_error("repr resource urn:altinn:resource:... NAME");
		return store_call(c->app.store, repr, resource_put, argv[1], argv[2], e);
	}
	if (strcmp(sub, "right") == 0)
		return cmd_right(c, argc, argv, e);
	if (strcmp(sub, "fullmakt") == 0)
		return cmd_fullmakt(c, argc, argv, e);
	if (strcmp(sub, "reportees") == 0 || strcmp(sub, "fullmakts") == 0)
		return cmd_list(c, argc, argv, e);
	if (strcmp(sub, "events") == 0)
		return cmd_events(c, argc, argv, e);
	return cli_usage_error("unknown command 'repr %s'", sub);
}

int
repr_cmd(struct cli *c, int argc, char **argv)
{
	struct err e = { 0 };
	int status = cli_open(c), rc;

	if (status != CLI_OK)
		return status;
	rc = repr_cmd_run(c, argc, argv, &e);
	if (rc == CLI_USAGE)
		return CLI_USAGE;
	if (rc != 0)
		return cli_fail(rc, &e);
	if (strcmp(argv[0], "reportees") != 0 && strcmp(argv[0], "fullmakts") != 0 &&
	    strcmp(argv[0], "events") != 0)
		cli_print_result(c, NULL, "done");
	return CLI_OK;
}

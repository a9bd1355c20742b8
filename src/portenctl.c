/*
 * portenctl: the operator's tool for clients, scopes and signing keys.  It
 * opens the same store as portend (same configuration file and PORTEN_*
 * environment) and calls the same registry functions as the self-service
 * API, so every rule applies in both places.  The commands are those of
 * the services (src/services.c), each under its name.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app/cli.h"
#include "app/service.h"
#include "services.h"

static void
usage(FILE *f)
{
	fputs("usage: portenctl [-c FILE] [--json] COMMAND ...  (the options may also follow COMMAND)\n"
	      "\n"
	      "options:\n"
	      "  -c, --config FILE   configuration file (default: $PORTEN_CONFIG, then defaults\n"
	      "                      and PORTEN_* environment variables)\n"
	      "      --json          print JSON on standard output\n"
	      "  -h, --help          this text\n"
	      "\n"
	      "commands:\n",
	      f);
	for (size_t i = 0; porten_services[i] != NULL; i++)
		for (const struct cli_command *cmd = porten_services[i]->commands; cmd && cmd->name;
		     cmd++)
			cmd->usage(f);
	fputs("\n"
	      "exit status: 0 done, 1 usage or validation error, 2 store or system failure\n",
	      f);
}

/*
 * The global options may also follow the command (portenctl client create
 * --json ...), as people type them: take them out of the command's
 * arguments, up to a "--".  A command option whose value is one of them is
 * written --opt=VALUE.  CLI_OK, or CLI_USAGE for -c without a file.
 */
static int
global_opts(struct cli *c, int *argc, char **argv)
{
	int i, n = 0;

	for (i = 0; i < *argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--") == 0)
			break;
		if (strcmp(a, "--json") == 0) {
			c->json = true;
		} else if (strncmp(a, "--config=", 9) == 0) {
			c->config_path = a + 9;
		} else if (strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) {
			if (i + 1 >= *argc)
				return cli_usage_error("%s needs a file", a);
			c->config_path = argv[++i];
		} else {
			argv[n++] = argv[i];
		}
	}
	while (i < *argc)
		argv[n++] = argv[i++];
	argv[n] = NULL;
	*argc = n;
	return CLI_OK;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct cli_command *cmd;
	struct cli c;
	const char *group;
	int ch, fd, status;

	memset(&c, 0, sizeof(c));
	c.services = porten_services;
	opterr = 0; /* our messages, with the subcommand's name */
	/*
	 * Logs are JSON lines on standard output, which is where results go:
	 * keep a handle on the real stdout for results and send fd 1 (and so
	 * every log line) to stderr.
	 */
	fd = dup(STDOUT_FILENO);
	if (fd < 0 || (c.out = fdopen(fd, "w")) == NULL || dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
		perror("portenctl");
		return CLI_STORE;
	}
	while ((ch = getopt_long(argc, argv, "+c:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			c.config_path = optarg;
			break;
		case 'j':
			c.json = true;
			break;
		case 'h':
			usage(c.out);
			fclose(c.out);
			return CLI_OK;
		default:
			cli_usage_error("unknown option or missing value: %s", argv[optind - 1]);
			fclose(c.out);
			return CLI_USAGE;
		}
	}
	if (optind < argc) {
		int rest = argc - optind - 1;

		if (global_opts(&c, &rest, argv + optind + 1) != CLI_OK) {
			fclose(c.out);
			return CLI_USAGE;
		}
		argc = optind + 1 + rest;
	}
	if (c.config_path == NULL)
		c.config_path = getenv("PORTEN_CONFIG");
	if (optind >= argc) {
		usage(stderr);
		fclose(c.out);
		return CLI_USAGE;
	}
	group = argv[optind];
	argc -= optind + 1;
	argv += optind + 1;
	for (int i = 0; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			group = "help";
	if (strcmp(group, "help") == 0) {
		usage(c.out);
		status = CLI_OK;
	} else if ((cmd = service_command(porten_services, group)) == NULL) {
		status = cli_usage_error("unknown command '%s'", group);
	} else if (argc == 0) {
		status = cli_usage_error("'%s' needs a subcommand", group);
	} else {
		status = cmd->run(&c, argc, argv);
	}
	/* the services' close (the keys the commands unsealed), then the store */
	cli_close(&c);
	if (fclose(c.out) != 0 && status == CLI_OK)
		status = CLI_STORE;
	return status;
}

/*
 * tsv_parser token: a bucket's token.
 */
#include <stdlib.h>
#include <string.h>

#include "powerview/influx.h"
#include "powerview/path.h"
#include "cli.h"

static void
usage_token(FILE *fp)
{
	fputs("usage: " SYN_TOKEN
	    "\n"
	    "Prints the token that reads bucket name and its downsampled buckets\n"
	    "name_1h, name_1d, name_1w only (with --write: reads and writes name only),\n"
	    "creating buckets and token when missing. InfluxDB 1.x (INFLUXDB_API=v1):\n"
	    "prints the password of user name_read (READ on database name; --write:\n"
	    "name_write, ALL on it), made once; later calls need --rotate.\n"
	    "\n"
	    "  -b, --bucket name      the bucket (required)\n"
	    "      --write            read and write permission, not read only\n"
	    "      --rotate           replace the existing token: the old one stops working\n"
	    OPT_QUIET OPT_FILES OPT_HELP
	    "exit: 0 printed, 64 usage, 66 missing file, 74 not printed,\n"
	    "  75 server unavailable, 78 configuration\n",
	    fp);
}

/* tsv_parser token --bucket NAME [--write] [--rotate]: prints only the token. */
int
cli_cmd_token(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "bucket", required_argument, NULL, 'b' },
		{ "write", no_argument, NULL, 'w' },
		{ "rotate", no_argument, NULL, 'r' },
		CLI_LONGOPTS_SHARED,
		{ NULL, 0, NULL, 0 },
	};
	cli_opts o = { 0 };
	const char *bucket = NULL;
	bool write = false, rotate = false;
	pv_settings *settings = NULL;
	pv_influx_config icfg;
	pv_err err;
	char *token = NULL;
	int ch, status;

	while ((ch = cli_getopt(&o, argc, argv, "b:qvh", longopts)) != -1) {
		switch (ch) {
		case 'b': bucket = optarg; break;
		case 'w': write = true; break;
		case 'r': rotate = true; break;
		case 'h': usage_token(stdout); return 0;
		default: return cli_usage_error("token", NULL);
		}
	}
	if (optind < argc)
		return cli_usage_error("token", "unexpected argument '%s'", argv[optind]);
	if (bucket == NULL)
		return cli_usage_error("token", "--bucket is required");
	if (pv_name_problem(bucket) != NULL)
		return cli_usage_error("token", "bucket name %s", pv_name_problem(bucket));
	if ((status = cli_command_settings(&settings, &o, NULL)) != 0)
		return status;
	if (pv_influx_config_from_settings(&icfg, settings, &err) < 0) {
		pv_error("%s", err.msg);
		pv_settings_free(settings);
		return EX_CONFIG;
	}
	int rc = pv_influx_bucket_token(&token, &icfg, bucket, write, rotate, &err);
	pv_settings_free(settings);
	if (rc < 0) {
		pv_error("token for bucket %s: %s", bucket, err.msg);
		return cli_exit(rc);
	}
	status = printf("%s\n", token) < 0 || fflush(stdout) == EOF ? EX_IOERR : 0;
	memset(token, 0, strlen(token));
	free(token);
	return status;
}

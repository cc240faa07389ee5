/*
 * tsv_parser channels: publish a bucket's stored channels.
 */
#include <stdlib.h>

#include "powerview/influx.h"
#include "powerview/known.h"
#include "powerview/path.h"
#include "powerview/publish.h"
#include "powerview/report.h"
#include "cli.h"

static void
usage_channels(FILE *fp)
{
	fputs("usage: " SYN_CHANNELS
	    "\n"
	    "Publishes the channels stored in bucket name (database with INFLUXDB_API=v1)\n"
	    "to the configuration service, as runs do after each file: one POST\n"
	    "CONFIG_API_URL/buckets/name/channels per campaign (VictoriaMetrics: label db).\n"
	    "\n"
	    "  -b, --bucket name      the bucket\n"
	    "      --all              every company's bucket instead (not _*, *_1h, *_1d,\n"
	    "                         *_1w, TSV_META_BUCKET)\n"
	    "  -n, --dry-run          print the bodies (JSON, one a line; with --all,\n"
	    "                         {\"bucket\": ..., \"body\": ...}); send nothing\n"
	    OPT_QUIET OPT_FILES OPT_HELP
	    "exit: 0 published, 64 usage, 66 no such bucket or missing file,\n"
	    "  69 a campaign not published (the others still tried), 75 database\n"
	    "  unavailable, 78 configuration (CONFIG_API_URL unset)\n",
	    fp);
}

/*
 * Publishes each campaign of the set: one body per campaign, printed (dry
 * run) or posted. A failed POST is said and the next campaign still tried,
 * through a fresh publisher (one that gave up sends nothing more).
 */
static int
channels_publish(const pv_known *k, const char *bucket, const char *url, bool dry_run, bool all)
{
	pv_publisher *pub = NULL;
	size_t next, sent = 0, failed = 0, nchannels = 0;
	pv_err err;
	int status = 0;

	for (size_t i = 0; i < k->count; i = next) {
		cJSON *body = pv_publish_known_body(k, i, &next), *line = NULL;
		char *text = body ? cJSON_PrintUnformatted(body) : NULL;
		const char *campaign = k->items[i].campaign;

		/* a dry run of --all says each body's bucket: {"bucket": ..., "body": ...} */
		if (dry_run && all && text != NULL && (line = cJSON_CreateObject()) != NULL) {
			cJSON_AddItemToObject(line, "bucket", pv_json_string(bucket));
			cJSON_AddItemToObject(line, "body", body);
			body = line;
			free(text);
			text = cJSON_PrintUnformatted(line);
		}
		cJSON_Delete(body);
		if (text == NULL) {
			pv_error("out of memory");
			return EX_OSERR;
		}
		if (dry_run) {
			printf("%s\n", text);
		} else if ((pub == NULL && pv_publisher_open(&pub, url, &err) < 0) ||
		    pv_publish_post(pub, bucket, text, &err) < 0) {
			pv_error("bucket %s, campaign '%s': channels not published to the config API: %s",
			    bucket, campaign, err.msg);
			pv_publisher_close(pub);
			pub = NULL;
			failed++;
			status = EX_UNAVAILABLE;
		} else {
			pv_info("bucket %s, campaign '%s': %zu channels published", bucket, campaign, next - i);
			sent++;
			nchannels += next - i;
		}
		free(text);
	}
	pv_publisher_close(pub);
	if (dry_run)
		return fflush(stdout) == EOF ? EX_IOERR : 0;
	pv_info("bucket %s: %zu channels of %zu campaigns published, %zu campaigns failed", bucket,
	    nchannels, sent, failed);
	return status;
}

/* One bucket's channels read and published; 0 or the exit status. */
static int
channels_bucket(const pv_influx_config *icfg, const char *bucket, const char *url, bool dry_run, bool all)
{
	pv_known k = { 0 };
	pv_err err;
	int rc, status;

	if ((rc = pv_influx_known_channels(&k, icfg, bucket, &err)) < 0) {
		pv_error("channels of bucket %s: %s", bucket, err.msg);
		pv_known_free(&k);
		return cli_exit(rc);
	}
	pv_known_sort(&k);
	if (k.count == 0)
		pv_info("bucket %s: no channel with a unit stored: nothing to publish", bucket);
	status = channels_publish(&k, bucket, url, dry_run, all);
	pv_known_free(&k);
	return status;
}

/*
 * tsv_parser channels --bucket NAME | --all [--dry-run]: v0.4.1's
 * backfill_known_channels. With --all, a bucket that fails is said and the
 * next one still done; the exit status is the first failure's.
 */
int
cli_cmd_channels(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "bucket", required_argument, NULL, 'b' },
		{ "all", no_argument, NULL, 'a' },
		{ "dry-run", no_argument, NULL, 'n' },
		CLI_LONGOPTS_SHARED,
		{ NULL, 0, NULL, 0 },
	};
	cli_opts o = { 0 };
	const char *bucket = NULL, *url;
	pv_settings *settings = NULL;
	pv_influx_config icfg;
	bool dry_run = false, all = false;
	char **names = NULL;
	size_t n = 0;
	pv_err err;
	int ch, rc, status;

	while ((ch = cli_getopt(&o, argc, argv, "b:nqvh", longopts)) != -1) {
		switch (ch) {
		case 'b': bucket = optarg; break;
		case 'a': all = true; break;
		case 'n': dry_run = true; break;
		case 'h': usage_channels(stdout); return 0;
		default: return cli_usage_error("channels", NULL);
		}
	}
	if (optind < argc)
		return cli_usage_error("channels", "unexpected argument '%s'", argv[optind]);
	if ((bucket == NULL) == !all)
		return cli_usage_error("channels", all ? "--bucket or --all, not both" : "--bucket (or --all) is required");
	if (bucket != NULL && pv_name_problem(bucket) != NULL)
		return cli_usage_error("channels", "bucket name %s", pv_name_problem(bucket));
	if ((status = cli_command_settings(&settings, &o, NULL)) != 0)
		return status;
	/* what is read from them points at the environment or the table, not at them */
	url = pv_settings_str(settings, "config_api.url");
	rc = pv_influx_config_from_settings(&icfg, settings, &err);
	pv_settings_free(settings);
	if (!dry_run && url == NULL) {
		pv_error("channels: CONFIG_API_URL (config_api.url) is not set: nowhere to publish "
		    "(--dry-run prints the bodies)");
		return EX_CONFIG;
	}
	if (rc < 0) {
		pv_error("%s", err.msg);
		return EX_CONFIG;
	}
	if (!all)
		return channels_bucket(&icfg, bucket, url, dry_run, false);
	if ((rc = pv_influx_raw_buckets(&names, &n, &icfg, &err)) < 0) {
		pv_error("channels: the buckets: %s", err.msg);
		return cli_exit(rc);
	}
	pv_info("%zu buckets: %s", n, n == 0 ? "nothing to publish" : "each one's channels in turn");
	for (size_t i = 0; i < n; i++) {
		int one = channels_bucket(&icfg, names[i], url, dry_run, true);
		if (status == 0)
			status = one;
		free(names[i]);
	}
	free(names);
	return status;
}

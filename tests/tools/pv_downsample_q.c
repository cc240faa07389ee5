/*
 * Test tool for the downsampling windows and their InfluxQL (src/map/windows.c),
 * until tsv_parser has its own command:
 *   pv_downsample_q windows ZONE LEVEL TMIN TMAX        "start end" (ns) per line
 *   pv_downsample_q influxql ZONE LEVEL TMIN TMAX DB FIELD...   the statements
 *   pv_downsample_q flux ZONE LEVEL TMIN TMAX ORG BUCKET [FIELD...]   the Flux (InfluxDB 2)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "powerview/downsample_flux.h"
#include "powerview/tz.h"
#include "powerview/windows.h"

int
main(int argc, char **argv)
{
	pv_tz *tz = NULL;
	pv_level lv;
	pv_window *w = NULL;
	size_t n = 0;
	pv_err err = { "" };
	char *q = NULL;
	int rc;

	if (argc < 6 || (strcmp(argv[1], "windows") != 0 && strcmp(argv[1], "influxql") != 0 &&
	    strcmp(argv[1], "flux") != 0) || (strcmp(argv[1], "windows") != 0 && argc < 8)) {
		fprintf(stderr, "usage: %s windows|influxql|flux ZONE LEVEL TMIN TMAX [DB FIELD... [-- TAG...]|ORG BUCKET FIELD...]\n",
		    argv[0]);
		return 64;
	}
	rc = pv_tz_open(&tz, argv[2], &err);
	if (rc == PV_OK)
		rc = pv_level_parse(argv[3], &lv, &err);
	if (rc == PV_OK)
		rc = pv_windows(tz, lv, strtoll(argv[4], NULL, 10), strtoll(argv[5], NULL, 10), &w, &n, &err);
	if (rc == PV_OK && strcmp(argv[1], "windows") == 0) {
		for (size_t i = 0; i < n; i++)
			printf("%lld %lld\n", (long long)w[i].start, (long long)w[i].end);
	} else if (rc == PV_OK && strcmp(argv[1], "flux") == 0) {
		rc = pv_downsample_flux(&q, argv[6], argv[7], lv, tz, (const char *const *)argv + 8,
		    (size_t)(argc - 8), w, n, &err);
		if (rc == PV_OK)
			fputs(q, stdout);
	} else if (rc == PV_OK) {
		/* FIELD... [-- TAG...] */
		int sep = 7;
		while (sep < argc && strcmp(argv[sep], "--") != 0)
			sep++;
		rc = pv_downsample_influxql(&q, argv[6], lv, tz, (const char *const *)argv + 7,
		    (size_t)(sep - 7), (const char *const *)argv + sep + (sep < argc),
		    (size_t)(argc - sep - (sep < argc)), w, n, &err);
		if (rc == PV_OK)
			printf("%s\n", q);
	}
	free(q);
	free(w);
	pv_tz_free(tz);
	if (rc != PV_OK) {
		fprintf(stderr, "%s\n", err.msg);
		return 65;
	}
	return 0;
}

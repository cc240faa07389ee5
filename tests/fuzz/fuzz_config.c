/*
 * libFuzzer target over the powerview.yaml loader: any bytes give either
 * settings or a clear PV_ECONFIG with "file:line:column", never a crash.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "powerview/config.h"

static const char *const vars[] = {
	"INFLUXDB_API", "INFLUXDB_HOST", "INFLUXDB_ORG", "INFLUXDB_ADMIN_TOKEN", "INFLUXDB_USERNAME",
	"INFLUXDB_PASSWORD", "INFLUXDB_BUCKET_RETENTION", "TSV_META_BUCKET", "TSV_OUTPUT", "TSV_VERIFY",
	"TSV_GZIP", "TSV_BATCH_LINES", "TSV_BATCH_BYTES", "TSV_HTTP_CONNECT_TIMEOUT",
	"TSV_HTTP_ANSWER_TIMEOUT", "TSV_HTTP_TIMEOUT",
	"TSV_RETRY_BUDGET", "TSV_RETRY_AFTER_MAX", "TSV_TIMEZONE", "TSV_CHANNEL_ID_SCHEME",
	"TSV_FILE_NAME_TAG", "TSV_REPORT_DIR", "TSV_LOG_LEVEL",
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[64];
	pv_settings *s;
	pv_err err;
	FILE *f;
	int rc;

	if (path[0] == '\0') {
		snprintf(path, sizeof(path), "/tmp/pv-fuzz-config-%d.yaml", (int)getpid());
	}
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		unsetenv(vars[i]);
	if ((f = fopen(path, "w")) == NULL || fwrite(data, 1, size, f) != size || fclose(f) != 0)
		abort();
	if ((s = pv_settings_new()) == NULL)
		abort();
	err.msg[0] = '\0';
	rc = pv_settings_load_yaml(s, path, &err);
	/* a refusal always says where */
	if (rc == PV_ECONFIG && strncmp(err.msg, path, strlen(path)) != 0)
		abort();
	if (rc == PV_OK && pv_settings_formats(s)->count < 2)
		abort();
	pv_settings_free(s);
	return 0;
}

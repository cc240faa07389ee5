/*
 * libFuzzer target over the whole reader and encoder: the input is a logger
 * file; the first byte picks the layout knobs. Invariants checked: a success
 * emits exactly nb_points lines, each one whole, the same bytes as a report
 * string are valid UTF-8, and nothing crashes.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "powerview/ingest.h"
#include "powerview/lines.h"
#include "powerview/report.h"

typedef struct count_sink {
	pv_sink base;
	uint64_t lines, newlines;
	int bad;
} count_sink;

static int cs_begin(pv_sink *s, const char *b, pv_err *e) { (void)s; (void)b; (void)e; return 0; }
static int
cs_write(pv_sink *s, const char *buf, size_t len, size_t n, pv_err *e)
{
	count_sink *c = (count_sink *)s;

	(void)e;
	c->lines += n;
	for (size_t i = 0; i < len; i++)
		c->newlines += buf[i] == '\n';
	if (len == 0 || buf[len - 1] != '\n' || memchr(buf, '\0', len) != NULL)
		c->bad = 1;
	return 0;
}
static int cs_commit(pv_sink *s, pv_err *e) { (void)s; (void)e; return 0; }
static bool cs_abort(pv_sink *s) { (void)s; return true; }
static void cs_free(pv_sink *s) { (void)s; }
/* the ops not named are NULL: no count, nothing to settle, never unavailable */
static const pv_sink_ops ops = {
	.begin = cs_begin, .write = cs_write, .commit = cs_commit, .abort = cs_abort, .free = cs_free,
};

static char root[64], file[128];

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	count_sink sink = { .base = { .ops = &ops, .batch_lines = 3, .batch_bytes = 4096 } };
	pv_file_result r;
	pv_config cfg;
	int fd, rc;

	if (root[0] == '\0') {
		char dir[256];
		strcpy(root, "/tmp/pv-fuzz-XXXXXX");
		if (mkdtemp(root) == NULL)
			abort();
		snprintf(dir, sizeof(dir), "mkdir -p '%s/data/acme/camp 1/02001171'", root);
		if (system(dir) != 0)
			abort();
		snprintf(file, sizeof(file), "%s/data/acme/camp 1/02001171/f.tsv", root);
	}
	pv_config_defaults(&cfg);
	if (size > 0) {
		cfg.scheme = data[0] & 1 ? PV_ID_COMPACT : PV_ID_SERIAL;
		cfg.file_name_tag = (data[0] >> 1) & 1;
		cfg.timezone = data[0] & 4 ? "UTC" : "Europe/Paris";
		data++;
		size--;
	}
	fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, data, size) != (ssize_t)size)
		abort();
	close(fd);

	char dir[96];
	snprintf(dir, sizeof(dir), "%s/data", root);
	pv_file_result_init(&r, file);
	rc = pv_ingest_file(&r, &cfg, dir, file, &sink.base);
	if (sink.bad || sink.lines != sink.newlines)
		abort();
	if (rc == PV_OK && (sink.lines != r.nb_points || r.nb_points == 0))
		abort();
	pv_file_result_free(&r);

	/* any bytes (a tenant's folder name) make a report string of valid UTF-8 */
	char *text = strndup((const char *)data, size);
	cJSON *j = pv_json_string(text);
	char *printed = j ? cJSON_PrintUnformatted(j) : NULL;
	if (j == NULL || printed == NULL || !pv_utf8_valid(printed, strlen(printed)))
		abort();
	free(printed);
	cJSON_Delete(j);
	free(text);
	return 0;
}

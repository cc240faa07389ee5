/*
 * One file through the pipeline (contract §4-§7), end to end on temporary
 * files, with a capture sink that keeps the line protocol and a log of the
 * calls the pipeline makes.
 */
#include "pv_test.h"

#include <math.h>
#include <signal.h>
#include <sys/file.h>

#include "powerview/ingest.h"
#include "powerview/report.h"

/* ---- the capture sink ---- */

typedef struct cap {
	pv_sink base;
	char *out;          /* every line written (and not taken back) */
	size_t len, size, mark;
	char log[4096];     /* "begin acme;write 2;commit;" */
	int nwrites;
	int fail_begin;     /* result codes to answer with; 0: none */
	int fail_write_at;  /* the n-th write (1-based) fails with PV_ETEMP */
	int fail_commit;
	bool abort_undoes;  /* abort truncates the output back to begin */
	void (*on_write)(void); /* called at the first write: while the file is being read */
} cap;

static void
cap_log(cap *c, const char *fmt, ...)
{
	size_t used = strlen(c->log);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->log + used, sizeof(c->log) - used, fmt, ap);
	va_end(ap);
}

static int
cap_begin(pv_sink *s, const char *bucket, pv_err *err)
{
	cap *c = (cap *)s;

	if (c->fail_begin) {
		cap_log(c, "begin %s failed;", bucket);
		return pv_fail(err, c->fail_begin, "test sink: begin refused");
	}
	cap_log(c, "begin %s;", bucket);
	c->mark = c->len;
	return PV_OK;
}

static int
cap_write(pv_sink *s, const char *buf, size_t len, size_t nlines, pv_err *err)
{
	cap *c = (cap *)s;
	size_t nl = 0;

	if (c->nwrites++ == 0 && c->on_write != NULL)
		c->on_write();
	/* whole lines only, and as many as announced */
	assert_true(len > 0);
	assert_int_equal(buf[len - 1], '\n');
	for (size_t i = 0; i < len; i++)
		nl += buf[i] == '\n';
	assert_int_equal(nl, nlines);
	if (c->nwrites == c->fail_write_at) {
		cap_log(c, "write %zu failed;", nlines);
		return pv_fail(err, PV_ETEMP, "test sink: unavailable");
	}
	if (c->len + len + 1 > c->size) {
		c->size = 2 * (c->len + len + 1);
		c->out = realloc(c->out, c->size);
		assert_non_null(c->out);
	}
	memcpy(c->out + c->len, buf, len);
	c->len += len;
	c->out[c->len] = '\0';
	cap_log(c, "write %zu;", nlines);
	return PV_OK;
}

static int
cap_commit(pv_sink *s, pv_err *err)
{
	cap *c = (cap *)s;

	if (c->fail_commit) {
		cap_log(c, "commit failed;");
		return pv_fail(err, c->fail_commit, "test sink: commit failed");
	}
	cap_log(c, "commit;");
	return PV_OK;
}

static bool
cap_abort(pv_sink *s)
{
	cap *c = (cap *)s;

	cap_log(c, "abort;");
	if (!c->abort_undoes)
		return false;
	c->len = c->mark;
	if (c->out)
		c->out[c->len] = '\0';
	return true;
}

static void
cap_free(pv_sink *s)
{
	(void)s;
}

static const pv_sink_ops cap_ops = { cap_begin, cap_write, cap_commit, cap_abort, cap_free, NULL, NULL, NULL, NULL };

static void
cap_init(cap *c, size_t batch_lines)
{
	memset(c, 0, sizeof(*c));
	c->base.ops = &cap_ops;
	c->base.batch_lines = batch_lines;
	c->base.batch_bytes = 1 << 20;
}

static void
cap_done(cap *c)
{
	free(c->out);
	memset(c, 0, sizeof(*c));
}

static const char *
cap_text(const cap *c)
{
	return c->out ? c->out : "";
}

/* The timestamps of the written lines, in order. */
static size_t
cap_times(const cap *c, int64_t *t, size_t max)
{
	size_t n = 0;
	const char *p = cap_text(c);

	while (*p && n < max) {
		const char *nl = strchr(p, '\n'), *sp = nl;
		while (sp > p && sp[-1] != ' ')
			sp--;
		t[n++] = strtoll(sp, NULL, 10);
		p = nl + 1;
	}
	return n;
}

/* ---- fixture ---- */

static char *tmp, *data;

static int
setup(void **state)
{
	(void)state;
	tmp = pvt_tmpdir();
	data = pvt_join(tmp, "data");
	pvt_mkdirs(data);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	pvt_rmrf(tmp);
	free(data);
	free(tmp);
	return 0;
}

#define FILE_REL "acme/camp1/02001171/f.tsv"

/* Writes data/<rel> and ingests it. */
static int
ingest(pv_file_result *r, const char *rel, const char *text, const pv_config *cfg, pv_sink *sink)
{
	char *path = pvt_join(data, rel);
	int rc;

	if (text != NULL)
		pvt_write_str(path, text);
	pv_file_result_init(r, path);
	rc = pv_ingest_file(r, cfg, data, path, sink);
	free(path);
	return rc;
}

static pv_config
config(void)
{
	pv_config cfg;

	pv_config_defaults(&cfg);
	return cfg;
}

/* ---- exact line protocol ---- */

#define MASTER_PREFIX                                                                          \
	"electrical,campaign=camp1,channel_id=M02001171_U1_M02001171,channel_label=U1,"        \
	"channel_name=Ph\\ 1,channel_unit=V,device=MV2,device_master_sn=02001171,"             \
	"device_sn=02001171,device_subtype=mono,device_type=master,file_name=f.tsv "           \
	"M02001171_U1_M02001171_V="
#define SLAVE_PREFIX                                                                           \
	"electrical,campaign=camp1,channel_id=S04000466_Ch1_M02001171,channel_label=Ch1,"      \
	"channel_name=Voie1,channel_unit=A,device=MV2,device_master_sn=02001171,"              \
	"device_sn=04000466,device_type=slave,file_name=f.tsv S04000466_Ch1_M02001171_A="

static const char two_rows[] =
	"02001171\t02001171\t04000466\n"
	"MV_T302_V002\tPh 1 V\tVoie1 A\n"
	"05/01/26 10:00:00\t230.5\t 1.25 \n"
	"05/01/26 10:00:01\t+5\t.5\n";

static const char two_rows_lp[] =
	MASTER_PREFIX "230.5 1767603600\n"
	SLAVE_PREFIX "1.25 1767603600\n"
	MASTER_PREFIX "5 1767603601\n"
	SLAVE_PREFIX "0.5 1767603601\n";

static void
exact_line_protocol(void **state)
{
	pv_config cfg = config();
	pv_file_result r;
	cap c;

	(void)state;
	cap_init(&c, 2);
	assert_int_equal(ingest(&r, FILE_REL, two_rows, &cfg, &c.base), PV_OK);
	assert_string_equal(cap_text(&c), two_rows_lp);
	assert_string_equal(c.log, "begin acme;write 2;write 2;commit;");
	assert_int_equal(r.status, PV_STATUS_SUCCESS);
	assert_null(r.error);
	assert_int_equal(r.nb_rows, 2);
	assert_int_equal(r.nb_points, 4);
	assert_true(r.has_time);
	assert_int_equal(r.time_start, 1767603600);
	assert_int_equal(r.time_end, 1767603601);
	pv_file_result_free(&r);
	cap_done(&c);
}

/* The same lines whatever the batching: by lines, by bytes, or all at once. */
static void
batching_does_not_change_the_output(void **state)
{
	static const struct {
		size_t lines, bytes;
		const char *log;
	} t[] = {
		{ 1, 1 << 20, "begin acme;write 1;write 1;write 1;write 1;commit;" },
		{ 3, 1 << 20, "begin acme;write 3;write 1;commit;" },
		{ 1000, 1 << 20, "begin acme;write 4;commit;" },
		{ 1000, 1, "begin acme;write 1;write 1;write 1;write 1;commit;" },
		{ (size_t)-1, 700, "begin acme;write 2;write 2;commit;" },
	};
	pv_config cfg = config();

	(void)state;
	for (size_t i = 0; i < PVT_COUNT(t); i++) {
		pv_file_result r;
		cap c;

		cap_init(&c, t[i].lines);
		c.base.batch_bytes = t[i].bytes;
		assert_int_equal(ingest(&r, FILE_REL, two_rows, &cfg, &c.base), PV_OK);
		assert_string_equal(cap_text(&c), two_rows_lp);
		if (strcmp(c.log, t[i].log) != 0)
			fail_msg("batch %zu lines / %zu bytes: %s, expected %s", t[i].lines, t[i].bytes, c.log, t[i].log);
		pv_file_result_free(&r);
		cap_done(&c);
	}
}

/* Escaping of folder and file names, units left out, tri subtype, compact ids, no file_name tag. */
static void
exact_line_protocol_variants(void **state)
{
	static const char text[] =
		"02001171\t02001171\t02001171\t02001171\t04000466\n"
		"MV_T302_V002\tPh 1 V\tPh 2 V\tPh 3 V\tVoie1\n"
		"26/10/25 12:00:00\t1\t2.50\t-3e0\t4\n";
	static const char want[] =
		"electrical,campaign=camp\\ 1\\,x\\=y,channel_id=M02001171_U1,channel_label=U1,channel_name=Ph\\ 1,"
		"channel_unit=V,device=MV2,device_master_sn=02001171,device_sn=02001171,device_subtype=tri,"
		"device_type=master M02001171_U1_V=1 1761476400\n"
		"electrical,campaign=camp\\ 1\\,x\\=y,channel_id=M02001171_U2,channel_label=U2,channel_name=Ph\\ 2,"
		"channel_unit=V,device=MV2,device_master_sn=02001171,device_sn=02001171,device_subtype=tri,"
		"device_type=master M02001171_U2_V=2.50 1761476400\n"
		"electrical,campaign=camp\\ 1\\,x\\=y,channel_id=M02001171_U3,channel_label=U3,channel_name=Ph\\ 3,"
		"channel_unit=V,device=MV2,device_master_sn=02001171,device_sn=02001171,device_subtype=tri,"
		"device_type=master M02001171_U3_V=-3 1761476400\n"
		"electrical,campaign=camp\\ 1\\,x\\=y,channel_id=M02001171_S04000466_Ch1,channel_label=Ch1,"
		"channel_name=Voie1,device=MV2,device_master_sn=02001171,device_sn=04000466,device_type=slave "
		"M02001171_S04000466_Ch1=4 1761476400\n";
	pv_config cfg = config();
	pv_file_result r;
	cap c;

	(void)state;
	cfg.scheme = PV_ID_COMPACT;
	cfg.file_name_tag = 0;
	cap_init(&c, 100);
	assert_int_equal(ingest(&r, "acme/camp 1,x=y/02001171/f 1.tsv", text, &cfg, &c.base), PV_OK);
	assert_string_equal(cap_text(&c), want);
	pv_file_result_free(&r);
	cap_done(&c);

	/* the file name tag is escaped too */
	cfg = config();
	cap_init(&c, 100);
	assert_int_equal(ingest(&r, "acme/camp1/02001171/f 1,a=b.tsv", text, &cfg, &c.base), PV_OK);
	pvt_assert_contains(cap_text(&c), ",file_name=f\\ 1\\,a\\=b.tsv M02001171_U1_M02001171_V=1 1761476400\n");
	pv_file_result_free(&r);
	cap_done(&c);
}

/* ---- figures ---- */

static const char figures_text[] =
	"02001171\t02001171\t04000466\n"
	"MV_T302_V002\tPh 1 V\tVoie1 A\n"
	"\n"                                   /* blank: not a row */
	"05/01/26 10:00:10\t1\t10\n"           /* 2 points */
	"05/01/26 10:00:00\t-2\tx\n"           /* 1 point, 1 invalid value */
	"bad ts\t1\t2\n"                       /* invalid timestamp, cells not counted */
	"05/01/26 10:00:20\t3\n"               /* short: 1 point, 1 invalid value, malformed */
	"05/01/26 10:00:30\t4\t5\t6\n"         /* extra cell ignored: 2 points, malformed */
	" \t\r\n"                              /* blank */
	"05/01/26 09:00:00\tNaN\t\n"           /* 2 invalid values: no point, not in time_start */
	"x\ty\n"                               /* invalid timestamp, malformed */
	"05/01/26 10:00:40\t\t7\n"             /* 1 point, 1 invalid value */
	"31/02/26 10:00:00\t1\t1\n";           /* impossible date: invalid timestamp */

typedef struct figures {
	uint64_t rows, points, invalid_ts, invalid_values, malformed;
	int64_t start, end;
} figures;

static void
expect_figures(const pv_file_result *r, const figures *f, const char *what)
{
#define FIG(field, want)                                                                         \
	if (r->field != (want))                                                                 \
		fail_msg("%s: " #field " %llu, expected %llu", what, (unsigned long long)r->field, \
		    (unsigned long long)(want))
	FIG(nb_rows, f->rows);
	FIG(nb_points, f->points);
	FIG(nb_invalid_timestamps, f->invalid_ts);
	FIG(nb_invalid_values, f->invalid_values);
	FIG(nb_malformed_rows, f->malformed);
#undef FIG
	assert_true(r->has_time);
	if (r->time_start != f->start || r->time_end != f->end)
		fail_msg("%s: time %lld..%lld, expected %lld..%lld", what, (long long)r->time_start,
		    (long long)r->time_end, (long long)f->start, (long long)f->end);
}

static void
expect_channel(const pv_channel *ch, uint64_t n, double min, double max, double sum)
{
	assert_int_equal(ch->nb_points, n);
	assert_true(ch->min == min);
	assert_true(ch->max == max);
	assert_true(ch->sum == sum);
}

static void
figures_of_a_messy_file(void **state)
{
	const figures want = { 9, 7, 3, 5, 3, 1767603600, 1767603640 };
	pv_config cfg = config();
	pv_file_result r, dry;
	cap c;

	(void)state;
	cap_init(&c, 2);
	assert_int_equal(ingest(&r, FILE_REL, figures_text, &cfg, &c.base), PV_OK);
	expect_figures(&r, &want, "with a sink");
	assert_string_equal(c.log, "begin acme;write 2;write 2;write 2;write 1;commit;");
	assert_int_equal(r.status, PV_STATUS_SUCCESS);
	assert_int_equal(r.nb_channels, 2);
	assert_string_equal(r.format_id, "MV_T302_V002");
	assert_string_equal(r.timezone, "Europe/Paris");
	assert_string_equal(r.master_sn, "02001171");
	assert_null(r.header_meta);
	assert_int_equal(cJSON_GetArraySize(r.warnings), 0);
	assert_int_equal(r.channels.count, 2);
	expect_channel(&r.channels.items[0], 4, -2, 4, 6);
	expect_channel(&r.channels.items[1], 3, 5, 10, 22);
	int64_t t[16];
	const int64_t want_t[] = { 1767603610, 1767603610, 1767603600, 1767603620, 1767603630,
		1767603630, 1767603640 };
	assert_int_equal(cap_times(&c, t, 16), PVT_COUNT(want_t));
	assert_memory_equal(t, want_t, sizeof(want_t));
	assert_string_equal(r.loc.company, "acme");
	assert_string_equal(r.loc.campaign, "camp1");
	assert_string_equal(r.loc.device, "02001171");
	assert_string_equal(r.loc.file_name, "f.tsv");

	/* dry run: no sink, the same figures */
	assert_int_equal(ingest(&dry, FILE_REL, NULL, &cfg, NULL), PV_OK);
	expect_figures(&dry, &want, "dry run");
	assert_int_equal(dry.status, PV_STATUS_SUCCESS);
	expect_channel(&dry.channels.items[0], 4, -2, 4, 6);
	expect_channel(&dry.channels.items[1], 3, 5, 10, 22);
	pv_file_result_free(&dry);
	pv_file_result_free(&r);
	cap_done(&c);
}

/* Duplicated rows (a re-upload, a repeated second) are sent and counted each time. */
static void
duplicate_rows_are_counted_twice(void **state)
{
	static const char text[] =
		"02001171\t02001171\n"
		"MV_T302_V002\tPh 1 V\n"
		"05/01/26 10:00:00\t1\n"
		"05/01/26 10:00:00\t1\n"
		"05/01/26 10:00:00\t2\n";
	pv_config cfg = config();
	pv_file_result r;
	cap c;

	(void)state;
	cap_init(&c, 100);
	assert_int_equal(ingest(&r, FILE_REL, text, &cfg, &c.base), PV_OK);
	assert_int_equal(r.nb_rows, 3);
	assert_int_equal(r.nb_points, 3);
	assert_string_equal(c.log, "begin acme;write 3;commit;");
	expect_channel(&r.channels.items[0], 3, 1, 2, 4);
	pv_file_result_free(&r);
	cap_done(&c);
}

/*
 * The report's mean of a channel is the mean of its points, also for large
 * values: 1e308 and 1e308 average to 1e308, not null.
 */
static void
channel_mean_of_large_values(void **state)
{
	static const char text[] =
		"02001171\t02001171\n"
		"MV_T302_V002\tPh 1 V\n"
		"05/01/26 10:00:00\t1e308\n"
		"05/01/26 10:00:01\t1e308\n";
	pv_config cfg = config();
	pv_file_result r;

	(void)state;
	assert_int_equal(ingest(&r, FILE_REL, text, &cfg, NULL), PV_OK);
	/* read back from the printed report, as its readers do */
	cJSON *built = pv_report_file(&r);
	char *printed = cJSON_PrintUnformatted(built);
	cJSON *o = cJSON_Parse(printed);
	free(printed);
	cJSON_Delete(built);
	const cJSON *ch = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o, "channels"),
	    "M02001171_U1_M02001171");
	assert_non_null(ch);
	assert_true(cJSON_GetObjectItemCaseSensitive(ch, "min")->valuedouble == 1e308);
	assert_true(cJSON_GetObjectItemCaseSensitive(ch, "max")->valuedouble == 1e308);
	const cJSON *mean = cJSON_GetObjectItemCaseSensitive(ch, "mean");
	char *text_mean = cJSON_PrintUnformatted(mean);
	bool ok = cJSON_IsNumber(mean) && isfinite(mean->valuedouble) && mean->valuedouble == 1e308;
	char shown[64];
	snprintf(shown, sizeof(shown), "%s", text_mean ? text_mean : "(nothing)");
	/* freed before checking, so that a failure reports no leak of its own */
	free(text_mean);
	cJSON_Delete(o);
	pv_file_result_free(&r);
	if (!ok)
		fail_msg("mean of 1e308 and 1e308 printed as %s", shown);
}

/* ---- time ---- */

static void
expect_times(const char *rows, const int64_t *want, size_t n, uint64_t invalid_ts)
{
	char *text = NULL;
	pv_config cfg = config();
	pv_file_result r;
	int64_t t[32];
	cap c;

	assert_true(asprintf(&text, "02001171\t02001171\nMV_T302_V002\tPh 1 V\n%s", rows) > 0);
	cap_init(&c, 2);
	assert_int_equal(ingest(&r, FILE_REL, text, &cfg, &c.base), PV_OK);
	size_t got = cap_times(&c, t, 32);
	if (got != n)
		fail_msg("%zu points, expected %zu", got, n);
	for (size_t i = 0; i < n; i++)
		if (t[i] != want[i])
			fail_msg("point %zu at %lld, expected %lld", i + 1, (long long)t[i], (long long)want[i]);
	assert_int_equal(r.nb_invalid_timestamps, invalid_ts);
	assert_int_equal(r.time_start, want[0]);
	assert_int_equal(r.time_end, want[n - 1]);
	pv_file_result_free(&r);
	cap_done(&c);
	free(text);
}

/* Walking through the repeated hour twice gives two distinct hours, in order. */
static void
dst_fall_back_walk(void **state)
{
	static const int64_t want[] = {
		1761436200, /* 01:50 CEST */
		1761436800, /* 02:00 CEST (first pass) */
		1761439800, /* 02:50 CEST */
		1761440400, /* 02:00 CET (second pass) */
		1761441000, /* 02:10 CET */
		1761444000, /* 03:00 CET */
	};

	(void)state;
	expect_times("26/10/25 01:50:00\t1\n26/10/25 02:00:00\t2\n26/10/25 02:50:00\t3\n"
	             "26/10/25 02:00:00\t4\n26/10/25 02:10:00\t5\n26/10/25 03:00:00\t6\n",
	    want, PVT_COUNT(want), 0);
	for (size_t i = 1; i < PVT_COUNT(want); i++)
		assert_true(want[i] > want[i - 1]);
}

/* A file that starts inside the repeated hour takes the first instant. */
static void
dst_file_starting_in_the_repeated_hour(void **state)
{
	static const int64_t want[] = { 1761438600, 1761439200, 1761441000, 1761444000 };

	(void)state;
	expect_times("26/10/25 02:30:00\t1\n26/10/25 02:40:00\t2\n26/10/25 02:10:00\t3\n"
	             "26/10/25 03:00:00\t4\n",
	    want, PVT_COUNT(want), 0);
}

/* `prev` is the previous row with a valid timestamp, even one without a valid value. */
static void
dst_prev_is_the_last_valid_timestamp(void **state)
{
	static const int64_t want[] = { 1761436800, 1761440700 };

	(void)state;
	/* 02:00 (t0), 02:50 (t0, no point), an invalid row, then 02:05: the second pass */
	expect_times("26/10/25 02:00:00\t1\n26/10/25 02:50:00\tx\nnot a time\t1\n26/10/25 02:05:00\t2\n",
	    want, PVT_COUNT(want), 1);
}

/* The skipped hour of the spring change is an invalid timestamp. */
static void
dst_spring_forward_gap(void **state)
{
	static const int64_t want[] = { 1743296399, 1743296400 };

	(void)state;
	expect_times("30/03/25 01:59:59\t1\n30/03/25 02:00:00\t2\n30/03/25 02:30:00\t3\n"
	             "30/03/25 03:00:00\t4\n",
	    want, PVT_COUNT(want), 2);
}

/* ---- framed headers: the zone ---- */

typedef struct zone_case {
	const char *meta;
	const char *configured;
	const char *zone;   /* reported */
	int64_t t;          /* instant of 05/01/26 10:00:00 */
} zone_case;

#define CET_POSIX "CET-1CEST,M3.5.0,M10.5.0/3"

static const zone_case zones[] = {
	{ "{\"DataTimeSettings\": \"UTC\"}", "Europe/Paris", "UTC", 1767607200 },
	{ "{\"DataTimeSettings\": \" utc \"}", "Europe/Paris", "UTC", 1767607200 },
	{ "{\"DataTimeSettings\": \"Utc\", \"TimeZone\": \"" CET_POSIX "\"}", "Europe/Paris", "UTC", 1767607200 },
	{ "{\"DataTimeSettings\": \"Local\", \"TimeZone\": \"" CET_POSIX "\"}", "UTC", CET_POSIX, 1767603600 },
	{ "{\"TimeZone\": \"" CET_POSIX "\", \"TimeZoneName\": \"America/New_York\"}", "UTC", CET_POSIX, 1767603600 },
	{ "{\"TimeZone\": \"\", \"TimeZoneName\": \"America/New_York\"}", "UTC", "America/New_York", 1767625200 },
	{ "{\"TimeZoneName\": \"America/New_York\"}", "UTC", "America/New_York", 1767625200 },
	{ "{}", "Asia/Tokyo", "Asia/Tokyo", 1767574800 },
	{ "{\"DataTimeSettings\": \"Local\"}", "Asia/Tokyo", "Asia/Tokyo", 1767574800 },
	{ "{\"TimeZone\": 5, \"TimeZoneName\": null}", "Asia/Tokyo", "Asia/Tokyo", 1767574800 },
	{ NULL, "UTC", "UTC", 1767607200 },                      /* plain layout: the configured zone */
	{ NULL, "America/New_York", "America/New_York", 1767625200 },
};

static void
framed_header_zone_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < PVT_COUNT(zones); i++) {
		const zone_case *z = &zones[i];
		pv_config cfg = config();
		pv_file_result r;
		char *text = NULL;
		int64_t t[2];
		cap c;

		cfg.timezone = z->configured;
		if (z->meta)
			assert_true(asprintf(&text, "START_HEADER\n%s\nEND_HEADER\nSTART_DATA\n02001171\t02001171\n"
			    "MV_T302_V003\tPh 1 V\n05/01/26 10:00:00\t1\nEND_DATA\n", z->meta) > 0);
		else
			text = strdup("02001171\t02001171\nMV_T302_V002\tPh 1 V\n05/01/26 10:00:00\t1\n");
		cap_init(&c, 10);
		int rc = ingest(&r, FILE_REL, text, &cfg, &c.base);
		if (rc != PV_OK)
			fail_msg("%s: rc %d (%s)", z->meta ? z->meta : "plain", rc, r.error);
		if (strcmp(r.timezone, z->zone) != 0)
			fail_msg("%s: zone %s, expected %s", z->meta ? z->meta : "plain", r.timezone, z->zone);
		assert_int_equal(cap_times(&c, t, 2), 1);
		if (t[0] != z->t)
			fail_msg("%s: instant %lld, expected %lld", z->meta ? z->meta : "plain", (long long)t[0],
			    (long long)z->t);
		assert_string_equal(r.format_id, z->meta ? "MV_T302_V003" : "MV_T302_V002");
		if (z->meta) {
			cJSON *want = cJSON_Parse(z->meta);
			assert_true(cJSON_Compare(r.header_meta, want, 1));
			cJSON_Delete(want);
		} else
			assert_null(r.header_meta);
		pv_file_result_free(&r);
		cap_done(&c);
		free(text);
	}
}

static void
framed_header_with_an_unknown_zone(void **state)
{
	pv_config cfg = config();
	pv_file_result r;
	cap c;

	(void)state;
	cap_init(&c, 10);
	assert_int_equal(ingest(&r, FILE_REL,
	    "START_HEADER\n{\"TimeZone\": \"Mars/Olympus\"}\nEND_HEADER\nSTART_DATA\n02001171\t02001171\n"
	    "MV_T302_V003\tPh 1 V\n05/01/26 10:00:00\t1\n", &cfg, &c.base), PV_EDATA);
	assert_int_equal(r.status, PV_STATUS_ERROR);
	pvt_assert_contains(r.error, "time zone");
	pvt_assert_contains(r.error, "Mars/Olympus");
	assert_string_equal(c.log, "");
	pv_file_result_free(&r);
	cap_done(&c);
}

/* Rows stop at END_DATA; without it they run to the end of the file. */
static void
framed_rows_end_at_end_data(void **state)
{
	static const char head[] = "START_HEADER\n{}\nEND_HEADER\nSTART_DATA\n02001171\t02001171\n"
				   "MV_T302_V003\tPh 1 V\n05/01/26 10:00:00\t1\n05/01/26 10:00:01\t2\n";
	static const struct {
		const char *tail;
		uint64_t rows;
	} t[] = {
		{ "END_DATA\n05/01/26 10:00:02\t3\ngarbage\n", 2 },
		{ "  END_DATA \r\n05/01/26 10:00:02\t3\n", 2 },
		{ "05/01/26 10:00:02\t3\n", 3 },
		{ "", 2 },
	};
	pv_config cfg = config();

	(void)state;
	for (size_t i = 0; i < PVT_COUNT(t); i++) {
		pv_file_result r;
		char *text = NULL;

		assert_true(asprintf(&text, "%s%s", head, t[i].tail) > 0);
		assert_int_equal(ingest(&r, FILE_REL, text, &cfg, NULL), PV_OK);
		if (r.nb_rows != t[i].rows || r.nb_points != t[i].rows || r.nb_malformed_rows != 0)
			fail_msg("tail %zu: %llu rows, %llu points", i, (unsigned long long)r.nb_rows,
			    (unsigned long long)r.nb_points);
		pv_file_result_free(&r);
		free(text);
	}
}

/* END_DATA means nothing in the plain layout: a row like any other (an invalid timestamp). */
static void
plain_layout_has_no_end_marker(void **state)
{
	static const char text[] =
		"02001171\t02001171\nMV_T302_V002\tPh 1 V\n"
		"05/01/26 10:00:00\t1\nEND_DATA\n05/01/26 10:00:01\t2\n";
	pv_config cfg = config();
	pv_file_result r;

	(void)state;
	assert_int_equal(ingest(&r, FILE_REL, text, &cfg, NULL), PV_OK);
	assert_int_equal(r.nb_rows, 3);
	assert_int_equal(r.nb_points, 2);
	assert_int_equal(r.nb_invalid_timestamps, 1);
	assert_int_equal(r.nb_malformed_rows, 1);
	pv_file_result_free(&r);
}

/* ---- failures ---- */

static const char header_only[] = "02001171\t02001171\nMV_T302_V002\tPh 1 V\n";

static void
no_valid_point(void **state)
{
	static const struct {
		const char *rows;
		uint64_t nrows;
	} t[] = {
		{ "", 0 },
		{ "\n\n", 0 },
		{ "bad\t1\n05/01/26 10:00:00\tx\n05/01/26 10:00:01\n30/03/25 02:30:00\t1\n", 4 },
	};
	pv_config cfg = config();

	(void)state;
	for (size_t i = 0; i < PVT_COUNT(t); i++) {
		pv_file_result r;
		char *text = NULL;
		cap c;

		assert_true(asprintf(&text, "%s%s", header_only, t[i].rows) > 0);
		cap_init(&c, 2);
		c.abort_undoes = true;
		assert_int_equal(ingest(&r, FILE_REL, text, &cfg, &c.base), PV_EDATA);
		assert_int_equal(r.status, PV_STATUS_ERROR);
		pvt_assert_contains(r.error, "no valid point");
		assert_string_equal(c.log, "begin acme;abort;");
		assert_int_equal(r.nb_rows, t[i].nrows);
		assert_int_equal(r.nb_points, 0);
		assert_false(r.has_time);
		pv_file_result_free(&r);
		/* dry run: the same verdict */
		assert_int_equal(ingest(&r, FILE_REL, NULL, &cfg, NULL), PV_EDATA);
		pvt_assert_contains(r.error, "no valid point");
		assert_int_equal(r.status, PV_STATUS_ERROR);
		pv_file_result_free(&r);
		cap_done(&c);
		free(text);
	}
}

static const char three_rows[] =
	"02001171\t02001171\t04000466\n"
	"MV_T302_V002\tPh 1 V\tVoie1 A\n"
	"05/01/26 10:00:00\t1\t2\n"
	"05/01/26 10:00:01\t3\t4\n"
	"05/01/26 10:00:02\t5\t6\n";

/* A sink that fails for now: PV_ETEMP, status pending, the file's points taken back. */
static void
sink_write_fails_temporarily(void **state)
{
	pv_config cfg = config();
	pv_file_result r;
	cap c;

	(void)state;
	cap_init(&c, 2);
	c.fail_write_at = 2;
	c.abort_undoes = true;
	assert_int_equal(ingest(&r, FILE_REL, three_rows, &cfg, &c.base), PV_ETEMP);
	assert_int_equal(r.status, PV_STATUS_PENDING);
	assert_string_equal(r.error, "test sink: unavailable");
	assert_string_equal(c.log, "begin acme;write 2;write 2 failed;abort;");
	assert_string_equal(cap_text(&c), "");
	assert_int_equal(cJSON_GetArraySize(r.warnings), 1);
	pvt_assert_contains(cJSON_GetArrayItem(r.warnings, 0)->valuestring, "2 points");
	pv_file_result_free(&r);
	cap_done(&c);

	/* a sink that cannot take them back says so */
	cap_init(&c, 2);
	c.fail_write_at = 3;
	assert_int_equal(ingest(&r, FILE_REL, three_rows, &cfg, &c.base), PV_ETEMP);
	assert_int_equal(r.status, PV_STATUS_PENDING);
	assert_string_equal(c.log, "begin acme;write 2;write 2;write 2 failed;abort;");
	assert_int_equal(cJSON_GetArraySize(r.warnings), 1);
	pvt_assert_contains(cJSON_GetArrayItem(r.warnings, 0)->valuestring, "4 points");
	pv_file_result_free(&r);
	cap_done(&c);

	/* the first write fails: nothing was written, nothing to warn about */
	cap_init(&c, 2);
	c.fail_write_at = 1;
	assert_int_equal(ingest(&r, FILE_REL, three_rows, &cfg, &c.base), PV_ETEMP);
	assert_string_equal(c.log, "begin acme;write 2 failed;abort;");
	assert_int_equal(cJSON_GetArraySize(r.warnings), 0);
	pv_file_result_free(&r);
	cap_done(&c);
}

static void
sink_commit_or_begin_fails_temporarily(void **state)
{
	pv_config cfg = config();
	pv_file_result r;
	cap c;

	(void)state;
	cap_init(&c, 100);
	c.fail_commit = PV_ETEMP;
	assert_int_equal(ingest(&r, FILE_REL, three_rows, &cfg, &c.base), PV_ETEMP);
	assert_int_equal(r.status, PV_STATUS_PENDING);
	assert_string_equal(r.error, "test sink: commit failed");
	assert_string_equal(c.log, "begin acme;write 6;commit failed;abort;");
	pv_file_result_free(&r);
	cap_done(&c);

	cap_init(&c, 100);
	c.fail_begin = PV_ETEMP;
	assert_int_equal(ingest(&r, FILE_REL, three_rows, &cfg, &c.base), PV_ETEMP);
	assert_int_equal(r.status, PV_STATUS_PENDING);
	assert_string_equal(r.error, "test sink: begin refused");
	assert_string_equal(c.log, "begin acme failed;");
	pv_file_result_free(&r);
	cap_done(&c);
}

/* Invalid UTF-8 after good rows: the whole file is an error, its points taken back. */
static void
invalid_utf8_after_valid_rows(void **state)
{
	static const struct {
		const char *what, *text;
	} t[] = {
		{ "plain", "02001171\t02001171\nMV_T302_V002\tPh 1 V\n05/01/26 10:00:00\t1\n"
		           "05/01/26 10:00:01\t2\n05/01/26 10:00:02\t3\n05/01/26 10:00:03\t\xC0\x80\n" },
		{ "after END_DATA", "START_HEADER\n{}\nEND_HEADER\nSTART_DATA\n02001171\t02001171\n"
		                    "MV_T302_V003\tPh 1 V\n05/01/26 10:00:00\t1\n05/01/26 10:00:01\t2\n"
		                    "05/01/26 10:00:02\t3\nEND_DATA\nnote: \xED\xA0\x80\n" },
	};
	pv_config cfg = config();

	(void)state;
	for (size_t i = 0; i < PVT_COUNT(t); i++) {
		pv_file_result r;
		cap c;

		cap_init(&c, 2);
		c.abort_undoes = true;
		if (ingest(&r, FILE_REL, t[i].text, &cfg, &c.base) != PV_EDATA)
			fail_msg("%s: not an error", t[i].what);
		assert_int_equal(r.status, PV_STATUS_ERROR);
		pvt_assert_contains(r.error, "not valid UTF-8");
		assert_string_equal(c.log, "begin acme;write 2;abort;");
		assert_string_equal(cap_text(&c), "");
		pv_file_result_free(&r);
		cap_done(&c);
	}
}

static void
header_and_path_errors(void **state)
{
	static const struct {
		const char *rel, *text;
		int rc;
		pv_status status;
		const char *msg, *format;
	} t[] = {
		{ FILE_REL, "", PV_EDATA, PV_STATUS_ERROR, "empty file", NULL },
		{ FILE_REL, "M\tA\nXX_V9\tL\n", PV_EDATA, PV_STATUS_ERROR, "unsupported format: XX_V9", "XX_V9" },
		{ FILE_REL, "M\nMV_T302_V002\n", PV_EDATA, PV_STATUS_ERROR, "no channels", "MV_T302_V002" },
		{ FILE_REL, "M\tA\tB\nMV_T302_V002\tL\n", PV_EDATA, PV_STATUS_ERROR,
		    "header mismatch: 2 serial numbers, 1 channel labels", "MV_T302_V002" },
		{ FILE_REL, "START_HEADER\n{}\nEND_HEADER\nM\tA\nMV_T302_V003\tL\n", PV_EDATA, PV_STATUS_ERROR,
		    "missing START_DATA", NULL },
		{ "acme/f.tsv", "M\tA\nMV_T302_V002\tL\n05/01/26 10:00:00\t1\n", PV_EDATA, PV_STATUS_ERROR,
		    "invalid path structure", NULL },
		{ "_acme/c/d/f.tsv", "M\tA\nMV_T302_V002\tL\n05/01/26 10:00:00\t1\n", PV_EDATA, PV_STATUS_ERROR,
		    "company", NULL },
		{ "acme/c/d/gone.tsv", NULL, PV_ENOENT, PV_STATUS_SKIPPED, "gone.tsv", NULL },
	};
	pv_config cfg = config();

	(void)state;
	for (size_t i = 0; i < PVT_COUNT(t); i++) {
		pv_file_result r;
		cap c;

		cap_init(&c, 2);
		int rc = ingest(&r, t[i].rel, t[i].text, &cfg, &c.base);
		if (rc != t[i].rc || r.status != t[i].status)
			fail_msg("row %zu: rc %d status %s (%s)", i, rc, pv_status_name(r.status), r.error);
		pvt_assert_contains(r.error, t[i].msg);
		if ((t[i].format == NULL) != (r.format_id == NULL) ||
		    (t[i].format && strcmp(t[i].format, r.format_id) != 0))
			fail_msg("row %zu: format %s", i, r.format_id ? r.format_id : "(null)");
		/* nothing begun: the header is read before the sink is touched */
		assert_string_equal(c.log, "");
		pv_file_result_free(&r);
		cap_done(&c);
	}
}

/* The device folder should be the master's serial: a warning when it is not. */
static void
device_folder_differs_from_master(void **state)
{
	pv_config cfg = config();
	pv_file_result r;
	cap c;

	(void)state;
	cap_init(&c, 2);
	assert_int_equal(ingest(&r, "acme/camp1/OTHER/f.tsv", two_rows, &cfg, &c.base), PV_OK);
	assert_int_equal(cJSON_GetArraySize(r.warnings), 1);
	const char *w = cJSON_GetArrayItem(r.warnings, 0)->valuestring;
	pvt_assert_contains(w, "OTHER");
	pvt_assert_contains(w, "02001171");
	assert_string_equal(r.loc.device, "OTHER");
	assert_string_equal(r.master_sn, "02001171");
	/* the points carry the master serial of the file */
	pvt_assert_contains(cap_text(&c), ",device_master_sn=02001171,");
	assert_null(strstr(cap_text(&c), "OTHER"));
	pv_file_result_free(&r);
	cap_done(&c);

	/* same folder and serial: no warning */
	assert_int_equal(ingest(&r, FILE_REL, two_rows, &cfg, NULL), PV_OK);
	assert_int_equal(cJSON_GetArraySize(r.warnings), 0);
	pv_file_result_free(&r);
}

/* ---- a file that changes while it is read ---- */

static const char twenty_rows[] =
	"02001171\t02001171\nMV_T302_V002\tPh 1 V\n"
	"05/01/26 10:00:00\t1\n05/01/26 10:10:00\t2\n05/01/26 10:20:00\t3\n05/01/26 10:30:00\t4\n"
	"05/01/26 10:40:00\t5\n05/01/26 10:50:00\t6\n05/01/26 11:00:00\t7\n05/01/26 11:10:00\t8\n"
	"05/01/26 11:20:00\t9\n05/01/26 11:30:00\t10\n05/01/26 11:40:00\t11\n05/01/26 11:50:00\t12\n"
	"05/01/26 12:00:00\t13\n05/01/26 12:10:00\t14\n05/01/26 12:20:00\t15\n05/01/26 12:30:00\t16\n"
	"05/01/26 12:40:00\t17\n05/01/26 12:50:00\t18\n05/01/26 13:00:00\t19\n05/01/26 13:10:00\t20\n";

static void
append_a_row(void)
{
	char *path = pvt_join(data, FILE_REL);
	FILE *f = fopen(path, "a");

	assert_non_null(f);
	fputs("05/01/26 13:20:00\t21\n", f);
	fclose(f);
	free(path);
}

static void
truncate_it(void)
{
	char *path = pvt_join(data, FILE_REL);

	assert_int_equal(truncate(path, 60), 0);
	free(path);
}

/* same size, another modification time: rewritten in place */
static void
touch_it(void)
{
	char *path = pvt_join(data, FILE_REL);
	struct timespec ts[2] = { { 0, UTIME_OMIT }, { 1000000000, 0 } };

	assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
	free(path);
}

static void
file_changed_while_read(void **state)
{
	void (*const tamper[])(void) = { append_a_row, truncate_it, touch_it };
	pv_config cfg = config();

	(void)state;
	for (size_t i = 0; i < PVT_COUNT(tamper); i++) {
		pv_file_result r;
		cap c;

		cap_init(&c, 2);
		c.abort_undoes = true;
		c.on_write = tamper[i];
		/* pending: left in place for a later run, nothing committed, the points taken back */
		assert_int_equal(ingest(&r, FILE_REL, twenty_rows, &cfg, &c.base), PV_EIO);
		assert_int_equal(r.status, PV_STATUS_PENDING);
		pvt_assert_contains(r.error, "changed while it was read");
		pvt_assert_contains(cJSON_GetArrayItem(r.warnings, 0)->valuestring, "changed while it was read");
		pvt_assert_contains(cJSON_GetArrayItem(r.warnings, 1)->valuestring, "taken back");
		assert_null(strstr(c.log, "commit"));
		pvt_assert_contains(c.log, "abort;");
		assert_string_equal(cap_text(&c), "");
		pv_file_result_free(&r);
		cap_done(&c);
	}
	/* unchanged, the same file goes through whole */
	pv_file_result r;
	cap c;
	cap_init(&c, 2);
	assert_int_equal(ingest(&r, FILE_REL, twenty_rows, &cfg, &c.base), PV_OK);
	assert_int_equal(r.nb_points, 20);
	pvt_assert_contains(c.log, "commit;");
	pv_file_result_free(&r);
	cap_done(&c);
}

/* ---- a signal while a file is read ---- */

static void
signal_now(void)
{
	pv_stop_request(SIGINT);
}

static void
signal_long_ago(void)
{
	pv_stop_request(SIGTERM);
	usleep(1100 * 1000); /* the second of grace runs out while the file is read */
}

static void
signal_grace_then_abandon(void **state)
{
	pv_config cfg = config();
	pv_file_result r;
	cap c;

	(void)state;
	/* within the grace, the file in progress is finished */
	cap_init(&c, 2);
	c.on_write = signal_now;
	assert_int_equal(ingest(&r, FILE_REL, twenty_rows, &cfg, &c.base), PV_OK);
	assert_int_equal(r.nb_points, 20);
	pvt_assert_contains(c.log, "commit;");
	pv_file_result_free(&r);
	cap_done(&c);
	pv_stop_request(0);

	/* past it, the file is abandoned cleanly: pending, its lines taken back */
	cap_init(&c, 2);
	c.abort_undoes = true;
	c.on_write = signal_long_ago;
	assert_int_equal(ingest(&r, FILE_REL, twenty_rows, &cfg, &c.base), PV_ESTOP);
	assert_int_equal(r.status, PV_STATUS_PENDING);
	pvt_assert_contains(r.error, "stopped by signal 15");
	assert_null(strstr(c.log, "commit"));
	pvt_assert_contains(c.log, "abort;");
	assert_string_equal(cap_text(&c), "");
	pv_file_result_free(&r);
	cap_done(&c);
	pv_stop_request(0);
	assert_int_equal(pv_stop_signal(), 0);
}

/* A file another run holds: skipped by a run, read whole by a preview (no_lock). */
static void
locked_file_and_no_lock(void **state)
{
	pv_config cfg = config();
	pv_file_result r;
	char *path = pvt_join(data, FILE_REL);
	int fd;
	cap c;

	(void)state;
	pvt_write_str(path, two_rows);
	assert_true((fd = open(path, O_RDONLY)) >= 0);
	assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), 0);
	cap_init(&c, 2);
	assert_int_equal(ingest(&r, FILE_REL, NULL, &cfg, &c.base), PV_ENOENT);
	assert_int_equal(r.status, PV_STATUS_SKIPPED);
	pvt_assert_contains(r.error, "is being ingested by another run");
	assert_string_equal(c.log, "");
	pv_file_result_free(&r);
	cap_done(&c);

	cfg.no_lock = true;
	cap_init(&c, 2);
	assert_int_equal(ingest(&r, FILE_REL, NULL, &cfg, &c.base), PV_OK);
	assert_string_equal(cap_text(&c), two_rows_lp);
	/* and took no lock of its own, even while it holds the file open */
	assert_int_equal(flock(fd, LOCK_UN), 0);
	int other = open(path, O_RDONLY);
	assert_true(other >= 0);
	assert_int_equal(flock(other, LOCK_EX | LOCK_NB), 0);
	close(other);
	pv_file_result_free(&r);
	cap_done(&c);
	close(fd);
	free(path);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(exact_line_protocol),
		T(batching_does_not_change_the_output),
		T(exact_line_protocol_variants),
		T(figures_of_a_messy_file),
		T(duplicate_rows_are_counted_twice),
		T(channel_mean_of_large_values),
		T(dst_fall_back_walk),
		T(dst_file_starting_in_the_repeated_hour),
		T(dst_prev_is_the_last_valid_timestamp),
		T(dst_spring_forward_gap),
		T(framed_header_zone_table),
		T(framed_header_with_an_unknown_zone),
		T(framed_rows_end_at_end_data),
		T(plain_layout_has_no_end_marker),
		T(no_valid_point),
		T(sink_write_fails_temporarily),
		T(sink_commit_or_begin_fails_temporarily),
		T(invalid_utf8_after_valid_rows),
		T(header_and_path_errors),
		T(device_folder_differs_from_master),
		T(file_changed_while_read),
		T(signal_grace_then_abandon),
		T(locked_file_and_no_lock),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

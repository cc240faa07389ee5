/*
 * Reports: time formats, the report file name, and the per-file and run
 * objects (keys, order, nulls, valid JSON).
 */
#include "pv_test.h"

#include <math.h>

#include "powerview/report.h"

/* ---- times and names ---- */

static void
isotime_table(void **state)
{
	static const struct {
		int64_t sec;
		long usec;
		const char *out;
	} t[] = {
		{ 1795761980, 318995, "2026-11-27T06:46:20.318995+00:00" },
		{ 1795761980, 0, "2026-11-27T06:46:20+00:00" },  /* like Python: no zero fraction */
		{ 1795761980, 5, "2026-11-27T06:46:20.000005+00:00" },
		{ 1795761980, 999999, "2026-11-27T06:46:20.999999+00:00" },
		{ 0, 0, "1970-01-01T00:00:00+00:00" },
		{ -1, 0, "1969-12-31T23:59:59+00:00" },
		{ 951782400, 0, "2000-02-29T00:00:00+00:00" },
		{ 1761436800, 0, "2025-10-26T00:00:00+00:00" },
	};

	(void)state;
	for (size_t i = 0; i < PVT_COUNT(t); i++) {
		char buf[48];
		pv_report_isotime(buf, sizeof(buf), t[i].sec, t[i].usec);
		if (strcmp(buf, t[i].out) != 0)
			fail_msg("%lld.%06ld: %s, expected %s", (long long)t[i].sec, t[i].usec, buf, t[i].out);
		if (t[i].usec == 0) {
			pv_report_rfc3339(buf, sizeof(buf), t[i].sec);
			assert_string_equal(buf, t[i].out);
		}
	}
}

static void
report_file_name(void **state)
{
	char buf[96], small[16];

	(void)state;
	pv_report_file_name(buf, sizeof(buf), "2026-11-27T06:46:20.318995+00:00");
	assert_string_equal(buf, "tsv_parser_2026-11-27T06-46-20.318995+00-00.json");
	assert_null(strchr(buf, ':'));
	pv_report_file_name(buf, sizeof(buf), "a:b::c");
	assert_string_equal(buf, "tsv_parser_a-b--c.json");
	pv_report_file_name(buf, sizeof(buf), "2026-11-27T06:46:20+00:00");
	assert_string_equal(buf, "tsv_parser_2026-11-27T06-46-20+00-00.json");
	/* truncated, still terminated */
	memset(small, '#', sizeof(small));
	pv_report_file_name(small, sizeof(small), "2026-11-27T06:46:20+00:00");
	assert_string_equal(small, "tsv_parser_2026");
}

/* ---- per-file object ---- */

static const char *const file_keys[] = {
	"file_path", "bucket", "campaign", "device_master_sn", "status", "error", "nb_rows",
	"nb_channels", "nb_points", "nb_invalid_timestamps", "nb_invalid_values", "channels",
	"file_header_meta", "nb_points_expected", "nb_points_in_influx", "time_start", "time_end",
	"format", "timezone", "nb_malformed_rows", "warnings", "destination",
};

static const char *const channel_keys[] = {
	"column_idx", "device_master_sn", "device_sn", "device_type", "channel_label",
	"channel_name", "channel_unit", "nb_points", "min", "max", "mean",
};

static void
expect_keys(const cJSON *obj, const char *const *keys, size_t n, const char *what)
{
	const cJSON *item = obj->child;

	for (size_t i = 0; i < n; i++, item = item->next) {
		if (item == NULL)
			fail_msg("%s: key %s missing (and all after it)", what, keys[i]);
		if (strcmp(item->string, keys[i]) != 0)
			fail_msg("%s: key %zu is %s, expected %s", what, i, item->string, keys[i]);
	}
	if (item != NULL)
		fail_msg("%s: extra key %s", what, item->string);
}

static void
set_channel(pv_channel *ch, size_t column, const char *sn, bool master, const char *label,
    const char *name, const char *unit, const char *id)
{
	ch->column = column;
	ch->sn = strdup(sn);
	ch->master = master;
	snprintf(ch->label, sizeof(ch->label), "%s", label);
	ch->name = strdup(name);
	ch->unit = strdup(unit);
	ch->id = strdup(id);
	ch->field_key = strdup(id);
}

/* A success as pv_ingest_file would leave it, filled by hand. */
static void
fill_success(pv_file_result *r)
{
	pv_file_result_init(r, "/data/acme/camp1/dev-folder/f.tsv");
	r->loc.company = strdup("acme");
	r->loc.campaign = strdup("camp1");
	r->loc.device = strdup("dev-folder");
	r->loc.file_name = strdup("f.tsv");
	r->status = PV_STATUS_SUCCESS;
	r->format_id = strdup("MV_T302_V003");
	r->timezone = strdup("Europe/Paris");
	r->master_sn = strdup("02001171");
	r->nb_rows = 3;
	r->nb_points = 3;
	r->nb_invalid_timestamps = 1;
	r->nb_invalid_values = 2;
	r->nb_malformed_rows = 1;
	r->nb_channels = 2;
	r->channels.count = 2;
	r->channels.subtype = "mono";
	r->channels.items = calloc(2, sizeof(pv_channel));
	set_channel(&r->channels.items[0], 1, "02001171", true, "U1", "Ph 1", "V", "M02001171_U1_M02001171");
	r->channels.items[0].nb_points = 3;
	r->channels.items[0].min = -1.5;
	r->channels.items[0].max = 3;
	r->channels.items[0].sum = 1.5;
	set_channel(&r->channels.items[1], 2, "04000466", false, "Ch1", "Voie1", "", "S04000466_Ch1_M02001171");
	r->header_meta = cJSON_Parse("{\"MasterType\": \"tri\"}");
	r->has_time = true;
	r->time_start = 1761436800;
	r->time_end = 1761444000;
	pv_file_result_warn(r, "device folder %s differs from the master serial %s in the file",
	    "dev-folder", "02001171");
	r->destination = strdup("/data/acme/camp1/dev-folder/parsed/f.tsv");
}

static const char success_json[] =
	"{\"file_path\":\"/data/acme/camp1/dev-folder/f.tsv\",\"bucket\":\"acme\",\"campaign\":\"camp1\","
	"\"device_master_sn\":\"dev-folder\",\"status\":\"success\",\"error\":null,\"nb_rows\":3,"
	"\"nb_channels\":2,\"nb_points\":3,\"nb_invalid_timestamps\":1,\"nb_invalid_values\":2,"
	"\"channels\":{"
	"\"M02001171_U1_M02001171\":{\"column_idx\":1,\"device_master_sn\":\"02001171\","
	"\"device_sn\":\"02001171\",\"device_type\":\"master\",\"channel_label\":\"U1\","
	"\"channel_name\":\"Ph 1\",\"channel_unit\":\"V\",\"nb_points\":3,\"min\":-1.5,\"max\":3.0,"
	"\"mean\":0.5},"
	"\"S04000466_Ch1_M02001171\":{\"column_idx\":2,\"device_master_sn\":\"02001171\","
	"\"device_sn\":\"04000466\",\"device_type\":\"slave\",\"channel_label\":\"Ch1\","
	"\"channel_name\":\"Voie1\",\"channel_unit\":\"\",\"nb_points\":0,\"min\":null,\"max\":null,"
	"\"mean\":null}},"
	"\"file_header_meta\":{\"MasterType\":\"tri\"},\"nb_points_expected\":null,"
	"\"nb_points_in_influx\":null,\"time_start\":\"2025-10-26T00:00:00+00:00\","
	"\"time_end\":\"2025-10-26T02:00:00+00:00\",\"format\":\"MV_T302_V003\","
	"\"timezone\":\"Europe/Paris\",\"nb_malformed_rows\":1,"
	"\"warnings\":[\"device folder dev-folder differs from the master serial 02001171 in the file\"],"
	"\"destination\":\"/data/acme/camp1/dev-folder/parsed/f.tsv\"}";

/* Every number of a parsed document is finite (a reader's strtod gives no inf). */
static void
expect_finite_numbers(const cJSON *item, const char *where)
{
	for (; item != NULL; item = item->next) {
		if (cJSON_IsNumber(item) && !isfinite(item->valuedouble))
			fail_msg("%s: %s reads back as %g", where, item->string ? item->string : "(item)",
			    item->valuedouble);
		expect_finite_numbers(item->child, item->string ? item->string : where);
	}
}

static void
check_printed(cJSON *o, const char *want)
{
	char *text = cJSON_PrintUnformatted(o);
	cJSON *back;

	assert_non_null(text);
	if (strcmp(text, want) != 0)
		fail_msg("got\n%s\nexpected\n%s", text, want);
	/* valid JSON: parses back whole; no NaN or Infinity */
	const char *end = NULL;
	back = cJSON_ParseWithOpts(text, &end, 1);
	assert_non_null(back);
	assert_int_equal(*end, '\0');
	expect_finite_numbers(back, "report");
	cJSON_Delete(back);
	free(text);
}

static void
file_success(void **state)
{
	pv_file_result r;
	cJSON *o;

	(void)state;
	fill_success(&r);
	o = pv_report_file(&r);
	assert_non_null(o);
	expect_keys(o, file_keys, PVT_COUNT(file_keys), "file");
	const cJSON *chs = cJSON_GetObjectItemCaseSensitive(o, "channels");
	assert_int_equal(cJSON_GetArraySize(chs), 2);
	/* channels in column order */
	assert_string_equal(chs->child->string, "M02001171_U1_M02001171");
	for (const cJSON *c = chs->child; c; c = c->next)
		expect_keys(c, channel_keys, PVT_COUNT(channel_keys), c->string);
	check_printed(o, success_json);
	cJSON_Delete(o);
	pv_file_result_free(&r);
}

/* downsample: the windows per level when done, null when failed, absent otherwise or not a success */
static void
file_downsample(void **state)
{
	pv_file_result r;
	cJSON *o;
	char *text;

	(void)state;
	fill_success(&r);
	o = pv_report_file(&r);
	assert_null(cJSON_GetObjectItemCaseSensitive(o, "downsample"));
	cJSON_Delete(o);
	r.downsampled = 0;
	r.downsample = (pv_downsample_figure){ 2, { PV_LEVEL_1H, PV_LEVEL_1W }, { 97, 2 } };
	o = pv_report_file(&r);
	text = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(o, "downsample"));
	assert_string_equal(text, "{\"1h\":97,\"1w\":2}");
	free(text);
	cJSON_Delete(o);
	r.downsampled = -2;
	o = pv_report_file(&r);
	assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, "downsample")));
	cJSON_Delete(o);
	/* a file that did not stay a success (its move failed): absent */
	r.status = PV_STATUS_PENDING;
	o = pv_report_file(&r);
	assert_null(cJSON_GetObjectItemCaseSensitive(o, "downsample"));
	cJSON_Delete(o);
	pv_file_result_free(&r);
}

/* The result's meta is copied, not taken: both can be freed. */
static void
file_report_owns_its_copy(void **state)
{
	pv_file_result r;
	cJSON *o;

	(void)state;
	fill_success(&r);
	o = pv_report_file(&r);
	pv_file_result_free(&r);
	const cJSON *meta = cJSON_GetObjectItemCaseSensitive(o, "file_header_meta");
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(meta, "MasterType")->valuestring, "tri");
	cJSON_Delete(o);
}

static void
file_error_without_location(void **state)
{
	static const char want[] =
		"{\"file_path\":\"/data/x.tsv\",\"bucket\":null,\"campaign\":null,\"device_master_sn\":null,"
		"\"status\":\"error\",\"error\":\"invalid path structure: /data/x.tsv\",\"nb_rows\":0,"
		"\"nb_channels\":0,\"nb_points\":0,\"nb_invalid_timestamps\":0,\"nb_invalid_values\":0,"
		"\"channels\":{},\"file_header_meta\":null,\"nb_points_expected\":null,"
		"\"nb_points_in_influx\":null,\"time_start\":null,\"time_end\":null,\"format\":null,"
		"\"timezone\":null,\"nb_malformed_rows\":0,\"warnings\":[],\"destination\":null}";
	pv_file_result r;
	cJSON *o;

	(void)state;
	pv_file_result_init(&r, "/data/x.tsv");
	assert_int_equal(r.status, PV_STATUS_ERROR);
	r.error = strdup("invalid path structure: /data/x.tsv");
	o = pv_report_file(&r);
	expect_keys(o, file_keys, PVT_COUNT(file_keys), "file");
	check_printed(o, want);
	cJSON_Delete(o);
	pv_file_result_free(&r);
}

static void
file_statuses(void **state)
{
	static const struct {
		pv_status s;
		const char *name;
	} t[] = {
		{ PV_STATUS_SUCCESS, "success" },
		{ PV_STATUS_ERROR, "error" },
		{ PV_STATUS_PENDING, "pending" },
		{ PV_STATUS_SKIPPED, "skipped" },
	};
	pv_file_result r;

	(void)state;
	for (size_t i = 0; i < PVT_COUNT(t); i++)
		assert_string_equal(pv_status_name(t[i].s), t[i].name);

	fill_success(&r);
	r.status = PV_STATUS_PENDING;
	r.error = strdup("cannot write to out.lp: No space left on device");
	cJSON *o = pv_report_file(&r);
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(o, "status")->valuestring, "pending");
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(o, "error")->valuestring,
	    "cannot write to out.lp: No space left on device");
	/* the figures stay those of the file as read */
	assert_int_equal(cJSON_GetObjectItemCaseSensitive(o, "nb_points")->valuedouble, 3);
	cJSON_Delete(o);
	pv_file_result_free(&r);
}

/*
 * Extreme but valid statistics (a cell "1.7976931348623157e308" is a finite
 * value) must read back as the same finite numbers: no Infinity in effect.
 */
static void
file_extreme_numbers_read_back_finite(void **state)
{
	pv_file_result r;
	cJSON *o;
	char *text;

	(void)state;
	fill_success(&r);
	r.channels.items[0].nb_points = 2;
	r.channels.items[0].min = -1.7976931348623157e308;
	r.channels.items[0].max = 1.7976931348623157e308;
	r.channels.items[0].sum = 0.0;
	r.nb_points = UINT64_C(123456789012);
	o = pv_report_file(&r);
	text = cJSON_PrintUnformatted(o);
	cJSON *back = cJSON_Parse(text);
	assert_non_null(back);
	const cJSON *ch = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(back, "channels"),
	    "M02001171_U1_M02001171");
	double points = cJSON_GetObjectItemCaseSensitive(back, "nb_points")->valuedouble;
	double mean = cJSON_GetObjectItemCaseSensitive(ch, "mean")->valuedouble;
	double max = cJSON_GetObjectItemCaseSensitive(ch, "max")->valuedouble;
	double min = cJSON_GetObjectItemCaseSensitive(ch, "min")->valuedouble;
	/* freed before checking, so that a failure reports no leak of its own */
	cJSON_Delete(back);
	free(text);
	cJSON_Delete(o);
	pv_file_result_free(&r);
	assert_true(points == 123456789012.0);
	assert_true(mean == 0.0);
	if (max != 1.7976931348623157e308 || min != -1.7976931348623157e308)
		fail_msg("max %g and min %g, expected +/-1.7976931348623157e308", max, min);
}

/* The report written as the run goes: one JSON document, the same whatever the number of files. */
static char *
write_run(const pv_run *run, size_t nfiles, const cJSON *more)
{
	pv_report_writer w;
	pv_file_result r;
	char *text = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&text, &len);

	assert_non_null(fp);
	pv_report_begin(&w, fp, run);
	for (size_t i = 0; i < nfiles; i++) {
		cJSON *f;
		fill_success(&r);
		f = pv_report_file(&r);
		pv_report_add(&w, f);
		cJSON_Delete(f);
		pv_file_result_free(&r);
	}
	assert_int_equal(pv_report_end(&w, run, more), PV_OK);
	fclose(fp);
	return text;
}

static void
run_object(void **state)
{
	static const char *const run_keys[] = {
		"run_id", "start_time", "base_folder", "dry_run", "files", "end_time", "duration_s",
		"nb_files_total", "nb_files_success", "nb_files_failed", "nb_points_total", "status",
	};
	pv_run run = { 0 };
	cJSON *o;

	(void)state;
	pv_report_isotime(run.run_id, sizeof(run.run_id), 1795761980, 318995);
	pv_report_isotime(run.start_time, sizeof(run.start_time), 1795761980, 318995);
	pv_report_isotime(run.end_time, sizeof(run.end_time), 1795761981, 500000);
	run.duration_s = 1.181005;
	run.base_folder = "/data";
	run.nb_files_total = 1;
	run.nb_files_success = 1;
	run.nb_points_total = 3;

	char *text = write_run(&run, 1, NULL);
	o = cJSON_Parse(text);
	assert_non_null(o);
	expect_keys(o, run_keys, PVT_COUNT(run_keys), "run");
	char *flat = cJSON_PrintUnformatted(o);
	char *want = NULL;
	assert_true(asprintf(&want,
	    "{\"run_id\":\"2026-11-27T06:46:20.318995+00:00\",\"start_time\":\"2026-11-27T06:46:20.318995+00:00\","
	    "\"base_folder\":\"/data\",\"dry_run\":false,\"files\":[%s],"
	    "\"end_time\":\"2026-11-27T06:46:21.500000+00:00\",\"duration_s\":1.181005,"
	    "\"nb_files_total\":1,\"nb_files_success\":1,\"nb_files_failed\":0,\"nb_points_total\":3,"
	    "\"status\":\"success\"}", success_json) > 0);
	cJSON *want_o = cJSON_Parse(want);
	assert_non_null(want_o);
	if (!cJSON_Compare(o, want_o, true))
		fail_msg("got %s\nexpected %s", flat, want);
	cJSON_Delete(want_o);
	/* the floats of the file keep their text: "max": 3.0 */
	pvt_assert_contains(text, "\"max\":\t3.0");
	/* tab-indented like cJSON_Print of the whole: a file's keys two tabs deep */
	pvt_assert_contains(text, "\n\t\"files\":\t[\n\t\t{\n\t\t\t\"file_path\":\t");
	free(flat);
	free(want);
	free(text);
	cJSON_Delete(o);

	/* no file: an empty list; a failed or pending file, or a signal, changes the status */
	static const struct {
		uint64_t failed, pending;
		bool interrupted, dry_run;
		const char *status;
	} t[] = {
		{ 0, 0, false, false, "success" },
		{ 1, 0, false, true, "partial_failure" },
		{ 0, 2, false, false, "partial_failure" },
		{ 1, 1, true, false, "interrupted" },
	};
	for (size_t i = 0; i < PVT_COUNT(t); i++) {
		cJSON *more = cJSON_CreateObject();
		cJSON_AddArrayToObject(more, "skipped_folders");
		run.nb_files_failed = t[i].failed;
		run.nb_files_pending = t[i].pending;
		run.interrupted = t[i].interrupted;
		run.dry_run = t[i].dry_run;
		text = write_run(&run, i, more);
		o = cJSON_Parse(text);
		if (o == NULL)
			fail_msg("case %zu: not JSON: %s", i, text);
		assert_string_equal(cJSON_GetObjectItemCaseSensitive(o, "status")->valuestring, t[i].status);
		assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(o, "files")), i);
		assert_int_equal(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "dry_run")), t[i].dry_run);
		assert_true(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(o, "skipped_folders")));
		cJSON_Delete(o);
		cJSON_Delete(more);
		free(text);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(isotime_table),
		cmocka_unit_test(report_file_name),
		cmocka_unit_test(file_success),
		cmocka_unit_test(file_downsample),
		cmocka_unit_test(file_report_owns_its_copy),
		cmocka_unit_test(file_error_without_location),
		cmocka_unit_test(file_statuses),
		cmocka_unit_test(file_extreme_numbers_read_back_finite),
		cmocka_unit_test(run_object),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* JSON run reports, field for field those of the original tool plus the new ones. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "powerview/lines.h"
#include "powerview/report.h"

void
pv_report_isotime(char *buf, size_t size, int64_t sec, long usec)
{
	time_t t = (time_t)sec;
	struct tm tm;
	char base[32];

	gmtime_r(&t, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	/* Python's isoformat() leaves the fraction out when it is zero. */
	if (usec != 0)
		snprintf(buf, size, "%s.%06ld+00:00", base, usec);
	else
		snprintf(buf, size, "%s+00:00", base);
}

void
pv_report_rfc3339(char *buf, size_t size, int64_t sec)
{
	pv_report_isotime(buf, size, sec, 0);
}

void
pv_report_file_name(char *buf, size_t size, const char *run_id)
{
	int n = snprintf(buf, size, "tsv_parser_%s.json", run_id);

	for (int i = 0; i < n && (size_t)i < size; i++)
		if (buf[i] == ':')
			buf[i] = '-';
}

cJSON *
pv_json_number(double v)
{
	char buf[40];

	if (!isfinite(v))
		return cJSON_CreateNull();
	pv_fmt_double(buf, sizeof(buf), v);
	/* a float stays a float: 242 -> 242.0, -0 -> -0.0, as Python writes them */
	if (strpbrk(buf, ".e") == NULL)
		strcat(buf, ".0");
	return cJSON_CreateRaw(buf);
}

cJSON *
pv_json_string(const char *s)
{
	size_t n, ok, used = 0;
	char *buf;
	cJSON *j;

	if (s == NULL)
		return cJSON_CreateNull();
	n = strlen(s);
	if ((ok = pv_utf8_span(s, n)) == n)
		return cJSON_CreateString(s);
	/* a name from a tenant's folder may be any bytes: each invalid one as \xHH */
	if ((buf = malloc(n * 4 + 1)) == NULL)
		return NULL;
	while (n > 0) {
		memcpy(buf + used, s, ok);
		used += ok;
		s += ok;
		n -= ok;
		if (n > 0) {
			used += (size_t)sprintf(buf + used, "\\x%02X", (unsigned char)*s);
			s++;
			n--;
		}
		ok = pv_utf8_span(s, n);
	}
	buf[used] = '\0';
	j = cJSON_CreateString(buf);
	free(buf);
	return j;
}

/* A copy of an array of strings, each valid UTF-8. */
static cJSON *
json_strings(const cJSON *a)
{
	cJSON *out = cJSON_CreateArray();
	const cJSON *it;

	cJSON_ArrayForEach(it, a)
		cJSON_AddItemToArray(out, pv_json_string(it->valuestring));
	return out;
}

/* sum / n in file order, as the original; values near DBL_MAX overflow the sum, not the mean */
static double
channel_mean(const pv_channel *ch)
{
	double n = (double)ch->nb_points;

	if (isfinite(ch->sum))
		return ch->sum / n;
	return ch->sum_scaled / n * 0x1p64;
}

static cJSON *
channels_json(const pv_channels *chs, const char *master_sn)
{
	cJSON *obj = cJSON_CreateObject();

	for (size_t i = 0; i < chs->count; i++) {
		const pv_channel *ch = &chs->items[i];
		cJSON *c = cJSON_CreateObject();
		bool any = ch->nb_points > 0;

		cJSON_AddNumberToObject(c, "column_idx", (double)ch->column);
		cJSON_AddItemToObject(c, "device_master_sn", pv_json_string(master_sn));
		cJSON_AddStringToObject(c, "device_sn", ch->sn);
		cJSON_AddStringToObject(c, "device_type", ch->master ? "master" : "slave");
		cJSON_AddStringToObject(c, "channel_label", ch->label);
		cJSON_AddStringToObject(c, "channel_name", ch->name);
		cJSON_AddStringToObject(c, "channel_unit", ch->unit);
		cJSON_AddNumberToObject(c, "nb_points", (double)ch->nb_points);
		cJSON_AddItemToObject(c, "min", any ? pv_json_number(ch->min) : cJSON_CreateNull());
		cJSON_AddItemToObject(c, "max", any ? pv_json_number(ch->max) : cJSON_CreateNull());
		cJSON_AddItemToObject(c, "mean",
		    any ? pv_json_number(channel_mean(ch)) : cJSON_CreateNull());
		cJSON_AddItemToObject(obj, ch->id, c);
	}
	return obj;
}

cJSON *
pv_report_file(const pv_file_result *r)
{
	cJSON *o = cJSON_CreateObject();
	char ts[48];

	cJSON_AddItemToObject(o, "file_path", pv_json_string(r->file_path));
	cJSON_AddItemToObject(o, "bucket", pv_json_string(r->loc.company));
	cJSON_AddItemToObject(o, "campaign", pv_json_string(r->loc.campaign));
	cJSON_AddItemToObject(o, "device_master_sn", pv_json_string(r->loc.device));
	cJSON_AddStringToObject(o, "status", pv_status_name(r->status));
	cJSON_AddItemToObject(o, "error", pv_json_string(r->error));
	cJSON_AddNumberToObject(o, "nb_rows", (double)r->nb_rows);
	cJSON_AddNumberToObject(o, "nb_channels", (double)r->nb_channels);
	cJSON_AddNumberToObject(o, "nb_points", (double)r->nb_points);
	cJSON_AddNumberToObject(o, "nb_invalid_timestamps", (double)r->nb_invalid_timestamps);
	cJSON_AddNumberToObject(o, "nb_invalid_values", (double)r->nb_invalid_values);
	cJSON_AddItemToObject(o, "channels", channels_json(&r->channels, r->master_sn));
	cJSON_AddItemToObject(o, "file_header_meta",
	    r->header_meta ? cJSON_Duplicate(r->header_meta, 1) : cJSON_CreateNull());
	if (r->verified) {
		cJSON_AddNumberToObject(o, "nb_points_expected", (double)r->nb_points);
		cJSON_AddNumberToObject(o, "nb_points_in_influx", (double)r->nb_points_in_influx);
	} else {
		cJSON_AddNullToObject(o, "nb_points_expected");
		cJSON_AddNullToObject(o, "nb_points_in_influx");
	}
	if (r->has_time) {
		pv_report_rfc3339(ts, sizeof(ts), r->time_start);
		cJSON_AddStringToObject(o, "time_start", ts);
		pv_report_rfc3339(ts, sizeof(ts), r->time_end);
		cJSON_AddStringToObject(o, "time_end", ts);
	} else {
		cJSON_AddNullToObject(o, "time_start");
		cJSON_AddNullToObject(o, "time_end");
	}
	cJSON_AddItemToObject(o, "format", pv_json_string(r->format_id));
	cJSON_AddItemToObject(o, "timezone", pv_json_string(r->timezone));
	cJSON_AddNumberToObject(o, "nb_malformed_rows", (double)r->nb_malformed_rows);
	cJSON_AddItemToObject(o, "warnings", json_strings(r->warnings));
	cJSON_AddItemToObject(o, "destination", pv_json_string(r->destination));
	/* only when CONFIG_API_URL is set: the channels posted there, null when that failed */
	if (r->channels_published >= 0)
		cJSON_AddNumberToObject(o, "channels_published", (double)r->channels_published);
	else if (r->channels_published == -2)
		cJSON_AddNullToObject(o, "channels_published");
	/* windows recomputed a level, null when that failed; absent when off or not applicable */
	if (r->downsampled == 0 && r->status == PV_STATUS_SUCCESS) {
		cJSON *d = cJSON_AddObjectToObject(o, "downsample");
		for (size_t i = 0; d != NULL && i < r->downsample.n; i++)
			cJSON_AddNumberToObject(d, pv_level_name(r->downsample.levels[i]),
			    (double)r->downsample.windows[i]);
	} else if (r->downsampled == -2 && r->status == PV_STATUS_SUCCESS)
		cJSON_AddNullToObject(o, "downsample");
	return o;
}

/* The members of `o`, printed as those of an object two tabs deep, after what came before. */
static void
write_members(pv_report_writer *w, const cJSON *o, bool more_before)
{
	char *text = cJSON_Print(o), *start, *end;

	if (text == NULL) {
		w->failed = true;
		return;
	}
	/* "{\n\t"k": v,\n\t...\n}": the lines between the braces */
	start = strchr(text, '\n');
	end = strrchr(text, '\n');
	if (start != NULL && end > start) {
		if (more_before)
			fputs(",", w->fp);
		fwrite(start, 1, (size_t)(end - start), w->fp);
	}
	free(text);
}

void
pv_report_begin(pv_report_writer *w, FILE *fp, const pv_run *run)
{
	cJSON *o;

	memset(w, 0, sizeof(*w));
	w->fp = fp;
	w->first = true;
	if (fp == NULL)
		return; /* a run with no report: only the figures are kept */
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "run_id", run->run_id);
	cJSON_AddStringToObject(o, "start_time", run->start_time);
	cJSON_AddItemToObject(o, "base_folder", pv_json_string(run->base_folder));
	cJSON_AddBoolToObject(o, "dry_run", run->dry_run);
	fputs("{", fp);
	write_members(w, o, false);
	fputs(",\n\t\"files\":\t[", fp);
	cJSON_Delete(o);
}

void
pv_report_add(pv_report_writer *w, const cJSON *file)
{
	char *text = cJSON_Print(file);

	if (text == NULL) {
		w->failed = true;
		return;
	}
	fputs(w->first ? "\n\t\t" : ",\n\t\t", w->fp);
	for (const char *p = text, *nl; *p; p = nl + 1) {
		if ((nl = strchr(p, '\n')) == NULL) {
			fputs(p, w->fp);
			break;
		}
		fwrite(p, 1, (size_t)(nl + 1 - p), w->fp);
		fputs("\t\t", w->fp);
	}
	w->first = false;
	free(text);
}

const char *
pv_report_status(const pv_run *run)
{
	if (run->interrupted)
		return "interrupted";
	/* a run with files kept for later is not a success either */
	return run->nb_files_failed == 0 && run->nb_files_pending == 0 ? "success" : "partial_failure";
}

int
pv_report_end(pv_report_writer *w, const pv_run *run, const cJSON *more)
{
	cJSON *o = cJSON_CreateObject();
	const cJSON *it;

	fputs(w->first ? "]" : "\n\t]", w->fp);
	cJSON_AddStringToObject(o, "end_time", run->end_time);
	cJSON_AddNumberToObject(o, "duration_s", run->duration_s);
	cJSON_AddNumberToObject(o, "nb_files_total", (double)run->nb_files_total);
	cJSON_AddNumberToObject(o, "nb_files_success", (double)run->nb_files_success);
	cJSON_AddNumberToObject(o, "nb_files_failed", (double)run->nb_files_failed);
	cJSON_AddNumberToObject(o, "nb_points_total", (double)run->nb_points_total);
	cJSON_AddStringToObject(o, "status", pv_report_status(run));
	cJSON_ArrayForEach(it, more)
		cJSON_AddItemReferenceToObject(o, it->string, (cJSON *)it);
	write_members(w, o, true);
	fputs("\n}\n", w->fp);
	cJSON_Delete(o);
	return w->failed || ferror(w->fp) ? PV_EIO : PV_OK;
}

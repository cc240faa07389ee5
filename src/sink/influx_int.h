/*
 * The InfluxDB sinks' private parts, shared by the files of src/sink/ that
 * hold them (one concern each: see docs/architecture.md):
 *
 *   influx.c            the sink object, its settings, quoting, the HTTP helpers
 *   influx_write.c      the write pipeline: batches, gzip, 413 split, sender thread
 *   influx_admin.c      organization, buckets, DBRP mappings, databases
 *   influx_query.c      counts, the channels and buckets stored, a bucket's span
 *   influx_downsample.c downsampling (InfluxQL SELECT ... INTO, Flux to())
 *   influx_token.c      tsv_parser token (v2 authorizations, v1 users)
 */
#ifndef POWERVIEW_INFLUX_INT_H
#define POWERVIEW_INFLUX_INT_H

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "powerview/http.h"
#include "powerview/influx.h"

/* the measurement every point goes to */
#define INFLUX_MEASUREMENT "electrical"
/* InfluxDB 2: the downsampled buckets of each raw one, <bucket>_1h, _1d, _1w */
#define INFLUX_N_DS 3

/*
 * Writes are pipelined: the reading thread encodes and compresses batch
 * N+1 while a sender thread posts batch N and waits for the server. Two
 * slots; the curl handle belongs to the sender while a slot is queued, and
 * to the caller once the queue is drained.
 */
typedef struct slot {
	char *raw;            /* uncompressed lines, kept for a 413 split */
	size_t rawlen, rawcap, nlines;
	unsigned char *gz;
	size_t gzlen, gzcap;
} slot;

typedef struct influx_sink {
	pv_sink base;
	pv_sink_ops ops;     /* the API's: VictoriaMetrics has no downsampling */
	pv_influx_config cfg;
	pv_http *http;
	char *org_id;        /* resolved once per run (v2) */
	char **known;        /* buckets (databases) known to exist this run */
	size_t nknown;
	char *bucket;        /* of the current file */
	char *write_path;    /* /api/v2/write?... for the current file */
	/* the sender thread and its two slots */
	pthread_t sender;
	bool started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct slot *slots;
	int head, queued;
	bool stop;
	int failed;          /* first failure of the current file */
	pv_err fail_err;
} influx_sink;

/* influx.c: the sink, quoting, errors, the HTTP helpers */
int influx_open(pv_sink **out, const pv_influx_config *cfg, bool sender, pv_err *err);
char *influx_promql_string(const char *s);
int influx_status_error(pv_err *err, const char *what, const pv_http_resp *r);
#define INFLUX_GET_404 1     /* influx_get_json*: 404 answers 0 */
#define INFLUX_GET_STRICT 2  /* influx_get_json*: a body that is not JSON is PV_ETEMP */
int influx_get_json_path(cJSON **json, influx_sink *f, const char *what, int flags, const char *path,
    pv_err *err);
int influx_get_json(cJSON **json, influx_sink *f, const char *what, int flags, const char *fmt, const char *a,
    const char *b, pv_err *err);
int influx_post_json(pv_http_resp *r, influx_sink *f, const char *path, cJSON *body, pv_err *err);
int influx_flux(pv_http_resp *r, influx_sink *f, const char *flux, const char *what, pv_err *err);
const char *influx_v1_error(const cJSON *j, bool *top, size_t *nresults);
int influx_v1_post(cJSON **json, influx_sink *f, const char *q, const char *what, pv_err *err);
int influx_v1_statement_error(pv_err *err, const char *what, const pv_http_resp *r, cJSON **json);
int influx_v1_exec(influx_sink *f, const char *q, const char *what, cJSON **json, pv_err *err);
int influx_v1_query(influx_sink *f, pv_http_resp *r, const char *db, const char *q, pv_err *err);

/* influx_write.c */
void *influx_sender_main(void *arg);
int influx_drain(influx_sink *f, pv_err *err, bool take);
int influx_if_begin(pv_sink *s, const char *bucket, pv_err *err);
int influx_if_write(pv_sink *s, const char *buf, size_t len, size_t nlines, pv_err *err);
int influx_if_commit(pv_sink *s, pv_err *err);
bool influx_if_abort(pv_sink *s);

/* influx_admin.c */
int influx_org_id(influx_sink *f, pv_err *err);
int influx_bucket_find(influx_sink *f, const char *bucket, char **id, pv_err *err);
int influx_ensure_bucket(influx_sink *f, const char *bucket, char **id, pv_err *err);
int influx_ensure_one(influx_sink *f, const char *bucket, bool forever, char **id, pv_err *err);
int influx_ensure_downsampled(influx_sink *f, const char *bucket, char **ids, pv_err *err);
char *influx_ds_bucket(const char *bucket, size_t i);
int influx_dbrp_ensure(influx_sink *f, const char *bucket, const char *bucket_id, pv_err *err);

/* influx_query.c */
typedef enum influx_csv_kind { INFLUX_CSV_END, INFLUX_CSV_ROW, INFLUX_CSV_HEADER } influx_csv_kind;
bool influx_csv_record(char **p, char **field, int max, int *nf);
influx_csv_kind influx_csv_row(char **p, char **field, int *nf, bool *header);
int influx_csv_col(char *const *field, int nf, const char *name);
int influx_csv_counts(char *body, const char *what, const pv_count_query *q, size_t n, uint64_t *out,
    pv_err *err);
int influx_if_count(pv_sink *s, const pv_count_query *q, size_t n, uint64_t *out, pv_err *err);
void influx_vm_flush(influx_sink *f, pv_err *err);
int influx_vm_query(cJSON **json, const cJSON **result, influx_sink *f, const char *what, const char *promql,
    long long at, pv_err *err);

/* influx_downsample.c */
int influx_if_downsample(pv_sink *s, const char *bucket, int64_t tmin, int64_t tmax, pv_tz *tz,
    const pv_level *levels, size_t nlevels, pv_downsample_figure *out, pv_err *err);

#endif

/* The InfluxDB sinks: InfluxDB 2 (v2), InfluxDB 1.x (v1), VictoriaMetrics (vm). */
#ifndef POWERVIEW_INFLUX_H
#define POWERVIEW_INFLUX_H

#include <stdbool.h>
#include <stddef.h>

#include "powerview/common.h"
#include "powerview/config.h"
#include "powerview/known.h"
#include "powerview/sink.h"

typedef enum pv_influx_api {
	PV_API_V2, /* orgs, buckets, authorizations, Flux */
	PV_API_V1, /* databases, InfluxQL */
	PV_API_VM  /* /api/v2/write only; counts through the Prometheus query API */
} pv_influx_api;

typedef struct pv_influx_config {
	pv_influx_api api;
	const char *url;          /* INFLUXDB_HOST, else INFLUXDB_URL */
	const char *org;          /* INFLUXDB_ORG: a name, or a 16-hex id used as is */
	const char *token;        /* INFLUXDB_ADMIN_TOKEN; never printed */
	const char *username;     /* INFLUXDB_USERNAME (v1) */
	const char *password;     /* INFLUXDB_PASSWORD (v1); never printed */
	const char *meta_bucket;  /* TSV_META_BUCKET */
	long retention_s;         /* INFLUXDB_BUCKET_RETENTION: 0 keeps data forever */
	size_t batch_lines;       /* TSV_BATCH_LINES */
	size_t batch_bytes;       /* TSV_BATCH_BYTES */
	bool gzip;                /* TSV_GZIP: 1 (default), 0, or auto (not to a loopback host) */
	long connect_timeout_ms;  /* TSV_HTTP_CONNECT_TIMEOUT (s) */
	long answer_timeout_ms;   /* TSV_HTTP_ANSWER_TIMEOUT (s) */
	long timeout_ms;          /* TSV_HTTP_TIMEOUT (s) */
	double retry_budget_s;    /* TSV_RETRY_BUDGET (s) */
	double retry_after_max_s; /* TSV_RETRY_AFTER_MAX (s) */
} pv_influx_config;

/*
 * The sink's settings (influxdb.*, sink.*, http.*), checked before by
 * pv_settings_check: PV_ECONFIG only for a missing host, or a missing token
 * or organization (v2), which the table cannot tell.
 */
int pv_influx_config_from_settings(pv_influx_config *cfg, const pv_settings *s, pv_err *err);

/* Opens the sink; nothing is sent before the first file. */
int pv_sink_influx_open(pv_sink **out, const pv_influx_config *cfg, pv_err *err);

/*
 * `tsv_parser token`: the read (or read+write) token of a bucket, found by
 * the description powerview_token_for_bucket_<bucket>, created with the
 * bucket when missing. An existing one is never replaced unless `rotate`.
 * *token receives the token (free it).
 * InfluxDB 2: a read token reads the bucket and its downsampled buckets
 * <bucket>_1h, _1d, _1w (created when missing, no expiry); a write token
 * reads and writes the raw bucket only. An existing read token that lacks
 * the downsampled buckets (made before them) is PV_ECONFIG asking for
 * `rotate`: InfluxDB 2 cannot add permissions to a token, and replacing it
 * unasked would break the datasources using it.
 * InfluxDB 1.x (v1): the password of the user pv_influx_v1_user(bucket,
 * write), created with the database when missing (READ on it, or ALL with
 * `write`); the server keeps only a hash: an existing user is PV_ECONFIG
 * unless `rotate` (SET PASSWORD).
 */
int pv_influx_bucket_token(char **token, const pv_influx_config *cfg, const char *bucket,
    bool write, bool rotate, pv_err *err);

/*
 * `tsv_parser channels`: adds to k the channels stored in bucket (database
 * for v1), read from measurement electrical: InfluxDB 1.x pages through
 * SHOW SERIES and parses the keys, InfluxDB 2 pages through one row per
 * distinct tuple of a Flux query, VictoriaMetrics asks for one result per
 * tuple of PromQL's count by (docs/usage.md shows them). Nothing is
 * created. PV_ENOENT for an unknown bucket (VictoriaMetrics: no series
 * with that db label), PV_ETEMP for a server unavailable.
 */
int pv_influx_known_channels(pv_known *k, const pv_influx_config *cfg, const char *bucket,
    pv_err *err);

/*
 * `tsv_parser channels --all`: the companies' raw buckets (databases), those
 * pv_known_raw_bucket() takes, in the server's order; *names and each
 * name are the caller's to free. VictoriaMetrics: the db label's values.
 */
int pv_influx_raw_buckets(char ***names, size_t *n, const pv_influx_config *cfg, pv_err *err);

/*
 * `tsv_parser downsample`: the instants (ns) of the first and last point of
 * measurement electrical in raw bucket (database) `bucket` of sink `s`
 * (from pv_sink_influx_open, InfluxDB 2 or 1.x). 1 with *first, *last; 0
 * when it holds none; PV_ENOENT when the bucket does not exist; < 0 else.
 * Each answer is one row.
 */
int pv_sink_influx_span(pv_sink *s, const char *bucket, int64_t *first, int64_t *last, pv_err *err);

/* The InfluxDB 1.x user of `tsv_parser token` for a database: <db>_read, <db>_write (free it). */
char *pv_influx_v1_user(const char *database, bool write);

/* Flux string literal body: \ " and ${ escaped, control characters as \n \r \t. */
char *pv_flux_quote(const char *s);
/* true when an organization is named by its ID (16 hex digits), not its name */
bool pv_influx_is_id(const char *s);
/* InfluxQL: '...' string literals and "..." identifiers. */
char *pv_influxql_string(const char *s);
char *pv_influxql_ident(const char *s);

#endif

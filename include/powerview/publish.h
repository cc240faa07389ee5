/*
 * Channel publication (v0.4.1's CONFIG_API_URL): after each file that
 * succeeded, its channels are posted to a configuration service, so that
 * the dashboards can list them. A failure is a warning, never the file's.
 */
#ifndef POWERVIEW_PUBLISH_H
#define POWERVIEW_PUBLISH_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "powerview/common.h"
#include "powerview/ingest.h"
#include "powerview/known.h"

/* The whole of a publication, connection included: the run waits no longer. */
#define PV_PUBLISH_TIMEOUT_MS 10000L

typedef struct pv_publisher pv_publisher;

/*
 * A publisher for url (CONFIG_API_URL; trailing '/' dropped). Its HTTP
 * handle is its own: no token, no Authorization header, no retry budget
 * (one attempt of at most PV_PUBLISH_TIMEOUT_MS), and once a request gave
 * up (a hang, a refusal, a 5xx) the rest of the run sends nothing more.
 */
int pv_publisher_open(pv_publisher **out, const char *url, pv_err *err);
void pv_publisher_close(pv_publisher *p);

/*
 * v0.4.1's body: {"campaign": <campaign or "">, "channels": [{"fieldId":
 * "<cid>_<unit>", "channelId", "channelUnit", "channelLabel",
 * "deviceMasterSn"}]}, in column order, the channels without a unit or id
 * left out, those without points kept. *count: the channels listed. NULL
 * when out of memory.
 */
cJSON *pv_publish_body(const pv_file_result *r, size_t *count);

/*
 * The same body for the campaign of k->items[first] (k sorted): its
 * channels, fieldId "<id>_<unit>", in the set's order; *next: the first
 * item of the next campaign. NULL when out of memory.
 */
cJSON *pv_publish_known_body(const pv_known *k, size_t first, size_t *next);

/*
 * POST <url>/buckets/<bucket, percent-encoded>/channels with a body
 * already printed: PV_OK on a 2xx answer, else < 0 with err saying why.
 */
int pv_publish_post(pv_publisher *p, const char *bucket, const char *text, pv_err *err);

/*
 * POST <url>/buckets/<bucket, percent-encoded>/channels with that body,
 * unless it lists no channel (then nothing is sent and *count is 0).
 * PV_OK with *count the channels published, or < 0 with err saying why
 * (an answer other than 2xx included).
 */
int pv_publish_channels(pv_publisher *p, const pv_file_result *r, size_t *count, pv_err *err);

#endif

/* Channel publication to the configuration service (CONFIG_API_URL). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "powerview/http.h"
#include "powerview/publish.h"
#include "powerview/report.h"

struct pv_publisher {
	pv_http *http;
};

int
pv_publisher_open(pv_publisher **out, const char *url, pv_err *err)
{
	pv_publisher *p = calloc(1, sizeof(*p));
	pv_http_opts o = {
		.base_url = url,
		.token = NULL,          /* the database's token never goes there */
		.userpwd = NULL,
		.connect_timeout_ms = PV_PUBLISH_TIMEOUT_MS,
		.answer_timeout_ms = PV_PUBLISH_TIMEOUT_MS,
		.timeout_ms = PV_PUBLISH_TIMEOUT_MS,
		.retry_budget_s = 0,    /* one attempt: a run never waits on it more than the timeout */
		.retry_after_max_s = 0,
	};
	int rc;

	*out = NULL;
	if (p == NULL)
		return pv_fail(err, PV_ENOMEM, "out of memory");
	if ((rc = pv_http_open(&p->http, &o, err)) < 0) {
		free(p);
		return rc;
	}
	*out = p;
	return PV_OK;
}

void
pv_publisher_close(pv_publisher *p)
{
	if (p == NULL)
		return;
	pv_http_close(p->http);
	free(p);
}

/* One channel of v0.4.1's body; false when out of memory. */
static bool
add_channel(cJSON *list, const char *field_id, const char *id, const char *unit, const char *label,
    const char *master_sn)
{
	cJSON *c = cJSON_CreateObject();

	if (c == NULL)
		return false;
	cJSON_AddItemToArray(list, c);
	cJSON_AddItemToObject(c, "fieldId", pv_json_string(field_id));
	cJSON_AddItemToObject(c, "channelId", pv_json_string(id));
	cJSON_AddItemToObject(c, "channelUnit", pv_json_string(unit));
	cJSON_AddItemToObject(c, "channelLabel", pv_json_string(label));
	cJSON_AddItemToObject(c, "deviceMasterSn", pv_json_string(master_sn));
	return true;
}

/* {"campaign": campaign, "channels": []}; *list: the array. NULL when out of memory. */
static cJSON *
new_body(const char *campaign, cJSON **list)
{
	cJSON *body = cJSON_CreateObject();

	*list = cJSON_CreateArray();
	if (body == NULL || *list == NULL) {
		cJSON_Delete(body);
		cJSON_Delete(*list);
		return NULL;
	}
	cJSON_AddItemToObject(body, "campaign", pv_json_string(campaign ? campaign : ""));
	cJSON_AddItemToObject(body, "channels", *list);
	return body;
}

cJSON *
pv_publish_body(const pv_file_result *r, size_t *count)
{
	cJSON *list, *body = new_body(r->loc.campaign, &list);

	*count = 0;
	if (body == NULL)
		return NULL;
	for (size_t i = 0; i < r->channels.count; i++) {
		const pv_channel *ch = &r->channels.items[i];

		/* v0.4.1: a channel without an id or a unit is not published */
		if (ch->id == NULL || ch->id[0] == '\0' || ch->unit == NULL || ch->unit[0] == '\0')
			continue;
		/* the field key is "<id>_<unit>" exactly when there is a unit */
		if (!add_channel(list, ch->field_key, ch->id, ch->unit, ch->label,
		    r->master_sn ? r->master_sn : "")) {
			cJSON_Delete(body);
			return NULL;
		}
		(*count)++;
	}
	return body;
}

cJSON *
pv_publish_known_body(const pv_known *k, size_t first, size_t *next)
{
	const char *campaign = k->items[first].campaign;
	cJSON *list, *body = new_body(campaign, &list);
	size_t i;

	*next = first;
	if (body == NULL)
		return NULL;
	for (i = first; i < k->count && strcmp(k->items[i].campaign, campaign) == 0; i++) {
		const pv_known_channel *c = &k->items[i];
		char *field;
		bool ok;

		if (asprintf(&field, "%s_%s", c->id, c->unit) < 0)
			field = NULL;
		ok = field != NULL && add_channel(list, field, c->id, c->unit, c->label, c->master_sn);
		free(field);
		if (!ok) {
			cJSON_Delete(body);
			return NULL;
		}
	}
	*next = i;
	return body;
}

int
pv_publish_post(pv_publisher *p, const char *bucket, const char *text, pv_err *err)
{
	pv_http_resp resp;
	char *ebucket = pv_http_escape(p->http, bucket), *path = NULL;
	int rc;

	if (ebucket == NULL || asprintf(&path, "/buckets/%s/channels", ebucket) < 0) {
		free(ebucket);
		return pv_fail(err, PV_ENOMEM, "out of memory");
	}
	free(ebucket);
	rc = pv_http_request(p->http, &resp, "POST", path, "application/json", NULL, text, strlen(text), err);
	free(path);
	if (rc == PV_OK) {
		if (resp.status < 200 || resp.status > 299) {
			char msg[300];
			pv_http_message(&resp, msg, sizeof(msg));
			rc = pv_fail(err, PV_ETEMP, "HTTP %ld%s%s", resp.status, msg[0] ? ": " : "", msg);
		}
		pv_http_resp_free(&resp);
	}
	return rc;
}

int
pv_publish_channels(pv_publisher *p, const pv_file_result *r, size_t *count, pv_err *err)
{
	char *text;
	cJSON *body;
	int rc;

	*count = 0;
	if (r->loc.company == NULL)
		return pv_fail(err, PV_EDATA, "no bucket");
	if (pv_http_down(p->http) != NULL)
		return pv_fail(err, PV_ETEMP, "not tried: it failed earlier in the run");
	if ((body = pv_publish_body(r, count)) == NULL)
		return pv_fail(err, PV_ENOMEM, "out of memory");
	if (*count == 0) {
		cJSON_Delete(body);
		return PV_OK;
	}
	text = cJSON_PrintUnformatted(body);
	cJSON_Delete(body);
	rc = text ? pv_publish_post(p, r->loc.company, text, err) : pv_fail(err, PV_ENOMEM, "out of memory");
	if (rc < 0)
		*count = 0;
	free(text);
	return rc;
}

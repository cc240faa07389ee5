/* Channel publication to the configuration service (CONFIG_API_URL). */
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

cJSON *
pv_publish_body(const pv_file_result *r, size_t *count)
{
	cJSON *body = cJSON_CreateObject(), *list = cJSON_CreateArray();

	*count = 0;
	if (body == NULL || list == NULL) {
		cJSON_Delete(body);
		cJSON_Delete(list);
		return NULL;
	}
	cJSON_AddItemToObject(body, "campaign", pv_json_string(r->loc.campaign ? r->loc.campaign : ""));
	cJSON_AddItemToObject(body, "channels", list);
	for (size_t i = 0; i < r->channels.count; i++) {
		const pv_channel *ch = &r->channels.items[i];
		cJSON *c;

		/* v0.4.1: a channel without an id or a unit is not published */
		if (ch->id == NULL || ch->id[0] == '\0' || ch->unit == NULL || ch->unit[0] == '\0')
			continue;
		if ((c = cJSON_CreateObject()) == NULL) {
			cJSON_Delete(body);
			return NULL;
		}
		cJSON_AddItemToArray(list, c);
		/* the field key is "<id>_<unit>" exactly when there is a unit */
		cJSON_AddItemToObject(c, "fieldId", pv_json_string(ch->field_key));
		cJSON_AddItemToObject(c, "channelId", pv_json_string(ch->id));
		cJSON_AddItemToObject(c, "channelUnit", pv_json_string(ch->unit));
		cJSON_AddItemToObject(c, "channelLabel", pv_json_string(ch->label));
		cJSON_AddItemToObject(c, "deviceMasterSn", pv_json_string(r->master_sn ? r->master_sn : ""));
		(*count)++;
	}
	return body;
}

int
pv_publish_channels(pv_publisher *p, const pv_file_result *r, size_t *count, pv_err *err)
{
	pv_http_resp resp;
	char *bucket = NULL, *path = NULL, *text = NULL;
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
	bucket = pv_http_escape(p->http, r->loc.company);
	if (text == NULL || bucket == NULL || asprintf(&path, "/buckets/%s/channels", bucket) < 0) {
		path = NULL;
		rc = pv_fail(err, PV_ENOMEM, "out of memory");
		goto out;
	}
	rc = pv_http_request(p->http, &resp, "POST", path, "application/json", NULL, text, strlen(text), err);
	if (rc == PV_OK) {
		if (resp.status < 200 || resp.status > 299) {
			char msg[300];
			pv_http_message(&resp, msg, sizeof(msg));
			rc = pv_fail(err, PV_ETEMP, "HTTP %ld%s%s", resp.status, msg[0] ? ": " : "", msg);
		}
		pv_http_resp_free(&resp);
	}
out:
	if (rc < 0)
		*count = 0;
	free(text);
	free(bucket);
	free(path);
	return rc;
}

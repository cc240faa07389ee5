/* `tsv_parser status`: what the run reports say, and what still waits. */
#ifndef POWERVIEW_STATUS_H
#define POWERVIEW_STATUS_H

#include <cjson/cJSON.h>
#include <stdio.h>

#include "powerview/common.h"

/*
 * Reads every tsv_parser_*.json of `report_dir` and scans `data_dir`:
 * last success per company/campaign/device, the 10 latest errors, files
 * waiting, totals. *out receives the JSON document.
 */
int pv_status_build(cJSON **out, const char *report_dir, const char *data_dir, pv_err *err);

/* The same as a table for a terminal. */
void pv_status_print(const cJSON *status, FILE *fp);

/*
 * Deletes tsv_parser_*.json reports older than `days` (0 keeps them all)
 * and temporary reports a killed run left over a day ago; returns how many.
 */
int pv_status_prune(const char *report_dir, double days);

#endif

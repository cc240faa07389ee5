/* .env files, read the way the original's python-dotenv read them. */
#ifndef POWERVIEW_DOTENV_H
#define POWERVIEW_DOTENV_H

#include "powerview/common.h"

/*
 * Sets each KEY=VALUE of `path` in the environment unless KEY is already
 * set. Accepts `export KEY=...`, '...' (literal but \' and \\), "..." (with
 * \n \t \r \" \\ escapes and ${VAR} expansion), unquoted values with
 * ${VAR} expansion and ` #` comments. Quoted values may span lines.
 * PV_ENOENT when the file does not exist; PV_ECONFIG with file and line
 * for a malformed one, one larger than 1 MiB, a value longer than 64 KiB
 * after expansion, or values adding up to more than 1 MiB.
 */
int pv_dotenv_load(const char *path, pv_err *err);

#endif

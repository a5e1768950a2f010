/*
 * json.h - the one JSON object that `udax info|stat|df|fsck --json`
 * write on stdout.
 *
 * A writer, not a library: members are written as they come, commas
 * and indentation are kept here.  Top-level members go one to a line;
 * a nested object or array is written on one line.  Strings are
 * escaped so that any bytes make valid JSON (see json_string()).
 */
#ifndef UDAX_JSON_H
#define UDAX_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_DEPTH 8    /* containers open at once, the object included */

struct json {
	FILE *f;
	int depth;                 /* open containers */
	bool any[JSON_DEPTH];      /* has the container at depth d a member? */
	char kind[JSON_DEPTH];     /* its bracket, '{' or '[' */
};

/* Write @s (@n bytes) as a JSON string, quotes included. */
void json_string(FILE *f, const char *s, size_t n);

void json_begin(struct json *j, FILE *f);       /* "{" */
void json_end(struct json *j);                  /* "}\n" */
/* @key is NULL for an element of an array. */
void json_open(struct json *j, const char *key, char bracket); /* '{' or '[' */
void json_close(struct json *j);
void json_str(struct json *j, const char *key, const char *v); /* NULL: null */
void json_u64(struct json *j, const char *key, uint64_t v);
void json_i64(struct json *j, const char *key, int64_t v);
void json_bool(struct json *j, const char *key, bool v);
void json_null(struct json *j, const char *key);

#endif

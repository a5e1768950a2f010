/*
 * json.c - writing the JSON object of the --json options (json.h).
 *
 * Names in a pool are bytes, and JSON text is Unicode: a string is
 * written with its valid UTF-8 sequences as they are and every other
 * byte as \u00XX (the byte's Latin-1 reading), so the output is always
 * valid UTF-8 JSON.  ", \ and the control characters U+0000..U+001F
 * and U+007F are escaped (\n, \t, ... where JSON has a short form).
 */
#include <inttypes.h>
#include <string.h>

#include "json.h"

/* Length of the valid UTF-8 sequence at @s (at most @n bytes), or 0
 * (Unicode 15, table 3-7: no overlong forms, no surrogates, nothing
 * above U+10FFFF). */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	size_t len, i;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4;
	else
		return 0;
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

void json_string(FILE *f, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, len;

	putc('"', f);
	while (i < n) {
		unsigned char c = s[i];
		const char *esc = NULL;

		switch (c) {
		case '"': esc = "\\\""; break;
		case '\\': esc = "\\\\"; break;
		case '\b': esc = "\\b"; break;
		case '\f': esc = "\\f"; break;
		case '\n': esc = "\\n"; break;
		case '\r': esc = "\\r"; break;
		case '\t': esc = "\\t"; break;
		}
		if (esc) {
			fputs(esc, f);
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			fprintf(f, "\\u%04x", c);
			i++;
		} else if ((len = utf8_len(s + i, n - i)) == 0) {
			fprintf(f, "\\u%04x", c);   /* not UTF-8: the byte */
			i++;
		} else {
			fwrite(s + i, 1, len, f);
			i += len;
		}
	}
	putc('"', f);
}

/* The comma, line break and indentation before a member, and its key. */
static void member(struct json *j, const char *key)
{
	int d = j->depth - 1;

	if (d < 0)
		return;
	if (j->any[d])
		fputs(d == 0 ? ",\n  " : ", ", j->f);
	else if (d == 0)
		fputs("\n  ", j->f);
	j->any[d] = true;
	if (key) {
		json_string(j->f, key, strlen(key));
		fputs(": ", j->f);
	}
}

void json_begin(struct json *j, FILE *f)
{
	j->f = f;
	j->depth = 0;
	json_open(j, NULL, '{');
}

void json_open(struct json *j, const char *key, char bracket)
{
	member(j, key);
	putc(bracket, j->f);
	j->any[j->depth] = false;
	j->kind[j->depth] = bracket;
	j->depth++;
}

void json_close(struct json *j)
{
	j->depth--;
	if (j->depth == 0 && j->any[0])
		putc('\n', j->f);
	putc(j->kind[j->depth] == '[' ? ']' : '}', j->f);
}

void json_end(struct json *j)
{
	json_close(j);
	putc('\n', j->f);
}

void json_str(struct json *j, const char *key, const char *v)
{
	member(j, key);
	if (v)
		json_string(j->f, v, strlen(v));
	else
		fputs("null", j->f);
}

void json_u64(struct json *j, const char *key, uint64_t v)
{
	member(j, key);
	fprintf(j->f, "%" PRIu64, v);
}

void json_i64(struct json *j, const char *key, int64_t v)
{
	member(j, key);
	fprintf(j->f, "%" PRId64, v);
}

void json_bool(struct json *j, const char *key, bool v)
{
	member(j, key);
	fputs(v ? "true" : "false", j->f);
}

void json_null(struct json *j, const char *key)
{
	member(j, key);
	fputs("null", j->f);
}

/*
 * musl-fortify.c - glibc's _FORTIFY_SOURCE entry points, for the static
 * collie only (meson -Dstatic_collie=true, linked with musl).
 *
 * Debian builds its static libraries with _FORTIFY_SOURCE, so
 * libjansson.a calls __snprintf_chk, __vsnprintf_chk and __strncpy_chk,
 * which glibc has and musl does not. They are what the checked calls
 * promise: the same as the plain function, but abort() when the length
 * given is larger than the object the compiler saw (slen / destlen), as
 * glibc's do (a buffer overflow is a bug, not a runtime error). This file
 * is compiled only into the static collie; the dynamic one gets glibc's.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "banned.h"

/* Declared here: no header has them outside glibc's fortify machinery. */
int __vsnprintf_chk(char *s, size_t maxlen, int flag, size_t slen, const char *fmt, va_list ap);
int __snprintf_chk(char *s, size_t maxlen, int flag, size_t slen, const char *fmt, ...);
char *__strncpy_chk(char *dest, const char *src, size_t len, size_t destlen);

int __vsnprintf_chk(char *s, size_t maxlen, int flag, size_t slen, const char *fmt, va_list ap)
{
	if (maxlen > slen)
		abort();
	return vsnprintf(s, maxlen, fmt, ap);
}

int __snprintf_chk(char *s, size_t maxlen, int flag, size_t slen, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = __vsnprintf_chk(s, maxlen, flag, slen, fmt, ap);
	va_end(ap);
	return r;
}

char *__strncpy_chk(char *dest, const char *src, size_t len, size_t destlen)
{
	if (len > destlen)
		abort();
	return strncpy(dest, src, len);
}

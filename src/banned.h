/*
 * banned.h - functions and constructors collie code must not use.
 *
 * Included LAST in every .c file of the library, the command, the tests'
 * helper and the examples (after the system headers, whose declarations
 * these macros would otherwise break). Each is replaced by a better one:
 * strcpy/strcat/sprintf/vsprintf -> snprintf or explicit lengths;
 * strtok -> strtok_r or a real parser; atoi/atol -> strtol with checks;
 * pipe/dup/accept/epoll_create/signalfd-without-flags are not banned by
 * name (the flags are arguments) but pipe() and dup() are: use pipe2()
 * with O_CLOEXEC and fcntl(F_DUPFD_CLOEXEC) so every fd is born
 * close-on-exec (STYLE.md rule 11).
 */
#ifndef COLLIE_BANNED_H
#define COLLIE_BANNED_H

#define COL_BANNED(func) sorry_##func##_is_banned_in_collie

#undef strcpy
#define strcpy(a, b) COL_BANNED(strcpy)
#undef strcat
#define strcat(a, b) COL_BANNED(strcat)
#undef sprintf
#define sprintf(...) COL_BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) COL_BANNED(vsprintf)
#undef strtok
#define strtok(a, b) COL_BANNED(strtok)
#undef atoi
#define atoi(a) COL_BANNED(atoi)
#undef atol
#define atol(a) COL_BANNED(atol)
#undef atoll
#define atoll(a) COL_BANNED(atoll)
#undef pipe
#define pipe(a) COL_BANNED(pipe)
#undef dup
#define dup(a) COL_BANNED(dup)
#undef epoll_create
#define epoll_create(a) COL_BANNED(epoll_create)
#undef inotify_init
#define inotify_init() COL_BANNED(inotify_init)

#endif

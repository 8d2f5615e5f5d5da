/*
 * check.h - what every unit test shares: the leak checks run around each
 * test, and small helpers to drive the scripted child.
 *
 * Use as:  TestSuite(spawn, .init = check_setup, .fini = check_teardown,
 *                     .timeout = 30);
 * check_teardown() fails the test when it left an fd open that was not
 * open at check_setup(), or left a child of this process (running or
 * zombie).
 */
#ifndef COLLIE_TEST_CHECK_H
#define COLLIE_TEST_CHECK_H

#include <stddef.h>
#include <sys/types.h>

void check_setup(void);
void check_teardown(void);

/* Path of the scripted child (COLLIE_TEST_HELPER), asserted to exist. */
const char *helper_path(void);

/* Children of this process, as listed in /proc/self/task/<tid>/children. */
int count_children(void);

/* Number of zombie processes (state Z) on the system whose parent is pid. */
int count_zombies_of(pid_t ppid);

/* Read fd until EOF into buf (NUL-terminated, at most len-1 bytes). Returns
 * the byte count. Asserts on errors. */
size_t read_all(int fd, char *buf, size_t len);

/* Read fd up to and including the first newline (or EOF) into buf,
 * NUL-terminated. Returns the byte count. Asserts on errors. */
size_t read_line(int fd, char *buf, size_t len);

#endif

/*
 * check.h - what every unit test shares: the leak checks run around each
 * test, and small helpers to drive the scripted child.
 *
 * Write every test as
 *   TEST_NOLEAK(spawn, name, ...) { body }
 * instead of Criterion's Test(): it runs check_setup() before the body and
 * check_teardown() after it, inside the test itself. check_teardown()
 * fails the test when it left an fd open that was not open at
 * check_setup(), or left a child of this process (running or zombie).
 *
 * Why not .init/.fini: Criterion 2.4 ignores what happens in .fini -- a
 * failed assertion, even a crash there, still reports the test as passed
 * -- so a leak check in .fini could never fail. (Checked by hand: a
 * .fini that calls cr_expect(0), _exit(1) or abort() leaves "ok".)
 */
#ifndef COLLIE_TEST_CHECK_H
#define COLLIE_TEST_CHECK_H

#include <stddef.h>
#include <sys/types.h>

#define TEST_NOLEAK(suite, name, ...)            \
	static void suite##_##name##_body(void); \
	Test(suite, name, ##__VA_ARGS__)         \
	{                                        \
		check_setup();                   \
		suite##_##name##_body();         \
		check_teardown();                \
	}                                        \
	static void suite##_##name##_body(void)

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

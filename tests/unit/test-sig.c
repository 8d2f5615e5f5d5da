/*
 * test-sig.c - signal names and parsing.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <string.h>

#include "collie/sig.h"
#include "check.h"

TestSuite(sig, .timeout = 10);

TEST_NOLEAK(sig, names_of_common_signals)
{
	cr_assert_str_eq(col_signal_name(SIGTERM), "SIGTERM");
	cr_assert_str_eq(col_signal_name(SIGKILL), "SIGKILL");
	cr_assert_str_eq(col_signal_name(SIGCHLD), "SIGCHLD");
	cr_assert_null(col_signal_name(0));
	cr_assert_null(col_signal_name(SIGRTMIN));
	cr_assert_null(col_signal_name(1000));
}

TEST_NOLEAK(sig, parse_accepts_the_usual_spellings)
{
	cr_assert_eq(col_signal_parse("TERM"), SIGTERM);
	cr_assert_eq(col_signal_parse("SIGTERM"), SIGTERM);
	cr_assert_eq(col_signal_parse("sigterm"), SIGTERM);
	cr_assert_eq(col_signal_parse("hup"), SIGHUP);
	cr_assert_eq(col_signal_parse("15"), 15);
	cr_assert_eq(col_signal_parse("9"), SIGKILL);
	cr_assert_eq(col_signal_parse("IOT"), SIGABRT);
	cr_assert_eq(col_signal_parse("CLD"), SIGCHLD);
	cr_assert_eq(col_signal_parse("RTMIN"), SIGRTMIN);
	cr_assert_eq(col_signal_parse("RTMIN+2"), SIGRTMIN + 2);
	cr_assert_eq(col_signal_parse("SIGRTMAX-1"), SIGRTMAX - 1);
}

TEST_NOLEAK(sig, parse_rejects_what_is_not_a_signal)
{
	const char *bad[] = { "",	 "0",	      "-1",  "TERMX",  "SIG",  "RTMIN-1",
			      "RTMAX+1", "RTMIN+999", "15x", "100000", " TERM" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(col_signal_parse(bad[i]), -EINVAL, "accepted '%s'", bad[i]);
	cr_assert_eq(col_signal_parse(NULL), -EINVAL);
}

TEST_NOLEAK(sig, format_round_trips_through_parse)
{
	char buf[32];

	for (int s = 1; s <= SIGRTMAX; s++) {
		if (s == 32 || s == 33)
			continue; /* reserved by glibc's threads, below SIGRTMIN */
		cr_assert_gt(col_signal_format(s, buf, sizeof(buf)), 0);
		if (s < SIGRTMIN && !col_signal_name(s))
			continue;
		cr_assert_eq(col_signal_parse(buf), s, "'%s' did not parse back to %d", buf, s);
	}
	col_signal_format(200, buf, sizeof(buf));
	cr_assert_str_eq(buf, "signal 200");
	col_signal_format(SIGRTMIN + 1, buf, sizeof(buf));
	cr_assert_str_eq(buf, "SIGRTMIN+1");
	cr_assert_eq(col_signal_format(SIGTERM, NULL, 4), -EINVAL);
}

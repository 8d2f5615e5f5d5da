/*
 * idle.c - the child that bench/init starts under each init to measure
 * the init's memory while it waits: it says "ready" on stdout, then reads
 * stdin until EOF and exits 0.
 *
 * "ready" tells bench/init that the init has started it (an init's
 * spawning is over once its child runs); EOF, from bench/init closing its
 * end of the pipe, ends it without a signal, so no init's signal
 * forwarding is involved and nothing is killed by pid. Read errors other
 * than EINTR end it too, so it cannot spin.
 */
#include <errno.h>
#include <unistd.h>

#include "banned.h"

int main(void)
{
	static const char ready[] = "ready\n";
	char buf[256];
	ssize_t n;

	if (write(1, ready, sizeof(ready) - 1) != (ssize_t)sizeof(ready) - 1)
		return 1;
	for (;;) {
		n = read(0, buf, sizeof(buf));
		if (n == 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return 1;
	}
}

/*
 * tiny.c - the cheapest program to exec: it exits 0 at once.
 *
 * bench/meson.build links it statically, so its execve maps one file and
 * runs no dynamic loader: what bench/spawn measures with it is the spawn
 * path (clone or fork, the child's setup, execve, exit, reaping), not
 * ld.so resolving libc as it does for /bin/true. It has no includes, so
 * banned.h has nothing to guard.
 */
int main(void)
{
	return 0;
}

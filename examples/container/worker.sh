#!/bin/sh
# The example's worker: polls the web program every few seconds. It runs
# under collie's command language as a plain program (the #! line makes
# the kernel start /bin/sh; collie itself runs no shell for it).
trap 'echo "worker: SIGTERM, finishing"; exit 0' TERM
n=0
while :; do
	n=$((n + 1))
	if python3 -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1], timeout=2)" "$URL"; then
		echo "worker: poll $n: web answers"
	else
		echo "worker: poll $n: web does not answer"
	fi
	sleep 2 &
	wait $!
done

#!/usr/bin/env python3
"""Count individual tests in meson test logs and print 'N passed, N failed'.

Every suite speaks TAP (Criterion with --tap, bats --tap), so each test is
one 'ok' / 'not ok' line in its stdout. A meson test that failed without
printing a single 'not ok' (it crashed, timed out, or never started)
counts as one failure, so nothing is lost from the count. Exits 1 when
anything failed or a log is missing.
"""
import json
import re
import sys

OK = re.compile(r"^ok\b(.*)$")
NOT_OK = re.compile(r"^not ok\b")
SKIP = re.compile(r"#\s*skip", re.IGNORECASE)


def count(path):
    passed = failed = skipped = 0
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = [json.loads(line) for line in f if line.strip()]
    except OSError as e:
        print(f"count-tests: {path}: {e}", file=sys.stderr)
        return 0, 1, 0
    for t in lines:
        out = t.get("stdout") or ""
        nok = 0
        for line in out.splitlines():
            m = OK.match(line)
            if m:
                if SKIP.search(m.group(1)):
                    skipped += 1
                else:
                    passed += 1
            elif NOT_OK.match(line):
                nok += 1
        failed += nok
        if t.get("result") not in ("OK", "SKIP", "EXPECTEDFAIL") and nok == 0:
            print(f"count-tests: {t.get('name')}: {t.get('result')} without a failing test line",
                  file=sys.stderr)
            failed += 1
    return passed, failed, skipped


def main():
    passed = failed = skipped = 0
    for path in sys.argv[1:]:
        p, f, s = count(path)
        passed, failed, skipped = passed + p, failed + f, skipped + s
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

#!/bin/sh
# make check: every test in one run, summed into one closing line.
#   tests/run-all.sh BUILD_DIR SAN_BUILD_DIR [FUZZ_BUILD_DIR]
# Parts: CUnit suites; every scenario (must exit 0); every scenario run twice
# with byte-identical output, trace and pcaps; the pytest interop suite; the
# unit suites and scenarios again under ASan+UBSan; and each libFuzzer
# harness over its seeds and regression inputs, then a short run.
set -u
BUILD=${1:-build}
SAN=${2:-build-san}
FUZZ=${3:-}
PY=/usr/bin/python3
OUT=out/check
PASSED=0
FAILED=0
FAILURES=""

pass() { PASSED=$((PASSED + $1)); }
fail() { FAILED=$((FAILED + $1)); FAILURES="$FAILURES
  $2"; }

rm -rf "$OUT"
mkdir -p "$OUT"

# Record one tool's "P passed, F failed" (and its exit status) under label.
tally() { # label log rc passed failed line
	if [ -z "$4" ] || [ -z "$5" ]; then
		fail 1 "$1: no summary (exit $3), see $2"
		return
	fi
	pass "$4"
	[ "$5" -gt 0 ] && fail "$5" "$1: $5 failed, see $2"
	[ "$3" -ne 0 ] && [ "$5" -eq 0 ] && fail 1 "$1: exit $3, see $2"
	echo "$1: $6"
}

# CUnit prints "tests  TOTAL RAN PASSED FAILED INACTIVE".
cunit() { # name binary
	log="$OUT/$1.log"
	"$2" >"$log" 2>&1
	rc=$?
	line=$(grep -E '^ +tests +[0-9]' "$log")
	p=$(echo "$line" | awk '{print $4}')
	f=$(echo "$line" | awk '{print $5}')
	tally "$1" "$log" "$rc" "$p" "$f" "$p passed, $f failed"
}

# Run every scenario with one binary into DIR/<name>/, all CPUs at once
# (ipsecsim run -j); one test each.  A run that writes to stderr fails.
JOBS=$(nproc 2>/dev/null || echo 2)
scenarios() { # label binary dir
	"$2" run -q -j "$JOBS" -o "$3" scenarios >"$3/stdout" 2>"$3/stderr"
	rc=$?
	line=$(tail -1 "$3/stdout")
	held=$(echo "$line" | sed -n 's/^runs: [0-9]*, \([0-9]*\) held.*/\1/p')
	total=$(ls scenarios/*.scn | wc -l)
	if [ -z "$held" ]; then
		fail 1 "$1: no summary (exit $rc), see $3/stdout"
		return
	fi
	pass "$held"
	[ "$held" -lt "$total" ] && fail $((total - held)) "$1: $((total - held)) failed, see $3/stdout"
	[ -s "$3/stderr" ] && fail 1 "$1: wrote to stderr, see $3/stderr"
	echo "$1: $held of $total scenarios held"
}

echo "== unit tests"
cunit unit "$BUILD/unit-tests"

# ipsecsim vectors prints "N passed, M failed ...".
vectors() { # label binary
	log="$OUT/$1.log"
	"$2" vectors -v >"$log" 2>&1
	rc=$?
	line=$(tail -1 "$log")
	tally "$1" "$log" "$rc" "$(echo "$line" | awk '{print $1}')" \
		"$(echo "$line" | awk '{print $3}')" "$line"
}

echo "== RFC vectors"
vectors vectors "$BUILD/ipsecsim"

echo "== man pages (mandoc -T lint)"
for m in man/*.[0-9]; do
	if mandoc -T lint -W warning "$m" >"$OUT/mandoc.log" 2>&1; then
		pass 1
	else
		fail 1 "mandoc $m: $(head -1 "$OUT/mandoc.log")"
	fi
done
echo "man pages: $(ls man/*.[0-9] | wc -l) checked"

echo "== scenarios"
mkdir -p "$OUT/run1" "$OUT/run2"
scenarios scenarios "$BUILD/ipsecsim" "$OUT/run1"

echo "== determinism (each scenario twice, compared byte for byte)"
# Both runs write to the same directory so the printed paths match too;
# the first with every CPU, the second with one worker: the same bytes.
det="$OUT/det"
rm -rf "$det" "$det.first"
"$BUILD/ipsecsim" run -j "$JOBS" -o "$det" scenarios >"$OUT/det.first.stdout" 2>&1
mv "$det" "$det.first"
"$BUILD/ipsecsim" run -j 1 -o "$det" scenarios >"$OUT/det.second.stdout" 2>&1
same=0
if ! cmp -s "$OUT/det.first.stdout" "$OUT/det.second.stdout"; then
	fail 1 "determinism: the two runs printed differently (diff $OUT/det.first.stdout $OUT/det.second.stdout)"
fi
for s in scenarios/*.scn; do
	name=$(basename "$s" .scn)
	if diff -r "$det.first/$name" "$det/$name" >/dev/null 2>&1; then
		pass 1
		same=$((same + 1))
	else
		fail 1 "determinism $name: second run differs (diff -r $det.first/$name $det/$name)"
	fi
done
echo "determinism: $same of $(ls scenarios/*.scn | wc -l) identical"

echo "== interop (pytest)"
log="$OUT/pytest.log"
IPSECSIM="$PWD/$BUILD/ipsecsim" IPSECSIM_SAN="$PWD/$SAN/ipsecsim" "$PY" -m pytest -q -p no:cacheprovider tests/interop >"$log" 2>&1
rc=$?
tail -1 "$log"
# pytest's last line: "N passed, M failed in Xs" (either part may be absent).
p=$(tail -1 "$log" | grep -oE '[0-9]+ passed' | grep -oE '[0-9]+')
f=$(tail -1 "$log" | grep -oE '[0-9]+ (failed|errors?)' | awk '{s += $1} END {if (NR) print s}')
pass "${p:-0}"
[ -n "${f:-}" ] && [ "${f:-0}" -gt 0 ] && fail "$f" "pytest: $f failed, see $log"
if [ "$rc" -ne 0 ] && [ -z "${f:-}" ]; then fail 1 "pytest: exit $rc, see $log"; fi

echo "== sanitizers (ASan+UBSan)"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
cunit "unit (asan)" "$SAN/unit-tests"
vectors "vectors (asan)" "$SAN/ipsecsim"
mkdir -p "$OUT/san"
scenarios "scenarios (asan)" "$SAN/ipsecsim" "$OUT/san"
# verify, decap and encap on scapy's packets and damaged ones, sanitized
# (the tests that need every scenario's run are left to the plain build)
log="$OUT/validate-san.log"
# (a sanitizer report exits 86, which no test accepts)
IPSECSIM="$PWD/$SAN/ipsecsim" ASAN_OPTIONS="$ASAN_OPTIONS:exitcode=86" \
	UBSAN_OPTIONS="$UBSAN_OPTIONS:exitcode=86" "$PY" -m pytest -q -p no:cacheprovider \
	-k "not every_scenario and not scenario_pcaps" tests/interop/test_validate.py >"$log" 2>&1
rc=$?
echo "validate (asan): $(tail -1 "$log")"
p=$(tail -1 "$log" | grep -oE '[0-9]+ passed' | grep -oE '[0-9]+')
f=$(tail -1 "$log" | grep -oE '[0-9]+ (failed|errors?)' | awk '{s += $1} END {if (NR) print s}')
pass "${p:-0}"
[ -n "${f:-}" ] && [ "${f:-0}" -gt 0 ] && fail "$f" "validate (asan): $f failed, see $log"
if [ "$rc" -ne 0 ] && [ -z "${f:-}" ]; then fail 1 "validate (asan): exit $rc, see $log"; fi

if [ -n "$FUZZ" ]; then
	echo "== fuzz (libFuzzer: seeds and regression inputs, then 1000 runs each)"
	# a fresh corpus each time, and the harnesses' scratch under out/check
	rm -rf "$OUT/fuzz-corpus"
	mkdir -p "$OUT/fuzz-tmp"
	if ! TMPDIR="$PWD/$OUT/fuzz-tmp" tests/fuzz/seeds.sh "$OUT/fuzz-corpus" "$FUZZ" \
		>"$OUT/fuzz-seeds.log" 2>&1; then
		fail 1 "fuzz seeds: tests/fuzz/seeds.sh failed, see $OUT/fuzz-seeds.log"
	fi
	for h in scenario conf safile pfkey packet capture ike; do
		log="$OUT/fuzz-$h.log"
		dict=
		[ -f "tests/fuzz/$h.dict" ] && dict="-dict=tests/fuzz/$h.dict"
		regress=
		[ -d "tests/fuzz/regress/$h" ] && regress="tests/fuzz/regress/$h"
		TMPDIR="$PWD/$OUT/fuzz-tmp" "$FUZZ/fuzz-$h" -runs=1000 -seed=1 $dict \
			-artifact_prefix="$OUT/fuzz-crash-$h-" "$OUT/fuzz-corpus/$h" $regress \
			>"$log" 2>&1
		rc=$?
		done_line=$(grep '^Done' "$log")
		if [ "$rc" -eq 0 ] && [ -n "$done_line" ]; then
			pass 1
			echo "fuzz-$h: $done_line"
		else
			fail 1 "fuzz-$h: exit $rc, see $log"
		fi
	done
fi

if [ "$FAILED" -gt 0 ]; then
	echo
	echo "failures:$FAILURES"
fi
echo
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]

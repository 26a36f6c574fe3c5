#!/usr/bin/python3
"""make mutate: plant each single-line bug of mutants.txt in a scratch copy
of the tree, one at a time, and see whether the tests notice.

For each mutant: apply it, rebuild, run the unit tests, the RFC vectors,
then every shipped scenario; the first that fails (or crashes, or times
out) kills it.
Survivors of those fast layers then face the whole pytest suite.  The end
is a kill table and the kill rate.

    tests/mutation/mutate.py [-k] [NAME ...]

NAME runs only those mutants; -k keeps the scratch tree (out/mutate/tree).
Exit status: 0 every mutant killed, 1 some survived, 2 the list or the
tree is broken (a "from" line not found exactly once, a mutant that does
not compile, a baseline that does not pass).
"""
import os
import pathlib
import shutil
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
LIST = ROOT / "tests" / "mutation" / "mutants.txt"
WORK = ROOT / "out" / "mutate"
TREE = WORK / "tree"
PY = "/usr/bin/python3"

# Each command is bounded: a mutant may turn a loop into one that never
# ends, and that counts as killed (by the timeout).
T_BUILD, T_UNIT, T_SCENARIO, T_PYTEST = 600, 300, 120, 1800

FIELDS = ("name", "file", "from", "to", "what")


class ListError(Exception):
    pass


def parse(path):
    """Blocks of 'key value' lines separated by blank lines; a line that
    starts with white space continues the value before it; # comments."""
    mutants, cur, lineno0, last = [], {}, 0, None
    lines = path.read_text().splitlines() + [""]
    for lineno, line in enumerate(lines, 1):
        if line.startswith("#"):
            continue
        if not line.strip():
            if cur:
                missing = [f for f in FIELDS if f not in cur]
                if missing:
                    raise ListError(f"{path}:{lineno0}: mutant lacks {', '.join(missing)}")
                cur["line"] = lineno0
                mutants.append(cur)
                cur = {}
            continue
        if line[0] in " \t":  # a value runs on
            if not cur:
                raise ListError(f"{path}:{lineno}: a continuation line with nothing before it")
            cur[last] += " " + line.strip()
            continue
        key, _, value = line.partition(" ")
        value = value.strip()
        if key not in FIELDS:
            raise ListError(f"{path}:{lineno}: unknown key '{key}' ({', '.join(FIELDS)})")
        if key in cur:
            raise ListError(f"{path}:{lineno}: '{key}' given twice")
        if not cur:
            lineno0 = lineno
        cur[key] = value
        last = key
    names = [m["name"] for m in mutants]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise ListError(f"{path}: names used twice: {', '.join(sorted(dup))}")
    return mutants


def check_applies(m, tree):
    text = (tree / m["file"]).read_text()
    n = text.count(m["from"])
    if n != 1:
        raise ListError(f"{LIST}:{m['line']}: {m['name']}: 'from' occurs {n} times in "
                        f"{m['file']} (it must occur once)")
    if m["from"] == m["to"]:
        raise ListError(f"{LIST}:{m['line']}: {m['name']}: 'to' is the same as 'from'")


def sh(args, timeout, cwd=TREE, env=None):
    """(exit status, output); a timeout is status -9 with a note."""
    try:
        r = subprocess.run(args, cwd=cwd, env=env, timeout=timeout, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, errors="replace")
        return r.returncode, r.stdout
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        return -9, out + f"\n(timed out after {timeout} s)"


def build():
    return sh(["make", "-s", "--no-print-directory", "ipsecsim", "build/unit-tests"], T_BUILD)


def copy_tree():
    """The working tree as it is (committed or not), without build output."""
    if TREE.exists():
        shutil.rmtree(TREE)
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT,
                           check=True, capture_output=True, text=True).stdout.splitlines()
    for f in files:
        src = ROOT / f
        if not src.is_file():
            continue
        dst = TREE / f
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dst)


def fast_layers():
    """What killed the built mutant in the unit tests, the vectors or a
    scenario, or None."""
    rc, out = sh(["build/unit-tests"], T_UNIT)
    if rc != 0:
        if rc == -9:
            return "unit tests (timeout)"
        # CUnit: "Suite esp, Test each failure has its counter had failures:"
        for line in out.splitlines():
            if line.lstrip().startswith("Suite ") and line.rstrip().endswith("had failures:"):
                return "unit " + line.strip()[len("Suite "):-len(" had failures:")]
        return f"unit tests (exit {rc})"
    rc, _ = sh(["./ipsecsim", "vectors"], T_UNIT)
    if rc != 0:
        return "vectors" + (" (timeout)" if rc == -9 else "")
    for scn in sorted((TREE / "scenarios").glob("*.scn")):
        rc, _ = sh(["./ipsecsim", "run", "-q", "-o", str(WORK / "run" / scn.stem),
                    str(scn.relative_to(TREE))], T_SCENARIO)
        if rc != 0:
            return f"scenario {scn.stem}" + (" (timeout)" if rc == -9 else "")
    return None


def pytest_layer():
    env = dict(os.environ, IPSECSIM=str(TREE / "ipsecsim"))
    # (test_mutation.py checks the list against the tree, which the mutant
    # has just changed: it would kill every mutant)
    rc, out = sh([PY, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider",
                  "--ignore=tests/interop/test_mutation.py", "tests/interop"],
                 T_PYTEST, env=env)
    if rc == 0:
        return None
    if rc == -9:
        return "pytest (timeout)"
    for line in out.splitlines():
        if line.startswith(("FAILED ", "ERROR ")):
            return "pytest " + line.split()[1].split("::")[-1]
    return f"pytest (exit {rc})"


class Mutant:
    def __init__(self, m):
        self.m = m
        self.path = TREE / m["file"]
        self.orig = self.path.read_text()

    def __enter__(self):
        self.path.write_text(self.orig.replace(self.m["from"], self.m["to"], 1))
        return self

    def __exit__(self, *exc):
        self.path.write_text(self.orig)
        os.utime(self.path)  # newer than the mutant's object: rebuilt next time


def main(argv):
    keep = "-k" in argv
    want = [a for a in argv if a != "-k"]
    try:
        mutants = parse(LIST)
        unknown = set(want) - {m["name"] for m in mutants}
        if unknown:
            raise ListError(f"no such mutant: {', '.join(sorted(unknown))}")
        if want:
            mutants = [m for m in mutants if m["name"] in want]
        WORK.mkdir(parents=True, exist_ok=True)
        copy_tree()
        for m in mutants:
            check_applies(m, TREE)
    except ListError as e:
        print(f"mutate: {e}", file=sys.stderr)
        return 2

    t0 = time.monotonic()
    rc, out = build()
    if rc != 0:
        print(out + "\nmutate: the tree does not build as it is", file=sys.stderr)
        return 2
    base = fast_layers()
    if base:
        print(f"mutate: the tree as it is fails ({base}): fix that first", file=sys.stderr)
        return 2
    print(f"baseline: builds, unit tests, vectors and every scenario pass "
          f"({time.monotonic() - t0:.0f} s)")

    killed, errors = {}, []
    for m in mutants:
        with Mutant(m):
            rc, out = build()
            if rc != 0:
                errors.append(f"{LIST}:{m['line']}: {m['name']}: does not compile:\n{out}")
                continue
            killed[m["name"]] = fast_layers()
        print(f"  {m['name']}: {killed[m['name']] or 'survived the fast layers'}",
              flush=True)
    survivors = [m for m in mutants if m["name"] in killed and not killed[m["name"]]]
    if survivors:
        print(f"pytest for {len(survivors)} survivor(s)")
    for m in survivors:
        with Mutant(m):
            build()
            killed[m["name"]] = pytest_layer()
        print(f"  {m['name']}: {killed[m['name']] or 'SURVIVED'}", flush=True)
    build()  # leave the scratch tree built as it is

    width = max([len(m["name"]) for m in mutants] + [6])
    print(f"\n{'mutant':<{width}}  {'file':<22}  killed by")
    for m in mutants:
        if m["name"] in killed:
            print(f"{m['name']:<{width}}  {m['file']:<22}  {killed[m['name']] or 'SURVIVED'}")
    n = len(killed)
    k = sum(1 for v in killed.values() if v)
    rate = 100.0 * k / n if n else 0.0
    print(f"\nkill rate: {k} of {n} ({rate:.1f}%) in {time.monotonic() - t0:.0f} s")
    for e in errors:
        print(f"mutate: {e}", file=sys.stderr)
    if not keep:
        shutil.rmtree(WORK, ignore_errors=True)
    if errors:
        return 2
    return 0 if k == n else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

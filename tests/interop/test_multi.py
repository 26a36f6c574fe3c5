"""Several runs in one `ipsecsim run`: files and directories, -j workers,
--seeds sweeps with their summary, --shard slices, one merged JUnit file,
the worst exit status (docs/scenario-language.md, "Running many")."""
import csv
import filecmp
import json
import xml.etree.ElementTree as ET

import pytest

from conftest import run

PING = """\
node a b
link l a=10.0.0.1/24 b=10.0.0.2/24 delay 1ms loss {loss}%
at 1s ping a 10.0.0.2 count 20 interval 10ms quiet
end 3s
expect a icmp.inhist.echoreply == {replies}
expect a icmp.outhist.echo == 20
"""


def make_dir(tmp_path, scenarios):
    d = tmp_path / "scn"
    d.mkdir()
    for name, text in scenarios.items():
        (d / f"{name}.scn").write_text(text)
    return d


def trees_equal(a, b):
    c = filecmp.dircmp(a, b)
    if c.left_only or c.right_only or c.diff_files or c.funny_files:
        return False
    return all(trees_equal(a / s, b / s) for s in c.common_dirs)


def test_workers_do_not_change_a_byte(ipsecsim, tmp_path):
    d = make_dir(tmp_path, {f"p{i}": PING.format(loss=i * 5, replies=20) for i in range(6)})
    outs = {}
    for j in (1, 4):
        r = run(ipsecsim, "run", "-j", str(j), "-o", tmp_path / f"o{j}", "--junit",
                tmp_path / f"j{j}.xml", d)
        outs[j] = r
    assert outs[1].returncode == outs[4].returncode == 1  # the lossy ones lose replies
    same = lambda r, j: (r.stdout.replace(f"/o{j}/", "/o/").replace(f"/j{j}.xml", "/j.xml"),
                         r.stderr)
    assert same(outs[1], 1) == same(outs[4], 4)
    assert trees_equal(tmp_path / "o1", tmp_path / "o4")
    assert (tmp_path / "j1.xml").read_bytes() == (tmp_path / "j4.xml").read_bytes()
    # each run under its own -o DIR/<scenario name>/, in sorted order
    assert sorted(p.name for p in (tmp_path / "o1").iterdir()) == [f"p{i}" for i in range(6)]
    assert outs[1].stdout.index("scenario p0") < outs[1].stdout.index("scenario p5")
    assert outs[1].stdout.endswith(f"wrote {tmp_path}/j1.xml\n"
                                   "runs: 6, 1 held, 5 failed, 0 did not load or stopped\n")


def test_seed_sweep_summary(ipsecsim, tmp_path):
    """Over 20 seeds, 10% loss: the replies vary, the requests do not; the
    summary says on how many seeds each expectation held, and the CSV and
    JSON summaries hold every run's verdicts and values."""
    d = make_dir(tmp_path, {"lossy": PING.format(loss=10, replies=18)})
    r = run(ipsecsim, "run", "-q", "--seeds", "1..20", "-o", tmp_path / "o", "--summary",
            tmp_path / "s.csv", "--junit", tmp_path / "j.xml", d / "lossy.scn")
    assert r.returncode == 1
    rows = list(csv.DictReader(open(tmp_path / "s.csv")))
    assert len(rows) == 40 and {r["seed"] for r in rows} == {str(s) for s in range(1, 21)}
    replies = [r for r in rows if "echoreply" in r["expectation"]]
    held = sum(r["held"] == "1" for r in replies)
    assert all(r["held"] == "1" for r in rows if "outhist" in r["expectation"])
    assert f"seeds: {d}/lossy.scn: 20 runs; 1 of 2 expectations held on every seed" \
        in r.stdout
    assert f"{d}/lossy.scn:5: expect a icmp.inhist.echoreply == 18: held on {held} of 20 " \
           f"seeds; failed on seed" in r.stdout
    assert 0 < held < 20
    # the output directories and the JUnit suites name the seed
    assert sorted(p.name for p in (tmp_path / "o" / "lossy").iterdir()) == \
        sorted(f"seed-{s}" for s in range(1, 21))
    suites = ET.parse(tmp_path / "j.xml").getroot().findall("testsuite")
    assert [s.get("name") for s in suites] == [f"lossy seed {s}" for s in range(1, 21)]
    # the same as JSON
    r2 = run(ipsecsim, "run", "-q", "--seeds", "3,1,2", "-o", tmp_path / "o2", "--summary",
             tmp_path / "s.json", d / "lossy.scn")
    j = json.loads((tmp_path / "s.json").read_text())
    assert [(x["seed"], x["where"]) for x in j] == \
        [(s, f"{d}/lossy.scn:{line}") for s in (3, 1, 2) for line in (5, 6)]
    assert all(isinstance(x["held"], bool) for x in j)
    assert r2.returncode in (0, 1)


def test_shards_partition_the_work(ipsecsim, tmp_path):
    d = make_dir(tmp_path, {f"p{i}": PING.format(loss=0, replies=20) for i in range(4)})
    seen = []
    for i in (1, 2, 3):
        r = run(ipsecsim, "run", "-q", "--shard", f"{i}/3", "--seeds", "1..5", "-o",
                tmp_path / "o", "--junit", tmp_path / f"s{i}.xml", d)
        assert r.returncode == 0, r.stdout + r.stderr
        seen.append([s.get("name") for s in ET.parse(tmp_path / f"s{i}.xml").getroot()])
    every = [f"p{i} seed {s}" for i in range(4) for s in range(1, 6)]
    assert sorted(sum(seen, [])) == sorted(every)  # each run once, in exactly one shard
    assert all(len(x) in (6, 7) for x in seen)
    assert seen[0][:2] == ["p0 seed 1", "p0 seed 4"]


def test_worst_exit_status_and_load_errors(ipsecsim, tmp_path):
    d = make_dir(tmp_path, {"a-good": PING.format(loss=0, replies=20),
                            "b-bad": PING.format(loss=0, replies=19),
                            "c-broken": "node a\nbogus\n"})
    r = run(ipsecsim, "run", "-q", "-o", tmp_path / "o", "--junit", tmp_path / "j.xml", d)
    assert r.returncode == 2
    assert r.stdout.endswith(f"wrote {tmp_path}/j.xml\n"
                             "runs: 3, 1 held, 1 failed, 1 did not load or stopped\n")
    assert f"{d}/c-broken.scn:2: unknown statement 'bogus'" in r.stderr
    root = ET.parse(tmp_path / "j.xml").getroot()
    assert [s.get("name") for s in root] == ["a-good", "b-bad", "c-broken"]
    assert root.get("tests") == "5" and root.get("failures") == "2"


@pytest.mark.parametrize("args,message", [
    (["--seeds", "5..1"], "--seeds wants A..B (at most a million) or A,B,C, not '5..1'"),
    (["--seeds", "1,x"], "--seeds wants A..B (at most a million) or A,B,C, not '1,x'"),
    (["-j", "0"], "-j wants 1 to 1024 workers, not '0'"),
    (["--shard", "4/3"], "--shard wants I/N with 1 <= I <= N, not '4/3'"),
    (["--seeds", "1..2", "--report", "r.html"], "--report is for one run at a time"),
    (["--seeds", "1..2", "--seed", "7"], "--seed with --seeds is for one run at a time"),
], ids=["backwards", "not-a-number", "no-workers", "shard", "report", "seed"])
def test_multi_errors(ipsecsim, tmp_path, args, message):
    d = make_dir(tmp_path, {"p": PING.format(loss=0, replies=20)})
    r = run(ipsecsim, "run", *args, d)
    assert r.returncode == 2
    assert r.stderr.startswith(f"ipsecsim run: {message}"), r.stderr


def test_a_missing_path(ipsecsim, tmp_path):
    r = run(ipsecsim, "run", "-j", "2", tmp_path / "nowhere")
    assert r.returncode == 2
    assert r.stderr == f"ipsecsim run: {tmp_path}/nowhere: No such file or directory\n"


def test_junit_merge_joins_shards(ipsecsim, tmp_path):
    """The shards' JUnit files joined: every suite once, the totals summed,
    and the exit status of the worst (a failure, then a load error)."""
    d = make_dir(tmp_path, {"p0": PING.format(loss=0, replies=20),
                            "p1": PING.format(loss=0, replies=19)})
    for i in (1, 2):
        run(ipsecsim, "run", "-q", "--shard", f"{i}/2", "-o", tmp_path / "o", "--junit",
            tmp_path / f"s{i}.xml", d)
    r = run(ipsecsim, "junit-merge", "-o", tmp_path / "all.xml", tmp_path / "s1.xml",
            tmp_path / "s2.xml")
    assert r.returncode == 1, r.stderr
    root = ET.parse(tmp_path / "all.xml").getroot()
    assert [s.get("name") for s in root] == ["p0", "p1"]
    assert (root.get("tests"), root.get("failures")) == ("4", "1")
    (tmp_path / "broken.scn").write_text("node a\nbogus\n")
    run(ipsecsim, "run", "--junit", tmp_path / "b.xml", tmp_path / "broken.scn")
    r = run(ipsecsim, "junit-merge", "-o", tmp_path / "all2.xml", tmp_path / "s1.xml",
            tmp_path / "b.xml")
    assert r.returncode == 2
    (tmp_path / "junk.xml").write_text("<html/>")
    r = run(ipsecsim, "junit-merge", "-o", tmp_path / "all3.xml", tmp_path / "junk.xml")
    assert r.returncode == 2
    assert r.stderr == f"ipsecsim: {tmp_path}/junk.xml: not a JUnit file of ipsecsim's\n"
    r = run(ipsecsim, "junit-merge", tmp_path / "s1.xml")
    assert r.returncode == 2 and r.stderr.startswith("usage: ipsecsim junit-merge")


def test_junit_files_validate_against_the_schema(ipsecsim, tmp_path):
    """What Jenkins and GitLab read (tests/interop/junit.xsd): a single run,
    a failing one with test cases, a load error, a sweep's merged file and
    junit-merge's output all validate; a file that breaks the format does
    not (the check can fail)."""
    from lxml import etree
    from conftest import ROOT
    schema = etree.XMLSchema(etree.parse(str(ROOT / "tests" / "interop" / "junit.xsd")))
    d = make_dir(tmp_path, {"p0": PING.format(loss=0, replies=20),
                            "p1": PING.format(loss=10, replies=20),
                            "p2": "node a\nbogus\n",
                            "p3": "node a\ntestcase one\nexpect a ip.total == 0\n"
                                  "testcase two\nexpect a ip.total == 1\n"})
    files = []
    for name in ("p0", "p1", "p2", "p3"):
        run(ipsecsim, "run", "-o", tmp_path / "o" / name, "--junit", tmp_path / f"{name}.xml",
            d / f"{name}.scn")
        files.append(tmp_path / f"{name}.xml")
    run(ipsecsim, "run", "-q", "--seeds", "1..3", "-o", tmp_path / "sw", "--junit",
        tmp_path / "sweep.xml", d)
    run(ipsecsim, "junit-merge", "-o", tmp_path / "merged.xml", *files)
    for f in files + [tmp_path / "sweep.xml", tmp_path / "merged.xml"]:
        doc = etree.parse(str(f))
        assert schema.validate(doc), (f, schema.error_log)
    bad = etree.fromstring(b'<testsuites><testsuite tests="1"><testcase/></testsuite>'
                           b'</testsuites>')
    assert not schema.validate(bad)


def test_runs_keep_their_output_in_tmpdir(ipsecsim, tmp_path):
    """The runs' output waits in a directory of $TMPDIR (as mktemp(1)), and
    only there: with a TMPDIR that does not exist nothing runs, and the
    message names it; with one that does, it is left empty afterwards.
    Without --junit too: each run's child crashed there once (it compared
    the files it wrote with a JUnit path it did not have)."""
    import os
    import subprocess
    d = make_dir(tmp_path, {"a": PING.format(loss=0, replies=20),
                            "b": PING.format(loss=0, replies=20)})
    env = dict(os.environ, TMPDIR=str(tmp_path / "nowhere"))
    r = subprocess.run([str(ipsecsim), "run", "-o", str(tmp_path / "o"), str(d)], env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    assert r.stderr == (f"ipsecsim run: cannot make a directory in {tmp_path}/nowhere: "
                        "No such file or directory\n")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    env["TMPDIR"] = str(scratch)
    r = subprocess.run([str(ipsecsim), "run", "-o", str(tmp_path / "o"), str(d)], env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.endswith("runs: 2, 2 held, 0 failed, 0 did not load or stopped\n")
    assert r.stdout.count("end at 3.000000000 s: 2 expectations, 2 held, 0 failed") == 2
    assert list(scratch.iterdir()) == []

"""docs/tutorial.md as written: its scenario snippets, added up, run after
every step; each command of its console blocks runs in order in the same
directory with the exit status it shows (0 unless `# exit N`), and the
output lines it shows appear in that order in what the command printed
(`...` stands for lines left out)."""
import os
import re
import subprocess

from conftest import ROOT, run

BLOCK = re.compile(r"^```(scn|console)\n(.*?)^```", re.S | re.M)


def commands(block):
    """[(command, expected status, [expected lines])] of a console block."""
    out = []
    for line in block.splitlines():
        if line.startswith("$ "):
            cmd = line[2:]
            m = re.search(r"#\s*exit (\d+)\s*$", cmd)
            out.append((cmd, int(m.group(1)) if m else 0, []))
        elif out:
            out[-1][2].append(line)
    return out


def in_order(want, got):
    """Each wanted line (not `...`) is a line of got, after the one before."""
    it = iter(got)
    return all(any(g == w for g in it) for w in want if w != "...")


def test_tutorial(ipsecsim, tmp_path):
    text = (ROOT / "docs/tutorial.md").read_text()
    blocks = BLOCK.findall(text)
    assert [k for k, _ in blocks].count("scn") == 9
    # `ipsecsim` in the commands is the binary under test
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "ipsecsim").symlink_to(os.path.abspath(ipsecsim))
    env = dict(os.environ, PATH=f"{bindir}:{os.environ['PATH']}")
    scn = tmp_path / "hub.scn"
    scn.write_text("")
    ran = 0
    for kind, body in blocks:
        if kind == "scn":
            scn.write_text(scn.read_text() + body)
            r = run(ipsecsim, "run", "-q", "-o", "out/hub", "hub.scn", cwd=tmp_path)
            assert r.returncode == 0, body + r.stdout + r.stderr
            continue
        for cmd, status, want in commands(body):
            r = subprocess.run(["bash", "-c", cmd + " 2>&1"], cwd=tmp_path, env=env,
                               capture_output=True, text=True, timeout=300)
            assert r.returncode == status, (cmd, r.stdout[-3000:])
            got = r.stdout.splitlines()
            assert in_order(want, got), (cmd, want, r.stdout[-3000:])
            ran += 1
    assert ran == 10

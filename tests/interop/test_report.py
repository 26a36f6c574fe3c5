"""The HTML report (docs/report.md): well-formed, every expectation in it,
one arrow per frame the links delivered in the window, drops, attacks and
PF_KEY messages on the timeline, the same bytes for the same run; and a
real browser (headless Chromium) renders it without complaint."""
import html.parser
import os
import re
import shutil
import subprocess

import pytest

from conftest import ROOT, run

VOID = {"meta", "input", "br", "img", "hr", "link"}
SVG_LEAVES = {"line", "circle", "path"}


class Checker(html.parser.HTMLParser):
    """Balanced tags (HTML's void elements and SVG's self-closed leaves
    apart), and the tags and attributes seen."""

    def __init__(self):
        super().__init__()
        self.stack, self.errors, self.tags = [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()


def parse(path):
    c = Checker()
    c.feed(path.read_text())
    c.close()
    assert c.errors == [] and c.stack == [], (c.errors, c.stack)
    return c


SCN = """\
node a r b
link l1 a=10.0.1.1/24 r.e0=10.0.1.254/24 delay 1ms
link l2 r.e1=10.0.2.254/24 b=10.0.2.1/24 delay 1ms
sysctl r net.inet.ip.forwarding=1
route a default via 10.0.1.254
route b default via 10.0.2.254
K="enc aes-128-gcm enckey 0x0102030405060708090a0b0c0d0e0f1011121314:0x1102030405060708090a0b0c0d0e0f1011121314"
ipsec a {{
	esp transport from 10.0.1.1 to 10.0.2.1 spi 0x100:0x101 $K replay 32
	flow esp from 10.0.1.1 to 10.0.2.1
	flow esp from 10.0.1.1 to 10.0.2.99
}}
ipsec b {{
	esp transport from 10.0.1.1 to 10.0.2.1 spi 0x100:0x101 $K replay 32
	flow esp from 10.0.2.1 to 10.0.1.1
}}
listen a pfkey mon register esp
{report}
at 1s ping a 10.0.2.1 count 3 interval 100ms quiet
at 2s replay l2 esp 1
at 2500ms ping a 10.0.9.9 count 1 quiet
at 2600ms ping a 10.0.2.99 count 1 quiet
end 3s
expect b esp.replay == 1
expect a icmp.inhist.echoreply == 3
expect b udp.ipackets == 0
"""


def run_scn(ipsecsim, tmp_path, report="report report.html", extra_args=()):
    scn = tmp_path / "t.scn"
    scn.write_text(SCN.format(report=report))
    r = run(ipsecsim, "run", "-o", tmp_path / "out", "--stats", *extra_args, scn)
    assert r.returncode == 0, r.stdout + r.stderr
    return r


def delivered(stats):
    return sum(int(m) for m in re.findall(r"^  link\.delivered +(\d+)$", stats, re.M))


def test_report_structure(ipsecsim, tmp_path):
    r = run_scn(ipsecsim, tmp_path)
    out = tmp_path / "out" / "report.html"
    assert f"wrote {out}" in r.stdout
    c = parse(out)
    text = out.read_text()
    # every expectation, with its verdict and line
    rows = [a for t, a in c.tags if t == "tr" and a.get("class") in ("held", "failed")]
    assert len(rows) == 3
    for line, e in [(24, "expect b esp.replay == 1"), (25, "expect a icmp.inhist.echoreply == 3"),
                    (26, "expect b udp.ipackets == 0")]:
        assert f"<td>{tmp_path}/t.scn:{line}</td><td>{e}</td>" in text
    # one arrow per frame the links delivered, all of them in the window
    arrows = [a for t, a in c.tags if t == "line" and a.get("class") == "arrow"]
    assert len(arrows) == delivered(r.stdout) > 0
    assert f"{len(arrows)} frames in the window" in text
    # the tunnel, the drops (the replay, no route), the attack, PF_KEY's
    assert "ESP 0x00000100 a&gt;b, 0x00000101 back, aes-gcm/gmac-aes-128" in text
    assert "b drops: esp.replay" in text
    assert "r drops: ip.noroute" in text
    assert "a kernel: SADB_ACQUIRE esp" in text
    assert "a drops: ipsec.acquiring" in text
    assert "l2: attack replay" in text
    kinds = [a["data-kind"] for t, a in c.tags if t == "g" and "data-kind" in a]
    assert kinds.count("event") == text.count('class="row drop"') + \
        text.count('class="row attack"') + text.count('class="row pfkey"')
    # no script or style from anywhere else
    assert "src=" not in text and "href=" not in text and "@import" not in text


def test_report_is_deterministic(ipsecsim, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    run_scn(ipsecsim, a)
    run_scn(ipsecsim, b)
    ta = (a / "out" / "report.html").read_text().replace(str(a), "X")
    tb = (b / "out" / "report.html").read_text().replace(str(b), "X")
    assert ta == tb


def test_window_and_cli(ipsecsim, tmp_path):
    """`report FILE from T to T` keeps the rows of that window; --report
    names the file (from the current directory) for the whole run."""
    run_scn(ipsecsim, tmp_path, "report w.html from 1.05s to 1.15s")
    c = parse(tmp_path / "out" / "w.html")
    times = [float(m) for m in re.findall(r'<text class="time" x="4" y="\d+">([0-9.]+)</text>',
                                           (tmp_path / "out" / "w.html").read_text())]
    assert times and all(1.05 <= t <= 1.15 for t in times)
    assert len([a for t, a in c.tags if t == "line" and a.get("class") == "arrow"]) == 4
    cli = tmp_path / "cli.html"
    r = run_scn(ipsecsim, tmp_path, "", ("--report", cli))
    assert f"wrote {cli}" in r.stdout
    assert len([a for t, a in parse(cli).tags if t == "line" and a.get("class") == "arrow"]) \
        == delivered(r.stdout)


def test_long_runs_are_cut_and_say_so(ipsecsim, tmp_path):
    scn = tmp_path / "t.scn"
    scn.write_text("node a b\nlink l a=10.0.0.1/24 b=10.0.0.2/24\nlisten b udp 9\n"
                   "report r.html\nat 1s udp a 10.0.0.2:9 count 2500 interval 1ms quiet\n"
                   "end 5s\n")
    r = run(ipsecsim, "run", "-o", tmp_path / "out", scn)
    assert r.returncode == 0, r.stderr
    text = (tmp_path / "out" / "r.html").read_text()
    assert "2502 frames in the window (from 0.000000000 s to the end); 2000 rows drawn, 502 more " \
           "not drawn (at most 2000 rows: narrow the window" in text
    assert text.count('class="arrow"') == 2000


@pytest.mark.parametrize("line,message", [
    ("report", "usage: report FILE [from TIME] [to TIME] [nodes NODE,NODE...]"),
    ("report r.html from 1", "bad value '1' for from: a time with its unit, ns, us, ms, s, m "
     "or h, written right after the number (such as 1.5s, 250ms or 10m), at most "
     "18446744073.709551615s"),
    ("report r.html since 1s", "unknown word 'since'; usage: report FILE [from TIME] [to TIME] "
     "[nodes NODE,NODE...]"),
    ("report r.html from 2s to 1s", "the window ends (to 1s) before it starts (from ...)"),
    ("report r.html\nreport s.html", "one report a run: there is a report statement already"),
    ("report r.html nodes a,zz", "report nodes: unknown node 'zz'"),
], ids=["usage", "bad-time", "bad-word", "backwards", "two", "unknown-node"])
def test_report_statement_errors(ipsecsim, tmp_path, line, message):
    scn = tmp_path / "t.scn"
    scn.write_text("node a\nend 1s\n" + line + "\n")
    r = run(ipsecsim, "run", "-o", tmp_path / "out", scn)
    assert r.returncode == 2
    n = len(scn.read_text().splitlines())
    assert r.stderr == f"{scn}:{n}: {message}\n"


def test_chromium_renders_the_demo_report(ipsecsim, tmp_path):
    """Headless Chromium loads the demo's report from disk: the DOM it
    builds holds every expectation and both SVGs at their sizes, the page
    logs no error, and a screenshot is taken (kept in the test's
    directory, and in $IPSECSIM_SCREENSHOT when set)."""
    assert shutil.which("chromium"), "no chromium: tools/install-deps installs it"
    r = run(ipsecsim, "run", "-o", tmp_path / "demo", ROOT / "scenarios" / "demo.scn")
    assert r.returncode == 0, r.stdout + r.stderr
    report = tmp_path / "demo" / "report.html"
    url = "file://" + str(report)
    base = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
            "--user-data-dir=" + str(tmp_path / "profile")]
    dom = subprocess.run(base + ["--enable-logging=stderr", "--v=0", "--dump-dom", url],
                         capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr
    expects = re.findall(r"^expect .*$", (ROOT / "scenarios" / "demo.scn").read_text(), re.M)
    assert expects and all(f"<td>{e.replace('>', '&gt;')}</td>" in dom.stdout for e in expects)
    assert re.search(r'<svg id="topology"[^>]* width="\d+" height="\d+"', dom.stdout)
    assert re.search(r'<svg id="ladder"[^>]* width="\d+" height="\d+"', dom.stdout)
    assert "CONSOLE" not in dom.stderr and "Uncaught" not in dom.stderr, dom.stderr
    shot = tmp_path / "report.png"
    s = subprocess.run(base + ["--window-size=1400,1600", "--screenshot=" + str(shot), url],
                       capture_output=True, text=True, timeout=120)
    assert s.returncode == 0 and shot.stat().st_size > 50000, s.stderr
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert int.from_bytes(png[16:20], "big") == 1400  # the width asked for
    if os.environ.get("IPSECSIM_SCREENSHOT"):
        shutil.copy(shot, os.environ["IPSECSIM_SCREENSHOT"])


def test_big_topologies_are_capped(ipsecsim, tmp_path):
    """250 hosts on a switch: 200 nodes drawn, and the report says so."""
    hosts = [f"h{i}" for i in range(250)]
    ends = " \\\n".join(f"{h}=10.0.{i // 200}.{i % 200 + 1}/16" for i, h in enumerate(hosts))
    scn = tmp_path / "t.scn"
    scn.write_text(f"node {' '.join(hosts)}\nswitch lan {ends}\nreport r.html\n"
                   "at 1s ping h0 10.0.1.50 quiet\nend 2s\n")
    r = run(ipsecsim, "run", "-o", tmp_path / "out", scn)
    assert r.returncode == 0, r.stdout + r.stderr
    c = parse(tmp_path / "out" / "r.html")
    text = (tmp_path / "out" / "r.html").read_text()
    assert "200 of 250 nodes drawn (at most 200)." in text
    assert len([a for t, a in c.tags if t == "circle" and a.get("class") == "node"]) == 200


def test_chosen_nodes(ipsecsim, tmp_path):
    """nodes a,r: only the frames between a and r (and what happens at
    them): the l1 link's deliveries, and r's drop; none of b's."""
    r = run_scn(ipsecsim, tmp_path, "report n.html nodes a,r")
    text = (tmp_path / "out" / "n.html").read_text()
    l1 = re.search(r"^link l1\n(?:  .*\n)*?  link\.delivered +(\d+)$", r.stdout, re.M)
    assert text.count('class="arrow"') == int(l1.group(1))
    assert '<text class="colhead"' in text and ">b</text>" not in text.split("<h2>Ladder")[1]
    assert "r drops: ip.noroute" in text and "b drops" not in text

"""ipsecsim vectors: every carried case passes, a wrong byte fails, a
malformed file is refused."""
from conftest import ROOT, run


def test_every_carried_vector_passes(ipsecsim):
    r = run(ipsecsim, "vectors", cwd=ROOT)
    assert r.returncode == 0, r.stdout
    assert r.stdout.splitlines()[-1] == (
        "92 passed, 0 failed (12 cases for algorithms we do not carry, "
        "each explained in its file)")


def test_a_wrong_byte_fails(ipsecsim, tmp_path):
    text = (ROOT / "vectors" / "rfc7634.vec").read_text()
    # flip the last ICV nibble of RFC 7634 A: sealing no longer matches
    bad = text.replace("icv: 76aaa8266b7fb0f7b11b369907e1ad43",
                       "icv: 76aaa8266b7fb0f7b11b369907e1ad44")
    assert bad != text
    (tmp_path / "bad.vec").write_text(bad)
    r = run(ipsecsim, "vectors", tmp_path / "bad.vec")
    assert r.returncode == 1
    assert "FAIL rfc7634-appA" in r.stdout and "ICV differs" in r.stdout
    assert r.stdout.splitlines()[-1] == "0 passed, 1 failed"


def test_a_tampered_packet_fails_esp_input(ipsecsim, tmp_path):
    text = (ROOT / "vectors" / "scapy.vec").read_text()
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("ip: "):
            body = line[4:]
            lines[i] = "ip: " + body[:-2] + ("00" if body[-2:] != "00" else "01")
    (tmp_path / "bad.vec").write_text("\n".join(lines) + "\n")
    r = run(ipsecsim, "vectors", tmp_path / "bad.vec")
    assert r.returncode == 1
    assert "esp_input dropped the packet" in r.stdout


def test_malformed_file(ipsecsim, tmp_path):
    (tmp_path / "x.vec").write_text("case: x\nthis is not a field\n")
    r = run(ipsecsim, "vectors", tmp_path / "x.vec")
    assert r.returncode == 2
    assert f"{tmp_path}/x.vec: 2: expected 'field: value'" in r.stderr


def test_mangled_vector_files_never_crash(tmp_path):
    """Fields dropped, values cut or made odd: every mutant ends 0, 1 or 2
    (under the sanitizer build when make check provides it)."""
    import os
    import random
    import subprocess
    from conftest import ipsecsim_path
    binary = os.environ.get("IPSECSIM_SAN") or ipsecsim_path()
    rng = random.Random(4303)
    cases = []
    for f in sorted((ROOT / "vectors").glob("*.vec")):
        cases += [c for c in f.read_text().split("\n\n") if "case:" in c]
    for n in range(150):
        lines = rng.choice(cases).splitlines()
        for _ in range(rng.randint(1, 3)):
            i = rng.randrange(len(lines))
            op = rng.randrange(4)
            if op == 0:
                del lines[i]
            elif op == 1 and ": " in lines[i]:
                k, v = lines[i].split(": ", 1)
                lines[i] = f"{k}: {v[:rng.randrange(len(v) + 1)]}"
            elif op == 2:
                lines[i] += rng.choice(["0", "zz", "", " ", "00" * 3000])
            else:
                lines.insert(i, rng.choice(["kind: esp", "esn: yes", "seq: ffffffffffffffff",
                                            "enc: blowfish", "key: ", "iv: 00"]))
        path = tmp_path / f"m{n}.vec"
        path.write_text("\n".join(lines) + "\n")
        r = subprocess.run([binary, "vectors", str(path)], capture_output=True, text=True,
                           timeout=60, env={**os.environ, "ASAN_OPTIONS": "detect_leaks=1"})
        assert r.returncode in (0, 1, 2), f"{path}: exit {r.returncode}\n{r.stderr[-2000:]}"
        assert "Sanitizer" not in r.stderr and "runtime error" not in r.stderr, r.stderr

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

"""ipsecsim ipsecctl on the real, unmodified OpenBSD regress ipsec.conf (both
of its forms), and the command's error contract."""
import hashlib
import re

import pytest

from conftest import ROOT, run

# A copy of ../shared/reference/openbsd-regress-ipsec, kept in the tree so
# that a clone tests on its own; its hash pins it to the original.
REGRESS = ROOT / "tests" / "data" / "openbsd-regress-ipsec"
SHARED = ROOT.parent / "shared" / "reference" / "openbsd-regress-ipsec"
MIRROR = ["-D", "FROM=to", "-D", "TO=from", "-D", "LOCAL=peer", "-D", "PEER=local"]


def defines():
    args = []
    for line in (REGRESS / "addresses.txt").read_text().split():
        args += ["-D", line]
    return args


def statements():
    """The statements of the file, continuations joined, comments dropped."""
    text = re.sub(r"\\\n", " ", (REGRESS / "ipsec.conf").read_text())
    return [l.split("#")[0].split() for l in text.splitlines() if l.split("#")[0].strip()]


@pytest.fixture(scope="module")
def plain(ipsecsim):
    r = run(ipsecsim, "ipsecctl", "-nv", *defines(), "-f", REGRESS / "ipsec.conf")
    assert r.returncode == 0 and r.stderr == "", r.stderr
    return r.stdout.splitlines()


@pytest.fixture(scope="module")
def mirrored(ipsecsim):
    r = run(ipsecsim, "ipsecctl", "-nv", *defines(), *MIRROR, "-f", REGRESS / "ipsec.conf")
    assert r.returncode == 0 and r.stderr == "", r.stderr
    return r.stdout.splitlines()


def test_the_file_is_the_unmodified_one():
    data = REGRESS.joinpath("ipsec.conf").read_bytes()
    assert data.startswith(b"#\t$OpenBSD: ipsec.conf,v 1.9 2021/01/20 17:38:18 bluhm Exp $")
    assert hashlib.sha256(data).hexdigest() == \
        "e9c93fdc3b2fe7b128cb9e92426c6aed31bbfc7df69ea2a5f08020511b08c929"
    if SHARED.exists():  # beside the reference, the copy must equal it
        for name in ("ipsec.conf", "addresses.txt"):
            assert (REGRESS / name).read_bytes() == (SHARED / name).read_bytes()


def test_rule_counts_follow_from_the_statements(plain, mirrored):
    st = statements()
    flows = [s for s in st if s[0] == "flow"]
    sas = [s for s in st if s[0] in ("esp", "ah", "ipcomp", "ipip")]
    bundled = [s for s in sas if "bundle" in s]
    assert (len(flows), len(sas), len(bundled)) == (54, 28, 12)
    for out in (plain, mirrored):
        # every flow statement gives an out and an in rule; every SA
        # statement with spi A:B a pair; each bundle of three SAs two links
        # per direction.
        assert sum(l.startswith("flow ") for l in out) == 2 * len(flows)
        assert sum(l.split()[0] in ("esp", "ah", "ipcomp", "ipip") for l in out) == 2 * len(sas)
        assert sum(l.startswith("[bundle ") for l in out) == 2 * 2 * (len(bundled) // 3)
        assert out[:4] == ['FROM = "from"', 'TO = "to"', 'LOCAL = "local"', 'PEER = "peer"']


def test_sample_lines(plain):
    for line in [
        "flow esp out from 10.188.105.17 to 10.188.105.70 local 10.188.105.17 "
        "peer 10.188.105.70 type dontacq",
        "flow esp in proto ipv6-icmp from fdd7:e83e:66bc:100::70 to "
        "fdd7:e83e:66bc:108::17/64 local fdd7:e83e:66bc:100::17 "
        "peer fdd7:e83e:66bc:100::70 type dontacq",
        "flow ipip out from 10.188.148.17/24 to 10.188.152.70/24 local 10.188.100.17 "
        "peer 10.188.100.70 type use",
        "esp transport from 10.188.105.17 to 10.188.105.70 spi 0x10000441 "
        "auth hmac-sha2-256 enc aes",
        "ah tunnel from 10.188.100.70 to 10.188.100.17 spi 0x10002842 auth hmac-sha2-256",
        "ipip from fdd7:e83e:66bc:100::17 to fdd7:e83e:66bc:100::70 spi 0x10004861",
        "ipcomp tunnel from 10.188.106.17 to 10.188.106.70 spi 0x00008841 comp deflate",
        "[bundle ipcomp to 10.188.106.70 spi 0x00008841 with esp to 10.188.106.70 "
        "spi 0x10018841]",
        "[bundle esp to 10.188.106.17 spi 0x10018842 with ah to 10.188.106.17 "
        "spi 0x10028842]",
    ]:
        assert line in plain, line


def test_mirrored_form_swaps_the_ends(plain, mirrored):
    assert ("flow esp out from 10.188.105.70 to 10.188.105.17 local 10.188.105.70 "
            "peer 10.188.105.17 type dontacq") in mirrored
    # SA rules are not mirrored by the macros: both ends install the same SAs.
    sa = [l for l in plain if l.startswith(("esp ", "ah ", "ipcomp ", "ipip "))]
    assert sa == [l for l in mirrored if l.startswith(("esp ", "ah ", "ipcomp ", "ipip "))]


def test_both_forms_load_into_the_kernel(ipsecsim):
    for extra in ([], MIRROR):
        r = run(ipsecsim, "ipsecctl", *defines(), *extra, "-f", REGRESS / "ipsec.conf")
        assert (r.returncode, r.stderr) == (0, "")


def test_keys_are_printed_only_with_k(ipsecsim, tmp_path):
    conf = tmp_path / "k.conf"
    conf.write_text("esp from 1.1.1.1 to 2.2.2.2 spi 0x1000 auth hmac-sha1 enc aes "
                    "authkey 0x" + "11" * 20 + " enckey 0x" + "22" * 16 + "\n")
    plain = run(ipsecsim, "ipsecctl", "-nv", "-f", conf)
    keys = run(ipsecsim, "ipsecctl", "-nvk", "-f", conf)
    assert plain.stdout == ("esp tunnel from 1.1.1.1 to 2.2.2.2 spi 0x00001000 "
                            "auth hmac-sha1 enc aes\n")
    assert keys.stdout == ("esp tunnel from 1.1.1.1 to 2.2.2.2 spi 0x00001000 "
                           "auth hmac-sha1 enc aes \\\n\tauthkey 0x" + "11" * 20 +
                           " \\\n\tenckey 0x" + "22" * 16 + "\n")


def test_errors_name_the_file_and_exit_2(ipsecsim, tmp_path):
    conf = tmp_path / "bad.conf"
    conf.write_text("flow esp from 1.1.1.1 to 2.2.2.2\n"
                    "esp from 1.1.1.1 to 2.2.2.2 spi 0x1000 comp deflate\n")
    r = run(ipsecsim, "ipsecctl", "-nv", "-f", conf)
    assert r.returncode == 2
    assert r.stderr == (f"{conf}: 2: esp does not provide compression\n"
                        "ipsecctl: Syntax error in config file: ipsec rules not loaded\n")
    r = run(ipsecsim, "ipsecctl", "-n", "-D", "noequals", "-z", "-f", conf)
    assert r.returncode == 2
    assert r.stderr.splitlines()[:2] == ["ipsecctl: could not parse macro definition noequals",
                                         "ipsecctl: unknown option -- z"]


def test_strict_and_testbed_modes(ipsecsim, tmp_path):
    rule = ("esp from 1.1.1.1 to 2.2.2.2 spi 0x1000:0x1001 enc aes-256-gcm "
            "enckey 0x" + "33" * 36 + ":0x" + "44" * 36)
    conf = tmp_path / "gcm.conf"
    conf.write_text(rule + "\n")
    strict = run(ipsecsim, "ipsecctl", "-nv", "-f", conf)
    assert strict.returncode == 2
    assert f"{conf}: 1: aes-256-gcm is disallowed with static keys" in strict.stderr
    # The testbed takes it, and its own clauses, which strict mode cannot read.
    ext = tmp_path / "ext.conf"
    ext.write_text(rule + " replay 64 esn\n")
    testbed = run(ipsecsim, "ipsecctl", "-T", "-f", ext)
    assert (testbed.returncode, testbed.stderr) == (0, "")
    strict = run(ipsecsim, "ipsecctl", "-n", "-f", ext)
    assert strict.returncode == 2 and f"{ext}: 1: syntax error" in strict.stderr


def test_usage(ipsecsim):
    assert run(ipsecsim, "ipsecctl").returncode == 2
    assert run(ipsecsim, "ipsecctl", "-x", "-f", "f").returncode == 2
    r = run(ipsecsim, "ipsecctl", "--help")
    assert r.returncode == 0 and "-D macro=value" in r.stdout and "-T" in r.stdout

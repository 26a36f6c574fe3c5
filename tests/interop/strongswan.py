"""Two strongSwan charons with their user-space ESP (kernel-libipsec) in two
network namespaces joined by a veth pair, for test_strongswan.py.

    with Peers(tmp, "aes128gcm16") as p:
        p.run_a("ping", "-c", "3", "-I", A_INNER, B_INNER)

Each charon has its own strongswan.conf (STRONGSWAN_CONF), vici socket and
/run (a private mount namespace, so the pid files do not collide); the
connection is IKEv2 with a pre-shared key, tunnel mode between 198.51.100.1
and 203.0.113.1 over 192.0.2.1 and 192.0.2.2 (libipsec does tunnel mode only, in
UDP 4500, without ESN).  Every process started is stopped by its pid and
both namespaces are removed on the way out, also when a test fails.
"""
import itertools
import os
import re
import signal
import subprocess
import time

CHARON = "/usr/lib/ipsec/charon"
A_OUTER, B_OUTER = "192.0.2.1", "192.0.2.2"
A_INNER, B_INNER = "198.51.100.1", "203.0.113.1"  # documentation ranges, as the outer

# IKE's own proposal does not matter to the test; the CHILD_SA's does.
IKE_PROPOSAL = "aes128-sha256-x25519"
# The CHILD_SA proposal, and Wireshark's names of what it negotiates.
ESP = {
    "aes128gcm16": ("AES-GCM with 16 octet ICV [RFC4106]", "NULL"),
    "aes256gcm16": ("AES-GCM with 16 octet ICV [RFC4106]", "NULL"),
    "aes128-sha256": ("AES-CBC [RFC3602]", "HMAC-SHA-256-128 [RFC4868]"),
    "aes256-sha512": ("AES-CBC [RFC3602]", "HMAC-SHA-512-256 [RFC4868]"),
    "aes256ctr-sha384": ("AES-CTR [RFC3686]", "HMAC-SHA-384-192 [RFC4868]"),
    "chacha20poly1305": ("ChaCha20 with Poly1305 [RFC7634]", "NULL"),
}

_serial = itertools.count()


def unavailable():
    """Why these tests cannot run here, or None."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    if not os.path.exists("/dev/net/tun"):
        return "no /dev/net/tun for libipsec's TUN device"
    name = f"iss-probe-{os.getpid()}"
    r = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True)
    if r.returncode != 0:
        return f"cannot make a network namespace: {r.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", name], capture_output=True)
    return None


def sh(*args, check=True, **kw):
    return subprocess.run(args, capture_output=True, text=True, check=check, timeout=60, **kw)


def start_charon(ns, d, procs):
    """charon in namespace ns with d/strongswan.conf, whose vici socket is
    d/charon.vici; its process goes to procs (to be stopped by the caller).
    Returns once the socket is there."""
    env = dict(os.environ, STRONGSWAN_CONF=str(d / "strongswan.conf"))
    log = open(d / "charon.out", "w")
    # a private /run: charon writes its pid file there
    p = subprocess.Popen(["ip", "netns", "exec", ns, "unshare", "-m", "sh", "-c",
                          f"mount -t tmpfs tmpfs /run && exec {CHARON}"],
                         env=env, stdout=log, stderr=subprocess.STDOUT)
    log.close()
    procs.append(p)
    for _ in range(200):
        if (d / "charon.vici").exists():
            return
        if p.poll() is not None:
            raise RuntimeError(f"charon in {ns} exited: {(d / 'charon.out').read_text()}")
        time.sleep(0.05)
    raise RuntimeError(f"charon in {ns} did not open its vici socket")


class Peers:
    def __init__(self, base, proposal):
        self.base = base
        self.proposal = proposal
        tag = f"{os.getpid()}-{next(_serial)}"
        self.ns = {"a": f"issa-{tag}", "b": f"issb-{tag}"}
        self.procs = []  # every process started, stopped on the way out

    # ---- set-up and teardown ----

    def __enter__(self):
        try:
            self._net()
            for side in "ab":
                self._charon(side)
            for side in "ab":
                self.swanctl(side, "--load-all", "--file", str(self.dir(side) / "swanctl.conf"))
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        for ns in self.ns.values():
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        return False

    def dir(self, side):
        d = self.base / side
        d.mkdir(parents=True, exist_ok=True)
        return d

    def _net(self):
        a, b = self.ns["a"], self.ns["b"]
        sh("ip", "netns", "add", a)
        sh("ip", "netns", "add", b)
        va, vb = f"v{next(_serial)}a", f"v{next(_serial)}b"
        self.veth = {"a": va, "b": vb}
        sh("ip", "link", "add", va, "type", "veth", "peer", "name", vb)
        sh("ip", "link", "set", va, "netns", a)
        sh("ip", "link", "set", vb, "netns", b)
        for side, outer, inner in (("a", A_OUTER, A_INNER), ("b", B_OUTER, B_INNER)):
            ns = self.ns[side]
            sh("ip", "-n", ns, "addr", "add", f"{outer}/24", "dev", self.veth[side])
            sh("ip", "-n", ns, "addr", "add", f"{inner}/32", "dev", "lo")
            sh("ip", "-n", ns, "link", "set", "lo", "up")
            sh("ip", "-n", ns, "link", "set", self.veth[side], "up")

    def _charon(self, side):
        d = self.dir(side)
        local, remote = (A_OUTER, B_OUTER) if side == "a" else (B_OUTER, A_OUTER)
        lts, rts = (A_INNER, B_INNER) if side == "a" else (B_INNER, A_INNER)
        (d / "strongswan.conf").write_text(f"""\
charon {{
  load = random nonce openssl aes sha1 sha2 hmac gcm chapoly ctr kdf pem pkcs1 x509 pubkey curve25519 gmp kernel-libipsec kernel-netlink socket-default vici
  install_routes = yes
  filelog {{
    keys {{
      path = {d}/charon.log
      default = 1
      chd = 4
      esp = 2
      flush_line = yes
    }}
  }}
  plugins {{
    vici {{
      socket = unix://{d}/charon.vici
    }}
  }}
}}
""")
        (d / "swanctl.conf").write_text(f"""\
connections {{
  t {{
    version = 2
    local_addrs = {local}
    remote_addrs = {remote}
    proposals = {IKE_PROPOSAL}
    local {{
      auth = psk
      id = {local}
    }}
    remote {{
      auth = psk
      id = {remote}
    }}
    children {{
      c {{
        local_ts = {lts}/32
        remote_ts = {rts}/32
        esp_proposals = {self.proposal}
        mode = tunnel
      }}
    }}
  }}
}}
secrets {{
  ike-1 {{
    secret = "ipsecsim-and-strongswan-test-psk"
  }}
}}
""")
        start_charon(self.ns[side], d, self.procs)

    # ---- using them ----

    def run(self, side, *args, check=True):
        return sh("ip", "netns", "exec", self.ns[side], *args, check=check)

    def swanctl(self, side, *args):
        return self.run(side, "swanctl", *args, "--uri", f"unix://{self.dir(side)}/charon.vici")

    def up(self):
        """Bring the CHILD_SA up from a; its SPIs and keys from a's log."""
        self.swanctl("a", "--initiate", "--child", "c")
        return self.keys()

    def capture(self, side, iface, path):
        """tcpdump on iface of side's namespace into path, until stop()."""
        p = subprocess.Popen(["ip", "netns", "exec", self.ns[side], "tcpdump", "-U", "-n", "-s",
                              "0", "-i", iface, "-w", str(path)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.procs.append(p)
        line = p.stderr.readline()  # "listening on ..." once it captures
        if "listening" not in line:
            raise RuntimeError(f"tcpdump on {iface}: {line}")
        return p

    @staticmethod
    def stop(p, done=lambda: True):
        """Stop a capture once done() says what it should hold is there (a
        busy machine may be slow to process and to write); at most 20 s."""
        for _ in range(200):
            if done():
                break
            time.sleep(0.1)
        time.sleep(0.2)
        p.send_signal(signal.SIGINT)
        p.wait(timeout=10)

    def sa_counters(self, side):
        """{spi_in: (bytes_in, packets_in, bytes_out, packets_out)} of side's
        CHILD_SAs."""
        out = self.swanctl(side, "--list-sas", "--raw").stdout
        res = {}
        for child in re.finditer(r"spi-in=([0-9a-f]+) spi-out=([0-9a-f]+).*?bytes-in=(\d+) "
                                 r"packets-in=(\d+).*?bytes-out=(\d+) packets-out=(\d+)", out):
            spi_in, spi_out = int(child.group(1), 16), int(child.group(2), 16)
            res[spi_in] = tuple(int(child.group(k)) for k in range(3, 7))
        return res

    def keys(self):
        """The CHILD_SA as a's log tells it: (spi_out, spi_in, enc_out,
        enc_in, auth_out, auth_in), keys as bytes (salt included)."""
        log = (self.dir("a") / "charon.log").read_text()
        blocks = {}
        for m in re.finditer(r"\[CHD\] (encryption|integrity) (initiator|responder) key => "
                             r"(\d+) bytes @ \S+\n((?:.*\[CHD\]\s+\d+: .*\n)+)", log):
            # "   16: 78 0D 3F 1F        x.?." : the hex, then two blanks
            data = b"".join(bytes.fromhex(line.split(": ", 1)[1].split("  ")[0])
                            for line in m.group(4).splitlines())
            blocks[(m.group(1), m.group(2))] = data[:int(m.group(3))]
        spi_in = re.findall(r"adding inbound ESP SA\n.*SPI 0x([0-9a-f]+), src (\S+) dst (\S+)", log)
        spi_out = re.findall(r"adding outbound ESP SA\n.*SPI 0x([0-9a-f]+), src (\S+) dst (\S+)",
                             log)
        assert spi_in and spi_out, log[-2000:]
        # a initiated: its outbound SA uses the initiator's keys
        return {
            "out": (int(spi_out[-1][0], 16), blocks[("encryption", "initiator")],
                    blocks.get(("integrity", "initiator"), b"")),
            "in": (int(spi_in[-1][0], 16), blocks[("encryption", "responder")],
                   blocks.get(("integrity", "responder"), b"")),
        }

    def esp_sa(self, path):
        """Wireshark's esp_sa file of the CHILD_SA, from a's side."""
        k = self.keys()
        enc, auth = ESP[self.proposal]
        lines = []
        for way, src, dst in (("out", A_OUTER, B_OUTER), ("in", B_OUTER, A_OUTER)):
            spi, ek, ak = k[way]
            lines.append(f'"IPv4","{src}","{dst}","0x{spi:08x}","{enc}","0x{ek.hex()}",'
                         f'"{auth}","{"0x" + ak.hex() if ak else ""}"')
        path.write_text("\n".join(lines) + "\n")
        return k

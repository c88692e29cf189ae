"""A small QEMU guest running Debian's pppd, for interop tests against a real PPP peer.

This machine's kernel has no PPP, so pppd runs inside QEMU (research/pppd-in-qemu.md): a
Debian kernel and an initramfs made from Debian packages (``apt-get download``, nothing
from the host is copied in). The guest's ttyS1 is a TCP connection to the port under
test; its /init dials (raw PPP, or through a fake modem with ``chat``), then prints
machine-readable ``RESULT`` lines on the console (ttyS0, our stdout) and powers off.
The image is built once and cached in ``~/.cache/dcsim/qemu-ppp`` (``DCSIM_CACHE``).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

CACHE = Path(os.environ.get("DCSIM_CACHE", "~/.cache/dcsim")).expanduser() / "qemu-ppp"
IMAGE_VERSION = "2"  # bump when the init script or the package set changes
MODULES = (
    "slhc",
    "ppp_generic",
    "ppp_async",
    "zlib_deflate",
    "zlib_inflate",
    "ppp_deflate",
    "bsd_comp",
)
LIBRARY_DIRS = ("lib/x86_64-linux-gnu", "usr/lib/x86_64-linux-gnu")

INIT = r"""#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
exec >/dev/ttyS0 2>&1
arg() { tr ' ' '\n' </proc/cmdline | sed -n "s/^dcsim\.$1=//p"; }
(sleep "$(arg watchdog)"; echo "RESULT timeout"; poweroff -f) &
for m in $(cat /modules.order); do insmod "/modules/$m.ko" || echo "RESULT insmod-failed $m"; done
mkdir -p /etc/ppp /var/run /tmp
cat >/etc/ppp/ip-up <<'EOS'
#!/bin/sh
echo "RESULT up local=$4 remote=$5 dns1=$DNS1 dns2=$DNS2" >/dev/ttyS0
echo "$DNS1" >/tmp/up
EOS
chmod +x /etc/ppp/ip-up
USER=$(arg user); PASSWORD=$(arg password)
set -- /dev/ttyS1 115200 local nocrtscts nodetach noauth noipdefault usepeerdns \
  defaultroute +ipv6 debug logfd 1 user "$USER" password "$PASSWORD" lcp-echo-interval 5
if [ "$(arg mode)" = modem ]; then
  set -- "$@" connect "chat -v -t 15 '' AT OK ATDT$(arg number) CONNECT ''"
fi
pppd "$@" > /tmp/pppd.log 2>&1 &
PPPD=$!
n=0
while [ ! -s /tmp/up ] && [ $n -lt 600 ] && kill -0 $PPPD 2>/dev/null; do
  sleep 0.1; n=$((n+1))
done
if [ -s /tmp/up ]; then
  DNS=$(cat /tmp/up)
  ANSWER=$(nslookup pso01.dricas.ne.jp "$DNS" 2>&1 | sed -n 's/^Address: *//p')
  echo "RESULT udp $(echo $ANSWER)"
  echo "RESULT tcp $(nc -w 5 "$DNS" 53 </query.bin | od -An -tx1 | tr -d ' \n')"
  echo "RESULT ping $(ping -c 1 -W 5 "$DNS" >/dev/null 2>&1 && echo ok || echo lost)"
fi
kill -TERM $PPPD 2>/dev/null
n=0; while kill -0 $PPPD 2>/dev/null && [ $n -lt 100 ]; do sleep 0.1; n=$((n+1)); done
sed 's/^/PPPD /' /tmp/pppd.log
echo "RESULT done"
poweroff -f
"""


@dataclass(frozen=True)
class Image:
    kernel: Path
    initrd: Path


def _run(*args: str, cwd: Path | None = None) -> str:
    return subprocess.run(
        args, cwd=cwd, check=True, capture_output=True, text=True, timeout=600
    ).stdout


def _kernel_package() -> str:
    for attempt in range(2):
        done = subprocess.run(
            ["apt-cache", "depends", "linux-image-amd64"], capture_output=True, text=True
        )
        match = re.search(r"Depends: (linux-image-\S+-amd64)", done.stdout)
        if match:
            return match.group(1)
        if attempt == 0 and os.geteuid() == 0:
            _run("apt-get", "update", "-qq")  # a fresh machine has no package lists yet
    raise RuntimeError("apt-cache knows no linux-image-amd64: run apt-get update")


def _library_packages(binaries: list[str]) -> set[str]:
    """The Debian packages holding the libraries pppd and chat load (named from this
    machine's ppp, which is the same Debian version; the files come from the .debs)."""
    packages = set()
    for binary in binaries:
        for line in _run("ldd", binary).splitlines():
            match = re.search(r"=> (/\S+)", line) or re.search(r"^\s*(/\S+ld-linux\S+)", line)
            if match:
                packages.add(_owner(os.path.realpath(match.group(1))))
    return packages


def _owner(path: str) -> str:
    """The package owning *path*, under either side of the /usr merge."""
    names = {path, path.replace("/usr/lib/", "/lib/", 1), path.replace("/lib/", "/usr/lib/", 1)}
    names |= {n.replace("/lib64/", "/lib/x86_64-linux-gnu/") for n in names}
    for name in sorted(names):
        done = subprocess.run(["dpkg", "-S", name], capture_output=True, text=True)
        if done.returncode == 0:
            return done.stdout.split(":")[0]
    raise RuntimeError(f"no package owns {path}")


def _inside(root: Path, path: Path) -> Path:
    """*path* (under *root*) with symlinks followed inside *root*, never into the host."""
    for _ in range(20):
        if not path.is_symlink():
            return path
        target = Path(os.readlink(path))
        path = root / target.relative_to("/") if target.is_absolute() else path.parent / target
    raise RuntimeError(f"symlink loop at {path}")


def _find(root: Path, name: str) -> Path:
    for directory in LIBRARY_DIRS:
        candidate = root / directory / name
        if candidate.is_symlink() or candidate.exists():
            return _inside(root, candidate)
    raise FileNotFoundError(name)


def _copy_into(initramfs: Path, source: Path, relative: str) -> None:
    """Copy *source* to *relative* inside *initramfs*, and nowhere else."""
    destination = initramfs / relative
    if relative.startswith("/") or not destination.resolve().is_relative_to(initramfs.resolve()):
        raise RuntimeError(f"refusing to write {destination} outside the image")
    shutil.copyfile(source, destination)
    destination.chmod(0o755)


def _dns_query() -> bytes:
    """A DNS query for auth01.dricas.ne.jp (type A), framed for TCP."""
    name = b"".join(bytes((len(p),)) + p for p in (b"auth01", b"dricas", b"ne", b"jp")) + b"\0"
    message = bytes.fromhex("beef01000001000000000000") + name + bytes.fromhex("00010001")
    return len(message).to_bytes(2, "big") + message


def build_image() -> Image:
    """Build (or reuse) the kernel and initramfs."""
    target = CACHE / IMAGE_VERSION
    image = Image(target / "vmlinuz", target / "initrd.gz")
    if image.kernel.exists() and image.initrd.exists():
        return image
    pppd, chat = (
        shutil.which("pppd", path="/usr/sbin:/sbin"),
        shutil.which("chat", path="/usr/sbin"),
    )
    if not pppd or not chat:
        raise RuntimeError("ppp is not installed here: apt-get install ppp")
    with tempfile.TemporaryDirectory(prefix="dcsim-qemu-") as tmp:
        work = Path(tmp)
        debs, root, initramfs = work / "debs", work / "root", work / "initramfs"
        for d in (debs, root, initramfs):
            d.mkdir()
        kernel_package = _kernel_package()
        wanted = {kernel_package, "busybox-static", "ppp", *_library_packages([pppd, chat])}
        _run("apt-get", "download", *sorted(wanted), cwd=debs)
        for deb in debs.glob("*.deb"):
            _run("dpkg-deb", "-x", str(deb), str(root))
        version = kernel_package.removeprefix("linux-image-")
        for sub in (
            "bin",
            "sbin",
            "etc",
            "proc",
            "sys",
            "dev",
            "tmp",
            "modules",
            "lib64",
            "lib/x86_64-linux-gnu",
            "usr/bin",
            "usr/sbin",
            "var/run",
        ):
            (initramfs / sub).mkdir(parents=True, exist_ok=True)
        _copy_into(initramfs, _inside(root, root / "bin/busybox"), "bin/busybox")
        for binary in ("usr/sbin/pppd", "usr/sbin/chat"):
            _copy_into(initramfs, _inside(root, root / binary), binary)
        loader = _find(root, "ld-linux-x86-64.so.2")
        listing = _run(
            str(loader),
            "--library-path",
            ":".join(str(root / d) for d in LIBRARY_DIRS),
            "--list",
            str(root / "usr/sbin/pppd"),
        ) + _run(
            str(loader),
            "--library-path",
            ":".join(str(root / d) for d in LIBRARY_DIRS),
            "--list",
            str(root / "usr/sbin/chat"),
        )
        sonames = set(re.findall(r"^\s*(\S+\.so[.\d]*) =>", listing, re.M))
        for soname in sorted(s for s in sonames if "/" not in s):  # the loader is absolute
            _copy_into(initramfs, _find(root, soname), f"lib/x86_64-linux-gnu/{soname}")
        _copy_into(initramfs, loader, "lib64/ld-linux-x86-64.so.2")
        module_root = root / "lib/modules" / version / "kernel"
        order = []
        for name in MODULES:
            found = list(module_root.rglob(f"{name}.ko*"))
            if not found:
                continue
            source = found[0]
            if source.suffix == ".xz":
                (initramfs / "modules" / f"{name}.ko").write_bytes(
                    subprocess.run(
                        ["xz", "-dc", str(source)], check=True, capture_output=True
                    ).stdout
                )
            else:
                _copy_into(initramfs, source, f"modules/{name}.ko")
            order.append(name)
        (initramfs / "modules.order").write_text("\n".join(order) + "\n")
        (initramfs / "query.bin").write_bytes(_dns_query())
        init = initramfs / "init"
        init.write_text(INIT)
        init.chmod(0o755)
        (initramfs / "bin/sh").symlink_to("busybox")
        archive = work / "initrd.gz"
        files = subprocess.run(["find", "."], cwd=initramfs, check=True, capture_output=True).stdout
        cpio = subprocess.run(
            ["cpio", "-o", "-H", "newc", "--quiet"],
            cwd=initramfs,
            input=files,
            check=True,
            capture_output=True,
        ).stdout
        subprocess.run(["gzip", "-9"], input=cpio, stdout=archive.open("wb"), check=True)
        target.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(_inside(root, root / "boot" / f"vmlinuz-{version}"), image.kernel)
        shutil.copyfile(archive, image.initrd)
    return image


@dataclass
class GuestRun:
    results: dict[str, str]
    output: str


def run_guest(
    image: Image,
    port: int,
    *,
    mode: str = "raw",
    number: str = "0",
    user: str = "flycast1",
    password: str = "password",
    watchdog: int = 90,
) -> GuestRun:
    """Boot the guest with ttyS1 connected to 127.0.0.1:*port*; collect its RESULT lines."""
    qemu = shutil.which("qemu-system-x86_64")
    assert qemu is not None
    append = (
        f"console=ttyS0 panic=-1 quiet dcsim.mode={mode} dcsim.number={number} "
        f"dcsim.user={user} dcsim.password={password} dcsim.watchdog={watchdog}"
    )
    args = [
        qemu,
        "-accel",
        "tcg",
        "-m",
        "256",
        "-display",
        "none",
        "-no-reboot",
        "-nic",
        "none",
        "-kernel",
        str(image.kernel),
        "-initrd",
        str(image.initrd),
        "-append",
        append,
        "-serial",
        "stdio",
        "-chardev",
        f"socket,id=line,host=127.0.0.1,port={port},server=off,nodelay=on",
        "-serial",
        "chardev:line",
        "-monitor",
        "none",
    ]
    done = subprocess.run(
        args,
        capture_output=True,
        text=True,
        errors="replace",
        timeout=watchdog + 120,
        stdin=subprocess.DEVNULL,
    )
    results: dict[str, str] = {}
    for line in done.stdout.splitlines():
        line = line.strip()
        if line.startswith("RESULT "):
            key, _, value = line[7:].partition(" ")
            results[key] = value
    return GuestRun(results, done.stdout + done.stderr)

"""Write the Packages index of a flat local apt repository (build-image.sh).

usage: local-repo.py REPO_DIR DEBIAN_PACKAGES_FILE...

REPO_DIR holds the .debs apt downloaded; each gets the index entry Debian's own (signed)
index gives that exact package, version and architecture, with Filename pointing into the
repository. Size and SHA256 are checked against the file first, so apt in the guest installs
exactly what it would have fetched. Fails if any .deb has no entry.

Then each .deb's data member is stored uncompressed (the same tar, the other members as
they were) and its entry gets the new Size and checksums: xz in the TCG guest took a minute
of the suite's package installs, here it takes seconds.
"""

import hashlib
import lzma
import subprocess
import sys
from pathlib import Path

AR_MAGIC = b"!<arch>\n"
AR_HEADER = 60


def ar_members(data):
    """The (header, name, content) of each member of an ar archive (a .deb)."""
    assert data.startswith(AR_MAGIC), "not an ar archive"
    offset = len(AR_MAGIC)
    while offset < len(data):
        header = data[offset:offset + AR_HEADER]
        size = int(header[48:58])
        content = data[offset + AR_HEADER:offset + AR_HEADER + size]
        yield header, header[:16].decode().rstrip(), content
        offset += AR_HEADER + size + size % 2


def with_plain_data(data):
    """The .deb with data.tar.xz replaced by data.tar, order and other members kept."""
    out = [AR_MAGIC]
    for header, name, content in ar_members(data):
        if name == "data.tar.xz":
            content = lzma.decompress(content)
            header = b"data.tar".ljust(16) + header[16:48] + str(len(content)).encode().ljust(10) + header[58:]
        out += [header, content, b"\n" if len(content) % 2 else b""]
    return b"".join(out)


def stanzas(path):
    """Each paragraph of a Packages file as (fields, text)."""
    for text in path.read_text(encoding="utf-8").split("\n\n"):
        text = text.strip("\n")
        if not text:
            continue
        fields = {}
        for line in text.splitlines():
            if line[:1] not in (" ", "\t") and ":" in line:
                name, value = line.split(":", 1)
                fields[name] = value.strip()
        yield fields, text


def deb_key(deb):
    out = subprocess.run(
        ["dpkg-deb", "--field", str(deb), "Package", "Version", "Architecture"],
        capture_output=True, text=True, check=True,
    ).stdout
    fields = dict(line.split(": ", 1) for line in out.splitlines())
    return fields["Package"], fields["Version"], fields["Architecture"]


def main(repo, indexes):
    wanted = {deb_key(deb): deb for deb in sorted(repo.glob("*.deb"))}
    entries = {}
    for index in indexes:
        for fields, text in stanzas(index):
            key = (fields.get("Package"), fields.get("Version"), fields.get("Architecture"))
            if key in wanted and key not in entries:
                entries[key] = (fields, text)
    missing = sorted(set(wanted) - set(entries))
    if missing:
        sys.exit(f"no index entry for {', '.join('_'.join(key) for key in missing)}")
    out = []
    for key, deb in sorted(wanted.items()):
        fields, text = entries[key]
        data = deb.read_bytes()
        if int(fields["Size"]) != len(data) or fields["SHA256"] != hashlib.sha256(data).hexdigest():
            sys.exit(f"{deb.name} does not match its index entry (size or SHA256)")
        data = with_plain_data(data)
        deb.write_bytes(data)
        replaced = {
            "Filename": deb.name,
            "Size": str(len(data)),
            "MD5sum": hashlib.md5(data).hexdigest(),
            "SHA256": hashlib.sha256(data).hexdigest(),
        }
        lines = []
        for line in text.splitlines():
            name = line.split(":", 1)[0]
            if name in ("SHA1", "SHA512"):
                continue  # not recomputed: dropped rather than left wrong
            lines.append(f"{name}: {replaced[name]}" if name in replaced else line)
        out.append("\n".join(lines))
    (repo / "Packages").write_text("\n\n".join(out) + "\n", encoding="utf-8")
    print(f"local apt repository: {len(out)} packages in {repo}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), [Path(arg) for arg in sys.argv[2:]])

"""Write the Packages index of a flat local apt repository (build-image.sh).

usage: local-repo.py REPO_DIR DEBIAN_PACKAGES_FILE...

REPO_DIR holds the .debs apt downloaded; each gets the index entry Debian's own (signed)
index gives that exact package, version and architecture, with Filename pointing into the
repository. Size and SHA256 are checked against the file, so apt in the guest installs
exactly what it would have fetched. Fails if any .deb has no entry.
"""

import hashlib
import subprocess
import sys
from pathlib import Path


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
        lines = [f"Filename: {deb.name}" if line.startswith("Filename:") else line for line in text.splitlines()]
        out.append("\n".join(lines))
    (repo / "Packages").write_text("\n\n".join(out) + "\n", encoding="utf-8")
    print(f"local apt repository: {len(out)} packages in {repo}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), [Path(arg) for arg in sys.argv[2:]])

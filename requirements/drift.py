"""Print the packages whose installed version differs from requirements/lock.txt.

``python requirements/drift.py`` (run by ``make test-latest`` in the newest-versions
environment) lists ``name: locked -> installed`` per line; the project's own
distributions are not in the lock and are left out. It always exits 0: it informs.
"""

import re
from importlib import metadata
from pathlib import Path

LOCK = Path(__file__).with_name("lock.txt")
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", re.MULTILINE)


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def main() -> None:
    locked = {canonical(name): version for name, version in PIN.findall(LOCK.read_text())}
    installed = {canonical(d.metadata["Name"]): d.version for d in metadata.distributions()}
    changed = [f"  {name}: {locked.get(name, '(not locked)')} -> {version}"
               for name, version in sorted(installed.items())
               if locked.get(name) != version and not name.startswith("nfvo")]
    print(f"{len(changed)} packages differ from {LOCK.name}" + (":" if changed else "."))
    for line in changed:
        print(line)


if __name__ == "__main__":
    main()

"""The phone page's service worker keeps every file the page needs to open offline: each module
``/m/app.js`` imports (and those they import), each script, style, icon and the manifest its
page names. A file left out opens online, and on the first visit is never kept, so the page
would not open offline after one visit."""

from __future__ import annotations

import re
from pathlib import Path

WEB = Path(__file__).parents[1] / "web"
IMPORT = re.compile(
    r"""(?:^|\s)(?:import|export)\s[^;]*?from\s+["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)""",
    re.M,
)


def kept_by_the_worker() -> set[str]:
    source = (WEB / "m" / "sw.js").read_text("utf-8")
    shell = re.search(r"const SHELL = \[(.*?)\];", source, re.S)
    assert shell is not None
    return set(re.findall(r'"([^"]+)"', shell.group(1)))


def needed_by_the_page() -> set[str]:
    page = (WEB / "m" / "index.html").read_text("utf-8")
    needed = set(re.findall(r'(?:src|href)="(/[^"]+)"', page))
    unread = [WEB / "m" / "app.js"]
    seen: set[Path] = set()
    while unread:
        module = unread.pop()
        if module in seen:
            continue
        seen.add(module)
        needed.add("/" + module.relative_to(WEB).as_posix())
        for static, dynamic in IMPORT.findall(module.read_text("utf-8")):
            target = (module.parent / (static or dynamic)).resolve()
            assert target.is_file(), f"{module} imports {target}, which does not exist"
            unread.append(target)
    return needed


def test_the_worker_keeps_every_file_the_page_opens_with() -> None:
    needed = needed_by_the_page()
    assert "/m/lib/patrol.js" in needed and "/lib/i18n.js" in needed
    missing = sorted(needed - kept_by_the_worker())
    assert missing == [], f"sw.js SHELL lacks {missing}"


def test_the_worker_keeps_only_files_that_exist() -> None:
    for url in kept_by_the_worker() - {"/m/"}:
        assert (WEB / url.lstrip("/")).is_file(), url

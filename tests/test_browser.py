"""A real browser: JupyterLab on loopback, headless Chromium runs 00_setup_check and the 06 playground.

Checks what a student sees: every cell runs with no error shown, pictures are displayed, and
the playground's widgets render and answer a click on Generate; the menus are in Korean (the
workbook's jupyterlab-settings/overrides.json, as ``make lab`` installs it); an executed notebook
opens as a live RISE slideshow, and as the static reveal.js export of ``make slides``, and a slide
with a generated picture shows it in presenter mode's fonts. Screenshots go to build/browser/. Needs Debian's ``chromium`` (``make test`` installs it with apt where it can)
and the ``playwright`` Python package (its own browser download is never used). When either is
missing the test is skipped with the reason printed (``make test`` runs pytest with ``-rs``);
``WORKBOOK_BROWSER_TEST=0`` skips it on purpose.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "build" / "browser"
CHROMIUM = os.environ.get("WORKBOOK_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
RUN_TIMEOUT = 420  # seconds for "Run All Cells" of one notebook in fast mode on a busy 2-core machine
#: The workbook's JupyterLab defaults (make lab copies it into the venv; the test points the server at it).
OVERRIDES = ROOT / "jupyterlab-settings" / "overrides.json"
LANGUAGE_PACK = Path(sys.prefix) / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / \
    "site-packages" / "jupyterlab_language_pack_ko_KR" / "locale" / "ko_KR" / "LC_MESSAGES" / "jupyterlab.json"
#: The kernel dialog's title and button, in English or Korean (the language pack's strings).
SELECT_KERNEL, SELECT = re.compile(r"Select Kernel|커널 선택"), re.compile(r"^(Select|선택)$")
#: The notebook the slideshow tests open, executed in fast mode (it shows generated pictures).
SLIDES_NOTEBOOK = "00_setup_check"


def _skip_reason() -> str | None:
    if os.environ.get("WORKBOOK_BROWSER_TEST", "").strip() == "0":
        return "WORKBOOK_BROWSER_TEST=0: browser test turned off"
    if CHROMIUM is None:
        return ("browser test skipped: no chromium on PATH (Debian: apt-get install chromium; "
                "make test installs it where apt-get and root are available)")
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "browser test skipped: the playwright package is missing (pip install -e '.[dev]')"
    try:  # e.g. Ubuntu's chromium is a snap shim that does not run in a container
        run = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"browser test skipped: {CHROMIUM} does not run ({error})"
    if run.returncode != 0:
        return f"browser test skipped: {CHROMIUM} --version failed: {(run.stdout + run.stderr).strip()[:200]}"
    return None


REASON = _skip_reason()
if REASON:
    print(f"\n{REASON}", file=sys.stderr)
pytestmark = [pytest.mark.skipif(REASON is not None, reason=REASON or ""), pytest.mark.slow]

# JupyterLab user settings for the test: every cell stays in the page (no windowing), no news
# pop-up over the screenshots.
SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false", "checkForUpdates": False},
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab on 127.0.0.1 with a random token over a copy of the notebooks; yields (url, token, folder)."""
    with serve_lab(tmp_path_factory.mktemp("lab"), OVERRIDES) as running:
        yield running


@contextlib.contextmanager
def serve_lab(home: Path, overrides: Path):
    """Yield (url, token, folder) of JupyterLab serving a copy of the notebooks with ``overrides`` as
    its overrides.json (the settings defaults make lab installs), stopping it afterwards."""
    folder = home / "notebooks"
    folder.mkdir()
    for name in ("00_setup_check.ipynb", "06_prompt_engineering.ipynb", "rise.css"):
        shutil.copy(ROOT / "notebooks" / name, folder / name)  # rise.css: the slideshow's fonts
    app_settings = home / "app-settings"  # where make lab puts overrides.json (in the venv)
    app_settings.mkdir()
    shutil.copy(overrides, app_settings / "overrides.json")
    for rel, value in SETTINGS.items():
        target = home / "settings" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(value))
    token, port = secrets.token_hex(16), _free_port()
    env = {**os.environ, "WORKBOOK_FAST": "1", "HF_HUB_OFFLINE": "1", "WORKBOOK_CACHE": "off",
           "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"),
           "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
           "JUPYTER_RUNTIME_DIR": str(home / "runtime")}
    command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
               f"--ServerApp.token={token}", f"--ServerApp.root_dir={folder}",
               "--ServerApp.port_retries=0", f"--LabApp.app_settings_dir={app_settings}"]
    if os.geteuid() == 0:
        command.append("--allow-root")
    log = (home / "lab.log").open("w")
    server = subprocess.Popen(command, cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT,
                              start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=5) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"JupyterLab did not start:\n{(home / 'lab.log').read_text()[-3000:]}")
            time.sleep(1)
        yield url, token, folder
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # the server we started, and its kernels
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
        log.close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        yield chromium
        chromium.close()


def select_kernel(page, timeout: int) -> None:
    """Answer JupyterLab's "which kernel?" dialog as a student does: "Select" (선택; Python 3)."""
    dialog = page.locator(".jp-Dialog", has_text=SELECT_KERNEL)
    try:
        dialog.get_by_role("button", name=SELECT).click(timeout=timeout)
    except Exception:  # no dialog: the kernel started by itself
        pass


def open_and_run_all(browser, lab, name: str):
    """Open notebook ``name`` in JupyterLab, Run All Cells, wait until done; return the page."""
    url, token, _ = lab
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(60_000)
    page.goto(f"{url}/lab/tree/{name}?reset&token={token}")  # reset: only this notebook open
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=120_000)
    select_kernel(page, timeout=20_000)
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=120_000)
    # The Run menu (실행 in Korean, the default), then its item by command id, in any language.
    page.locator("#jp-MainMenu .lm-MenuBar-item", has_text=re.compile(r"^(Run|실행)$")).click()
    page.locator(".lm-Menu-item[data-command='runmenu:run-all']").click()
    deadline = time.monotonic() + RUN_TIMEOUT
    prompts: list[str] = []
    while time.monotonic() < deadline:
        time.sleep(2)
        prompts = page.locator(".jp-NotebookPanel:visible .jp-CodeCell .jp-InputArea-prompt").all_inner_texts()
        busy = page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").count() == 0
        if prompts and not busy and all(re.fullmatch(r"\[\d+\]:", p.strip()) for p in prompts):
            return page
        if page.locator(".jp-NotebookPanel:visible .jp-OutputArea-output[data-mime-type="
                        "'application/vnd.jupyter.stderr']", has_text="Traceback").count():
            break  # an error stops Run All: report it below
    page.screenshot(path=str(SHOTS / f"{Path(name).stem}-failed.png"))
    errors = saved_errors(page, lab[2], name)
    pytest.fail(f"{name}: not every cell ran (prompts {prompts}); errors: {errors}")


def saved_errors(page, folder: Path, name: str) -> list[str]:
    """Save the notebook from the browser and return the error outputs the kernel sent."""
    page.keyboard.press("Control+s")
    time.sleep(2)
    nb = json.loads((folder / name).read_text())
    return [f"{o.get('ename')}: {o.get('evalue')}" for c in nb["cells"] for o in c.get("outputs", [])
            if o.get("output_type") == "error"]


def check_no_error_and_pictures(page, folder: Path, name: str) -> int:
    """Assert no error output, saved or shown; return how many pictures are displayed."""
    assert saved_errors(page, folder, name) == []
    shown = " ".join(page.locator(".jp-OutputArea-output").all_inner_texts())
    assert "Traceback" not in shown and "Error:" not in shown, shown[-2000:]
    loaded = page.evaluate("""() => [...document.querySelectorAll('.jp-OutputArea-output img')]
        .filter(img => img.complete && img.naturalWidth > 0).length""")
    assert loaded >= 1, f"{name}: no picture displayed"
    return loaded


def test_setup_check_runs_in_a_real_browser(browser, lab):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = open_and_run_all(browser, lab, "00_setup_check.ipynb")
    pictures = check_no_error_and_pictures(page, lab[2], "00_setup_check.ipynb")
    report = page.locator(".jp-OutputArea-output", has_text="[OK]").first
    report.scroll_into_view_if_needed()
    assert "[FAIL]" not in report.inner_text()
    page.screenshot(path=str(SHOTS / "00_setup_check.png"))
    page.locator(".jp-OutputArea-output img").first.scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "00_setup_check-picture.png"))
    print(f"00_setup_check: all cells ran, no errors, {pictures} pictures shown; screenshots in {SHOTS}")
    page.close()


def test_playground_widgets_render_and_answer_a_click(browser, lab):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = open_and_run_all(browser, lab, "06_prompt_engineering.ipynb")
    check_no_error_and_pictures(page, lab[2], "06_prompt_engineering.ipynb")
    button = page.get_by_role("button", name="Generate")
    button.wait_for(state="visible")
    box = page.locator(".jp-OutputArea-output", has=button)
    status = box.locator("div.widget-label")  # the Label widget (the seed box has a <label>)
    assert box.locator("input[type='text']").count() >= 2  # prompt and negative prompt
    assert box.locator(".widget-slider, .widget-hslider").count() >= 2  # steps and guidance
    assert status.inner_text() == "press Generate"
    before = box.locator(".widget-image").get_attribute("src")
    box.locator("input[type='number']").first.fill("5")  # seed 5
    button.click()
    page.wait_for_function(
        """(box) => /\\d+\\.\\d\\d s, seed 5/.test(box.innerText)""", arg=box.element_handle(),
        timeout=120_000)
    after = box.locator(".widget-image").get_attribute("src")
    assert after and after != before
    size = page.evaluate("""(img) => [img.naturalWidth, img.complete]""",
                         box.locator(".widget-image").element_handle())
    assert size == [256, True], size
    box.scroll_into_view_if_needed()
    box.screenshot(path=str(SHOTS / "06_playground.png"))
    page.screenshot(path=str(SHOTS / "06_playground-page.png"))
    print(f"06 playground: widgets rendered; Generate answered with {status.inner_text()!r}; "
          f"screenshot {SHOTS / '06_playground.png'}")
    page.close()


def korean_menu_labels() -> dict[str, str]:
    """Return {English: Korean} for the main menus, as the ko-KR language pack translates them."""
    catalog = json.loads(LANGUAGE_PACK.read_text(encoding="utf-8"))
    return {name: catalog[f"menu\x04{name}"][0] for name in ("File", "Edit", "View", "Run", "Kernel")}


def test_menus_are_in_korean(browser, lab):
    SHOTS.mkdir(parents=True, exist_ok=True)
    assert json.loads(OVERRIDES.read_text())["@jupyterlab/translation-extension:plugin"]["locale"] == "ko_KR"
    labels = korean_menu_labels()
    assert labels["File"] == "파일" and labels["Edit"] == "편집"
    url, token, _ = lab
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{url}/lab?reset&token={token}")
    bar = page.locator("#jp-MainMenu .lm-MenuBar-item")
    bar.first.wait_for(state="visible", timeout=120_000)
    shown = [text.strip() for text in bar.all_inner_texts()]
    assert all(label in shown for label in labels.values()), shown
    assert not {"File", "Edit", "Run"} & set(shown), shown
    page.screenshot(path=str(SHOTS / "lab-korean-menus.png"))
    print(f"JupyterLab menus shown: {shown}")
    page.close()


def test_make_lab_language_en_gives_english_menus(browser, tmp_path):
    """The documented switch: make lab LAB_LANGUAGE=en writes English defaults, and the menus follow."""
    overrides = tmp_path / "overrides.json"
    # -o: never reinstall the venv here; LAB_OVERRIDES: write into tmp_path, not the venv
    run = subprocess.run(["make", "-s", "-o", ".venv/.installed", "lab-settings", "LAB_LANGUAGE=en",
                          f"LAB_OVERRIDES={overrides}"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert json.loads(overrides.read_text())["@jupyterlab/translation-extension:plugin"]["locale"] == "en"
    (tmp_path / "home").mkdir()
    with serve_lab(tmp_path / "home", overrides) as (url, token, _):
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{url}/lab?reset&token={token}")
        bar = page.locator("#jp-MainMenu .lm-MenuBar-item")
        bar.first.wait_for(state="visible", timeout=120_000)
        page.wait_for_timeout(2000)  # so that a language loaded late would show in the labels read below
        shown = [text.strip() for text in bar.all_inner_texts()]
        assert {"File", "Edit", "View", "Run", "Kernel"} <= set(shown), shown
        assert not set(korean_menu_labels().values()) & set(shown), shown
        page.close()
    print(f"make lab LAB_LANGUAGE=en: menus {shown}")


@pytest.fixture(scope="module")
def executed_slides_notebook():
    """Return SLIDES_NOTEBOOK executed in fast mode (tools/run_notebooks.execute, like make slides)."""
    sys.path.insert(0, str(ROOT / "tools"))
    from run_notebooks import execute

    nb, error = execute(ROOT / "notebooks" / f"{SLIDES_NOTEBOOK}.ipynb", fast=True, cache=False,
                        timeout=RUN_TIMEOUT)
    assert error is None, error
    return nb


#: Pictures that are loaded, have a size and are not hidden (an unshown fragment has opacity 0,
#: other slides are hidden), scrolled into the window as a presenter scrolls a long slide and
#: then inside it: returns their natural sizes.
VISIBLE_PICTURES = """(root) => {
    const shown = (img) => {
        if (!img.complete || img.naturalWidth === 0 || img.naturalHeight === 0) return false;
        for (let node = img; node && node.nodeType === 1; node = node.parentElement) {
            const style = getComputedStyle(node);
            if (style.display === 'none' || style.visibility === 'hidden' || parseFloat(style.opacity) === 0) return false;
        }
        return true;
    };
    const inWindow = (img) => {
        const box = img.getBoundingClientRect();
        return box.width >= 8 && box.height >= 8 && box.top >= 0 && box.left >= 0
            && box.top < window.innerHeight && box.left < window.innerWidth;
    };
    const pictures = [...document.querySelectorAll(root + ' img')].filter(shown);
    if (pictures.length) pictures[0].scrollIntoView({block: 'center'});
    return pictures.filter(inWindow).map(img => [img.naturalWidth, img.naturalHeight]);
}"""


def page_to_a_picture(page, root: str, name: str, presses: int = 80) -> list:
    """Press the slideshow's next key until a generated picture is visible; return the pictures' sizes."""
    for _ in range(presses):
        time.sleep(0.6)  # the transition
        shown = page.evaluate(VISIBLE_PICTURES, root)
        if shown:
            return shown
        page.keyboard.press("Space")
    page.screenshot(path=str(SHOTS / f"{name}-no-picture.png"))
    pytest.fail(f"{name}: no slide showed a picture after {presses} presses of Space")


def markdown_font_px(page) -> float:
    """Return the font size (px) of the prose on the slide shown now."""
    return page.evaluate("""() => {
        const prose = [...document.querySelectorAll('.reveal section.present .jp-RenderedHTMLCommon p')]
            .find(p => p.getBoundingClientRect().height > 0);
        return prose ? parseFloat(getComputedStyle(prose).fontSize) : 0;
    }""")


def test_live_rise_slideshow_shows_a_generated_picture(browser, lab, executed_slides_notebook):
    import nbformat

    from helpers.core.presenter import SLIDE_FONT_PX

    SHOTS.mkdir(parents=True, exist_ok=True)
    url, token, folder = lab
    name = f"{SLIDES_NOTEBOOK}-executed.ipynb"
    nbformat.write(executed_slides_notebook, folder / name)
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.set_default_timeout(60_000)
    page.goto(f"{url}/rise/{name}?token={token}")  # what View → Open as Reveal Slideshow opens
    page.wait_for_selector(".reveal .slides section", timeout=120_000)
    select_kernel(page, timeout=10_000)
    page.wait_for_function("() => document.querySelector('.reveal.ready') !== null", timeout=60_000)
    sections = page.locator(".reveal .slides > section").count()
    assert sections >= 3, f"only {sections} slides"
    assert markdown_font_px(page) == SLIDE_FONT_PX["text"]  # presenter fonts from rise.css
    shown = page_to_a_picture(page, ".reveal .slides section.present", "rise")
    assert all(w > 0 and h > 0 for w, h in shown)
    page.screenshot(path=str(SHOTS / "rise-slide-picture.png"))
    print(f"RISE: {sections} slides; a slide shows {len(shown)} generated pictures {shown}")
    page.close()


def test_static_slides_show_a_generated_picture_offline(browser, executed_slides_notebook, tmp_path):
    """make slides' export of the executed notebook, served over http from a folder, every other host blocked."""
    import functools
    import http.server
    import importlib.util
    import threading

    from helpers.core.presenter import SLIDE_FONT_PX

    spec = importlib.util.spec_from_file_location("slides", ROOT / "tools" / "slides.py")
    slides = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(slides)
    js = slides.fetch_js()  # once, with npm pack from the npm registry (a package registry)
    if js is None:
        pytest.skip("reveal.js could not be fetched with npm pack (no npm, or no npm registry), "
                    "so the static slides cannot run offline here")
    SHOTS.mkdir(parents=True, exist_ok=True)
    lib = slides.copy_js(js, tmp_path)
    name = f"{SLIDES_NOTEBOOK}.slides.html"
    slides.export(executed_slides_notebook, tmp_path / name, lib)
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:  # no request log on the test's output
            pass

    handler = functools.partial(Quiet, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    blocked: list[str] = []

    def local_only(route):
        if route.request.url.startswith(f"http://127.0.0.1:{server.server_port}/"):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    try:
        page.route("**/*", local_only)
        page.goto(f"http://127.0.0.1:{server.server_port}/{name}")
        page.wait_for_function("() => document.querySelector('.reveal.ready') !== null", timeout=60_000)
        sections = page.locator(".reveal .slides > section").count()
        assert sections >= 3, f"only {sections} slides"
        assert markdown_font_px(page) == SLIDE_FONT_PX["text"]  # presenter fonts injected
        shown = page_to_a_picture(page, ".reveal .slides section.present", "static-slides")
        assert all(w > 0 and h > 0 for w, h in shown)
        assert not any("reveal" in url or "require" in url or "jquery" in url for url in blocked), blocked
        page.screenshot(path=str(SHOTS / "static-slide-picture.png"))
        hosts = sorted({url.split("/")[2] for url in blocked})
        print(f"static slides: {sections} slides, offline (blocked {len(blocked)} requests to {hosts}); "
              f"a slide shows {len(shown)} generated pictures {shown}")
    finally:
        page.close()
        server.shutdown()

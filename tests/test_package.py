"""The package itself: version, public API, cheap import."""

from __future__ import annotations

import importlib.metadata
import pathlib
import pickle
import subprocess
import sys

import itest_shared
from itest_shared import ResourceStateError, SchemaVersionError, UnknownResourceError


def test_version_comes_from_the_package_metadata() -> None:
    assert itest_shared.__version__ == importlib.metadata.version("itest-shared")
    assert itest_shared.SCHEMA_VERSION == "1.1"


def test_public_api_is_importable() -> None:
    # (Its order is ruff's RUF022 isort-style sort, checked by .ci/run.)
    for name in itest_shared.__all__:
        assert getattr(itest_shared, name) is not None


def test_every_public_object_has_a_docstring() -> None:
    for name in itest_shared.__all__:
        obj = getattr(itest_shared, name)
        if isinstance(obj, type):
            assert obj.__doc__ and obj.__doc__.strip(), name


def test_package_is_typed() -> None:
    assert (pathlib.Path(itest_shared.__file__).parent / "py.typed").is_file()


def test_import_is_cheap() -> None:
    """Nothing heavy is imported until it is used."""
    code = (
        "import sys, itest_shared; "
        "heavy = ('multiprocess', 'dill', 'pytest', '_pytest', 'asyncio', 'cattrs', "
        "'importlib.metadata', 'filelock', 'psutil', 'hypothesis'); "
        "print(','.join(m for m in heavy if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == ""


def test_errors_survive_pickling() -> None:
    for error in (
        SchemaVersionError("3.1", ["1"]),
        UnknownResourceError("r1"),
        ResourceStateError("r1", "released", "release"),
    ):
        again = pickle.loads(pickle.dumps(error))
        assert type(again) is type(error) and str(again) == str(error)


def test_ci_runs_the_readme_quickstart_commands() -> None:
    root = pathlib.Path(__file__).parent.parent
    readme = (root / "README.md").read_text()
    quickstart = readme.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    commands = [
        line for line in quickstart.splitlines() if line.startswith("python -m pip install")
    ]
    assert len(commands) == 2
    ci = (root / ".ci" / "run").read_text()
    for command in commands:
        install, test = command.split(" && ")
        assert install.replace("pip install", "pip install --quiet") in ci
        assert test in ci


def test_readme_python_examples_run() -> None:
    """Every complete Python example in the README runs as written."""
    readme = (pathlib.Path(__file__).parent.parent / "README.md").read_text()
    blocks = [part.split("```", 1)[0] for part in readme.split("```python\n")[1:]]
    complete = [block for block in blocks if block.startswith(("from ", "import "))]
    assert len(complete) >= 3
    for block in complete:
        namespace: dict[str, object] = {}
        exec(compile(block, "README.md", "exec"), namespace)
        for value in list(namespace.values()):
            if isinstance(value, type) and value.__name__.startswith("Test"):
                instance = value()
                for name in dir(instance):
                    if name.startswith("test_"):
                        getattr(instance, name)()


def test_every_export_is_listed_in_all_and_loads_lazily() -> None:
    from itest_shared import _EXPORTS

    assert set(_EXPORTS) | {"__version__"} == set(itest_shared.__all__)
    code = (
        "import sys, itest_shared; "
        "print('attrs' in sys.modules, 'itest_shared.formats' in sys.modules); "
        "from itest_shared import ErrorContext; "
        "print('itest_shared.formats' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.split() == ["False", "False", "True"]


def test_public_modules_are_attributes_of_the_package_as_in_1_0() -> None:
    """``import itest_shared; itest_shared.formats.load_record`` works (it did in 1.0)."""
    from itest_shared import _SUBMODULES

    package = pathlib.Path(itest_shared.__file__).parent
    public = {p.stem for p in package.glob("*.py") if not p.stem.startswith("_")}
    assert set(_SUBMODULES) == public
    code = (
        "import sys, itest_shared; "
        "print('itest_shared.formats' in sys.modules); "
        "print(itest_shared.formats.load_record is itest_shared.load_record); "
        "print(itest_shared.store.RecordStore.__name__); "
        "print(hasattr(itest_shared, 'nonexistent'))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.split() == ["False", "True", "RecordStore", "False"]

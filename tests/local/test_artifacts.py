"""``make sam-build``'s last step: bytecode Lambda can use as shipped, and the 250 MiB limit."""

from __future__ import annotations

import py_compile
import subprocess
import sys
from pathlib import Path

import pytest

from pulse.local import artifacts
from pulse.local.artifacts import compile_tree, unzipped_sizes
from pulse.local.template import load_template

TAG = sys.implementation.cache_tag


def pyc_flags(pyc: Path) -> int:
    """PEP 552's flags word: 0 = checked by timestamp, 0b01 = by hash, unchecked; 0b11 = checked."""
    return int.from_bytes(pyc.read_bytes()[4:8], "little")


def test_modules_get_unchecked_hash_bytecode_replacing_the_timestamped_one_pip_writes(tmp_path):
    module = tmp_path / "pkg" / "mod.py"
    module.parent.mkdir()
    module.write_text("VALUE = 1\n")
    pyc = module.parent / "__pycache__" / f"mod.{TAG}.pyc"
    py_compile.compile(
        str(module), cfile=str(pyc), invalidation_mode=py_compile.PycInvalidationMode.TIMESTAMP
    )
    assert pyc_flags(pyc) == 0

    assert compile_tree(tmp_path) is True

    assert pyc_flags(pyc) == 0b01


def test_the_bytecode_is_used_whatever_the_source_says(tmp_path):
    # sam deploy zips every file dated 1980: a timestamp check would find every .pyc stale, and
    # Lambda's read-only code folder would have it compiled again at each cold start.
    module = tmp_path / "mod.py"
    module.write_text("VALUE = 1\n")
    compile_tree(tmp_path)
    # A different size too: a timestamp-checked .pyc would notice even within the same second.
    module.write_text("VALUE = 22\n")

    imported = subprocess.run(
        [sys.executable, "-B", "-c", "import mod; print(mod.VALUE)"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )

    assert imported.stdout.strip() == "1"


def test_test_folders_are_not_compiled(tmp_path):
    for folder in ("lib", "lib/tests", "lib/test"):
        (tmp_path / folder).mkdir(parents=True, exist_ok=True)
        (tmp_path / folder / "mod.py").write_text("X = 1\n")

    compile_tree(tmp_path)

    assert (tmp_path / "lib" / "__pycache__" / f"mod.{TAG}.pyc").is_file()
    assert not (tmp_path / "lib" / "tests" / "__pycache__").exists()
    assert not (tmp_path / "lib" / "test" / "__pycache__").exists()


def test_a_module_that_does_not_compile_is_reported(tmp_path):
    (tmp_path / "broken.py").write_text("def broken(:\n")

    assert compile_tree(tmp_path) is False


BUILT_TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Runtime: {runtime}
    Layers:
      - !Ref CoreLayer
Resources:
  CoreLayer:
    Type: AWS::Serverless::LayerVersion
    Properties:
      ContentUri: CoreLayer
  PandasLayer:
    Type: AWS::Serverless::LayerVersion
    Properties:
      ContentUri: PandasLayer
  SmallFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: SmallFunction
      Handler: app.handler
  BigFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: BigFunction
      Handler: app.handler
      Layers:
        - !Ref PandasLayer
"""


@pytest.fixture
def build_dir(tmp_path):
    """A build folder as sam build leaves it: built template, one folder per artifact."""
    files = {
        "CoreLayer/python/core.py": 1_000,
        "PandasLayer/python/pandas.py": 5_000,
        "SmallFunction/app.py": 10,
        "BigFunction/app.py": 20,
    }
    for name, size in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("#" * (size - 1) + "\n")
    (tmp_path / "template.yaml").write_text(
        BUILT_TEMPLATE.format(runtime=f"python3.{sys.version_info.minor}")
    )
    return tmp_path


def test_a_function_counts_its_code_and_every_layer_it_gets(build_dir):
    sizes = unzipped_sizes(load_template(build_dir / "template.yaml"))

    # Small: its code + the Globals layer; Big: its code + the Globals layer + its own layer.
    assert sizes == {"BigFunction": 20 + 1_000 + 5_000, "SmallFunction": 10 + 1_000}


def test_the_build_step_compiles_every_artifact_and_reports_sizes(build_dir, capsys):
    assert artifacts.main([str(build_dir)]) == 0

    for module in (
        "CoreLayer/python/core",
        "PandasLayer/python/pandas",
        "SmallFunction/app",
        "BigFunction/app",
    ):
        folder, name = module.rsplit("/", 1)
        assert (build_dir / folder / "__pycache__" / f"{name}.{TAG}.pyc").is_file(), module
    assert "OVER" not in capsys.readouterr().out


def test_a_function_over_lambdas_limit_fails_the_build(build_dir, capsys, monkeypatch):
    # BigFunction: 6,020 bytes of source with its layers, more with their bytecode.
    monkeypatch.setattr(artifacts, "UNZIPPED_LIMIT_BYTES", 6_000)

    assert artifacts.main([str(build_dir)]) == 1

    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()[1:]}
    assert "OVER" in lines["BigFunction"]
    assert "OVER" not in lines["SmallFunction"]


def test_bytecode_for_another_python_is_refused(build_dir, capsys):
    (build_dir / "template.yaml").write_text(BUILT_TEMPLATE.format(runtime="python3.99"))

    assert artifacts.main([str(build_dir)]) == 2

    assert "the functions run python3.99" in capsys.readouterr().err
    assert not list(build_dir.rglob("*.pyc"))


def test_a_build_folder_without_a_template_is_refused(tmp_path, capsys):
    assert artifacts.main([str(tmp_path)]) == 2

    assert "run sam build first" in capsys.readouterr().err

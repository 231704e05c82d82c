"""Ready what ``sam build`` made for Lambda: ``python -m pulse.local.artifacts [BUILD_DIR]``.

``make sam-build`` runs this after ``sam build`` (``BUILD_DIR`` defaults to ``.aws-sam/build``):

1. **Bytecode.** Lambda's code and layers are read-only, so Python cannot keep what it compiles:
   a module without a valid ``.pyc`` is compiled from source at every cold start. ``sam build``
   ships no ``.pyc`` for ``BuildMethod: python3.11`` code, and those pip writes (the pandas
   layer's Makefile) are checked against their source's modification time, which ``sam deploy``
   sets to 1980 for every file it zips: they would be stale on arrival. Compiling our own
   modules alone cost 25-39 ms of a 480-520 ms cold start (interleaved runs of
   ``bench/cold_start.py``), and the libraries' cost comes on top. Every module is compiled
   with *unchecked-hash* invalidation: its ``.pyc`` is used without looking at the source,
   which is safe in an artifact, whose sources and bytecode one build writes together and
   nothing changes afterwards (a checked ``.pyc`` costs a source ``stat`` or read per import
   to guard against edits that cannot happen). Test folders are left as they are: nothing
   imports them in Lambda, and their bytecode would take ~33 MB of the size limit.
2. **Size.** Lambda refuses a function whose code and layers exceed 250 MB unzipped; bytecode
   adds ~40 % to a layer, so every function is checked here rather than at deploy time.

The interpreter must be the functions' runtime (``Runtime`` in the template): bytecode is
specific to its version.
"""

from __future__ import annotations

import argparse
import compileall
import py_compile
import re
import sys
from pathlib import Path

from pulse.local.template import Template, load_template

# Lambda's limit for a function's code and all its layers, unzipped (250 MiB).
UNZIPPED_LIMIT_BYTES = 250 * 1024 * 1024
TEST_FOLDER = re.compile(r"[\\/]tests?[\\/]")


def compile_tree(root: Path) -> bool:
    """Compile every module under ``root`` outside test folders, replacing any ``.pyc``;
    False if one failed to compile."""
    return bool(
        compileall.compile_dir(
            root,
            quiet=1,
            force=True,
            rx=TEST_FOLDER,
            workers=0,
            invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
        )
    )


def tree_bytes(root: Path) -> int:
    return sum(path.stat().st_size for path in root.rglob("*") if path.is_file())


def unzipped_sizes(template: Template) -> dict[str, int]:
    """Each function's code plus its layers, in bytes, as Lambda counts them."""
    layer_ids = {layer for function in template.functions.values() for layer in template.layer_ids(function)}
    layers = {layer: tree_bytes(template.layer_content(layer)) for layer in layer_ids}
    return {
        name: tree_bytes(function.code_uri) + sum(layers[layer] for layer in template.layer_ids(function))
        for name, function in sorted(template.functions.items())
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("build_dir", nargs="?", type=Path, default=Path(".aws-sam/build"))
    args = parser.parse_args(argv)
    built = args.build_dir / "template.yaml"
    if not built.is_file():
        print(f"pulse.local.artifacts: no {built}; run sam build first", file=sys.stderr)
        return 2
    template = load_template(built)
    runtime = str(template.document["Globals"]["Function"]["Runtime"])
    running = f"python{sys.version_info.major}.{sys.version_info.minor}"
    if running != runtime:
        print(f"pulse.local.artifacts: this is {running}, the functions run {runtime}", file=sys.stderr)
        return 2

    folders = {function.code_uri for function in template.functions.values()}
    folders |= {
        template.layer_content(layer)
        for function in template.functions.values()
        for layer in template.layer_ids(function)
    }
    failed = [str(folder) for folder in sorted(folders) if not compile_tree(folder)]
    if failed:
        print(
            f"pulse.local.artifacts: modules that did not compile under {', '.join(failed)}", file=sys.stderr
        )
        return 1

    over = False
    print(f"{'function':<24}{'unzipped, with layers':>24}")
    for name, size in unzipped_sizes(template).items():
        verdict = ""
        if size > UNZIPPED_LIMIT_BYTES:
            over, verdict = True, f"  OVER Lambda's {UNZIPPED_LIMIT_BYTES / 2**20:.0f} MiB"
        print(f"{name:<24}{size / 2**20:>20.1f} MiB{verdict}")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())

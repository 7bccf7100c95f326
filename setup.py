"""The one compiled module: pull events' note and JSON (src/dockyard/registry/events/pulls.pyx,
decision 0012). Everything else is in pyproject.toml."""

from Cython.Build import cythonize
from setuptools import setup

setup(
    ext_modules=cythonize(
        "src/dockyard/registry/events/pulls.pyx", compiler_directives={"language_level": 3}
    )
)

import os
import sys

from setuptools import setup
from setuptools.command.build_py import build_py

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compile_catalogs import PACKAGE, compile_catalogs  # noqa: E402


class BuildWithCatalogs(build_py):
    """Also compile the translations into the built package (the .mo files are not in the source tree)."""

    def run(self):
        super().run()
        if not self.dry_run:
            compile_catalogs(PACKAGE, os.path.join(self.build_lib, PACKAGE))


setup(cmdclass={"build_py": BuildWithCatalogs})

"""Run the ``itest-shared`` command: ``python -m itest_shared``."""

from __future__ import annotations

from .cli import main

raise SystemExit(main())

"""Loaded at start-up by every process ``bench/write_tail.py`` starts (this folder is put first on
PYTHONPATH): the tracing of ``bench.write_tail.install``."""

import os

if os.environ.get("CONTACTS_TRACE_DIR"):
    from bench import write_tail

    write_tail.install(os.environ["CONTACTS_TRACE_DIR"])

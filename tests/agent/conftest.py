"""Agent tests: the agent package is stdlib-only and imported from agent/ without installing it.

Nothing here imports Django: the agent must stay importable with a plain Python.
"""

from __future__ import annotations

import os
import sys

AGENT_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "agent")
if AGENT_DIR not in sys.path:
    sys.path.insert(0, AGENT_DIR)

FIXTURE_PROC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "proc")

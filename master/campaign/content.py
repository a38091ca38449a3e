"""Content presets and render modes of a generated input: the names a campaign's ``input:`` may use.

The agent defines what each preset renders (agent/content.py holds the exact lavfi graphs); the master only knows the
names. ``easy``: testsrc2 (flat colour areas and a moving pattern, which an encoder often compresses far below a
streaming bitrate); ``medium``: testsrc2 with temporal noise; ``hard``: testsrc2 slowly rotating under stronger
temporal noise.
"""
from __future__ import annotations

CONTENT_PRESETS = ("easy", "medium", "hard")
"""Names ``input.content`` may take."""

RENDERS = ("prepared", "inline")
"""``input.render``: ``prepared`` renders the generated source once into the agent's cache, outside the measured
window (the default); ``inline`` generates it inside the measured FFmpeg, so its CPU is in the figures."""

DEFAULT_RENDER = "prepared"
"""``input.render`` when a generated input does not say."""

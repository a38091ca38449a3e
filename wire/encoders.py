"""The encoders a campaign may name, with the presets and quality range each one takes: the master checks a campaign
against this table, the agent maps the same vocabulary onto FFmpeg's options (agent/ffmpeg/command.py).

``preset`` means the encoder's speed/quality knob: ``-preset`` for x264, x265, SVT-AV1, NVENC and QSV; ``-cpu-used``
for libaom and libvpx. ``crf`` means its constant-quality knob (``-crf``, NVENC ``-cq``, QSV ``-global_quality``,
VAAPI ``-qp``); the agent maps both onto the right option.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass

X264_PRESETS = (
    "ultrafast",
    "superfast",
    "veryfast",
    "faster",
    "fast",
    "medium",
    "slow",
    "slower",
    "veryslow",
    "placebo",
)
"""x264-style preset names, fastest first; the common vocabulary every family maps from."""
NVENC_PRESETS = (
    "p1",
    "p2",
    "p3",
    "p4",
    "p5",
    "p6",
    "p7",
    "default",
    "slow",
    "medium",
    "fast",
    "hp",
    "hq",
    "bd",
    "ll",
    "llhq",
    "llhp",
    "lossless",
    "losslesshp",
)
QSV_PRESETS = ("veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")
"""QSV's own preset names, fastest first."""


@dataclass(frozen=True)
class Encoder:
    """One FFmpeg video encoder; ``hardware`` names the device it needs (None: runs on the CPU)."""

    name: str
    codec: str
    hardware: str | None = None
    presets: tuple[str, ...] = ()
    preset_range: tuple[int, int] | None = None
    crf_range: tuple[int, int] = (0, 51)

    def preset_problem(self, preset: str | int) -> str | None:
        """Why ``preset`` is not one this encoder takes; None when it is."""
        if isinstance(preset, int) and self.preset_range:
            low, high = self.preset_range
            return None if low <= preset <= high else f"{self.name} takes preset {low}..{high}, got {preset}"
        if isinstance(preset, str) and preset in self.presets:
            return None
        return f"{preset!r} is not a {self.name} preset; {self._presets_hint(preset)}"

    def crf_problem(self, crf: float) -> str | None:
        """Why ``crf`` is outside this encoder's quality range; None when it is inside."""
        low, high = self.crf_range
        return None if low <= crf <= high else f"{self.name} takes crf {low}..{high}, got {crf}"

    def _presets_hint(self, preset: str | int) -> str:
        accepted = list(self.presets)
        if self.preset_range:
            accepted.append("{}..{}".format(*self.preset_range))
        if not accepted:
            return "it takes no preset: leave preset out"
        hint = suggest(str(preset), self.presets)
        return hint or "it takes " + ", ".join(accepted)


ENCODERS: dict[str, Encoder] = {
    encoder.name: encoder
    for encoder in (
        Encoder("libx264", "h264", presets=X264_PRESETS),
        Encoder("libx265", "hevc", presets=X264_PRESETS),
        Encoder("libsvtav1", "av1", preset_range=(0, 13), crf_range=(0, 63)),
        Encoder("libaom-av1", "av1", preset_range=(0, 8), crf_range=(0, 63)),
        Encoder("libvpx-vp9", "vp9", preset_range=(-8, 8), crf_range=(0, 63)),
        Encoder("h264_nvenc", "h264", "nvidia", presets=NVENC_PRESETS),
        Encoder("hevc_nvenc", "hevc", "nvidia", presets=NVENC_PRESETS),
        Encoder("av1_nvenc", "av1", "nvidia", presets=NVENC_PRESETS),
        Encoder("h264_qsv", "h264", "intel", presets=QSV_PRESETS, preset_range=(1, 7), crf_range=(1, 51)),
        Encoder("hevc_qsv", "hevc", "intel", presets=QSV_PRESETS, preset_range=(1, 7), crf_range=(1, 51)),
        Encoder("h264_vaapi", "h264", "vaapi", crf_range=(0, 52)),
        Encoder("hevc_vaapi", "hevc", "vaapi", crf_range=(0, 52)),
    )
}
"""Every encoder a campaign may name, by FFmpeg name."""


def suggest(word: str, choices: Iterable[str]) -> str | None:
    """``did you mean 'x'?`` for the choices closest to ``word``; None when nothing is close."""
    close = difflib.get_close_matches(word, list(choices), n=3, cutoff=0.6)
    if not close:
        return None
    return "did you mean " + " or ".join(repr(choice) for choice in close) + "?"

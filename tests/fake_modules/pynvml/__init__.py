"""A fake ``pynvml`` at the library boundary: the NVML calls ffwatt makes, over GPUs a test configures.

Put ``tests/fake_modules`` first on ``sys.path`` (and drop any imported ``pynvml``) to use it; configure with
:func:`fake_reset`. ``FAKE = True`` lets a test check it got this module and not nvidia-ml-py.
"""

from __future__ import annotations

from dataclasses import dataclass

FAKE = True

NVML_SUCCESS = 0
NVML_ERROR_UNINITIALIZED = 1
NVML_ERROR_NOT_SUPPORTED = 3
NVML_ERROR_LIBRARY_NOT_FOUND = 12
NVML_ERROR_GPU_IS_LOST = 15

_MESSAGES = {
    NVML_ERROR_UNINITIALIZED: "Uninitialized",
    NVML_ERROR_NOT_SUPPORTED: "Not Supported",
    NVML_ERROR_LIBRARY_NOT_FOUND: "NVML Shared Library Not Found",
    NVML_ERROR_GPU_IS_LOST: "GPU is lost",
}


class NVMLError(Exception):
    """As in nvidia-ml-py: ``value`` is the NVML return code, ``str()`` its message."""

    def __init__(self, value: int) -> None:
        super().__init__(value)
        self.value = value

    def __str__(self) -> str:
        return _MESSAGES.get(self.value, f"NVML error {self.value}")


@dataclass
class FakeGpu:
    """One simulated GPU; tests change its counters between reads."""

    name: str = "NVIDIA Fake GPU"
    energy_mj: int = 0
    power_mw: int = 0
    supports_energy: bool = True
    encoder_util: int = 0
    lost: bool = False


class _State:
    def __init__(self) -> None:
        self.gpus: list[FakeGpu] = []
        self.init_error: int | None = None
        self.init_count = 0


state = _State()


def fake_reset(gpus=(), init_error: int | None = None) -> None:
    """Configure the fake: these GPUs, and an error code ``nvmlInit`` raises (None: init works)."""
    state.gpus = list(gpus)
    state.init_error = init_error
    state.init_count = 0


def _check(handle: FakeGpu | None = None) -> None:
    if state.init_count <= 0:
        raise NVMLError(NVML_ERROR_UNINITIALIZED)
    if handle is not None and handle.lost:
        raise NVMLError(NVML_ERROR_GPU_IS_LOST)


def nvmlInit() -> None:
    if state.init_error is not None:
        raise NVMLError(state.init_error)
    state.init_count += 1


def nvmlShutdown() -> None:
    _check()
    state.init_count -= 1


def nvmlDeviceGetCount() -> int:
    _check()
    return len(state.gpus)


def nvmlDeviceGetHandleByIndex(index: int) -> FakeGpu:
    _check()
    return state.gpus[index]


def nvmlDeviceGetName(handle: FakeGpu) -> str:
    _check(handle)
    return handle.name


def nvmlDeviceGetTotalEnergyConsumption(handle: FakeGpu) -> int:
    _check(handle)
    if not handle.supports_energy:
        raise NVMLError(NVML_ERROR_NOT_SUPPORTED)
    return int(handle.energy_mj)


def nvmlDeviceGetPowerUsage(handle: FakeGpu) -> int:
    _check(handle)
    return int(handle.power_mw)


def nvmlDeviceGetEncoderUtilization(handle: FakeGpu) -> list[int]:
    _check(handle)
    return [handle.encoder_util, 167_000]

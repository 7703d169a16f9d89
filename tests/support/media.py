"""Audio and video for the tests: a WAV made in code, a tiny WebM from tests/fixtures/media."""

import io
import math
import struct
import wave
from pathlib import Path

WEBM = Path(__file__).resolve().parent.parent / "fixtures" / "media" / "clip.webm"


def wav_bytes(seconds: float = 1.0, rate: int = 8000, frequency: float = 440.0) -> bytes:
    """A mono 16-bit sine tone: every browser plays WAV (PCM)."""
    frames = int(seconds * rate)
    samples = b"".join(
        struct.pack("<h", int(12000 * math.sin(2 * math.pi * frequency * n / rate)))
        for n in range(frames))
    out = io.BytesIO()
    with wave.open(out, "wb") as sound:
        sound.setnchannels(1)
        sound.setsampwidth(2)
        sound.setframerate(rate)
        sound.writeframes(samples)
    return out.getvalue()


def webm_bytes() -> bytes:
    """Two seconds of VP8 video (a test pattern) with an Opus tone: see the README beside it."""
    return WEBM.read_bytes()

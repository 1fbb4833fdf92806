"""The simulator's recordings: a short generated audio clip per recording (SPEC C14, O1).

A real carrier records the caller's voice; the simulator has no voice to record, so it
makes a clip of syllable-like tone bursts whose pitches follow from the recording's id:
the same id gives the same bytes (its "storage" is this function), and every clip is a
valid WAV a browser plays. 8 kHz, 16-bit, mono: what a phone line carries.
"""
from __future__ import annotations

import hashlib
import io
import math
import struct
import wave

RATE = 8000
SYLLABLE_SECONDS = 0.22
GAP_SECONDS = 0.08


def clip(seed: str, seconds: float = 2.0) -> bytes:
    digest = hashlib.sha256(seed.encode()).digest()
    samples: list[int] = []
    total = int(seconds * RATE)
    syllable = int(SYLLABLE_SECONDS * RATE)
    gap = int(GAP_SECONDS * RATE)
    index = 0
    while len(samples) < total:
        pitch = 140 + digest[index % len(digest)] % 120  # a speaking voice's range, in Hz
        index += 1
        for n in range(min(syllable, total - len(samples))):
            envelope = math.sin(math.pi * n / syllable)  # each syllable swells and fades
            t = n / RATE
            value = envelope * (0.6 * math.sin(2 * math.pi * pitch * t) + 0.25 * math.sin(4 * math.pi * pitch * t))
            samples.append(int(value * 12000))
        samples.extend([0] * min(gap, total - len(samples)))
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(struct.pack(f"<{len(samples)}h", *samples))
    return buffer.getvalue()

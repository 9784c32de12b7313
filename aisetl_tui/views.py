"""How object bytes are shown: text when they decode, a hex dump otherwise."""

from __future__ import annotations

PREVIEW_BYTES = 1024 * 1024


def looks_like_text(data: bytes) -> bool:
    try:
        text = data.decode()
    except UnicodeDecodeError:
        return False
    controls = sum(1 for c in text if ord(c) < 32 and c not in "\n\r\t")
    return controls <= len(text) // 100


def hex_dump(data: bytes, width: int = 16) -> str:
    lines = []
    for offset in range(0, len(data), width):
        chunk = data[offset:offset + width]
        hexes = " ".join(f"{b:02x}" for b in chunk)
        chars = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        lines.append(f"{offset:08x}  {hexes:<{width * 3 - 1}}  |{chars}|")
    return "\n".join(lines)


def render_bytes(data: bytes, as_hex: bool | None = None) -> str:
    """Text, or a hex dump (``as_hex`` None: whichever suits the bytes)."""
    if as_hex is None:
        as_hex = not looks_like_text(data)
    return hex_dump(data) if as_hex else data.decode(errors="replace")

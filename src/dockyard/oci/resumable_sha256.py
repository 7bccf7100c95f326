"""A SHA-256 whose state can be saved with an upload session and resumed in another process.

hashlib cannot export its state, so this calls OpenSSL's SHA256_Init/Update/Final through
ctypes: the state is the 112-byte SHA256_CTX. Those functions are deprecated in OpenSSL 3 but
present; where they are missing, `available()` is False and callers re-read the bytes instead.
"""

from __future__ import annotations

import ctypes
import ctypes.util

STATE_SIZE = 112  # sizeof(SHA256_CTX)


def _load() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("crypto")
    if name is None:
        return None
    try:
        library = ctypes.CDLL(name)
    except OSError:
        return None
    if not all(hasattr(library, f) for f in ("SHA256_Init", "SHA256_Update", "SHA256_Final")):
        return None
    library.SHA256_Update.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t]
    return library


_libcrypto = _load()


def available() -> bool:
    return _libcrypto is not None


class ResumableSha256:
    """hashlib's `update`/`hexdigest`, plus `state()` and construction from a saved state."""

    def __init__(self, state: bytes | None = None) -> None:
        if _libcrypto is None:
            raise RuntimeError("OpenSSL's SHA256 functions are not available")
        self._lib = _libcrypto
        if state is None:
            self._context = ctypes.create_string_buffer(STATE_SIZE)
            self._lib.SHA256_Init(self._context)
        else:
            if len(state) != STATE_SIZE:
                raise ValueError(f"a SHA-256 state is {STATE_SIZE} bytes, not {len(state)}")
            self._context = ctypes.create_string_buffer(state, STATE_SIZE)

    def update(self, data: bytes, /) -> None:
        # ctypes releases the GIL during the call, like hashlib does for large buffers.
        self._lib.SHA256_Update(self._context, data, len(data))

    def hexdigest(self) -> str:
        final = ctypes.create_string_buffer(self._context.raw, STATE_SIZE)
        digest = ctypes.create_string_buffer(32)
        self._lib.SHA256_Final(digest, final)
        return digest.raw.hex()

    def state(self) -> bytes:
        return self._context.raw

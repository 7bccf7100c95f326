# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Pulls noted on the GET's path and written as events' JSON at each round, in C; and the
envelopes delivery sends, written into a buffer that is used again.

A manifest or blob GET is the hottest path there is, and a pull event must cost it little
(issue 9: under 5 % of a manifest GET). In Python the GET's note and the round's JSON took
about 18,000 instructions a pull, 5.5 % of a GET, spread thin over the interpreter and the
objects it made (decision 0012). Here a note is a row of C numbers and two strings, and a
round writes each event's text straight into its string: no object is made per field.
"""

from cpython.contextvars cimport get_value
from cpython.list cimport PyList_GET_SIZE
from cpython.mem cimport PyMem_Free, PyMem_Realloc
from libc.stdint cimport int64_t, uint64_t
from libc.string cimport memcpy
from posix.time cimport CLOCK_REALTIME, clock_gettime, timespec

import json
import random


cdef extern from "Python.h":
    char* PyByteArray_AS_STRING(bytearray array)
    Py_ssize_t PyByteArray_GET_SIZE(bytearray array)
    str PyUnicode_New(Py_ssize_t size, Py_UCS4 maxchar)
    void* PyUnicode_DATA(object text)
    bint PyUnicode_IS_ASCII(object text)
    Py_ssize_t PyUnicode_GET_LENGTH(object text)


cdef struct Note:
    int64_t nanoseconds  # when, since the epoch
    Py_ssize_t key  # what the pull has in common with others: an index into PullNotes._keys
    long port  # the client's port, or -1 when the address carries none


cdef class PullNotes:
    """The pulls noted since the last round, and the manifest pulls counted by repository.

    `pulled` is called by every manifest and blob GET and HEAD (through EventLog). What a
    pull shares with the pulls of one target by one client (its actor, user agent, host,
    scheme, repository, digest, media type, size, tag and kind) is kept once a round as a
    key; per pull only its time, request id, address and port are kept."""

    cdef public bint wants_pulls
    cdef public bint counts_pulls
    cdef public double share  # a GET is noted with this chance
    cdef public Py_ssize_t limit  # notes beyond this are dropped (and counted)
    cdef public Py_ssize_t dropped
    cdef object _current  # the ContextVar holding the request's ASGI scope
    cdef str _request_id_key
    cdef str _grant_key
    cdef dict _counts
    cdef dict _key_index
    cdef list _keys
    cdef list _texts  # the request id and the client's address of each note, in turn
    cdef Note* _notes
    cdef Py_ssize_t _count
    cdef Py_ssize_t _capacity

    def __cinit__(self) -> None:
        self._notes = NULL

    def __init__(self, current_request, str request_id_key, str grant_key, Py_ssize_t limit):
        self._current = current_request
        self._request_id_key = request_id_key
        self._grant_key = grant_key
        self.limit = limit
        self.wants_pulls = False
        self.counts_pulls = False
        self.share = 0.0
        self.dropped = 0
        self._counts = {}
        self._start()

    def __dealloc__(self) -> None:
        PyMem_Free(self._notes)

    def __len__(self) -> int:
        return self._count

    cdef void _start(self):
        self._key_index = {}
        self._keys = []
        self._texts = []
        self._count = 0

    def pulled(
        self, str name, str digest, str media_type, object size, object tag, str kind
    ) -> None:
        """A manifest's or blob's (`kind`) GET or HEAD of the current request. A GET is a
        pull: a manifest's is counted when pulls are counted, and any is noted (with the
        chance `share`) when pulls are wanted."""
        cdef timespec now
        cdef Note* note
        cdef dict scope
        if not (self.wants_pulls or self.counts_pulls):
            return
        current = get_value(self._current)
        if type(current) is not dict:  # outside a request (None), or not an ASGI scope
            return
        scope = <dict>current
        if scope["method"] != "GET":
            return
        if self.counts_pulls and kind == "manifests":
            self._counts[name] = self._counts.get(name, 0) + 1
        if not self.wants_pulls or (self.share < 1 and random.random() >= self.share):
            return
        if self._count >= self.limit:
            self.dropped += 1
            return
        if self._count == self._capacity:
            self._grow()
        clock_gettime(CLOCK_REALTIME, &now)
        host = useragent = b""
        for header, value in scope["headers"]:
            if header == b"host":
                host = value
            elif header == b"user-agent":
                useragent = value
        # The address as "host:port" (the general writer's), its port kept apart as a number.
        port = -1
        address = ""
        client = scope.get("client")
        if _is_host_and_port(client):
            address, port = client
        elif client:
            address = f"{client[0]}:{client[1]}"
        subject = getattr(scope.get(self._grant_key), "subject", None)
        key = (subject, useragent, host, scope.get("scheme", "http"), name, digest, media_type,
               size, tag, kind)
        index = self._key_index.get(key)
        if index is None:
            index = self._key_index[key] = len(self._keys)
            self._keys.append(key)
        self._texts.append(scope.get(self._request_id_key, ""))
        self._texts.append(address)
        note = &self._notes[self._count]
        note.nanoseconds = now.tv_sec * 1_000_000_000 + now.tv_nsec
        note.key = index
        note.port = port
        self._count += 1

    cdef void _grow(self) except *:
        cdef Py_ssize_t capacity = max(1024, 2 * self._capacity)
        cdef Note* grown = <Note*>PyMem_Realloc(self._notes, capacity * sizeof(Note))
        if grown == NULL:
            raise MemoryError()
        self._notes = grown
        self._capacity = capacity

    def take_counts(self) -> dict:
        """The manifest pulls counted since the last call, by repository."""
        counts, self._counts = self._counts, {}
        return counts

    def media_types(self) -> set:
        """The media types of the pulls noted since the last round."""
        return {key[6] for key in self._keys}

    def take(self, constant, second_text, str prefix, uint64_t first, skip):
        """Every pull noted since the last call, as events' JSON, and their media types; but
        those of a media type in `skip`. `constant(key)` gives the two texts of a key's
        pulls (around the request's id and address), `second_text(seconds)` a second's time
        up to its decimal point, `prefix` the ids' first 24 characters (each id then ends
        with the 12 hexadecimal digits of `first` plus the event's number)."""
        cdef Py_ssize_t i, length, at, count = self._count
        cdef Note* note
        cdef int64_t second, last_second = -1
        cdef long micros
        cdef uint64_t number = first
        cdef char* out
        keys, texts = self._keys, self._texts
        notes = self._notes
        self._notes, self._count, self._capacity = NULL, 0, 0
        self._start()
        written = [None] * len(keys)
        bodies = []
        media_types = []
        second_texts = ""
        try:
            for i in range(count):
                note = &notes[i]
                key = keys[note.key]
                if key[6] in skip:
                    continue
                parts = written[note.key]
                if parts is None:
                    parts = written[note.key] = _ascii_pair(constant(key))
                before, after = parts
                second = note.nanoseconds // 1_000_000_000
                if second != last_second:
                    last_second = second
                    second_texts = _ascii(second_text(second))
                micros = (note.nanoseconds // 1000) % 1_000_000
                request_id = _plain(texts[2 * i])
                address = _plain(texts[2 * i + 1])
                length = (
                    PyUnicode_GET_LENGTH(prefix) + 12 + 15 + PyUnicode_GET_LENGTH(second_texts)
                    + 6 + PyUnicode_GET_LENGTH(before) + PyUnicode_GET_LENGTH(request_id) + 10
                    + PyUnicode_GET_LENGTH(address) + PyUnicode_GET_LENGTH(after)
                )
                if note.port >= 0:
                    length += 1 + _digits(note.port)
                body = PyUnicode_New(length, 127)
                out = <char*>PyUnicode_DATA(body)
                at = _put(out, 0, prefix)
                _hex12(out + at, number)
                number += 1
                at = _put_c(out, at + 12, b'","timestamp":"', 15)
                at = _put(out, at, second_texts)
                _decimal(out + at, micros, 6)
                at = _put(out, at + 6, before)
                at = _put(out, at, request_id)
                at = _put_c(out, at, b'","addr":"', 10)
                at = _put(out, at, address)
                if note.port >= 0:
                    out[at] = b":"
                    _decimal(out + at + 1, note.port, _digits(note.port))
                    at += 1 + _digits(note.port)
                if _put(out, at, after) != length:  # every character written, none beyond
                    raise SystemError("a pull event's length was miscounted")
                bodies.append(body)
                media_types.append(key[6])
        finally:
            PyMem_Free(notes)
        return bodies, media_types


def write_envelope(list bodies, bytearray buffer):
    """Distribution's envelope around events' JSON (at least one body) written at the start of
    `buffer`, or of a new buffer when it is too small: that buffer, and the envelope's length.
    Delivery keeps an endpoint's buffer from one envelope to the next: a megabyte made new for
    each was a new mapping of memory each time, with a page fault for every 4 KiB of it (in a
    loaded server, more CPU than writing the events' JSON)."""
    cdef Py_ssize_t length = 11 + PyList_GET_SIZE(bodies) + 1
    cdef Py_ssize_t at
    cdef char* out
    cdef bytes encoded = None
    if not bodies:
        raise ValueError("an envelope holds at least one event")
    for body in bodies:
        if type(body) is not str or not PyUnicode_IS_ASCII(body):
            # Not written here (stored events are ASCII): encoded as any text would be.
            encoded = ('{"events":[' + ",".join(bodies) + "]}").encode()
            length = len(encoded)
            break
        length += PyUnicode_GET_LENGTH(body)
    if PyByteArray_GET_SIZE(buffer) < length:
        buffer = bytearray(length)
    out = PyByteArray_AS_STRING(buffer)
    if encoded is not None:
        memcpy(out, <const char*>encoded, length)
        return buffer, length
    at = _put_c(out, 0, b'{"events":[', 11)
    for body in bodies:
        at = _put(out, at, body)
        out[at] = b","
        at += 1
    at = _put_c(out, at - 1, b"]}", 2)
    if at != length:
        raise SystemError("an envelope's length was miscounted")
    return buffer, length


cdef inline Py_ssize_t _put(char* out, Py_ssize_t at, str text):
    cdef Py_ssize_t length = PyUnicode_GET_LENGTH(text)
    memcpy(out + at, PyUnicode_DATA(text), length)
    return at + length


cdef inline Py_ssize_t _put_c(char* out, Py_ssize_t at, const char* text, Py_ssize_t length):
    memcpy(out + at, text, length)
    return at + length


cdef inline int _digits(long number):
    cdef int digits = 1
    while number >= 10:
        number //= 10
        digits += 1
    return digits


cdef inline void _decimal(char* out, long number, int digits):
    """`number` in `digits` decimal digits, zeros in front."""
    while digits > 0:
        digits -= 1
        out[digits] = 48 + number % 10
        number //= 10


cdef inline void _hex12(char* out, uint64_t number):
    """The last 12 hexadecimal digits of `number`."""
    cdef int position = 12
    while position > 0:
        position -= 1
        out[position] = b"0123456789abcdef"[number & 15]
        number >>= 4


cdef str _plain(object text):
    """`text` as it stands between a JSON string's quotes: as it is, unless it holds a
    character that JSON (ASCII only, as the general writer's) escapes."""
    cdef const unsigned char* data
    cdef Py_ssize_t i
    cdef unsigned char c
    if type(text) is not str:
        text = str(text)
    if PyUnicode_IS_ASCII(text):
        data = <const unsigned char*>PyUnicode_DATA(text)
        for i in range(PyUnicode_GET_LENGTH(text)):
            c = data[i]
            if c < 0x20 or c == 34 or c == 92:
                break
        else:
            return text
    quoted = json.dumps(text)
    return quoted[1 : len(quoted) - 1]


cdef bint _is_host_and_port(object client):
    """An ASGI client as servers give it: (host, port), the port a TCP port's number."""
    return (
        type(client) is tuple
        and len(client) == 2
        and type(client[0]) is str
        and type(client[1]) is int
        and 0 <= client[1] <= 65535
    )


cdef str _ascii(object text):
    if type(text) is not str or not PyUnicode_IS_ASCII(text):
        raise ValueError(f"not ASCII text: {text!r}")
    return text


cdef tuple _ascii_pair(object pair):
    before, after = pair
    return _ascii(before), _ascii(after)

"""Snapshot bodies as Zstandard frames laid end to end (opseval_infra.store.frames): any parts read
back to their bytes, by our reader and by zstandard's own; a long part written again is its kept
frame, a frame read again its kept content; frame boundaries are read from the headers of any
frame Zstandard writes; what is not whole frames is refused."""

from __future__ import annotations

import io
import os
import zlib

import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st
from opseval_infra.store import frames
from opseval_infra.store.base import compress, decompressed
from opseval_infra.store.frames import FRAME_FROM, compress_parts, frame_contents, frame_ends


def read_by_zstandard(stored: bytes) -> bytes:
    """The stream as zstandard itself reads it, across frames."""
    reader = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(stored), read_across_frames=True)
    return reader.read()


part = st.one_of(
    st.binary(max_size=40),  # headers, separators
    st.builds(lambda n, k: b"\n".join(b"E-%06d" % i for i in range(k, k + n)), st.integers(1, 4000), st.integers(0, 9)),
    st.builds(os.urandom, st.integers(FRAME_FROM, 3 * FRAME_FROM)),  # stored as raw blocks
    st.builds(lambda n: b"\0" * n, st.integers(FRAME_FROM, 300_000)),  # an RLE block
)


@settings(max_examples=60, deadline=None)
@given(parts=st.lists(part, max_size=12))
def test_any_parts_are_a_stream_of_frames_that_reads_back_to_their_bytes(parts: list[bytes]) -> None:
    stored = compress(tuple(parts))
    joined = b"".join(parts)
    assert decompressed(stored) == joined
    assert read_by_zstandard(stored) == joined
    long_parts = sum(1 for p in parts if len(p) >= FRAME_FROM)
    assert len(frame_ends(stored)) >= long_parts  # a frame of its own each


# A trained dictionary has an id, which a frame written with it states in its header.
DICTIONARY = zstandard.train_dictionary(
    2048, [b"\n".join(b"E-%06d" % i for i in range(k, k + 50)) for k in range(0, 20_000, 50)]
)


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"write_checksum": True},
        {"write_content_size": False},
        {"write_checksum": True, "write_content_size": False, "level": 19},
        {"write_dict_id": True, "dict_data": DICTIONARY},
    ],
    ids=["plain", "checksum", "no-size", "checksum-no-size", "dictionary"],
)
def test_frame_boundaries_are_read_from_the_headers_of_any_frame_zstandard_writes(options: dict[str, object]) -> None:
    contents = [b"", b"x", os.urandom(70_000), b"\0" * 200_000, b"\n".join(b"E-%06d" % i for i in range(20_000))]
    written = [zstandard.ZstdCompressor(**options).compress(c) for c in contents]  # type: ignore[arg-type]
    if "dict_data" in options:
        assert DICTIONARY.dict_id() and zstandard.get_frame_parameters(written[1]).dict_id == DICTIONARY.dict_id()
    stream = b"".join(written)
    ends = frame_ends(stream)
    assert ends == [sum(map(len, written[: i + 1])) for i in range(len(written))]


def test_a_long_part_written_again_is_its_kept_frame_and_a_frame_read_again_its_kept_content(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(frames, "_WRITTEN", frames._Kept(at_most=2**30))
    monkeypatch.setattr(frames, "_READ", frames._Kept(at_most=2**30))
    chunk = b"\n".join(b"E-%06d" % i for i in range(5000))
    first = compress_parts([b"head", chunk, b"\n", chunk[:100]])
    calls: list[int] = []
    real_compressor, real_decompressor = zstandard.ZstdCompressor, zstandard.ZstdDecompressor

    class CountingCompressor:  # (a wrapper: a Python subclass of zstandard's C types crashes the collector)
        def __init__(self, **options: object) -> None:
            self.inner = real_compressor(**options)  # type: ignore[arg-type]

        def compress(self, data: bytes) -> bytes:
            calls.append(len(data))
            return self.inner.compress(data)

    monkeypatch.setattr(frames.zstandard, "ZstdCompressor", CountingCompressor)
    again = compress_parts([b"head!", chunk, b"\n", chunk[:100]])
    assert len(chunk) not in calls  # the long part's frame was kept
    assert decompressed(again) == b"head!" + chunk + b"\n" + chunk[:100]
    equal = bytes(bytearray(chunk))  # the same bytes, another object: compressed again, to the same frame
    assert compress_parts([equal]) == frames._frame(chunk, real_compressor(level=1))
    assert len(chunk) in calls

    assert b"".join(frame_contents(first)) == b"head" + chunk + b"\n" + chunk[:100]
    decompressed_sizes: list[int] = []

    class CountingReader:
        def __init__(self) -> None:
            self.inner = real_decompressor()

        def decompress(self, data: bytes) -> bytes:
            content: bytes = self.inner.decompress(data)
            decompressed_sizes.append(len(content))
            return content

    monkeypatch.setattr(frames.zstandard, "ZstdDecompressor", CountingReader)
    assert b"".join(frame_contents(again)) == b"head!" + chunk + b"\n" + chunk[:100]
    assert len(chunk) not in decompressed_sizes and 5 in decompressed_sizes  # the chunk's content kept


def test_the_frames_kept_stay_within_their_bounds(monkeypatch: pytest.MonkeyPatch) -> None:
    written, read = frames._Kept(at_most=200_000), frames._Kept(at_most=200_000)
    monkeypatch.setattr(frames, "_WRITTEN", written)
    monkeypatch.setattr(frames, "_READ", read)
    for _ in range(20):
        body = compress_parts([os.urandom(30_000), b"\n", os.urandom(30_000)])
        assert len(b"".join(frame_contents(body))) == 60_001
        assert written.size <= 200_000 and read.size <= 200_000
    assert 0 < len(written) < 20 and 0 < len(read) < 40


def test_a_body_kept_as_one_frame_or_as_zlib_before_reads_as_before() -> None:
    body = b"\n".join(b"E-%06d" % i for i in range(50_000))
    one_frame = zstandard.ZstdCompressor(level=1).compress(body)
    pledged = zstandard.ZstdCompressor(level=1).compressobj(size=len(body))
    streamed = pledged.compress(body) + pledged.flush()
    assert decompressed(one_frame) == decompressed(streamed) == decompressed(zlib.compress(body)) == body


@pytest.mark.parametrize(
    "spoilt",
    [
        lambda s: s[:-1],  # cut short
        lambda s: s + b"\x28\xb5\x2f",  # a magic number cut short
        lambda s: s + b"tail",  # not a frame after the frames
    ],
    ids=["cut", "cut-magic", "tail"],
)
def test_what_is_not_whole_frames_is_refused(spoilt: object) -> None:
    stored = compress_parts([b"\n".join(b"E-%06d" % i for i in range(5000)), b"x"])
    with pytest.raises((ValueError, zstandard.ZstdError)):
        b"".join(frame_contents(spoilt(stored)))  # type: ignore[operator]

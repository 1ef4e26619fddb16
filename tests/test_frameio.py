"""core/frameio.py: round trips for every format and bit depth, layers, metadata, atomic writes, errors."""

from __future__ import annotations

import errno
import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import OpenImageIO as oiio
import pytest
from conftest import (
    FPS,
    FailingImageOutput,
    gradient_frame,
    timecode_for,
    write_image,
    write_layered_exr,
    write_multipart_exr,
    write_sequence,
)

from kinochrome.core import frameio
from kinochrome.core.errors import FrameLayoutError, FrameReadError, OutputError
from kinochrome.core.frameio import check_output_frame, check_output_writable, read_frame, write_frame

W, H = 64, 48

# (fmt, bits, expected pixel_type) for every format and bit depth we promise.
MATRIX = [
    ("exr", 16, "half"), ("exr", 32, "float"),
    ("dpx", 8, "uint8"), ("dpx", 10, "uint16"), ("dpx", 12, "uint16"), ("dpx", 16, "uint16"),
    ("tif", 8, "uint8"), ("tif", 16, "uint16"), ("tif", 32, "float"),
    ("png", 8, "uint8"), ("png", 16, "uint16"),
    ("jpg", 8, "uint8"),
]


def _first(pattern: str) -> str:
    return pattern.replace("####", "1001")


def _attrs(spec: oiio.ImageSpec) -> dict:
    return {a.name: a.value for a in spec.extra_attribs}


@pytest.mark.parametrize("fmt, bits, pixel_type", MATRIX)
def test_round_trip_pixels_and_metadata(tmp_path, fmt, bits, pixel_type):
    alpha = fmt != "jpg"
    src = read_frame(_first(write_sequence(tmp_path / "in", fmt, n=1, bits=bits, alpha=alpha)), frame=1001)
    assert (src.width, src.height, src.pixel_type, src.bits) == (W, H, pixel_type, bits)
    assert src.rgb.shape == (H, W, 3) and src.rgb.dtype == np.float32
    assert (src.alpha is not None) == alpha

    out = str(tmp_path / "out" / f"o.1001.{fmt}")
    write_frame(out, src, src.rgb)
    back = read_frame(out)
    assert (back.pixel_type, back.bits, back.channels) == (src.pixel_type, src.bits, src.channels)
    if fmt == "jpg":  # lossy: re-encoding moves values a little
        assert np.abs(back.rgb - src.rgb).max() <= 3 / 255
    else:
        np.testing.assert_array_equal(back.rgb, src.rgb)
        np.testing.assert_array_equal(back.alpha, src.alpha)
    before, after = _attrs(src.spec), _attrs(back.spec)
    carried = [k for k in before if not k.startswith(("Exif:", "oiio:subimages", "DateTime", "Software"))]
    assert {k: after.get(k) for k in carried} == {k: before[k] for k in carried}
    assert os.listdir(tmp_path / "out") == ["o.1001." + fmt]  # no temp file left


@pytest.mark.parametrize("fmt", ["exr", "dpx"])
def test_timecode_fps_pixel_aspect(tmp_path, fmt):
    pattern = write_sequence(tmp_path, fmt, n=3)
    src = read_frame(pattern.replace("####", "1003"))
    out = str(tmp_path / f"o.{fmt}")
    write_frame(out, src, src.rgb)
    spec = read_frame(out).spec
    assert tuple(spec.getattribute("smpte:TimeCode")) == timecode_for(2)
    fps = spec.getattribute("FramesPerSecond") if fmt == "exr" else spec.getattribute("dpx:FrameRate")
    assert fps == (FPS if fmt == "exr" else 24.0)
    assert spec.getattribute("PixelAspectRatio") == 1.0
    if fmt == "dpx":
        assert spec.get_string_attribute("dpx:TimeCode") == "01:00:00:02"


def test_dpx_header_fields_and_log_transfer(tmp_path):
    src = read_frame(_first(write_sequence(tmp_path, "dpx", n=1, bits=10)))
    assert src.spec.get_string_attribute("dpx:Transfer") == "Logarithmic"
    out = str(tmp_path / "o.dpx")
    write_frame(out, src, src.rgb * 0.5)
    spec = read_frame(out).spec
    for key in ("dpx:Transfer", "dpx:Colorimetric", "dpx:Packing", "dpx:InputDevice", "Copyright",
                "ImageDescription", "oiio:ColorSpace"):
        assert spec.getattribute(key) == src.spec.getattribute(key), key
    assert spec.get_int_attribute("oiio:BitsPerSample") == 10


def test_dpx_linear_transfer_kept(tmp_path):
    src = read_frame(_first(write_sequence(tmp_path, "dpx", n=1, colourspace="lin_rec709")))
    assert src.spec.get_string_attribute("dpx:Transfer") == "Linear"
    write_frame(str(tmp_path / "o.dpx"), src, src.rgb)
    assert read_frame(str(tmp_path / "o.dpx")).spec.get_string_attribute("dpx:Transfer") == "Linear"


def test_ten_bit_values_round_to_nearest_code(tmp_path):
    """OIIO truncates floats to 10-bit DPX codes; write_frame rounds (code 5.7 -> 6)."""
    src = read_frame(_first(write_sequence(tmp_path, "dpx", n=1, bits=10)))
    codes = np.arange(W * H * 3, dtype=np.float32).reshape(H, W, 3) % 1024
    write_frame(str(tmp_path / "o.dpx"), src, (codes + 0.7) / 1023)
    back = read_frame(str(tmp_path / "o.dpx")).rgb * 1023
    np.testing.assert_array_equal(np.round(back), np.minimum(codes + 1, 1023))


def test_exr_windows_and_compression(tmp_path):
    spec = oiio.ImageSpec(W, H, 3, "half")
    spec.x, spec.y, spec.full_x, spec.full_y, spec.full_width, spec.full_height = 8, 4, 0, 0, 96, 64
    spec.attribute("compression", "dwaa")
    spec.attribute("Note", "windowed")
    write_image(tmp_path / "w.exr", np.repeat(gradient_frame((W, H))[..., None], 3, -1), spec)
    src = read_frame(str(tmp_path / "w.exr"))
    assert src.rgb.shape == (H, W, 3)  # the data window
    write_frame(str(tmp_path / "o.exr"), src, src.rgb)
    back = read_frame(str(tmp_path / "o.exr")).spec
    assert (back.x, back.y, back.width, back.height) == (8, 4, W, H)
    assert (back.full_x, back.full_y, back.full_width, back.full_height) == (0, 0, 96, 64)
    # DWAA is lossy: re-encoding the coloured frame with it moved its luminance by up to 3%; ZIP keeps it
    assert back.get_string_attribute("compression") == "zip"
    assert back.get_string_attribute("Note") == "windowed"


def test_mixed_channel_types_are_kept(tmp_path):
    spec = oiio.ImageSpec(W, H, 4, "half")
    spec.channelnames = ("R", "G", "B", "A")
    spec.channelformats = (oiio.TypeDesc("half"),) * 3 + (oiio.TypeDesc("float"),)
    spec.alpha_channel = 3
    pixels = np.random.default_rng(0).random((H, W, 4)).astype(np.float32)
    out = oiio.ImageOutput.create(str(tmp_path / "m.exr"))
    assert out.open(str(tmp_path / "m.exr"), spec) and out.write_image(pixels) and out.close()
    src = read_frame(str(tmp_path / "m.exr"))
    write_frame(str(tmp_path / "o.exr"), src, src.rgb)
    back = read_frame(str(tmp_path / "o.exr")).spec
    assert [str(t) for t in back.channelformats] == ["half", "half", "half", "float"]   # not all float
    grey = oiio.ImageSpec(W, H, 2, "half")                 # a grey Y channel with a float alpha
    grey.channelnames = ("Y", "A")
    grey.channelformats = (oiio.TypeDesc("half"), oiio.TypeDesc("float"))
    grey.alpha_channel = 1
    out = oiio.ImageOutput.create(str(tmp_path / "g.exr"))
    assert out.open(str(tmp_path / "g.exr"), grey) and out.write_image(pixels[..., :2].copy()) and out.close()
    src = read_frame(str(tmp_path / "g.exr"))
    write_frame(str(tmp_path / "og.exr"), src, src.rgb)
    back = read_frame(str(tmp_path / "og.exr")).spec
    assert [str(t) for t in back.channelformats] == ["half", "half", "half", "float"]


def test_float_exr_zip_compression_kept(tmp_path):
    src = read_frame(_first(write_sequence(tmp_path, "exr", n=1, bits=32)))
    src.spec.attribute("compression", "zip")
    write_frame(str(tmp_path / "o.exr"), src, src.rgb)
    assert read_frame(str(tmp_path / "o.exr")).spec.get_string_attribute("compression") == "zip"


@pytest.mark.parametrize("fmt, bits", [("exr", 16), ("exr", 32), ("png", 8), ("tif", 16)])
def test_one_channel_grey_is_broadcast_and_written_as_rgb(tmp_path, fmt, bits):
    src = read_frame(_first(write_sequence(tmp_path, fmt, n=1, bits=bits, channels=1)))
    assert src.channels == ("Y",) and src.rgb.shape == (H, W, 3)
    np.testing.assert_array_equal(src.rgb[..., 0], src.rgb[..., 2])
    write_frame(str(tmp_path / f"o.{fmt}"), src, src.rgb)
    back = read_frame(str(tmp_path / f"o.{fmt}"))
    assert back.channels == ("R", "G", "B")
    np.testing.assert_array_equal(back.rgb, src.rgb)


def test_grey_stored_as_rgb(tmp_path):
    src = read_frame(_first(write_sequence(tmp_path, "exr", n=1)))
    assert src.channels == ("R", "G", "B")
    np.testing.assert_array_equal(src.rgb[..., 0], src.rgb[..., 1])


def test_layered_exr_layer_selection(tmp_path):
    path = str(tmp_path / "l.exr")
    write_layered_exr(path, ["diffuse.R", "diffuse.G", "diffuse.B", "diffuse.A", "spec.R", "spec.G", "spec.B"])
    diffuse = read_frame(path, "diffuse")
    assert diffuse.channels == ("diffuse.R", "diffuse.G", "diffuse.B", "diffuse.A")
    assert diffuse.alpha is not None
    spec_layer = read_frame(path, "spec")
    assert spec_layer.channels == ("spec.R", "spec.G", "spec.B") and spec_layer.alpha is None
    assert not np.array_equal(diffuse.rgb, spec_layer.rgb)
    write_frame(str(tmp_path / "o.exr"), spec_layer, spec_layer.rgb)
    back = read_frame(str(tmp_path / "o.exr"))
    assert back.channels == ("R", "G", "B")
    np.testing.assert_array_equal(back.rgb, spec_layer.rgb)


def test_layered_exr_without_default_layer_lists_layers(tmp_path):
    path = str(tmp_path / "l.exr")
    write_layered_exr(path, ["diffuse.R", "diffuse.G", "diffuse.B", "spec.Y"])
    with pytest.raises(FrameLayoutError, match=r"^l\.exr: .*layers present: diffuse, spec$"):
        read_frame(path)
    assert read_frame(path, "spec").channels == ("spec.Y",)


def test_unknown_layer_lists_layers(tmp_path):
    path = str(tmp_path / "l.exr")
    write_layered_exr(path, ["R", "G", "B", "diffuse.R", "diffuse.G", "diffuse.B"])
    with pytest.raises(FrameLayoutError, match=r"^l\.exr: no layer 'specular'; layers present: .*diffuse"):
        read_frame(path, "specular")
    assert read_frame(path).channels == ("R", "G", "B")


def test_multipart_exr_part_selection(tmp_path):
    path = str(tmp_path / "m.exr")
    write_multipart_exr(path)
    default = read_frame(path)
    assert default.subimage == 0 and default.pixel_type == "half" and float(default.rgb[0, 0, 0]) == 0.25
    albedo = read_frame(path, "albedo")
    assert albedo.subimage == 1 and albedo.pixel_type == "float" and float(albedo.rgb[0, 0, 0]) == 0.75
    assert albedo.alpha is not None
    write_frame(str(tmp_path / "o.exr"), albedo, albedo.rgb)
    back = read_frame(str(tmp_path / "o.exr"))
    assert back.channels == ("R", "G", "B", "A") and back.spec.get_int_attribute("oiio:subimages") == 1
    with pytest.raises(FrameLayoutError, match="layers present: beauty, albedo"):
        read_frame(path, "nope")


@pytest.mark.parametrize("fmt, bits, bit_depth, expected", [
    ("exr", 16, "float", ("float", 32)), ("exr", 32, "half", ("half", 16)),
    ("dpx", 10, "uint16", ("uint16", 16)), ("dpx", 16, "uint10", ("uint16", 10)),
    ("dpx", 10, "uint12", ("uint16", 12)), ("dpx", 10, "uint8", ("uint8", 8)),
    ("tif", 8, "uint16", ("uint16", 16)), ("png", 8, "uint16", ("uint16", 16)),
])
def test_bit_depth_override(tmp_path, fmt, bits, bit_depth, expected):
    src = read_frame(_first(write_sequence(tmp_path, fmt, n=1, bits=bits)))
    write_frame(str(tmp_path / f"o.{fmt}"), src, src.rgb, bit_depth=bit_depth)
    back = read_frame(str(tmp_path / f"o.{fmt}"))
    assert (back.pixel_type, back.bits) == expected
    assert np.abs(back.rgb - src.rgb).max() <= 1 / 255 + 1e-6


def test_bad_bit_depth(tmp_path):
    src = read_frame(_first(write_sequence(tmp_path, "exr", n=1)))
    with pytest.raises(OutputError, match="bit depth 'uint9'"):
        write_frame(str(tmp_path / "o.exr"), src, src.rgb, bit_depth="uint9")


def test_colourspace_attribute_stays_the_sources(tmp_path):
    src = read_frame(_first(write_sequence(tmp_path, "exr", n=1, colourspace="ACEScg")))
    write_frame(str(tmp_path / "o.exr"), src, src.rgb)
    assert (read_frame(str(tmp_path / "o.exr")).spec.get_string_attribute("oiio:ColorSpace")
            == src.spec.get_string_attribute("oiio:ColorSpace"))


def test_extra_channels_in_exr_ignored_elsewhere(tmp_path):
    confidence = np.linspace(0, 1, W * H, dtype=np.float32).reshape(H, W)
    src = read_frame(_first(write_sequence(tmp_path / "e", "exr", n=1, alpha=True)))
    write_frame(str(tmp_path / "o.exr"), src, src.rgb, extra_channels={"confidence": confidence})
    spec = oiio.ImageInput.open(str(tmp_path / "o.exr")).spec()
    assert "confidence" in spec.channelnames and spec.alpha_channel == spec.channelnames.index("A")
    back = read_frame(str(tmp_path / "o.exr"))
    np.testing.assert_array_equal(back.alpha, src.alpha)
    src = read_frame(_first(write_sequence(tmp_path / "d", "dpx", n=1)))
    write_frame(str(tmp_path / "o.dpx"), src, src.rgb, extra_channels={"confidence": confidence})
    assert read_frame(str(tmp_path / "o.dpx")).spec.nchannels == 3


def test_real_content_round_trip(tmp_path):
    src = read_frame(_first(write_sequence(tmp_path, "dpx", n=1, content="real")))
    write_frame(str(tmp_path / "o.dpx"), src, src.rgb)
    np.testing.assert_array_equal(read_frame(str(tmp_path / "o.dpx")).rgb, src.rgb)


# --- bad input -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["exr", "dpx", "png"])
def test_truncated_frame(tmp_path, fmt):
    path = _first(write_sequence(tmp_path, fmt, n=1, size=(256, 128), content="gradient"))
    data = Path(path).read_bytes()
    truncated = str(tmp_path / f"shot.1004.{fmt}")
    Path(truncated).write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(FrameReadError, match=rf"^shot\.1004\.{fmt}: truncated or corrupt \(.+\)$"):
        read_frame(truncated)


def test_corrupt_and_missing_frame(tmp_path):
    (tmp_path / "shot.1002.exr").write_bytes(b"not an exr at all" * 10)
    with pytest.raises(FrameReadError, match=r"^shot\.1002\.exr: truncated or corrupt"):
        read_frame(str(tmp_path / "shot.1002.exr"))
    with pytest.raises(FrameReadError, match=r"^shot\.1003\.exr: file not found"):
        read_frame(str(tmp_path / "shot.1003.exr"))


def test_output_folder_not_writable(tmp_path):
    src = read_frame(_first(write_sequence(tmp_path, "exr", n=1)))
    blocker = tmp_path / "file"
    blocker.write_text("a file where a folder should be")
    with pytest.raises(OutputError, match=r"file/out: output folder is not writable"):
        check_output_writable(str(blocker / "out"))
    with pytest.raises(OutputError, match=r"file/out: output folder is not writable"):
        write_frame(str(blocker / "out" / "o.exr"), src, src.rgb)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes to read-only folders")
def test_read_only_folder(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(OutputError, match="ro: output folder is not writable"):
            check_output_writable(str(folder))
    finally:
        folder.chmod(0o755)


def test_check_output_writable_creates_folder(tmp_path):
    check_output_writable(str(tmp_path / "a" / "b"))
    assert (tmp_path / "a" / "b").is_dir() and os.listdir(tmp_path / "a" / "b") == []


def _disk_full(path, spec, pixels):
    with open(path, "wb") as f:  # a partial temp file, as a real full disk leaves one
        f.write(b"partial")
    raise OSError(errno.ENOSPC, "No space left on device")


def test_disk_full_leaves_nothing(tmp_path, monkeypatch):
    src = read_frame(_first(write_sequence(tmp_path / "in", "exr", n=1)))
    out = tmp_path / "out"
    out.mkdir()
    (out / "o.1001.exr").write_bytes(b"previous good frame")
    monkeypatch.setattr(frameio, "_oiio_write", _disk_full)
    with pytest.raises(OutputError, match=r"^disk full writing .*o\.1002\.exr \(\d+ bytes free\); nothing written"):
        write_frame(str(out / "o.1002.exr"), src, src.rgb)
    with pytest.raises(OutputError, match="disk full"):
        write_frame(str(out / "o.1001.exr"), src, src.rgb)
    assert os.listdir(out) == ["o.1001.exr"]
    assert (out / "o.1001.exr").read_bytes() == b"previous good frame"


def test_oiio_reported_disk_full_maps_to_enospc(tmp_path, monkeypatch):
    src = read_frame(_first(write_sequence(tmp_path, "exr", n=1)))

    full = FailingImageOutput("Failed write: No space left on device", write_ok=False, has_error=False)
    monkeypatch.setattr(frameio.oiio.ImageOutput, "create", staticmethod(lambda path: full))
    with pytest.raises(OutputError, match="disk full writing .*o.exr"):
        write_frame(str(tmp_path / "o.exr"), src, src.rgb)
    assert not [n for n in os.listdir(tmp_path) if ".kino.tmp" in n]


def test_interrupt_mid_write_removes_temp(tmp_path, monkeypatch):
    src = read_frame(_first(write_sequence(tmp_path / "in", "exr", n=1)))

    def interrupted(path, spec, pixels):
        open(path, "wb").close()
        raise KeyboardInterrupt

    monkeypatch.setattr(frameio, "_oiio_write", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_frame(str(tmp_path / "o.exr"), src, src.rgb)
    assert sorted(os.listdir(tmp_path)) == ["in"]


def test_temp_file_name(tmp_path, monkeypatch):
    src = read_frame(_first(write_sequence(tmp_path / "in", "dpx", n=1)))
    seen = []
    real = frameio._oiio_write
    monkeypatch.setattr(frameio, "_oiio_write", lambda p, s, px: (seen.append(p), real(p, s, px)))
    write_frame(str(tmp_path / "o.1001.dpx"), src, src.rgb)
    name = os.path.basename(seen[0])
    assert name.startswith(".") and ".kino.tmp" in name and name.endswith(".dpx")
    assert os.path.dirname(seen[0]) == str(tmp_path)


def test_written_frames_get_the_usual_permissions(tmp_path):
    # mkstemp's temp files are private (0o600); the frame a farm worker or a reviewer opens must not be
    src = read_frame(_first(write_sequence(tmp_path / "in", "exr", n=1)))
    write_frame(str(tmp_path / "o.1001.exr"), src, src.rgb)
    plain = tmp_path / "plain.txt"
    plain.write_text("written in place")
    assert os.stat(tmp_path / "o.1001.exr").st_mode & 0o777 == plain.stat().st_mode & 0o777


def test_never_overwrites_the_input(tmp_path):
    path = _first(write_sequence(tmp_path, "exr", n=1))
    src = read_frame(path)
    before = Path(path).read_bytes()
    with pytest.raises(OutputError, match="output is the input"):
        write_frame(path, src, src.rgb * 0)
    assert Path(path).read_bytes() == before


def test_shape_mismatch(tmp_path):
    src = read_frame(_first(write_sequence(tmp_path, "exr", n=1)))
    with pytest.raises(OutputError, match="do not match"):
        write_frame(str(tmp_path / "o.exr"), src, src.rgb[:10])


# --- resume check -------------------------------------------------------------------------------------

def test_check_output_frame(tmp_path):
    src = read_frame(_first(write_sequence(tmp_path / "in", "exr", n=1, alpha=True)))
    out = str(tmp_path / "o.exr")
    assert not check_output_frame(out, src)
    write_frame(out, src, src.rgb)
    assert check_output_frame(out, src)
    assert not check_output_frame(out, src, bit_depth="float")
    data = Path(out).read_bytes()
    Path(out).write_bytes(data[: len(data) // 2])
    assert not check_output_frame(out, src)
    other = read_frame(_first(write_sequence(tmp_path / "small", "exr", n=1, size=(32, 24), alpha=True)))
    write_frame(out, other, other.rgb)
    assert not check_output_frame(out, src)


@pytest.mark.parametrize("fmt", ["png", "tif"])
def test_unassociated_alpha_kept_as_stored(tmp_path, fmt):
    """PNG/TIFF colour under a (partly) transparent alpha is neither premultiplied on read nor lost."""
    spec = oiio.ImageSpec(4, 2, 4, "uint8")
    spec.alpha_channel = 3
    spec.attribute("oiio:UnassociatedAlpha", 1)
    pixels = np.zeros((2, 4, 4), np.float32)
    pixels[..., :3] = 0.6
    pixels[..., 3] = [0.0, 0.25, 0.5, 1.0]
    write_image(tmp_path / f"a.{fmt}", pixels, spec)
    src = read_frame(str(tmp_path / f"a.{fmt}"))
    np.testing.assert_allclose(src.rgb, 0.6, atol=1 / 255)
    write_frame(str(tmp_path / f"o.{fmt}"), src, src.rgb)
    back = read_frame(str(tmp_path / f"o.{fmt}"))
    np.testing.assert_array_equal(back.rgb, src.rgb)
    np.testing.assert_array_equal(back.alpha, src.alpha)


def _oiio_float(path: str) -> np.ndarray:
    inp = frameio._open_input(path)  # alpha kept as stored, as frames are read
    data = inp.read_image(0, 0, 0, inp.spec().nchannels, oiio.FLOAT)
    inp.close()
    return data


@pytest.mark.parametrize("ext,fmt,bits,channels", [
    ("png", "uint8", None, 3), ("png", "uint16", None, 4), ("tif", "uint16", None, 3), ("dpx", "uint16", 10, 3),
    ("dpx", "uint16", 12, 3), ("exr", "half", None, 4), ("exr", "float", None, 3), ("tif", "uint16", None, 1)])
def test_frames_decode_to_the_values_oiio_float_reading_gives(tmp_path, ext, fmt, bits, channels):
    """Pixels are decoded in their stored type and widened here (faster): every stored value must come out
    as OpenImageIO's own float conversion gives it, RGB and alpha (all 65,536 16-bit values)."""
    rng = np.random.default_rng(2)
    stored = np.arange(65536, dtype=np.uint32).reshape(256, 256, 1)
    values = np.concatenate([stored] + [rng.permutation(stored.ravel()).reshape(256, 256, 1)
                                        for _ in range(channels - 1)], axis=-1) / 65535.0
    if fmt == "half":
        values = values * 4.0 - 1.0   # negatives and over-white
    spec = oiio.ImageSpec(256, 256, channels, fmt)
    if bits:
        spec.attribute("oiio:BitsPerSample", bits)
    path = str(tmp_path / f"all.{ext}")
    buf = oiio.ImageBuf(spec)
    buf.set_pixels(oiio.ROI(), values.astype(np.float32))
    assert buf.write(path), buf.geterror()
    frame = read_frame(path)
    expected = _oiio_float(path)
    colour = expected[..., :3] if channels >= 3 else np.repeat(expected[..., :1], 3, axis=-1)
    assert frame.rgb.dtype == np.float32 and frame.rgb.flags.c_contiguous
    assert np.array_equal(frame.rgb, colour)
    if channels == 4:
        assert np.array_equal(frame.alpha, expected[..., 3:])


@pytest.mark.parametrize("ext,fmt,bits,channels", [
    ("png", "uint8", None, 3), ("png", "uint16", None, 4), ("tif", "uint8", None, 4), ("dpx", "uint16", 10, 3),
    ("dpx", "uint16", 12, 3), ("dpx", "uint16", 16, 3), ("dpx", "uint8", 8, 3)])
def test_integer_frames_are_stored_as_oiio_would_store_the_snapped_floats(tmp_path, ext, fmt, bits, channels):
    """write_frame hands OpenImageIO integers it made itself (one compiled pass): the file must hold what
    writing the snapped float values through OpenImageIO's own conversion gives, for every code value
    and for values between codes, out of range, and NaN."""
    rng = np.random.default_rng(4)
    levels = 2 ** (bits or (8 if fmt == "uint8" else 16)) - 1
    n = 512 * 256
    values = np.concatenate([np.arange(levels + 1) / levels, rng.uniform(-0.2, 1.2, n)])[:n].astype(np.float32)
    values[5:9] = [np.nan, np.inf, -np.inf, 0.5 / levels]
    values = np.stack([np.roll(values, 7 * k) for k in range(channels)], axis=-1).reshape(256, 512, channels)
    spec = oiio.ImageSpec(512, 256, channels, fmt)
    if bits:
        spec.attribute("oiio:BitsPerSample", bits)
    source_path = str(tmp_path / f"source.{ext}")
    assert oiio.ImageBuf(spec).write(source_path)
    source = read_frame(source_path)
    write_frame(str(tmp_path / f"new.{ext}"), replace(source, alpha=values[..., 3:] if channels == 4 else None),
                values[..., :3])
    out_spec = frameio.output_spec(source, [], None)
    frameio._oiio_write(str(tmp_path / f"old.{ext}"), out_spec,
                        np.ascontiguousarray(frameio._snap_to_bits(values, out_spec)))
    stored = oiio.UINT8 if fmt == "uint8" else oiio.UINT16
    new = oiio.ImageBuf(str(tmp_path / f"new.{ext}")).get_pixels(stored)
    old = oiio.ImageBuf(str(tmp_path / f"old.{ext}")).get_pixels(stored)
    assert np.array_equal(new, old)

"""Frame read/write with OpenImageIO: pixels as float32, all metadata carried, atomic writes.

Arrays: ``Frame.rgb`` is ``(H, W, 3)`` float32 in the file's own encoding ("encoded": integer files
normalised to 0..1 by OpenImageIO, float files as stored) covering the *data window*;
``Frame.alpha`` is ``(H, W, 1)`` float32 or None. ``Frame.spec`` is the input's ``ImageSpec`` with all
metadata (windows, timecode, fps, pixel aspect, compression, DPX header, string attributes).

The input is only ever opened with ``ImageInput``; outputs go to a temp file in the target folder
(``.NAME.kino.tmpXXXX.EXT``) that is renamed over the target, so a crash or a full disk never leaves
a half-written frame under the final name.
"""

from __future__ import annotations

import errno
import os
import tempfile
from dataclasses import dataclass

import numpy as np
import OpenImageIO as oiio

from . import config
from .errors import FrameLayoutError, FrameReadError, OutputError

#: ``bit_depth`` names accepted by :func:`write_frame` -> (OIIO base type, bits per sample or None).
BIT_DEPTHS: dict[str, tuple[str, int | None]] = {
    "uint8": ("uint8", 8),
    "uint10": ("uint16", 10),
    "uint12": ("uint16", 12),
    "uint16": ("uint16", 16),
    "half": ("half", None),
    "float": ("float", None),
}
assert tuple(BIT_DEPTHS) == config.BIT_DEPTH_NAMES  # the session reads the names without importing this module
TMP_MARK = ".kino.tmp"
_RGB_NAMES = ("R", "G", "B")
_GREY_NAMES = ("Y", "L", "I")  # one-channel luminance names seen in EXR/TIFF
#: Channel names that are never the picture: alpha, depth, and the usual AOV/utility channels. A file holding
#: only these (a depth map, a matte) is refused rather than coloured as if it were grey.
_NOT_PICTURE = frozenset({"A", "AR", "AG", "AB", "Z", "ZBACK", "DEPTH", "ALPHA", "MATTE", "MASK", "ID",
                          "OBJECTID", "MATERIALID", "U", "V", "W", "X", "N", "P"})
#: Part names taken as the picture first when a multi-part file is read without ``--layer``.
_PICTURE_PARTS = ("rgba", "rgb", "beauty", "")


@dataclass
class Frame:
    """One decoded frame.

    ``rgb``: ``(H, W, 3)`` float32, encoded (file encoding, integers normalised to 0..1), data window;
    a one-channel grey file is broadcast to 3 channels. ``alpha``: ``(H, W, 1)`` float32 or None,
    passed through untouched. ``spec``: the input ImageSpec (part ``subimage`` for multi-part EXR).
    ``channels``: the channel names read, e.g. ('R', 'G', 'B', 'A') or ('diffuse.R', ...).
    ``pixel_type``: 'uint8' | 'uint16' | 'half' | 'float' | ...; ``bits``: bits per sample (10 for 10-bit DPX).
    """

    path: str
    frame: int | None
    rgb: np.ndarray
    alpha: np.ndarray | None
    spec: oiio.ImageSpec
    channels: tuple[str, ...]
    pixel_type: str
    bits: int
    layer: str | None = None
    subimage: int = 0

    @property
    def width(self) -> int:
        return int(self.rgb.shape[1])

    @property
    def height(self) -> int:
        return int(self.rgb.shape[0])

    @property
    def is_float(self) -> bool:
        """True for half/float pixels (values may leave 0..1), False for integer formats."""
        return self.pixel_type in ("half", "float", "double")

    @property
    def file_format(self) -> str:
        """OpenImageIO format name of the file, e.g. 'openexr', 'dpx', 'png'."""
        return str(self.spec.get_string_attribute("oiio:FormatName", "")) or _format_name(self.path)


def _format_name(path: str) -> str:
    ext = os.path.splitext(path)[1].lower().lstrip(".")
    return {"exr": "openexr", "sxr": "openexr", "tif": "tiff", "jpg": "jpeg"}.get(ext, ext)


def _short(path: str) -> str:
    return os.path.basename(path) or path


def _oiio_error(obj: object | None = None) -> str:
    """The pending OpenImageIO error message, one line."""
    message = ""
    try:
        if obj is not None and hasattr(obj, "geterror"):
            message = obj.geterror()
        message = message or oiio.geterror()
    except UnicodeDecodeError:  # a damaged file's own bytes quoted in the message
        message = "the reader's message is not text (damaged header)"
    return " ".join(message.split()) or "unknown OpenImageIO error"


def _open_input(path: str) -> oiio.ImageInput | None:
    """Open ``path`` for reading only, keeping unassociated alpha as stored.

    By default OpenImageIO premultiplies PNG/TIFF colour by an unassociated alpha on read, which would
    lose the colour under zero alpha; the hint keeps the file's values and puts
    ``oiio:UnassociatedAlpha=1`` in the spec, so writing the spec back stores them unchanged too.
    """
    config = oiio.ImageSpec()
    config.attribute("oiio:UnassociatedAlpha", 1)
    return oiio.ImageInput.open(path, config)


#: Alpha at or below which colour is taken as stored (no division by ~0).
ALPHA_EPS = 1e-6


def is_premultiplied(frame: Frame) -> bool:
    """Float colour with an associated alpha (EXR's convention: colour stored times alpha)."""
    return (frame.alpha is not None and frame.is_float
            and not frame.spec.get_int_attribute("oiio:UnassociatedAlpha", 0))


def straight_rgb(frame: Frame) -> np.ndarray:
    """The frame's colour ``(H, W, 3)`` float32 with premultiplication undone where alpha > 0.

    Colour must be predicted and recombined on the surface's own colour: a soft edge stored at alpha 0.13
    is 0.13 times as bright, and chroma chosen for that darkness was over-saturated threefold once divided
    back. Frames that are not premultiplied are returned as they are.
    """
    if not is_premultiplied(frame):
        return frame.rgb
    assert frame.alpha is not None
    alpha = frame.alpha
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(alpha > ALPHA_EPS, frame.rgb / np.maximum(alpha, ALPHA_EPS), frame.rgb).astype(np.float32)


def premultiply_like(frame: Frame, rgb: np.ndarray) -> np.ndarray:
    """Straight colour ``rgb`` back to the frame's storage (times alpha where it was premultiplied)."""
    if not is_premultiplied(frame):
        return rgb
    assert frame.alpha is not None
    return np.where(frame.alpha > ALPHA_EPS, rgb * frame.alpha, rgb).astype(np.float32)


def _read_error(path: str, message: str) -> FrameReadError:
    return FrameReadError(f"{_short(path)}: truncated or corrupt ({message})")


def _pixel_type(spec: oiio.ImageSpec) -> str:
    return str(spec.format)


def _bits(spec: oiio.ImageSpec) -> int:
    bits = spec.get_int_attribute("oiio:BitsPerSample", 0)
    return int(bits) if bits else int(spec.format.size()) * 8


def _layers(spec: oiio.ImageSpec) -> list[str]:
    """Layer names of a single part: '' for un-prefixed channels, else the prefix before the last '.'."""
    names: list[str] = []
    for channel in spec.channelnames:
        layer = channel.rpartition(".")[0]
        if layer not in names:
            names.append(layer)
    return names


def _pick_channels(spec: oiio.ImageSpec, layer: str | None) -> tuple[list[int], int | None] | None:
    """Indices of the colour channels (3, or 1 for grey) and of alpha in layer ``layer`` (None = '')."""
    prefix = f"{layer}." if layer else ""
    index = {name: i for i, name in enumerate(spec.channelnames)}
    alpha = index.get(prefix + "A")
    if all(prefix + c in index for c in _RGB_NAMES):
        return [index[prefix + c] for c in _RGB_NAMES], alpha
    for grey in _GREY_NAMES:
        if prefix + grey in index:
            return [index[prefix + grey]], alpha
    names = [str(c) for c in spec.channelnames]
    if (not layer and spec.nchannels in (1, 2, 3, 4) and not any("." in c for c in names)
            and not any(c.upper() in _NOT_PICTURE for c in names[:min(3, len(names))])):
        # Generically named channels ('chan0', 'R','G' of a two-channel TIFF): the first one or three are the
        # picture. Alpha, depth or utility channels in the colour places (an EXR of only 'A' or 'Z') are not.
        colour = [0, 0, 0] if spec.nchannels <= 2 else [0, 1, 2]
        alpha = spec.alpha_channel if spec.alpha_channel >= 0 else alpha
        if alpha is not None and alpha in colour:
            return None
        return colour, alpha
    return None


def _layer_labels(inp: oiio.ImageInput) -> list[str]:
    """The layers (single part) and parts (multi-part) of an open file: '(default)', 'diffuse', 'beauty'."""
    found: list[str] = []
    subimage = 0
    while inp.seek_subimage(subimage, 0):
        spec = inp.spec()
        part = spec.get_string_attribute("name", "")
        for layer in _layers(spec):
            label = ".".join(x for x in (part, layer) if x) or "(default)"
            if label not in found:
                found.append(label)
        subimage += 1
    return found


def list_layers(path: str) -> list[str]:
    """Layer names of a frame: '(default)' for un-prefixed channels, channel prefixes, part names."""
    inp = _open_input(path)
    if inp is None:
        raise _read_error(path, _oiio_error())
    try:
        return _layer_labels(inp)
    except UnicodeDecodeError:
        raise FrameReadError(f"{_short(path)}: truncated or corrupt (header text is not UTF-8)") from None
    finally:
        inp.close()


def _part_order(inp: oiio.ImageInput, layer: str | None) -> list[int]:
    """Subimages to search: in file order, but without ``layer`` the picture parts (rgba, beauty, unnamed)
    first, so a multi-part file whose first part is 'depth' is read from its 'rgba' part."""
    parts: list[tuple[int, str]] = []
    while inp.seek_subimage(len(parts), 0):
        parts.append((len(parts), inp.spec().get_string_attribute("name", "").lower()))
    inp.geterror()  # seeking past the last part queues an error (TIFF); it is how the end is found
    if layer is not None:
        return [i for i, _ in parts]
    return [i for i, name in sorted(parts, key=lambda p: (_PICTURE_PARTS.index(p[1]) if p[1] in _PICTURE_PARTS
                                                         else len(_PICTURE_PARTS), p[0]))]


def _find_layer(inp: oiio.ImageInput, path: str, layer: str | None) -> tuple[int, list[int], int | None, str | None]:
    """Locate ``layer`` (a channel prefix, a part name, or 'part.layer') -> (subimage, colour, alpha, prefix).

    Without ``layer``: un-prefixed R,G,B (or Y) of the picture part; FrameLayoutError listing the layers when
    the file holds no picture (only alpha, depth, or named layers).
    """
    for subimage in _part_order(inp, layer):
        inp.seek_subimage(subimage, 0)
        spec = inp.spec()
        part = spec.get_string_attribute("name", "")
        candidates: list[str | None]
        if layer is None:
            candidates = [None]
        elif layer == part:
            candidates = [None, layer]  # a part's channels may be plain R,G,B or 'part.R'
        elif part and layer.startswith(part + "."):
            candidates = [layer[len(part) + 1:], layer]
        else:
            candidates = [layer]
        for prefix in candidates:
            picked = _pick_channels(spec, prefix)
            if picked is not None:
                return subimage, picked[0], picked[1], prefix
    wanted = f"no layer {layer!r}" if layer else "no picture (no R,G,B or Y channels; pick a layer with --layer)"
    present = ", ".join(_layer_labels(inp)) or "none"
    raise FrameLayoutError(f"{_short(path)}: {wanted}; layers present: {present}")


def _channel_names(spec: oiio.ImageSpec, colour: list[int], alpha_index: int | None) -> tuple[str, ...]:
    """Names of the channels read: the colour ones (once each) then alpha, e.g. ('Y', 'A')."""
    names = [spec.channelnames[i] for i in dict.fromkeys(colour)]
    return tuple(names + ([spec.channelnames[alpha_index]] if alpha_index is not None else []))


def read_frame(path: str, layer: str | None = None, frame: int | None = None,
               size: tuple[int, int] | None = None) -> Frame:
    """Read one frame with OpenImageIO -> :class:`Frame` (rgb ``(H, W, 3)`` float32 encoded).

    ``layer`` picks a channel layer of a single-part EXR (``'diffuse'`` -> ``diffuse.R/G/B``) or a part
    of a multi-part EXR (its ``name``). FrameReadError for a file that cannot be opened or read
    (``"shot.1004.exr: truncated or corrupt (...)"``), FrameLayoutError for an unknown layer.

    The header is checked before any pixel is decoded: ``size`` (width, height), when given, is the shot's
    and another size is a FrameLayoutError ("resolution changes mid-shot"); an image over
    :func:`config.max_pixels` is a FrameReadError naming the limit (a small file can declare a huge image).
    """
    return _read(path, layer, frame, pixels=True, size=size)


def read_header(path: str, layer: str | None = None, frame: int | None = None) -> Frame:
    """Like :func:`read_frame` but reads only the header (fast for ``info`` and checks).

    ``rgb``/``alpha`` are read-only zero placeholders of the right shapes (no pixels are decoded).
    """
    return _read(path, layer, frame, pixels=False)


def check_image_size(path: str, spec: oiio.ImageSpec, size: tuple[int, int] | None = None) -> None:
    """Refuse, from the header alone, an image of another ``size`` than the shot's or over the pixel limit."""
    if size is not None and (spec.width, spec.height) != tuple(size):
        raise FrameLayoutError(f"{path}: {spec.width}x{spec.height} differs from the shot's {size[0]}x{size[1]} "
                               "(resolution changes mid-shot)")
    limit = config.max_pixels()
    if spec.width * spec.height > limit or spec.width <= 0 or spec.height <= 0:
        raise FrameReadError(f"{_short(path)}: {spec.width}x{spec.height} is {spec.width * spec.height / 1e6:.0f} "
                             f"megapixels, over the limit of {limit / 1e6:g} (set {config.ENV_MAX_PIXELS} "
                             "to raise it)")


def _read(path: str, layer: str | None, frame: int | None, pixels: bool,
          size: tuple[int, int] | None = None) -> Frame:
    """The one reader behind read_frame (pixels decoded) and read_header (zero placeholders)."""
    try:
        return _read_file(path, layer, frame, pixels, size)
    except UnicodeDecodeError:  # channel names or attributes of a damaged header that are not UTF-8
        raise FrameReadError(f"{_short(path)}: truncated or corrupt (header text is not UTF-8)") from None


def _read_file(path: str, layer: str | None, frame: int | None, pixels: bool,
               size: tuple[int, int] | None) -> Frame:
    if os.path.isdir(path):
        raise FrameReadError(f"{_short(path)}: is a folder, not an image file")
    if not os.path.isfile(path):
        raise FrameReadError(f"{_short(path)}: file not found" if not os.path.exists(path)
                             else f"{_short(path)}: not a regular file")
    inp = _open_input(path)
    if inp is None:
        raise _read_error(path, _oiio_error())
    try:
        subimage, colour, alpha_index, prefix = _find_layer(inp, path, layer)
        if not inp.seek_subimage(subimage, 0):
            raise _read_error(path, _oiio_error(inp))
        spec = oiio.ImageSpec(inp.spec())
        if pixels:
            check_image_size(path, spec, size)
        # only the channels used are decoded (an EXR with 40 AOVs would otherwise be read whole)
        used = colour + ([alpha_index] if alpha_index is not None else [])
        first_ch, end_ch = min(used), max(used) + 1
        stored, scale = _stored_type(spec)
        data = inp.read_image(subimage, 0, first_ch, end_ch, stored) if pixels else None
        if pixels and (data is None or inp.has_error):
            raise _read_error(path, _oiio_error(inp))
    finally:
        inp.close()
    if pixels:
        data = np.asarray(data).reshape(spec.height, spec.width, end_ch - first_ch)
        picked = [c - first_ch for c in colour]
        rgb = _as_float(data, picked if len(picked) == 3 else picked * 3, scale)
        alpha = _as_float(data, [alpha_index - first_ch], scale) if alpha_index is not None else None
    else:
        zeros = np.zeros((1, 1, 3), np.float32)
        rgb = np.broadcast_to(zeros, (spec.height, spec.width, 3))
        alpha = np.broadcast_to(zeros[..., :1], (spec.height, spec.width, 1)) if alpha_index is not None else None
    return Frame(path=path, frame=frame, rgb=rgb, alpha=alpha, spec=spec,
                 channels=_channel_names(spec, colour, alpha_index),
                 pixel_type=_pixel_type(spec), bits=_bits(spec), layer=layer if layer else prefix,
                 subimage=subimage)


def _stored_type(spec: oiio.ImageSpec) -> tuple[oiio.TypeDesc, float]:
    """What to decode a file's pixels as -> (OpenImageIO type, scale to float): its own 8/16-bit integers
    or half where all channels share the type, else float. Converting them here gives the values
    OpenImageIO's float conversion gives (it multiplies by float32(1 / max), as :func:`_as_float` does;
    half widens exactly) without its slower conversion or a second frame-sized copy."""
    if spec.channelformats:
        return oiio.FLOAT, 1.0
    base = spec.format.basetype
    if base == oiio.UINT8:
        return oiio.UINT8, 1.0 / 255.0
    if base == oiio.UINT16:
        return oiio.UINT16, 1.0 / 65535.0
    if base == oiio.HALF:
        return oiio.HALF, 1.0
    return oiio.FLOAT, 1.0


def _as_float(data: np.ndarray, channels: list[int], scale: float) -> np.ndarray:
    """Channels ``channels`` of ``data`` ``(H, W, C)`` (as :func:`_stored_type` read them) -> contiguous
    ``(H, W, len(channels))`` float32 encoded values."""
    if data.dtype == np.float32 and channels == list(range(data.shape[-1])):
        return np.ascontiguousarray(data)  # OIIO's buffer as it is
    out = np.empty(data.shape[:2] + (len(channels),), np.float32)
    whole = channels == list(range(data.shape[-1]))
    pairs = [(out, data)] if whole else [(out[..., k], data[..., c]) for k, c in enumerate(channels)]
    for target, source in pairs:
        if data.dtype.kind == "u":
            np.multiply(source, np.float32(scale), out=target)
        else:
            target[...] = source
    return out


#: Output bit depths each format stores as asked (others would be silently converted by the writer: uint8 in an
#: EXR is written as half after clipping at 1.0; float in a PNG as uint16). Formats not listed take them all.
FORMAT_BIT_DEPTHS: dict[str, tuple[str, ...]] = {
    "openexr": ("half", "float"),
    "png": ("uint8", "uint16"),
    "jpeg": ("uint8",),
    "dpx": ("uint8", "uint10", "uint12", "uint16"),
}


def check_bit_depth(path: str, bit_depth: str | None) -> None:
    """OutputError when the output format of ``path`` cannot store ``bit_depth`` as asked."""
    if bit_depth is None or bit_depth not in BIT_DEPTHS:
        return  # an unknown name is refused with the list of names when the spec is made
    allowed = FORMAT_BIT_DEPTHS.get(_format_name(path))
    if allowed is not None and bit_depth not in allowed:
        ext = os.path.splitext(path)[1] or path
        raise OutputError(f"--out-bit-depth {bit_depth}: {ext} output holds only {', '.join(allowed)}; "
                          "pick one of those or another output format")


def _output_type(source: Frame, bit_depth: str | None) -> tuple[str, int | None]:
    """(OIIO base type, bits or None) of the output pixels."""
    if bit_depth is None:
        if source.is_float:
            return source.pixel_type, None
        return source.pixel_type, source.bits
    if bit_depth not in BIT_DEPTHS:
        raise OutputError(f"bit depth {bit_depth!r}: expected one of {', '.join(BIT_DEPTHS)}")
    return BIT_DEPTHS[bit_depth]


#: EXR codecs that lose information: re-encoding a coloured frame with them moves its luminance by percents.
LOSSY_EXR_COMPRESSION = ("dwaa", "dwab", "b44", "b44a")
#: What a lossy EXR input's output is written with instead (lossless).
LOSSLESS_EXR_COMPRESSION = "zip"


def lossy_compression(spec: oiio.ImageSpec) -> str | None:
    """The lossy EXR codec of ``spec`` (``"dwaa"``, ...), else None."""
    name = spec.get_string_attribute("compression", "").split(":")[0].lower()
    return name if name in LOSSY_EXR_COMPRESSION else None


def output_spec(source: Frame, extra_names: list[str] | None = None, bit_depth: str | None = None,
                has_alpha: bool | None = None) -> oiio.ImageSpec:
    """The ImageSpec to write for ``source``: its metadata, RGB(A)(+extras), the output pixel type.

    Copying the input spec keeps windows, timecode, fps, pixel aspect, compression, DPX header fields,
    string attributes and ``oiio:ColorSpace``/``colorInteropID`` (the pixels stay in the source encoding).
    Two exceptions keep the luminance guarantee: a lossy EXR codec (DWAA/DWAB/B44) is replaced by
    :data:`LOSSLESS_EXR_COMPRESSION`; per-channel pixel types (half RGB, float alpha) are kept as they were.
    """
    spec = oiio.ImageSpec(source.spec)
    base, bits = _output_type(source, bit_depth)
    if lossy_compression(spec):
        spec.attribute("compression", LOSSLESS_EXR_COMPRESSION)
    alpha = source.alpha is not None if has_alpha is None else has_alpha
    names = list(_RGB_NAMES) + (["A"] if alpha else []) + list(extra_names or [])
    spec.nchannels = len(names)
    spec.channelnames = tuple(names)
    spec.alpha_channel = 3 if alpha else -1
    spec.z_channel = -1
    spec.set_format(oiio.TypeDesc(base))
    formats = tuple(source.spec.channelformats or ())
    if formats and bit_depth is None:
        # the input mixes pixel types (half RGB with a float alpha): keep each channel's own
        names_in = list(source.spec.channelnames)

        def format_of(name: str) -> oiio.TypeDesc:
            return formats[names_in.index(name)] if name in names_in else oiio.TypeDesc(base)

        rgb_format = format_of(source.channels[0])
        # the alpha is the last channel read, after RGB or after a single grey channel
        alpha_format = format_of(source.channels[-1]) if alpha and source.alpha is not None else rgb_format
        spec.set_format(rgb_format)
        spec.channelformats = tuple([rgb_format] * 3 + ([alpha_format] if alpha else [])
                                    + [rgb_format] * len(extra_names or []))
    else:
        spec.channelformats = ()  # one format for all channels
    if bits is None or bits == 8 * oiio.TypeDesc(base).size():
        spec.erase_attribute("oiio:BitsPerSample")
    if bits is not None:
        spec.attribute("oiio:BitsPerSample", int(bits))
    for name in ("oiio:subimages", "name", "oiio:subimagename"):
        spec.erase_attribute(name)  # the output is one plain part
    return spec


def _stored_pixels(planes: list[np.ndarray], spec: oiio.ImageSpec) -> np.ndarray:
    """The ``(H, W, c)`` float32 planes of a frame -> one contiguous ``(H, W, C)`` float32 buffer for
    ``spec``, snapped to code values for integer formats (:func:`_snap_to_bits`'s values, made in one
    compiled pass instead of a copy and five frame-sized NumPy passes: ~10 ms less per 2K frame).

    OpenImageIO is still handed floats: given 16-bit integers for a 10-bit RGBA DPX it writes the alpha
    of each row's last pixel wrong (OpenImageIO 3.2), given floats it converts them correctly."""
    if spec.format.basetype not in (oiio.UINT8, oiio.UINT16):  # float (no snapping), or 32-bit integers
        return np.ascontiguousarray(_snap_to_bits(np.concatenate(planes, axis=-1), spec), dtype=np.float32)
    from . import pixelkernels

    levels = 2 ** _stored_bits(spec) - 1
    values = np.arange(levels + 1, dtype=np.float32) / np.float32(levels)  # what each code is snapped to
    height, width = planes[0].shape[:2]
    out = np.empty((height, width, sum(p.shape[-1] for p in planes)), np.float32)
    start = 0
    for plane in planes:
        end = start + plane.shape[-1]
        pixelkernels.snap_to_codes(np.ascontiguousarray(plane, dtype=np.float32).reshape(-1, plane.shape[-1]),
                                   np.float32(levels), values, out.reshape(-1, out.shape[-1])[:, start:end])
        start = end
    return out


def _stored_bits(spec: oiio.ImageSpec) -> int:
    return spec.get_int_attribute("oiio:BitsPerSample", 0) or spec.format.size() * 8


def _snap_to_bits(pixels: np.ndarray, spec: oiio.ImageSpec) -> np.ndarray:
    """Round to the nearest code value of an integer output ``spec`` (no-op for half/float).

    OpenImageIO converts float to uint16 with rounding but then drops the low bits for 10/12-bit DPX,
    which truncates (code 5.7 is written as 5); rounding here first makes every bit depth round.
    """
    if spec.format.basetype not in (oiio.UINT8, oiio.UINT16, oiio.UINT32):
        return pixels
    levels = float(2 ** _stored_bits(spec) - 1)
    # clip(nan_to_num(x), 0, 1) as min(fmax(x, 0), 1) (fmax takes 0 over NaN): the same codes, in place,
    # without nan_to_num's four frame-sized passes (about 40 ms of a 2K DPX write).
    out = np.fmax(np.asarray(pixels, dtype=np.float32), np.float32(0.0))
    np.minimum(out, np.float32(1.0), out=out)
    out *= np.float32(levels)
    np.round(out, out=out)
    out /= np.float32(levels)
    return out


def _tmp_path(path: str) -> str:
    """A fresh temp file name in ``path``'s folder: hidden, marked '.kino.tmp', same extension."""
    folder, name = os.path.split(os.path.abspath(path))
    stem, ext = os.path.splitext(name)
    fd, tmp = tempfile.mkstemp(prefix=f".{stem}{TMP_MARK}", suffix=ext, dir=folder)
    os.close(fd)
    return tmp


def free_bytes(folder: str) -> int | None:
    """Bytes free to this user in ``folder``'s file system, None where that cannot be asked."""
    try:
        st = os.statvfs(folder)
    except (OSError, AttributeError):
        return None
    return int(st.f_bavail) * int(st.f_frsize)


def _pending_errors(out: oiio.ImageOutput) -> str:
    """Every error the writer has queued, one line ('' when none). OpenImageIO's PNG writer reports a short
    write only here: ``write_image`` and ``close`` still return True, so checking them alone let a full disk
    leave cut-off and 0-byte frames under their final names with exit 0."""
    message = out.geterror() if out.has_error else ""
    message = " ".join(str(message).split())
    return message


#: Errors OpenImageIO queues on a write that succeeded: its TIFF writer queues this one for every file with
#: metadata but no EXIF block (OIIO 3.2). Any other queued error fails the frame.
_BENIGN_WRITE_ERRORS = ("failed TIFFWriteCustomDirectory() of the Exif data",)


def _reads_back(path: str) -> bool:
    """True when the file at ``path`` opens and its pixels decode without error (a cut-off PNG does not)."""
    inp = oiio.ImageInput.open(path)
    if inp is None:
        oiio.geterror()
        return False
    try:
        data = inp.read_image(oiio.FLOAT)
        return data is not None and not inp.has_error
    finally:
        inp.geterror()
        inp.close()


#: The last 12 bytes of every whole PNG: its IEND chunk (length 0, type, CRC).
_PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"
#: The last 2 bytes of every whole JPEG: its EOI marker.
_JPEG_END = b"\xff\xd9"


def _cut_short(path: str) -> str:
    """Why the file just written at ``path`` lacks its end ('' when it is whole).

    OpenImageIO writes PNG, EXR and DPX through a buffered stdio file and ignores what ``fclose`` returns, so a
    disk that fills during the final flush drops the file's last bytes (up to 4 kB) while ``open``,
    ``write_image`` and ``close`` all return True and no error is queued anywhere. What is lost is always the
    end: a PNG must end with its IEND chunk (a PNG short of its last CRC byte still decodes), a JPEG with its
    EOI marker; any other format must open and give its last scanline or tile (a seek and one line for EXR and
    DPX). TIFF is left out: libtiff writes through its own checked ``write()`` calls (a full disk during its
    last write is an error, tested), and OpenImageIO decodes every strip before the last to give it (0.25 s
    for a 2K frame).
    """
    fmt = _format_name(path)
    if fmt == "tiff":
        return ""
    if fmt in ("png", "jpeg"):
        end = _PNG_END if fmt == "png" else _JPEG_END
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - len(end)))
            tail = fh.read()
        return "" if tail == end else f"the file ends after {size} bytes, before its end marker"
    inp = oiio.ImageInput.open(path)
    if inp is None:
        return _oiio_error()
    try:
        spec = inp.spec()
        if spec.tile_width:
            x0 = spec.x + (spec.width - 1) // spec.tile_width * spec.tile_width
            y0 = spec.y + (spec.height - 1) // spec.tile_height * spec.tile_height
            data = inp.read_tiles(0, 0, x0, spec.x + spec.width, y0, spec.y + spec.height, spec.z,
                                  spec.z + max(1, spec.depth), 0, spec.nchannels, oiio.FLOAT)
        else:
            last = spec.y + spec.height - 1
            data = inp.read_scanlines(0, 0, last, last + 1, spec.z, 0, spec.nchannels, oiio.FLOAT)
        if data is None or inp.has_error:
            return f"its last {'tile' if spec.tile_width else 'scanline'} does not read back ({_oiio_error(inp)})"
        return ""
    finally:
        inp.geterror()
        inp.close()


def _oiio_write(path: str, spec: oiio.ImageSpec, pixels: np.ndarray) -> None:
    """Write ``pixels`` ``(H, W, C)`` float32 to ``path`` with ``spec`` and flush it to the disk; OSError on
    failure, including errors the writer only queues (PNG) or reports at close (DPX) or at fsync (NFS,
    quotas), and a file whose last bytes were lost unreported (:func:`_cut_short`).

    The one place that touches the disk through OIIO (tests monkeypatch it to simulate a full disk).
    """
    out = oiio.ImageOutput.create(path)
    if out is None:
        raise OSError(errno.EINVAL, f"no OpenImageIO writer for this extension ({_oiio_error()})")
    message = ""
    try:
        ok = bool(out.open(path, spec)) and bool(out.write_image(pixels))
        message = _pending_errors(out) or ("" if ok else _oiio_error(out))
    finally:
        closed = out.close()
    message = message or _pending_errors(out)
    if ok and closed and message and all(w in message for w in _BENIGN_WRITE_ERRORS) and _reads_back(path):
        message = ""  # a known warning, and the file reads back whole
    if not ok or not closed or message:
        message = message or _oiio_error(out)
        code = errno.ENOSPC if "space left" in message.lower() or "disk full" in message.lower() else errno.EIO
        raise OSError(code, message)
    short = _cut_short(path)  # every call returned True, yet the last flush may have failed unseen
    if short:
        raise OSError(errno.EIO, f"written incomplete: {short}")
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)  # a delayed allocation failure (NFS, quota) shows here, not after the rename
    finally:
        os.close(fd)


def write_frame(path: str, source: Frame, rgb: np.ndarray, bit_depth: str | None = None,
                extra_channels: dict[str, np.ndarray] | None = None) -> None:
    """Write ``rgb`` ``(H, W, 3)`` float32 (source encoding) as ``path``, atomically.

    Same file format as ``path``'s extension, same pixel type as ``source`` unless ``bit_depth``
    (uint8|uint10|uint12|uint16|half|float); alpha from ``source.alpha``; all source metadata carried.
    ``extra_channels`` (name -> ``(H, W)`` float32) are added where the format holds arbitrary
    channels (EXR) and ignored otherwise. OutputError naming the file or folder on failure; nothing is
    left behind (no temp file, no partial target).
    """
    if _same_entry(path, source.path):
        # The rename would replace the input's own directory entry. An output that is merely a hardlink or a
        # symlink to the input is replaced by a new file and the input keeps its data.
        raise OutputError(f"{_short(path)}: output is the input frame; refusing to overwrite it")
    check_bit_depth(path, bit_depth)
    rgb = np.asarray(rgb, dtype=np.float32)
    if rgb.shape != source.rgb.shape:
        raise OutputError(f"{_short(path)}: pixels {rgb.shape} do not match the source {source.rgb.shape}")
    planes = [rgb] + ([source.alpha] if source.alpha is not None else [])
    extras: list[str] = []
    if extra_channels and _format_name(path) == "openexr":
        for name, plane in extra_channels.items():
            extras.append(name)
            planes.append(np.asarray(plane, dtype=np.float32).reshape(source.height, source.width, 1))
    spec = output_spec(source, extras, bit_depth)
    pixels = _stored_pixels(planes, spec)
    folder = os.path.dirname(os.path.abspath(path))
    needed = _size_bound(spec)
    try:
        os.makedirs(folder, exist_ok=True)
        free = free_bytes(folder)
        if _format_name(path) == "jpeg" and free is not None and free < needed:
            # libjpeg ends the whole process on a short write (exit 1, its own message, the temp file left),
            # so a JPEG is only started when it surely fits.
            raise OSError(errno.ENOSPC, "no space left on device")
        tmp = _tmp_path(path)
    except OSError as exc:
        raise _output_error(path, folder, exc, needed) from exc
    try:
        _oiio_write(tmp, spec, pixels)
        os.chmod(tmp, config.new_file_mode())
        os.replace(tmp, path)
    except OSError as exc:
        _remove_quietly(tmp)
        raise _output_error(path, folder, exc, needed, tmp) from exc
    except BaseException:
        _remove_quietly(tmp)  # Ctrl-C mid-write: no temp file left behind
        raise


def _size_bound(spec: oiio.ImageSpec) -> int:
    """Generous upper bound of a frame's size on disk: its uncompressed pixels plus 64 kB of header."""
    return int(spec.width * spec.height * spec.nchannels * max(1, spec.format.size()) * 1.25) + 65536


def _same_entry(a: str, b: str) -> bool:
    """True when ``a`` and ``b`` are the same directory entry (folders resolved, the last name not followed)."""
    def entry(p: str) -> str:
        p = os.path.abspath(p)
        return os.path.normcase(os.path.join(os.path.realpath(os.path.dirname(p)), os.path.basename(p)))
    return entry(a) == entry(b)


def _remove_quietly(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass


def _disk_full(path: str, folder: str) -> OutputError:
    free = free_bytes(folder)
    shown = f"{free} bytes free" if free is not None else "free space unknown"
    return OutputError(f"disk full writing {path} ({shown}); nothing written under that name")


def _folder_error(folder: str, exc: OSError) -> OutputError:
    if exc.errno == errno.ENOSPC:
        return OutputError(f"disk full in {folder} ({free_bytes(folder)} bytes free); nothing written")
    return OutputError(f"{folder}: output folder is not writable ({exc.strerror or exc})")


def _output_error(path: str, folder: str, exc: OSError, needed: int | None = None,
                  tmp: str | None = None) -> OutputError:
    """One message for every format's write failure, naming the frame (never the hidden temp file).

    OpenImageIO's writers word a full disk differently (DPX 'No space left', EXR 'File output failed', PNG
    'could only write N bytes'), so a failure with less free space than the frame needs is called a full
    disk whatever the wording.
    """
    free = free_bytes(folder)
    if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)) or (free is not None and needed is not None and free < needed):
        return _disk_full(path, folder)
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOTDIR):
        return _folder_error(folder, exc)
    detail = str(exc.strerror or exc)
    if tmp:
        detail = detail.replace(tmp, _short(path))
    return OutputError(f"{path}: cannot write ({detail})")


def check_output_writable(folder: str) -> None:
    """Create ``folder`` if needed and prove a file can be created in it; OutputError naming it otherwise.

    Uses a real probe file rather than ``os.access`` (which says yes to root and to read-only mounts).
    """
    try:
        os.makedirs(folder, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=f".probe{TMP_MARK}", dir=folder)
        os.close(fd)
        os.remove(probe)
    except OSError as exc:
        raise _folder_error(folder, exc) from exc


def check_output_frame(path: str, like: Frame, bit_depth: str | None = None) -> bool:
    """True if ``path`` already holds a complete, readable frame as :func:`write_frame` would write for ``like``.

    Compares resolution, channel count and pixel type, then reads the pixels (a truncated file fails).
    Used by ``--resume``.
    """
    if not os.path.isfile(path):
        return False
    inp = _open_input(path)
    if inp is None:
        oiio.geterror()  # clear it
        return False
    try:
        spec = inp.spec()
        expected = output_spec(like, [], bit_depth)
        if (spec.width, spec.height) != (expected.width, expected.height):
            return False
        if spec.nchannels < expected.nchannels or spec.channelnames[:3] != ("R", "G", "B"):
            return False
        if str(spec.format) != str(expected.format) and _format_name(path) not in ("jpeg", "png"):
            return False
        pixels = inp.read_image(oiio.FLOAT)
        return pixels is not None and not inp.has_error
    finally:
        inp.close()

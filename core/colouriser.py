"""The per-frame colouriser: what a shot's frames get as colour, the same for a run and for a preview.

:class:`FrameColouriser` is set up once per shot (keyframe references loaded and checked, keyframe hints at
working size, the model or the classical colouriser, the optical-flow propagation) and then colours frames
in order: ``colourise(frame, lightness) -> (ab, confidence)`` at the frame's resolution. ``pipeline.run()``
feeds it every frame of the run; ``pipeline.preview_frame()`` feeds it the frames the run would have coloured up to
the previewed one (only that one, for methods without memory), so the preview shows the frame the run writes.

The colouring methods are a registry (:data:`METHODS`, :func:`get_method`), in the manner of
OpenTimelineIO's adapter manifest: each :class:`Method` says what it needs and how it colours, and a name that
is not registered is refused with the list of those that are.
"""

from __future__ import annotations

import collections
import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from . import config, frameio, pixelops, references
from .cuts import is_cut
from .errors import ModelError, UsageError
from .resize import resize_plane
from .session import Keyframe
from .upsample import guided_coefficients, upsample_chroma

#: Extra passes over the first frame to settle the LSTM state before its output is used.
PRIME_FRAMES = 2
#: Most bytes of working-size L* planes a colouriser keeps for the propagation to reuse.
SMALL_CACHE_BYTES = 64 * 2**20


@dataclass(frozen=True)
class Method:
    """A colouring method.

    ``needs``: ``"reference"`` (a keyframe with a reference image), ``"keyframe"`` (any keyframe: points
    or strokes will do) or None (colours on its own). ``propagation``: how keyframe hints travel through the
    shot -- ``"confidence"`` (:class:`~kinochrome.core.propagate.Propagator`: reach, cuts, confidence),
    ``"flow"`` (:class:`~kinochrome.core.propagate.FlowOnlyPropagator`, the baseline) or None (the keyframe
    references are used directly). ``model``: predicts with the CNN-LSTM. ``public``: offered on the command
    line and in the session file (``flow`` is the evaluation baseline only).
    A method has memory (a frame's colour depends on the frames before it) when it propagates or uses the model.
    """

    name: str
    description: str
    needs: str | None = None
    propagation: str | None = None
    model: bool = False
    public: bool = True

    @property
    def has_memory(self) -> bool:
        return self.model or self.propagation is not None


METHODS: dict[str, Method] = {m.name: m for m in (
    Method("model", "CNN-LSTM, guided by propagated keyframe hints", propagation="confidence", model=True),
    Method("flow", "optical-flow propagation of the keyframes alone (evaluation baseline)", needs="keyframe",
           propagation="flow", public=False),
    Method("histogram", "histogram matching of the nearest keyframe reference", needs="reference"),
    Method("reinhard", "Reinhard colour transfer from the nearest keyframe reference", needs="reference"),
    Method("knn", "nearest-neighbour colour transfer from the nearest keyframe reference", needs="reference"),
)}


class Prepared(NamedTuple):
    """A frame made ready for the network (:meth:`FrameColouriser.prepare`): working-size L* and hints."""

    frame: int
    small: np.ndarray        # (h, w) L* at working size
    lightness: np.ndarray    # (H, W) L* at full resolution
    hint_ab: np.ndarray      # (h, w, 2) propagated hints
    conf: np.ndarray         # (h, w) their confidence


def get_method(name: str) -> Method:
    """The registered method called ``name``; UsageError listing the registered ones otherwise."""
    try:
        return METHODS[name]
    except (KeyError, TypeError):
        raise UsageError(f"--method: expected one of {', '.join(METHODS)}, got {name!r}") from None


def require_reference(method: Method, keyframes: Sequence[Keyframe]) -> None:
    """UsageError when ``method`` needs a reference (or a keyframe) and ``keyframes`` give none."""
    if method.needs is None or (method.needs == "keyframe" and keyframes):
        return
    if not any(k.reference for k in keyframes):
        raise UsageError(f"method {method.name} needs a colour reference: a keyframe with a reference image "
                         "(--ref FRAME=IMAGE on the command line)")


def as_numpy(ab: Any, confidence: Any, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """:meth:`FrameColouriser.colourise`'s result as NumPy ``(ab (H, W, 2), confidence (H, W))`` whether it
    was coloured on the CPU or finished on a device (tensors ``(2, H, W)``, confidence None for none)."""
    if hasattr(ab, "permute"):
        ab = ab.permute(1, 2, 0).float().cpu().numpy()
    if confidence is None:
        confidence = np.zeros(shape, np.float32)
    elif hasattr(confidence, "cpu"):
        confidence = confidence.float().cpu().numpy()
    return ab, confidence


def frame_lightness(rgb: np.ndarray, colourspace: str) -> np.ndarray:
    """Encoded RGB (H, W, 3) -> L* (H, W) float32 in [0, 100] of its linear Rec.709 luminance.

    Highlights above white clip to L* 100 and NaN/Inf to 0 for the network; the output keeps the
    original values (recombine_chroma uses the input pixels, not this).
    """
    return pixelops.lightness_and_nonfinite(rgb, colourspace)[0]


@dataclass(frozen=True)
class ShotGeometry:
    """Where a shot's frames are and how big: ``path(frame)`` of an input frame, ``frames`` on disk (sorted),
    the colourspace, ``full_size`` and working ``size`` as (w, h), the layer to read."""

    path: Callable[[int], str]
    frames: tuple[int, ...]
    colourspace: str
    full_size: tuple[int, int]
    size: tuple[int, int]
    layer: str | None = None


class FrameColouriser:
    """Colours a shot's frames one after the other (in increasing order; see the module docstring).

    ``settings``: the job's :class:`~kinochrome.core.job.JobSettings` (method, model, device, keyframes
    already resolved to absolute paths, ref_strength, reach, fit, stateless). ``span``: the frames the caller
    will ask for, so the propagation scans for cuts only around them. Raises the reference and keyframe
    errors of :func:`references.validate_keyframes` / :func:`references.load_reference` while setting up,
    before any frame is coloured.

    After each :meth:`colourise`, ``cut_frames`` lists the frames where the model's memory was reset.
    """

    def __init__(self, settings: Any, keyframes: list[Keyframe], shot: ShotGeometry,
                 span: tuple[int, int] | None = None, model: Any = None, finisher: Any = None):
        self.settings = settings
        self.method = get_method(settings.method)
        self.shot = shot
        self._on_disk = frozenset(shot.frames)
        require_reference(self.method, keyframes)
        self.model = model
        if self.method.model and model is None:
            from .model import load_model

            self.model = load_model(settings.model, settings.device)
        if self.model is not None:
            self.model.reset_state()
        # --device cuda: the full-resolution steps run on the GPU (pixels_torch.DeviceFinisher); ``finisher``
        # lets the tests run that path on CPU tensors.
        self.finisher = finisher
        if finisher is None and self.model is not None and getattr(self.model.device, "type", "cpu") == "cuda":
            from .pixels_torch import DeviceFinisher

            self.finisher = DeviceFinisher(self.model.device)
        self.cut_frames: list[int] = []
        self._primed = False                                # LSTM state settled on a first frame
        self._previous_small: np.ndarray | None = None      # last working-size L*, for cut detection
        self._classical: dict[int, Any] = {}
        self.keyframes = {k.frame: k for k in keyframes}
        # Working-size L* of recent frames: the frames the run colours put theirs here, so the propagation's
        # forward pass, its backward blocks and its cut scan share one decode of a frame instead of decoding
        # it again each (a 2K EXR frame was decoded 3.2 times per frame with a keyframe). Bounded, whatever
        # the shot's length: about two reaches of frames, at most SMALL_CACHE_BYTES.
        plane_bytes = 4 * shot.size[0] * shot.size[1]
        self._small_cap = max(4, min(2 * max(int(getattr(settings, "reach", 0)), 0) + config.DEFAULT_QUEUE + 4,
                                     SMALL_CACHE_BYTES // plane_bytes))
        self._small: collections.OrderedDict[int, np.ndarray] = collections.OrderedDict()
        self.reference_lab: dict[int, np.ndarray] = {}
        self._reference_features: dict[int, np.ndarray] = {}   # network features of exemplar references
        self.painted: set[int] = set()
        hints = self._keyframe_hints(keyframes)
        self.propagator: Any = None
        if hints and self.method.propagation:
            from .propagate import FlowOnlyPropagator, Propagator

            kind = FlowOnlyPropagator if self.method.propagation == "flow" else Propagator
            self.propagator = kind(shot.frames, hints, self.lightness_small, settings.reach,
                                   span=span)

    @property
    def warnings(self) -> list[str]:
        """Set-up warnings (stretches of frames no keyframe reaches, keyframes not on disk)."""
        return list(self.propagator.warnings) if self.propagator is not None else []

    # ------------------------------------------------------------------ set-up
    def lab_small(self, frame: int) -> np.ndarray:
        """Working-size L*a*b* (a*b* zero) of an input frame."""
        lightness = self.lightness_small(frame)
        return np.dstack([lightness, np.zeros_like(lightness), np.zeros_like(lightness)])

    def lightness_small(self, frame: int) -> np.ndarray:
        """Working-size L* ``(h, w)`` of an input frame: from the recent frames' planes, else read (and kept)."""
        cached = self._small.get(frame)
        if cached is not None:
            self._small.move_to_end(frame)
            return cached
        f = frameio.read_frame(self.shot.path(frame), layer=self.shot.layer, frame=frame)
        lightness = resize_plane(frame_lightness(frameio.straight_rgb(f), self.shot.colourspace), self.shot.size)
        self._keep_small(frame, lightness)
        return lightness

    def _keep_small(self, frame: int, lightness: np.ndarray) -> None:
        self._small[frame] = lightness
        self._small.move_to_end(frame)
        while len(self._small) > self._small_cap:
            self._small.popitem(last=False)

    def _keyframe_hints(self, keyframes: list[Keyframe]) -> dict[int, tuple[np.ndarray, np.ndarray]]:
        """Keyframe hints at working size, validated before anything is written."""
        s, shot = self.settings, self.shot
        references.validate_keyframes(keyframes, shot.frames[0], shot.frames[-1], shot.full_size)
        hints: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        for k in keyframes:
            lab_frame = self.lab_small(k.frame)
            ref_lab = None
            if k.reference:
                # Checked against the full-resolution aspect (the working size is rounded to multiples of 8).
                ref_full = references.load_reference(k.reference, shot.full_size, fit=s.fit, frame=k.frame)
                ref_lab = resize_plane(ref_full, shot.size)
                self.reference_lab[k.frame] = ref_lab
                if references.reference_kind(ref_lab, lab_frame, k.kind) == "painted":
                    self.painted.add(k.frame)
            features = None
            if self.model is not None and k.reference and k.frame not in self.painted:
                features = (self.model.features(ref_lab[:, :, 0]), self.model.features(lab_frame[:, :, 0]))
            hints[k.frame] = references.keyframe_hints(k, lab_frame, ref_lab, shot.full_size,
                                                       model_features=features)
        return hints

    def _classical_for(self, frame: int) -> Any:
        """The ClassicalColouriser of the keyframe reference nearest ``frame`` (one kept at a time)."""
        from .classical import ClassicalColouriser

        nearest = min(self.reference_lab, key=lambda k: (abs(k - frame), k))
        if nearest not in self._classical:
            self._classical = {nearest: ClassicalColouriser(self.method.name, self.reference_lab[nearest],
                                                            k=config.DEFAULT_KNN_K)}
        return self._classical[nearest]

    # ------------------------------------------------------------------ per frame
    def _fill_from_reference(self, f: int, small: np.ndarray, hint_ab: np.ndarray, conf: np.ndarray
                             ) -> tuple[np.ndarray, np.ndarray]:
        """Propagated hints of frame ``f`` with their gaps filled from the nearest reference that reaches it
        (:func:`references.fill_from_reference`); unchanged when none does. ``small`` L* at working size.

        The matches are also handed to the forward pass (:meth:`Propagator.carry`): carried by the flow, the
        colours found for a region hold on the next frames instead of being matched afresh each frame.
        """
        propagator = self.propagator
        source = next((k for k in propagator.keyframes_reaching(f) if k in self.reference_lab), None)
        if source is None:
            return hint_ab, conf
        locality = references.MATCH_LOCALITY if source in self.painted else 0.0
        features = None
        # the trunk runs once more per frame for this, so only where there is a gap to fill (conf < 0.5 is
        # reference_matches' own test)
        if self.model is not None and source not in self.painted and (conf < 0.5).any():
            # an exemplar is another picture: match its regions by the network's (semantic) features too
            if source not in self._reference_features:
                self._reference_features[source] = self.model.features(self.reference_lab[source][:, :, 0])
            features = (self._reference_features[source], self.model.features(small))
        matches = references.reference_matches(conf, self.reference_lab[source], small, locality=locality,
                                               features=features)
        if matches is None:
            return hint_ab, conf
        propagator.carry(f, *matches, distance=abs(f - source))
        return references.lay_under(hint_ab, conf, *matches)

    def _predict(self, f: int, small: np.ndarray, hint_ab: np.ndarray, conf: np.ndarray) -> np.ndarray:
        """The model's a*b* at working size, its LSTM state carried on (reset at cuts, primed first)."""
        s, model = self.settings, self.model
        if s.stateless:
            model.reset_state()
        previous = self._previous_small
        if previous is not None and previous.shape == small.shape and is_cut(previous, small):
            # A new scene: colour memory from the last one would only mislead.
            model.reset_state()
            self._primed = False
            self.cut_frames.append(f)
        self._previous_small = small
        if s.stateless or not self._primed:
            # A zero LSTM state is a special case the network saw only at the start of training
            # sequences; priming it on the first frame gives the first output the same footing as the rest.
            for _ in range(PRIME_FRAMES):
                primed = model.predict_ab(small, hint_ab, conf * s.ref_strength)
            if not np.isfinite(primed).all():
                # weights that are finite but combine to NaN/Inf would give grey frames and exit 0
                raise ModelError(f"model {model.name}: its output on frame {f} is not finite (NaN or Inf); "
                                 "the weights are damaged: reinstall the model or pick another with --model")
            self._primed = True
        return model.predict_ab(small, hint_ab, conf * s.ref_strength)

    def colourise_small(self, f: int, small: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Frame ``f`` at working size: L* ``small`` (h, w) -> ``(ab_small (h, w, 2), hint_ab, confidence)``.

        Advances the method's memory (LSTM state, propagation); a preview replays earlier frames with this.
        """
        hint_ab, conf = self._hints(f, small)
        return self._ab_small(f, small, hint_ab, conf), hint_ab, conf

    def _hints(self, f: int, small: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The propagated hints of frame ``f`` (gaps filled from the reference) at working size, or zeros."""
        if self.propagator is not None:
            hint_ab, conf = self.propagator.hints_for(f)
            if self.model is not None:
                hint_ab, conf = self._fill_from_reference(f, small, hint_ab, conf)
            return hint_ab, conf
        return np.zeros(small.shape + (2,), np.float32), np.zeros(small.shape, np.float32)

    def _ab_small(self, f: int, small: np.ndarray, hint_ab: np.ndarray, conf: np.ndarray) -> np.ndarray:
        """The method's a*b* of frame ``f`` at working size, given its hints (the model's memory advances)."""
        if self.method.model:
            return self._predict(f, small, hint_ab, conf)
        if self.method.propagation == "flow":
            return hint_ab
        lab = np.dstack([small, np.zeros_like(small), np.zeros_like(small)])
        return self._classical_for(f).colourise(lab)

    def _painted_hints(self, f: int, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
        """The painted keyframe ``f``'s chroma (and colour points over it) at full resolution, confidence 1."""
        key = self.keyframes[f]
        ref = references.load_reference(key.reference, (width, height), fit=self.settings.fit, frame=f)
        hint_full, conf_full = ref[:, :, 1:], np.ones((height, width), np.float32)
        point_ab, point_mask = references.point_hints(key.points, key.strokes, (width, height), 1.0)
        return np.where(point_mask[:, :, None] > 0, point_ab, hint_full), conf_full

    def _finish_on_device(self, f: int, small: np.ndarray, lightness: np.ndarray, ab_small: np.ndarray,
                          hint_ab: np.ndarray, conf: np.ndarray) -> tuple[Any, Any]:
        """:meth:`colourise`'s full-resolution steps on the finisher's device -> ``(ab (2, H, W), confidence
        (H, W))`` tensors there (the writer recombines on the device: :func:`as_numpy` for other uses)."""
        s, finisher = self.settings, self.finisher
        a_coef, b_coef = guided_coefficients(small, ab_small)
        ab = finisher.upsample(a_coef, b_coef, lightness)
        height, width = lightness.shape
        if f in self.painted and s.ref_strength > 0:
            hint_full, conf_full = self._painted_hints(f, width, height)
            return finisher.compose(ab, hint_full, conf_full, s.ref_strength, premultiplied=False)
        if not conf.any() or s.ref_strength <= 0:
            return ab, None
        return finisher.compose(ab, hint_ab, conf, s.ref_strength)

    def colourise(self, f: int, lightness: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Frame ``f``: its L* (H, W) at full resolution -> final a*b* (H, W, 2) and hint confidence (H, W).

        A run calls its parts itself: :meth:`prepare` (one frame ahead, in its own thread),
        :meth:`colourise_prepared` (the network, in frame order) and the returned finish (full resolution, in a
        writer thread, and never for the frames coloured only to warm the memory up)."""
        return self.colourise_prepared(self.prepare(f, lightness))()

    def prepare(self, f: int, lightness: np.ndarray) -> Prepared:
        """The first part of :meth:`colourise`: frame ``f``'s L* at working size and its propagated
        hints. It does not touch the model's memory, so a run prepares the next frame in another thread
        while the network colours this one; calls must come one at a time, in frame order."""
        small = resize_plane(lightness, self.shot.size)
        if f in self._small or (self.propagator is not None and f in self._on_disk):
            self._keep_small(f, small)  # the propagation reads it from here (a held missing frame is not kept)
        hint_ab, conf = self._hints(f, small)
        return Prepared(f, small, lightness, hint_ab, conf)

    def colourise_prepared(self, prepared: Prepared) -> Callable[[], tuple[Any, Any]]:
        """The second part: the method's chroma at working size (the model's memory advances; frame order),
        and the full-resolution finish as a function to call later, in any thread."""
        f, small, lightness, hint_ab, conf = prepared
        ab_small = self._ab_small(f, small, hint_ab, conf)
        if self.finisher is not None:
            on_device = self._finish_on_device(f, small, lightness, ab_small, hint_ab, conf)
            return lambda: on_device
        painted = f in self.painted and self.settings.ref_strength > 0
        return functools.partial(self._finish, f, small, lightness, ab_small, hint_ab, conf, painted)

    def _finish(self, f: int, small: np.ndarray, lightness: np.ndarray, ab_small: np.ndarray, hint_ab: np.ndarray,
                conf: np.ndarray, painted: bool) -> tuple[np.ndarray, np.ndarray]:
        """The full-resolution part of :meth:`colourise` (reads nothing that a later frame changes)."""
        s = self.settings
        ab = upsample_chroma(ab_small, small, lightness)
        height, width = lightness.shape
        if painted:
            # The artist painted this very frame: its chroma is taken at full resolution, exactly.
            hint_full, conf_full = self._painted_hints(f, width, height)
        elif not conf.any() or s.ref_strength <= 0:
            # No hint reaches this frame (automatic colour): nothing to blend at full resolution.
            return ab, np.zeros((height, width), np.float32)
        else:
            # Hints are resampled, premultiplied by their confidence, not put through the guided filter: that
            # filter (right for the network's chroma) averaged each hint with the unhinted zeros around it and
            # over edges, so colour washed out on every frame after a keyframe (ab RMSE on the next frame
            # 4.8 -> 1.7 on the sample) and small colour points faded from blue to purple.
            # They blend as they are (ref_strength is validated to [0, 1]): no division by the confidence.
            conf_full = np.clip(resize_plane(conf, (width, height)), 0.0, 1.0)
            weighted = resize_plane(np.ascontiguousarray(hint_ab * conf[..., None]), (width, height))
            return references.compose_premultiplied(ab, weighted, conf_full, s.ref_strength), conf_full
        return references.compose_ab(ab, hint_full, conf_full, s.ref_strength), conf_full

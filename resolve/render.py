"""Rendering a movie clip to an image sequence with a Resolve render job, and the colour space it is in."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from kinochrome.core.errors import Cancelled
from kinochrome.core.job import CancelToken

from .clips import RENDER_FORMATS, ClipPlan, ResolveCalls, RunOptions, _safe_name
from .connect import ResolveError

if TYPE_CHECKING:
    from fusionscript import Project, Timeline
    from fusionscript.fusionscript import RenderSettings

log = logging.getLogger("kinochrome.resolve")

RENDER_DONE = "Complete"
#: Resolve colour space names (project settings colorSpaceTimeline / colorSpaceOutput) -> Kinochrome's.
RESOLVE_COLOURSPACES = {
    "Rec.709 Gamma 2.4": "g24_rec709", "Rec.709-A": "g24_rec709", "Rec.709 Gamma 2.2": "g22_rec709",
    "sRGB": "sRGB", "Rec.709 (Scene)": "g22_rec709", "Linear": "lin_rec709", "Rec.709 Linear": "lin_rec709",
    "ACEScg": "ACEScg", "ACES (AP0) Linear": "ACES2065-1",
}
DEFAULT_RENDER_COLOURSPACE = "Rec.709 Gamma 2.4"


class ClipRenderer(ResolveCalls):
    """Renders a clip's record range (its track alone) to a half EXR or 16-bit DPX sequence."""

    def pick_render_format(self, project: Project, preferred: str = "exr") -> tuple[str, str, str]:
        """(format, codec, extension) for a half EXR or 16-bit DPX sequence, asked of Resolve at run time."""
        formats = project.GetRenderFormats() or {}
        order = [preferred] + [f for f in RENDER_FORMATS if f != preferred]
        tried = []
        for wanted in order:
            fmt = next((ext for name, ext in formats.items() if ext.lower() == wanted or name.lower() == wanted),
                       None)
            if fmt is None:
                continue
            codecs = project.GetRenderCodecs(fmt) or {}
            for description, codec in codecs.items():
                text = f"{description} {codec}".lower()
                if wanted == "exr" and "half" in text and "rgba" not in text:
                    return fmt, codec, fmt
                if wanted == "dpx" and "16" in text:
                    return fmt, codec, fmt
            tried.append(f"{fmt}: {', '.join(codecs.values()) or 'no codecs'}")
        raise ResolveError("Resolve offers no half EXR or 16-bit DPX render codec "
                           f"({'; '.join(tried) or 'no EXR or DPX format'})")

    def render_clip(self, project: Project, timeline: Timeline, plan: ClipPlan, target_dir: str,
                    options: RunOptions, cancel: CancelToken,
                    progress: Callable[[float], None] | None = None) -> tuple[str, tuple[int, int]]:
        """Render the clip's record range (its track alone) to an image sequence; (pattern, frames).

        Other video tracks are disabled for the render and restored afterwards. Raises ResolveError when a
        step is refused or the job does not end "Complete", Cancelled on cancel (rendering stopped).
        """
        fmt, codec, ext = self.pick_render_format(project, options.render_format)
        os.makedirs(target_dir, exist_ok=True)
        custom = f"{_safe_name(plan.name)}_src_"
        stale = [n for n in os.listdir(target_dir) if n.startswith(custom)]
        if stale and options.job_overrides.get("mode") in ("overwrite", "resume"):
            for name in stale:                      # our own earlier render of this clip
                os.remove(os.path.join(target_dir, name))
        elif stale:
            raise ResolveError(f"{target_dir}: holds an earlier render ({stale[0]}); remove it or use "
                               "mode overwrite")
        if not project.SetCurrentRenderFormatAndCodec(fmt, codec):
            raise ResolveError(f"Resolve refused render format {fmt} / codec {codec}")
        project.SetCurrentRenderMode(1)                  # single clip: one sequence for the range
        settings: dict[str, Any] = {
            "SelectAllFrames": False, "MarkIn": plan.record_start, "MarkOut": plan.record_end - 1,
            "TargetDir": target_dir, "CustomName": custom, "ExportVideo": True, "ExportAudio": False,
            # the file says what it holds: the project's output/timeline colour space (render_colourspace)
            "ColorSpaceTag": "Same as Project", "GammaTag": "Same as Project",
        }
        if plan.resolution:
            settings["FormatWidth"], settings["FormatHeight"] = plan.resolution
        if not project.SetRenderSettings(cast("RenderSettings", settings)):
            raise ResolveError(f"Resolve refused the render settings for {plan.name}: {settings}")
        disabled = []
        for index in range(1, timeline.GetTrackCount("video") + 1):
            if index != plan.track and timeline.GetIsTrackEnabled("video", index):
                timeline.SetTrackEnable("video", index, False)
                disabled.append(index)
        job = ""
        try:
            job = project.AddRenderJob()
            if not job:
                raise ResolveError(f"Resolve refused to add a render job for {plan.name}")
            if not project.StartRendering([job], False):
                raise ResolveError(f"Resolve did not start render job {job} for {plan.name}")
            started = self.clock()
            while project.IsRenderingInProgress():
                if cancel.cancelled:
                    project.StopRendering()
                    raise Cancelled(f"render of {plan.name} cancelled")
                if options.render_timeout is not None and self.clock() - started > options.render_timeout:
                    project.StopRendering()
                    raise ResolveError(f"render job {job} for {plan.name}: no result after "
                                       f"{options.render_timeout:g} s; stopped")
                status = dict(project.GetRenderJobStatus(job) or {})
                if progress is not None:
                    progress(float(cast(float, status.get("CompletionPercentage", 0)) or 0) / 100.0)
                self.sleep(options.poll_interval)
            status = dict(project.GetRenderJobStatus(job) or {})
            if status.get("JobStatus") != RENDER_DONE:
                detail = status.get("Error") or f"{status.get('CompletionPercentage', 0)}% done"
                raise ResolveError(f"render job {job} for {plan.name} ended {status.get('JobStatus', 'unknown')!r}: "
                                   f"{detail}")
        finally:
            for index in disabled:
                timeline.SetTrackEnable("video", index, True)
            if job:
                project.DeleteRenderJob(job)
        return self._rendered_sequence(target_dir, custom, ext, plan)

    @staticmethod
    def _rendered_sequence(target_dir: str, custom: str, ext: str, plan: ClipPlan) -> tuple[str, tuple[int, int]]:
        number = re.compile(rf"^{re.escape(custom)}[._-]?(\d+)\.{re.escape(ext)}$", re.IGNORECASE)
        found = sorted((int(m.group(1)), m) for m in map(number.match, os.listdir(target_dir)) if m)
        if len(found) != plan.duration:
            raise ResolveError(f"render of {plan.name} in {target_dir}: {len(found)} frame(s) written, "
                               f"{plan.duration} expected")
        first, last = found[0][0], found[-1][0]
        if last - first + 1 != plan.duration:
            raise ResolveError(f"render of {plan.name} in {target_dir}: frames {first}-{last} are not contiguous")
        sample = found[0][1]
        digits = sample.group(1)
        head = sample.group(0)[: sample.start(1)]
        padding = len(digits) if digits.startswith("0") or len(digits) > len(str(first)) else 1
        return os.path.join(target_dir, f"{head}{'#' * padding}.{ext}"), (first, last)

    def render_colourspace(self, project: Project) -> tuple[str, str]:
        """(Resolve's name, Kinochrome's name) of the colour space Resolve renders in: the output colour space
        when colour managed, else the timeline's (DaVinci YRGB: typically Rec.709 Gamma 2.4)."""
        mode = str(project.GetSetting("colorScienceMode") or "")
        key = "colorSpaceOutput" if "managed" in mode.lower() or mode.lower().startswith("aces") else \
            "colorSpaceTimeline"
        name = str(project.GetSetting(key) or "") or DEFAULT_RENDER_COLOURSPACE
        ours = RESOLVE_COLOURSPACES.get(name)
        if ours is None:
            log.warning("render colour space %r is not one Kinochrome knows; reading the render as Rec.709 "
                        "gamma 2.4 (set the Kinochrome colourspace with --mode overrides if it is not)", name)
            ours = RESOLVE_COLOURSPACES[DEFAULT_RENDER_COLOURSPACE]
        return name, ours

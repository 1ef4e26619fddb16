"""A fake DaVinci Resolve object model: exactly what kinochrome.resolve uses, nothing more.

Class and method names, argument names and return types follow fusionscript-stubs 21.0.0 (the Resolve
scripting API signatures). Where the stubs declare an ``Optional`` argument without a default
(``GetClipProperty(propertyName)``, ``GetStart(subframe_precision)``) the fake gives it the default the real
API has. Semantics follow Resolve's README and, where marked, public scripts (see docs/resolve.md):

* record frames are absolute (a timeline starts at 86400 = 01:00:00:00 at 24 fps); ``TimelineItem.GetEnd``
  is exclusive; ``GetLeftOffset`` counts media frames before the clip's first used frame;
* ``MediaPool.ImportMedia([{"FilePath": "x.%04d.exr", "StartIndex": a, "EndIndex": b}])`` creates one clip
  in the current folder whose "File Path" reads ``x.[a-b].exr`` (padding of the files); it returns [] when a
  frame of the range is missing (nothing imported);
* ``AppendToTimeline([clipInfo])`` works on the current timeline: ``startFrame`` 0-based in the media,
  ``endFrame`` exclusive, ``recordFrame`` absolute; it returns [] for a bad track or an overlap;
* ``AddTrack("video", {"index": i})`` inserts the new track at ``i`` (tracks from ``i`` move up);
* a render job snapshots the render settings; ``StartRendering`` starts it and each
  ``IsRenderingInProgress`` call renders a few frames: for every record frame from MarkIn to MarkOut the
  topmost *enabled* video track's clip at that frame is written with OpenImageIO as
  ``TargetDir/CustomName<8-digit record frame>.<ext>`` (EXR half / DPX 16-bit), which is how Resolve names an
  image-sequence render in single-clip mode (CustomName + frame number + extension; assumption);
* ``GetRenderJobStatus(id)`` -> {"JobStatus": "Ready"|"Rendering"|"Complete"|"Failed"|"Cancelled",
  "CompletionPercentage": int} plus "Error" on failure [community]. ``Project.fail_render = "message"``
  makes the next render fail half-way (frames up to then stay on disk, as in Resolve).

Version and edition (``Resolve(version=(19, 1, 0, 0, ""), studio=False)``, issue 17; sources in brackets):

* ``GetVersion()`` -> ``[major, minor, patch, build, suffix]``, ``GetProductName()`` "DaVinci Resolve" or
  "DaVinci Resolve Studio" [Resolve scripting README, as mirrored in b3n0y/ResolveDevDoc API_basic.rst];
* ``Fusion().UIManager`` is None in the free edition from 19.1 on (UIManager became Studio-only)
  [Blackmagic forum / public UIManager tools, see docs/resolve.md];
* before 19.1 ``TimelineItem.GetTrackTypeAndIndex`` and ``Timeline.GetMarkInOut`` do not exist: a missing
  method reads as None on a Resolve object, so calling it raises ``TypeError: 'NoneType' object is not
  callable``; ``AddTrack`` takes only the track type (no options: refused), ``GetStart``/``GetEnd`` take no
  subframe argument (TypeError) [README "Last Updated" notes for 19.0/19.1];
* ``AppendToTimeline`` clip info counts ``startFrame``/``endFrame`` in the clip's own frame numbers
  (``GetClipProperty("Start")``..``("End")``, 1001 for a sequence from 1001); ``endFrame`` is exclusive from 19 on
  and inclusive in 18 [AYON/OpenPype resolve integration]. Outside that range Resolve still returns one item,
  but a broken one whose getters return None; the fake does the same;
* the timeline setting ``timelineDropFrameTimecode`` ("1") makes ``GetCurrentTimecode`` drop-frame (``;``);
* ``Project.GetSetting``: ``colorScienceMode``, ``colorSpaceTimeline``, ``colorSpaceOutput`` (project settings
  keys of the README); a render is written in the output (managed) or timeline colour space;
* once a ``UIDispatcher`` exists, Resolve *writes* (media pool, timeline, render API) made from any other thread
  than the dispatcher's raise RuntimeError: public UIManager tools keep every Resolve call on the UI thread
  (timer callbacks); Blackmagic documents no thread safety for the scripting API.

Pixels of a movie clip come from a callable ``index -> float32 (H, W, 3)`` given to :func:`add_movie_clip`
(the fake cannot decode movies). Output is not resized to FormatWidth/FormatHeight.
"""

from __future__ import annotations

import functools
import os
import re
import threading
import uuid
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

FrameSource = Callable[[int], np.ndarray]

_PRINTF_RE = re.compile(r"%0?(\d*)d")
_UI_THREAD: list[threading.Thread | None] = [None]      # set by UIDispatcher: Resolve writes only from it


def _ui_write(method: Callable[..., Any]) -> Callable[..., Any]:
    """A Resolve write: refused from a worker thread while a UIManager dialog runs (see the module doc)."""
    @functools.wraps(method)
    def checked(*args: Any, **kwargs: Any) -> Any:
        ui = _UI_THREAD[0]
        if ui is not None and threading.current_thread() is not ui:
            raise RuntimeError(f"{method.__name__} called from thread {threading.current_thread().name}, "
                               "not the UI thread")
        return method(*args, **kwargs)
    return checked


_UNSET: Any = None   # GetStart() on 18 takes no argument: the default stands for "none given"


def _version(app: dict[str, Any]) -> tuple[int, int]:
    major, minor = app.get("version", (20, 2))[:2]
    return int(major), int(minor)


def _new_api(app: dict[str, Any]) -> bool:
    """Resolve 19.1+ (GetTrackTypeAndIndex, GetMarkInOut, AddTrack options, GetStart(subframe))."""
    return _version(app) >= (19, 1)
_BRACKET_RE = re.compile(r"^(.*)\[(-?\d+)-(-?\d+)\](\.[^.]+)$")


def _write(path: str, pixels: np.ndarray, ext: str) -> None:
    import OpenImageIO as oiio

    h, w, c = pixels.shape
    fmt = "half" if ext == "exr" else "uint16"
    out = oiio.ImageOutput.create(path)
    assert out is not None, oiio.geterror()
    out.open(path, oiio.ImageSpec(w, h, c, fmt))
    out.write_image(np.ascontiguousarray(pixels, dtype=np.float32))
    out.close()


def _read(path: str) -> np.ndarray:
    import OpenImageIO as oiio

    buf = oiio.ImageBuf(path)
    pixels = buf.get_pixels(oiio.FLOAT)
    if pixels is None or buf.has_error:
        raise OSError(f"{path}: {buf.geterror()}")
    return np.asarray(pixels, dtype=np.float32)[:, :, :3]


class MediaPoolItem:
    def __init__(self, properties: dict[str, str], source: FrameSource | None = None) -> None:
        self._props = dict(properties)
        self._source = source

    def GetName(self) -> str:
        return self._props.get("Clip Name", "")

    def GetClipProperty(self, propertyName: str | None = None) -> str | dict:
        if propertyName is None:
            return dict(self._props)
        return self._props.get(propertyName, "")

    def GetMediaId(self) -> str:
        return str(id(self))

    # fake-only: pixels of media frame ``index`` (0-based)
    def _frame(self, index: int) -> np.ndarray:
        if self._source is not None:
            return self._source(index)
        match = _BRACKET_RE.match(self._props.get("File Path", ""))
        if not match:
            raise OSError(f"{self.GetName()}: no pixels")
        head, first, _last, tail = match.groups()
        return _read(f"{head}{int(first) + index:0{len(first.lstrip('-'))}d}{tail}")


class Folder:
    def __init__(self, name: str) -> None:
        self._name = name
        self._clips: list[MediaPoolItem] = []
        self._folders: list[Folder] = []

    def GetName(self) -> str:
        return self._name

    def GetClipList(self) -> list[MediaPoolItem]:
        return list(self._clips)

    def GetSubFolderList(self) -> list[Folder]:
        return list(self._folders)


class TimelineItem:
    def __init__(self, media: MediaPoolItem | None, name: str, start: int, duration: int, left_offset: int = 0,
                 track: int = 1) -> None:
        self._media = media
        self._name = name
        self._start = start
        self._duration = duration
        self._left = left_offset
        self._track = track
        self._app: dict[str, Any] = {"name": "edit"}     # the application state, set when placed
        self._broken = False                             # what a failed AppendToTimeline hands back

    def GetName(self) -> str | None:
        return None if self._broken else self._name

    def _subframe(self, given: Any) -> None:
        if given is not _UNSET and not _new_api(self._app):
            raise TypeError("GetStart/GetEnd take no arguments before Resolve 19.1")

    def GetStart(self, subframe_precision: Any = None) -> int | float | None:
        self._subframe(subframe_precision)
        return None if self._broken else self._start

    def GetEnd(self, subframe_precision: Any = None) -> int | float | None:
        self._subframe(subframe_precision)
        return None if self._broken else self._start + self._duration

    def GetDuration(self, subframe_precision: bool = False) -> int | float:
        return self._duration

    def GetLeftOffset(self, subframe_precision: bool = False) -> int | float:
        return self._left

    def GetMediaPoolItem(self) -> MediaPoolItem | None:
        return None if self._broken else self._media

    def _track_type_and_index(self) -> tuple[str, int]:
        return "video", self._track

    @property
    def GetTrackTypeAndIndex(self) -> Callable[[], tuple[str, int]] | None:
        """Arrived in 19.1: before, the attribute reads None (calling it is a TypeError)."""
        return self._track_type_and_index if _new_api(self._app) else None


#: Pages where Timeline.GetCurrentTimecode answers ("while on Cut, Edit, Color, Fairlight and Deliver pages",
#: Resolve's scripting README); elsewhere (Media, Fusion) it returns "".
TIMECODE_PAGES = ("cut", "edit", "color", "fairlight", "deliver")
PAGES = ("media", "cut", "edit", "fusion", "color", "fairlight", "deliver")


class Timeline:
    def __init__(self, name: str, fps: float = 24.0, start_frame: int = 86400, tracks: int = 1,
                 page: dict[str, str] | None = None) -> None:
        self._page = page if page is not None else {"name": "edit"}   # the application's current page
        self._name = name
        self._start = start_frame
        self._settings = {"timelineFrameRate": f"{fps:g}", "timelineDropFrameTimecode": "0"}
        self._tracks: list[list[TimelineItem]] = [[] for _ in range(tracks)]
        self._enabled: list[bool] = [True] * tracks
        self._marks: dict[str, dict[str, int]] = {}
        self._playhead = start_frame

    def GetName(self) -> str:
        return self._name

    def GetStartFrame(self) -> int:
        return self._start

    def GetEndFrame(self) -> int:
        ends = [i._start + i._duration for t in self._tracks for i in t]
        return max(ends, default=self._start)

    def GetSetting(self, settingName: str) -> str:
        return self._settings.get(settingName, "")

    def GetTrackCount(self, trackType: str) -> int:
        return len(self._tracks) if trackType == "video" else 0

    @_ui_write
    def AddTrack(self, trackType: str, newTrackOptions: Any = None) -> bool:
        if trackType != "video":
            return False
        if newTrackOptions is not None and not _new_api(self._page):
            return False                    # AddTrack(type, options) arrived in 19.1
        index = len(self._tracks) + 1
        if isinstance(newTrackOptions, dict) and 1 <= int(newTrackOptions.get("index", 0)) <= len(self._tracks):
            index = int(newTrackOptions["index"])
        self._tracks.insert(index - 1, [])
        self._enabled.insert(index - 1, True)
        self._renumber()
        return True

    @_ui_write
    def DeleteTrack(self, trackType: str, trackIndex: int) -> bool:
        if trackType != "video" or not 1 <= trackIndex <= len(self._tracks):
            return False
        del self._tracks[trackIndex - 1]
        del self._enabled[trackIndex - 1]
        self._renumber()
        return True

    def GetItemListInTrack(self, trackType: str, index: int) -> list[TimelineItem]:
        if trackType != "video" or not 1 <= index <= len(self._tracks):
            return []
        return sorted(self._tracks[index - 1], key=lambda i: i._start)

    @_ui_write
    def SetTrackEnable(self, trackType: str, trackIndex: int, Bool: bool) -> bool:
        if trackType != "video" or not 1 <= trackIndex <= len(self._tracks):
            return False
        self._enabled[trackIndex - 1] = bool(Bool)
        return True

    def GetIsTrackEnabled(self, trackType: str, trackIndex: int) -> bool:
        return trackType == "video" and 1 <= trackIndex <= len(self._tracks) and self._enabled[trackIndex - 1]

    def _mark_in_out(self) -> dict:
        return {k: dict(v) for k, v in self._marks.items()}

    @property
    def GetMarkInOut(self) -> Callable[[], dict] | None:
        """Arrived in 19.0/19.1: before, the attribute reads None."""
        return self._mark_in_out if _new_api(self._page) else None

    def SetMarkInOut(self, mark_in: int, mark_out: int, type: str = "all") -> bool:
        for kind in (("video", "audio") if type == "all" else (type,)):
            self._marks[kind] = {"in": mark_in, "out": mark_out}
        return True

    def ClearMarkInOut(self, type: str = "all") -> bool:
        self._marks.clear()
        return True

    def GetCurrentTimecode(self) -> str:
        if self._page["name"] not in TIMECODE_PAGES:
            return ""
        fps = float(self._settings["timelineFrameRate"])
        rate = round(fps)
        frame = self._playhead
        drop = self._settings.get("timelineDropFrameTimecode") == "1" and rate in (30, 60) and fps != rate
        if drop:                                 # SMPTE drop-frame: 2 (4 at 59.94) numbers skipped a minute
            skip = 2 * rate // 30
            per10 = rate * 600 - 9 * skip
            tens, rest = divmod(frame, per10)
            frame += 9 * skip * tens + (skip * ((rest - skip) // (rate * 60 - skip)) if rest > skip else 0)
        seconds, ff = divmod(frame, rate)
        minutes, ss = divmod(seconds, 60)
        hh, mm = divmod(minutes, 60)
        return f"{hh:02d}:{mm:02d}:{ss:02d}{';' if drop else ':'}{ff:02d}"

    def GetCurrentVideoItem(self) -> TimelineItem | None:
        for track in range(len(self._tracks), 0, -1):
            item = self._item_at(track, self._playhead)
            if item is not None:
                return item
        return None

    # fake-only helpers --------------------------------------------------------------------------
    def _renumber(self) -> None:
        for n, track in enumerate(self._tracks, start=1):
            for item in track:
                item._track = n

    def _item_at(self, track: int, frame: int) -> TimelineItem | None:
        for item in self._tracks[track - 1]:
            if item._start <= frame < item._start + item._duration:
                return item
        return None

    def _place(self, item: TimelineItem, track: int) -> bool:
        if not 1 <= track <= len(self._tracks):
            return False
        if any(o._start < item._start + item._duration and item._start < o._start + o._duration
               for o in self._tracks[track - 1]):
            return False
        item._track = track
        item._app = self._page
        self._tracks[track - 1].append(item)
        return True

    def _pixels(self, frame: int) -> np.ndarray | None:
        for track in range(len(self._tracks), 0, -1):
            if not self._enabled[track - 1]:
                continue
            item = self._item_at(track, frame)
            if item is not None and item._media is not None:
                return item._media._frame(item._left + frame - item._start)
        return None


class MediaPool:
    def __init__(self, project: Project) -> None:
        self._project = project
        self._root = Folder("Master")
        self._current = self._root

    def GetRootFolder(self) -> Folder:
        return self._root

    @_ui_write
    def AddSubFolder(self, folder: Folder, name: str) -> Folder:
        sub = Folder(name)
        folder._folders.append(sub)
        return sub

    def GetCurrentFolder(self) -> Folder:
        return self._current

    @_ui_write
    def SetCurrentFolder(self, folder: Folder) -> bool:
        if not isinstance(folder, Folder):
            return False
        self._current = folder
        return True

    @_ui_write
    def ImportMedia(self, items: list) -> list[MediaPoolItem]:
        created = []
        for info in items:
            if not isinstance(info, dict):
                return []                       # file paths: the fake cannot probe movies
            path, first, last = info["FilePath"], int(info["StartIndex"]), int(info["EndIndex"])
            match = _PRINTF_RE.search(os.path.basename(path))
            if match is None or last < first:
                return []
            width = int(match.group(1) or 1)
            folder, name = os.path.split(path)
            head, tail = name[:match.start()], name[match.end():]
            files = [os.path.join(folder, f"{head}{f:0{width}d}{tail}") for f in range(first, last + 1)]
            if not all(os.path.isfile(f) for f in files):
                return []
            h, w = _read(files[0]).shape[:2]
            label = f"{head}[{first:0{width}d}-{last:0{width}d}]{tail}"
            created.append(MediaPoolItem({
                "Clip Name": label, "File Path": os.path.join(folder, label), "Type": "Video",
                "Frames": str(last - first + 1), "FPS": self._project._fps(), "Resolution": f"{w}x{h}",
                "Start": str(first), "End": str(last)}))
        self._current._clips.extend(created)
        return created

    @_ui_write
    def DeleteClips(self, clips: list[MediaPoolItem]) -> bool:
        folders, found = [self._root], False
        while folders:
            folder = folders.pop()
            folders.extend(folder._folders)
            kept = [c for c in folder._clips if c not in clips]
            found = found or len(kept) != len(folder._clips)
            folder._clips = kept
        return found

    @_ui_write
    def AppendToTimeline(self, clipInfo: list) -> list[TimelineItem]:
        timeline = self._project._current
        if timeline is None:
            return []
        placed = []
        for info in clipInfo:
            media = info.get("mediaPoolItem") if isinstance(info, dict) else None
            if not isinstance(media, MediaPoolItem):
                return []
            start, end = int(info["startFrame"]), int(info["endFrame"])
            first = int(media.GetClipProperty("Start") or 0)
            last = int(media.GetClipProperty("End") or first + int(media.GetClipProperty("Frames") or 0) - 1)
            exclusive = _version(self._project._page) >= (19, 0)
            stop = end if exclusive else end + 1          # endFrame: exclusive from 19, inclusive in 18
            if not first <= start < stop <= last + 1:
                broken = TimelineItem(media, media.GetName(), int(info.get("recordFrame", 0)), 0)
                broken._broken = True                     # Resolve hands back an item that is not there
                placed.append(broken)
                continue
            item = TimelineItem(media, media.GetName(), int(info["recordFrame"]), stop - start, start - first)
            if not timeline._place(item, int(info["trackIndex"])):
                return []
            placed.append(item)
        return placed


class Project:
    def __init__(self, name: str, page: dict[str, str] | None = None) -> None:
        self._page = page if page is not None else {"name": "edit"}
        self._name = name
        self._pool = MediaPool(self)
        self._timelines: list[Timeline] = []
        self._current: Timeline | None = None
        self._render_settings: dict[str, Any] = {}
        self._format_codec = {"format": "mov", "codec": "H264"}
        self._render_mode = 1
        self._jobs: dict[str, dict[str, Any]] = {}
        self._rendering: list[str] = []
        self.render_formats = {"QuickTime": "mov", "DPX": "dpx", "OpenEXR": "exr"}
        self.render_codecs = {
            "mov": {"H.264": "H264", "Apple ProRes 422 HQ": "ProRes422HQ"},
            "dpx": {"RGB 10 bit": "RGB10", "RGB 12 bit": "RGB12", "RGB 16 bit": "RGB16"},
            "exr": {"RGB float (No compression)": "RGBFloat", "RGB half (No compression)": "RGBHalf",
                    "RGB half (PIZ)": "RGBHalfPIZ"},
        }
        self.fail_render: str | None = None
        self.frames_per_poll = 2
        self._settings = {"colorScienceMode": "davinciYRGB", "colorSpaceTimeline": "Rec.709 Gamma 2.4",
                          "colorSpaceOutput": "Rec.709 Gamma 2.4"}

    def GetSetting(self, settingName: str = "") -> str | dict[str, str]:
        if not settingName:
            return dict(self._settings)
        return self._settings.get(settingName, "")

    def SetSetting(self, settingName: str, settingValue: str) -> bool:
        self._settings[settingName] = settingValue
        return True

    def GetName(self) -> str:
        return self._name

    def GetMediaPool(self) -> MediaPool:
        return self._pool

    def GetTimelineCount(self) -> int:
        return len(self._timelines)

    def GetTimelineByIndex(self, idx: int) -> Timeline | None:
        return self._timelines[idx - 1] if 1 <= idx <= len(self._timelines) else None

    def GetCurrentTimeline(self) -> Timeline | None:
        return self._current

    @_ui_write
    def SetCurrentTimeline(self, timeline: Timeline) -> bool:
        if timeline not in self._timelines:
            return False
        self._current = timeline
        return True

    # render --------------------------------------------------------------------------------------
    def GetRenderFormats(self) -> dict[str, str]:
        return dict(self.render_formats)

    def GetRenderCodecs(self, renderFormat: str) -> dict[str, str]:
        ext = self.render_formats.get(renderFormat, renderFormat)
        return dict(self.render_codecs.get(ext, {}))

    @_ui_write
    def SetCurrentRenderFormatAndCodec(self, format: str, codec: str) -> bool:
        ext = self.render_formats.get(format, format)
        if codec not in self.render_codecs.get(ext, {}).values():
            return False
        self._format_codec = {"format": ext, "codec": codec}
        return True

    def GetCurrentRenderFormatAndCodec(self) -> dict[str, str]:
        return dict(self._format_codec)

    @_ui_write
    def SetCurrentRenderMode(self, renderMode: int) -> bool:
        if renderMode not in (0, 1):
            return False
        self._render_mode = renderMode
        return True

    _RENDER_KEYS: ClassVar[set[str]] = {"SelectAllFrames", "MarkIn", "MarkOut", "TargetDir", "CustomName", "UniqueFilenameStyle",
                    "ExportVideo", "ExportAudio", "FormatWidth", "FormatHeight", "FrameRate",
                    "PixelAspectRatio", "VideoQuality", "ColorSpaceTag", "GammaTag", "ExportAlpha",
                    "ClipStartFrame", "ReplaceExistingFilesInPlace"}

    @_ui_write
    def SetRenderSettings(self, settings: dict[str, Any]) -> bool:
        if not isinstance(settings, dict) or set(settings) - self._RENDER_KEYS:
            return False
        self._render_settings.update(settings)
        return True

    @_ui_write
    def AddRenderJob(self) -> str:
        s = self._render_settings
        if self._current is None or not s.get("TargetDir"):
            return ""
        job_id = str(uuid.uuid4())
        self._jobs[job_id] = {"settings": dict(s), "format": dict(self._format_codec), "mode": self._render_mode,
                              "timeline": self._current, "JobStatus": "Ready", "done": 0}
        return job_id

    @_ui_write
    def DeleteRenderJob(self, jobId: str) -> bool:
        if jobId in self._rendering or jobId not in self._jobs:
            return False
        del self._jobs[jobId]
        return True

    def GetRenderJobList(self) -> list[dict[str, Any]]:
        return [{"JobId": k, "TargetDir": v["settings"]["TargetDir"]} for k, v in self._jobs.items()]

    @_ui_write
    def StartRendering(self, jobIds: Any = None, isInteractiveMode: bool = False) -> bool:
        ids = list(jobIds) if isinstance(jobIds, (list, tuple)) else list(self._jobs)
        if not ids or any(i not in self._jobs for i in ids) or self._rendering:
            return False
        for job_id in ids:
            self._jobs[job_id]["JobStatus"] = "Rendering"
        self._rendering = ids
        return True

    @_ui_write
    def StopRendering(self) -> None:
        for job_id in self._rendering:
            self._jobs[job_id]["JobStatus"] = "Cancelled"
        self._rendering = []

    def IsRenderingInProgress(self) -> bool:
        if self._rendering:
            self._advance(self._rendering[0])
        return bool(self._rendering)

    def GetRenderJobStatus(self, jobId: str) -> dict[str, Any]:
        job = self._jobs.get(jobId)
        if job is None:
            return {}
        s = job["settings"]
        total = s["MarkOut"] - s["MarkIn"] + 1
        status = {"JobStatus": job["JobStatus"], "CompletionPercentage": int(100 * job["done"] / total)}
        if "Error" in job:
            status["Error"] = job["Error"]
        return status

    # fake-only -----------------------------------------------------------------------------------
    def _fps(self) -> str:
        return self._current.GetSetting("timelineFrameRate") if self._current else "24"

    def _advance(self, job_id: str) -> None:
        job = self._jobs[job_id]
        s, ext = job["settings"], job["format"]["format"]
        timeline: Timeline = job["timeline"]
        first, last = s["MarkIn"], s["MarkOut"]
        total = last - first + 1
        for _ in range(self.frames_per_poll):
            if self.fail_render is not None and job["done"] >= total // 2:
                job["JobStatus"], job["Error"] = "Failed", self.fail_render
                self.fail_render = None
                self._rendering.remove(job_id)
                return
            if job["done"] >= total:
                break
            frame = first + job["done"]
            pixels = timeline._pixels(frame)
            if pixels is None:
                pixels = np.zeros((s.get("FormatHeight", 8), s.get("FormatWidth", 8), 3), np.float32)
            os.makedirs(s["TargetDir"], exist_ok=True)
            _write(os.path.join(s["TargetDir"], f"{s['CustomName']}{frame:08d}.{ext}"), pixels, ext)
            job["done"] += 1
        if job["done"] >= total:
            job["JobStatus"] = "Complete"
            self._rendering.remove(job_id)


class ProjectManager:
    def __init__(self, page: dict[str, str] | None = None) -> None:
        self._page = page if page is not None else {"name": "edit"}
        self._projects: dict[str, Project] = {}
        self._current: Project | None = None

    def CreateProject(self, projectName: str, mediaLocationPath: str | None = None) -> Project | None:
        if projectName in self._projects:
            return None
        project = self._projects[projectName] = Project(projectName, self._page)
        self._current = project
        return project

    def LoadProject(self, projectName: str) -> Project | None:
        project = self._projects.get(projectName)
        if project is not None:
            self._current = project
        return project

    def GetCurrentProject(self) -> Project | None:
        return self._current


class _Fusion:
    def __init__(self, ui: Any) -> None:
        self.UIManager = ui


class Resolve:
    def __init__(self, version: tuple = (20, 2, 0, 0, ""), studio: bool = True) -> None:
        self._page: dict[str, Any] = {"name": "edit", "version": tuple(version), "studio": studio}
        self._manager = ProjectManager(self._page)

    def Fusion(self) -> _Fusion:
        """``fusion.UIManager``: None in the free edition from 19.1 on."""
        free_without_ui = not self._page["studio"] and _version(self._page) >= (19, 1)
        return _Fusion(None if free_without_ui else UIManager(with_timer=True))

    def GetVersion(self) -> list:
        return list(self._page["version"])

    def OpenPage(self, pageName: str) -> bool:
        if pageName not in PAGES:
            return False
        self._page["name"] = pageName
        return True

    def GetCurrentPage(self) -> str:
        return self._page["name"]

    def GetProjectManager(self) -> ProjectManager:
        return self._manager

    def GetProductName(self) -> str:
        return "DaVinci Resolve Studio" if self._page["studio"] else "DaVinci Resolve"

    def GetVersionString(self) -> str:
        major, minor, patch, build, suffix = (list(self._page["version"]) + [0, 0, 0, 0, ""])[:5]
        return f"{major}.{minor}.{patch}{suffix}.{build}"


# ------------------------------------------------------------------------------ UIManager

class _Widget:
    """A UIManager widget: the properties the Kinochrome dialog reads and writes."""

    def __init__(self, kind: str, props: dict[str, Any] | None = None, children: list | None = None) -> None:
        self.kind = kind
        self.ID = (props or {}).get("ID")
        self.Text = (props or {}).get("Text", "")
        self.PlainText = ""
        self.Value = (props or {}).get("Value", 0)
        self.CurrentIndex = 0
        self.items: list[str] = []
        self.children = children or []

    @property
    def CurrentText(self) -> str:
        return self.items[self.CurrentIndex] if self.items else ""

    def AddItems(self, items: list[str]) -> None:
        self.items.extend(items)


class _Handlers:
    """``win.On.<ID>.<Event> = fn``: records handlers per ID and event."""

    def __init__(self) -> None:
        object.__setattr__(self, "_by_id", {})

    def __getattr__(self, name: str) -> Any:
        by_id = object.__getattribute__(self, "_by_id")
        return by_id.setdefault(name, type("Events", (), {})())


class _Timer:
    """``ui.Timer({"ID", "Interval"})``: ``Start()``/``Stop()``; while started, the dispatcher's ``On.Timeout``
    handler is called every Interval ms (community scripts: ``disp.On.Timeout = fn`` then ``timer:Start()``)."""

    def __init__(self, props: dict[str, Any]) -> None:
        self.ID = props.get("ID")
        self.Interval = props.get("Interval", 0)
        self.running = False

    def Start(self) -> None:
        self.running = True

    def Stop(self) -> None:
        self.running = False


class UIManager:
    """Resolve's ``fusion.UIManager`` as far as the dialog uses it (not in the stubs; shape from Blackmagic's
    UI examples [community]). ``with_timer=False`` plays an older UIManager without ``Timer``."""

    def __init__(self, with_timer: bool = False) -> None:
        self.timers: list[_Timer] = []
        if not with_timer:
            self.Timer = None

    def Timer(self, props: dict[str, Any]) -> _Timer:  # type: ignore[no-redef]  # shadowed when without
        timer = _Timer(props)
        self.timers.append(timer)
        return timer

    def __getattr__(self, kind: str) -> Callable[..., _Widget]:
        def make(arg: Any = None) -> _Widget:
            if isinstance(arg, list):
                return _Widget(kind, None, arg)
            return _Widget(kind, arg)
        return make


class Window:
    def __init__(self, props: dict[str, Any], layout: _Widget) -> None:
        self.props = props
        self.On = _Handlers()
        self.shown = False
        self._items: dict[str, _Widget] = {}
        todo = [layout]
        while todo:
            widget = todo.pop()
            todo.extend(widget.children)
            if widget.ID:
                self._items[widget.ID] = widget

    def GetItems(self) -> dict[str, _Widget]:
        return self._items

    def Show(self) -> None:
        self.shown = True

    def Hide(self) -> None:
        self.shown = False


class UIDispatcher:
    """``bmd.UIDispatcher(ui)``: AddWindow, RunLoop (returns at once in the fake), ExitLoop."""

    def __init__(self, ui: UIManager) -> None:
        self.ui = ui
        _UI_THREAD[0] = threading.current_thread()      # from now on, Resolve writes only from this thread
        self.On = _Handlers()
        self.windows: list[Window] = []
        self.exited = False

    def AddWindow(self, props: dict[str, Any], layout: _Widget) -> Window:
        window = Window(props, layout)
        self.windows.append(window)
        return window

    def RunLoop(self) -> None:
        return None

    def ExitLoop(self) -> None:
        self.exited = True
        _UI_THREAD[0] = None


def tick(disp: UIDispatcher) -> bool:
    """One interval of the dispatcher's loop: ``On.Timeout`` is called when a timer runs -> whether one ran."""
    running = [t for t in disp.ui.timers if t.running]
    if running:
        disp.On.Timeout({"who": running[0].ID})
    return bool(running)


def click(window: Window, widget_id: str, event: str = "Clicked") -> None:
    """What a user's click does: call the handler the script set on ``win.On.<ID>.<event>``."""
    getattr(getattr(window.On, widget_id), event)({"who": widget_id})


# ------------------------------------------------------------------------------ building test timelines

def add_timeline(project: Project, name: str, fps: float = 24.0, tracks: int = 1,
                 start_frame: int = 86400) -> Timeline:
    """What MediaPool.CreateEmptyTimeline does, with the frame rate and track count set up front."""
    timeline = Timeline(name, fps, start_frame, tracks, project._page)
    project._timelines.append(timeline)
    project._current = timeline
    return timeline


def add_movie_clip(project: Project, path: str, frames: int, source: FrameSource, fps: float = 24.0,
                   resolution: tuple[int, int] = (8, 6)) -> MediaPoolItem:
    """A movie clip in the media pool root (as ImportMedia of a .mov would make); pixels from ``source``."""
    item = MediaPoolItem({"Clip Name": os.path.basename(path), "File Path": path, "Type": "Video + Audio",
                          "Frames": str(frames), "FPS": f"{fps:g}",
                          "Resolution": f"{resolution[0]}x{resolution[1]}"}, source)
    project._pool._root._clips.append(item)
    return item


def add_media_item(project: Project, properties: dict[str, str]) -> MediaPoolItem:
    """Any media pool item by its clip properties (compound clips: "File Path" empty)."""
    item = MediaPoolItem(properties)
    project._pool._root._clips.append(item)
    return item


def place(timeline: Timeline, media: MediaPoolItem | None, track: int, record: int, duration: int,
          left_offset: int = 0, name: str | None = None) -> TimelineItem:
    """Put a clip (or, with media None, a generator/title) on a track, as an editor would."""
    label = name or (media.GetName() if media is not None else "Solid Color")
    item = TimelineItem(media, label, record, duration, left_offset, track)
    assert timeline._place(item, track), f"cannot place {label} on track {track} at {record}"
    return item

"""Which timeline clips a run works on and what it does with each: the project, the timeline, the selection
(In/Out marks, the clip under the playhead, or a whole track) and one ``ClipPlan`` per clip."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, cast

from .clips import (
    IMAGE_EXTENSIONS,
    ClipPlan,
    ResolveCalls,
    RunOptions,
    _float,
    _overlaps,
    _prop,
    _resolution,
    sequence_from_file_path,
)
from .connect import ResolveError

if TYPE_CHECKING:
    from fusionscript import Project, Timeline, TimelineItem


class ClipPlanner(ResolveCalls):
    """Finds the project, timeline and clips, and plans each clip (sequence, movie or skip with a reason)."""

    def project(self, name: str | None = None) -> Project:
        manager = self.resolve.GetProjectManager()
        if manager is None:
            raise ResolveError("Resolve gave no project manager (is a database open?)")
        if name:
            current = manager.GetCurrentProject()
            if current is not None and current.GetName() == name:
                return current
            project = manager.LoadProject(name)
            if project is None:
                raise ResolveError(f"project {name!r}: not found in the current database folder")
            return project
        project = manager.GetCurrentProject()
        if project is None:
            raise ResolveError("no project is open in Resolve")
        return project

    def timeline(self, project: Project, name: str | None = None) -> Timeline:
        if name:
            for index in range(1, project.GetTimelineCount() + 1):
                timeline = project.GetTimelineByIndex(index)
                if timeline is not None and timeline.GetName() == name:
                    project.SetCurrentTimeline(timeline)
                    return timeline
            raise ResolveError(f"timeline {name!r}: not in project {project.GetName()!r}")
        timeline = project.GetCurrentTimeline()
        if timeline is None:
            raise ResolveError(f"project {project.GetName()!r} has no open timeline")
        return timeline

    def collect(self, timeline: Timeline, options: RunOptions) -> list[tuple[int, TimelineItem]]:
        """The (track, item) pairs to work on, in record order. ResolveError when there is no selection.

        The scripting API exposes no timeline selection, so "selection" means: the clips of the track that
        overlap the timeline's In/Out marks; without marks, the clip under the playhead
        (``GetCurrentVideoItem``).
        """
        count = timeline.GetTrackCount("video")
        if options.track is not None and options.track > count:
            raise ResolveError(f"timeline {timeline.GetName()!r} has {count} video track(s), not {options.track}")
        if options.scope == "track":
            assert options.track is not None
            items = sorted(timeline.GetItemListInTrack("video", options.track) or [], key=self._start)
            if not items:
                raise ResolveError(f"video track {options.track} of {timeline.GetName()!r} is empty")
            return [(options.track, item) for item in items]
        # GetMarkInOut arrived in 19.1: on 18 the selection is the clip under the playhead
        marks = cast("dict[str, Any]", (timeline.GetMarkInOut() if self.new_api else None) or {})
        video = marks.get("video") or {}
        current = timeline.GetCurrentVideoItem()
        if "in" in video and "out" in video:
            start = timeline.GetStartFrame()
            lo, hi = start + int(video["in"]), start + int(video["out"]) + 1
            track = options.track or (self._track_of(timeline, current) if current is not None else 1)
            picked = [(track, item) for item in timeline.GetItemListInTrack("video", track) or []
                      if _overlaps(self._start(item), self._end(item), lo, hi)]
            if not picked:
                raise ResolveError(f"no clip on video track {track} between the In and Out marks of "
                                   f"{timeline.GetName()!r}")
            return picked
        if current is None:
            raise ResolveError(f"nothing selected on {timeline.GetName()!r}: put the playhead over a clip, set "
                               "In/Out marks, or choose a whole track")
        return [(self._track_of(timeline, current), current)]

    def _track_of(self, timeline: Timeline, item: TimelineItem) -> int:
        if self.new_api:
            _kind, index = item.GetTrackTypeAndIndex()
            return int(index)
        # 18: no GetTrackTypeAndIndex; the topmost track holding a clip of that name and record range
        # (GetCurrentVideoItem gives the topmost clip under the playhead)
        key = (item.GetName(), self._start(item), self._end(item))
        for index in range(timeline.GetTrackCount("video"), 0, -1):
            for other in timeline.GetItemListInTrack("video", index) or []:
                if (other.GetName(), self._start(other), self._end(other)) == key:
                    return index
        raise ResolveError(f"cannot tell which video track {item.GetName()} is on; choose a whole track")

    def plan_clip(self, timeline: Timeline, track: int, item: TimelineItem) -> ClipPlan:
        """What to do with one timeline clip; a skip carries the reason in one line."""
        start, end = self._start(item), self._end(item)
        name = item.GetName() or f"clip at {start}"
        plan = ClipPlan(name=name, track=track, record_start=start, record_end=end, kind="skip", item=item)
        media = item.GetMediaPoolItem()
        if media is None:
            plan.reason = "no media (generator, title or effect)"
            return plan
        ctype = _prop(media, "Type")
        path = _prop(media, "File Path")
        if not path:
            plan.reason = f"no file ({ctype or 'compound, Fusion or generated clip'})"
            return plan
        plan.fps = _float(_prop(media, "FPS"))
        plan.resolution = _resolution(_prop(media, "Resolution"))
        timeline_fps = _float(timeline.GetSetting("timelineFrameRate"))
        if plan.fps and timeline_fps and abs(plan.fps - timeline_fps) > 0.01:
            plan.reason = (f"mixed frame rates: clip {plan.fps:g} fps on a {timeline_fps:g} fps timeline "
                           "(frames would not line up; conform it first)")
            return plan
        count = _float(_prop(media, "Frames"))
        left = int(item.GetLeftOffset(False))
        seq = sequence_from_file_path(path, int(count) if count else None)
        if seq is not None:
            pattern, first, last = seq
            return self._plan_sequence(plan, pattern, first, last, left)
        if os.path.splitext(path)[1].lower() in IMAGE_EXTENSIONS:
            plan.reason = f"still image {os.path.basename(path)}: not a sequence"
            return plan
        if not os.path.isfile(path):
            plan.reason = f"offline: {path} not found"
            return plan
        plan.kind, plan.source = "movie", path
        return plan

    def _plan_sequence(self, plan: ClipPlan, pattern: str, first: int | None, last: int | None,
                       left: int) -> ClipPlan:
        from kinochrome.core.errors import SequenceError
        from kinochrome.core.sequence import format_frames, open_shot

        try:
            if first is None:
                first = open_shot(pattern).first
            used = (first + left, first + left + plan.duration - 1)
            if last is not None and used[1] > last:
                plan.reason = f"uses frames {used[0]}-{used[1]} beyond the media's {first}-{last} (retimed?)"
                return plan
            shot = open_shot(pattern, used)
        except SequenceError as exc:
            plan.reason = f"offline: {exc}"
            return plan
        if shot.missing:
            plan.reason = f"offline: {pattern} is missing frames {format_frames(shot.missing, limit=8)}"
            return plan
        plan.kind, plan.source, plan.frames = "sequence", shot.pattern, used
        return plan

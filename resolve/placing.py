"""Bringing a finished result back: the Kinochrome bin, a new video track above the source, importing the
sequence and placing it at the source clip's record frames."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from .clips import BIN_NAME, ClipResult, ResolveCalls, _float, _printf, _prop
from .connect import ResolveError

if TYPE_CHECKING:
    from fusionscript import Folder, MediaPool, MediaPoolItem, Project, Timeline, TimelineItem
    from fusionscript.fusionscript import ImportClipInfo, MediaPoolClipInfo, NewTrackOptions


class ResultPlacer(ResolveCalls):
    """Imports a colourised sequence into the bin and puts it on the timeline; each refusal is a ResolveError."""

    def kinochrome_bin(self, pool: MediaPool, name: str = BIN_NAME) -> Folder:
        root = pool.GetRootFolder()
        for folder in root.GetSubFolderList() or []:
            if folder.GetName() == name:
                return folder
        folder = pool.AddSubFolder(root, name)
        if folder is None:
            raise ResolveError(f"Resolve refused to create the media pool bin {name!r}")
        return folder

    def add_track_above(self, timeline: Timeline, source_track: int) -> int:
        """Insert an empty video track directly above ``source_track``; its index. Resolve 18's AddTrack takes
        no options: the new track goes on top of the others."""
        before = timeline.GetTrackCount("video")
        if not self.new_api:
            # fusionscript-stubs 21 list only the 19.1+ AddTrack(type, options); 18's is AddTrack(type)
            if not timeline.AddTrack("video") or timeline.GetTrackCount("video") != before + 1:  # type: ignore[call-overload]
                raise ResolveError("Resolve refused to add a video track")
            return before + 1
        options = cast("NewTrackOptions", {"audiotype": "mono", "index": source_track + 1})
        if not timeline.AddTrack("video", options) or timeline.GetTrackCount("video") != before + 1:
            raise ResolveError(f"Resolve refused to add a video track above track {source_track}")
        return source_track + 1

    def import_result(self, project: Project, result: ClipResult, bin_name: str) -> MediaPoolItem:
        """Import the finished sequence (its exact frame range) into the bin as one clip."""
        assert result.output is not None and result.frames is not None
        pool = project.GetMediaPool()
        folder = self.kinochrome_bin(pool, bin_name)
        previous = pool.GetCurrentFolder()
        pool.SetCurrentFolder(folder)
        try:
            info = cast("ImportClipInfo", {"FilePath": _printf(result.output), "StartIndex": result.frames[0],
                                           "EndIndex": result.frames[1]})
            items = pool.ImportMedia([info]) or []
        finally:
            if previous is not None:
                pool.SetCurrentFolder(previous)
        if len(items) != 1:
            if items:
                pool.DeleteClips(items)
            raise ResolveError(f"Resolve imported {len(items)} clip(s) from {result.output} "
                               f"({result.frames[0]}-{result.frames[1]}), expected 1")
        result.media_item = items[0]
        return items[0]

    def place_result(self, project: Project, timeline: Timeline, result: ClipResult, track: int) -> TimelineItem:
        """Put the imported clip on video ``track`` at the source clip's record frames."""
        plan, media = result.plan, result.media_item
        current = project.GetCurrentTimeline()
        if current is None or current.GetName() != timeline.GetName():
            project.SetCurrentTimeline(timeline)         # AppendToTimeline works on the current timeline
        # the clip's own frame numbers (its "Start", 1001 for a result from 1001); endFrame exclusive from 19
        first = int(_float(_prop(media, "Start")) or 0)
        end = first + plan.duration if self.version >= (19, 0) else first + plan.duration - 1
        clip = cast("MediaPoolClipInfo", {"mediaPoolItem": media, "startFrame": first, "endFrame": end,
                                          "mediaType": 1, "trackIndex": track, "recordFrame": plan.record_start})
        # fusionscript-stubs 21.0.0 leave @overload off the first AppendToTimeline signature, which hides
        # the documented clipInfo form from mypy; the call is the README's.
        placed = project.GetMediaPool().AppendToTimeline([clip]) or []  # type: ignore[arg-type]
        item = placed[0] if len(placed) == 1 else None
        # a failed append can still hand back an item, whose getters return None
        if item is None or item.GetStart() is None or item.GetMediaPoolItem() is None:  # type: ignore[call-arg,union-attr]
            raise ResolveError(f"Resolve did not place {media.GetName()} on video track {track} at "
                               f"frame {plan.record_start}")
        result.timeline_item, result.new_track = placed[0], track
        return cast("TimelineItem", placed[0])

"""A small, faithful fake of Foundry's ``nuke`` Python module for Kinochrome's tests.

It implements exactly what ``kinochrome.nuke`` uses, with the names, signatures and value semantics of Foundry's
Python API reference (learn.foundry.com/nuke/developers/.../pythondevguide), and nothing else:

* knobs: ``Knob`` (name, label, value/setValue, flags, tooltip, enabled, visible), ``Int_Knob`` (value() is an
  int), ``Double_Knob`` (a float; ``setRange``), ``String_Knob``/``File_Knob``/``Text_Knob`` (strings; a
  Text_Knob is display text), ``Enumeration_Knob`` (value() is the item *string*, setValue takes an item or an
  index, ``values()``), ``PyScript_Knob`` (a button; its command string runs with ``nuke`` imported and
  ``nuke.thisNode()`` = its node), ``Script_Knob`` (a button such as the Read's ``reload``), ``Tab_Knob``;
  the ``STARTLINE`` flag (value knobs start a row by default, buttons do not).
* nodes: ``nuke.nodes.<Class>(**knobs)`` (not auto-connected, created in the current group context), ``Node``
  (``Class``, ``name``/``setName(uncollide)``, ``fullName``, ``knob(name)`` (None when absent),
  ``node[name]`` (NameError when absent), ``knobs``, ``addKnob``, ``input``/``setInput``, ``xpos``/``ypos``/
  ``setXYpos``), ``Group`` (``begin``/``end``, ``with group:``, ``node(name)``, ``nodes()``), ``toNode``
  (dotted names), ``allNodes``, ``delete``, ``root()`` with ``first_frame``/``last_frame``/``OCIO_config``.
  Built-in knobs of Read (``file``, ``first``, ``last``, ``origfirst``, ``origlast``, ``colorspace``,
  ``reload``), Switch (``which``), CatFileCreator and Inference: [community], see HOSTS.md.
* ``selectedNode()`` raises ``ValueError('No node selected')``; ``selectedNodes()`` lists.
* menus: ``menu(name)`` -> ``Menu`` with ``addMenu(name, icon=...)``, ``addCommand(name, command, shortcut,
  icon, tooltip, index, ...)`` (command: string or callable; ``/`` makes submenus), ``findItem``, ``items``;
  ``MenuItem.invoke()``.
* ``ProgressTask(name)``: ``setMessage``, ``setProgress(int)``, ``isCancelled()``.
* ``executeInMainThread(call, args=(), kwargs={})`` queues the call and returns at once (args that are not a
  tuple are wrapped, as in Foundry's ``nuke_internal/executeInMain.py``). The "main thread" is whoever calls :func:`_fake_process_events` (the
  test, standing in for Nuke's event loop) -- code that expects the call to have run at once fails here as it
  would in Nuke.
* ``filename(node, i)`` (expressions and variables expanded, filename filters from ``addFilenameFilter`` run
  backwards; ``%04d`` kept unless ``REPLACE``), Read ``frame_mode``/``frame``/``before``/``after`` and Root
  ``project_directory`` (Foundry's Python and Read node references).
* ``getFilename`` refuses a path that does not exist unless ``type='save'`` (an open dialog cannot pick it).
* ``message(text)``, ``getInput``, ``env`` (``gui``, ``NukeVersionMajor``),
  ``pluginAddPath(args, addToSysPath=True)`` (prepends to the plugin path and runs that folder's init.py, as
  Nuke does when called from an init.py), ``pluginPath()``, ``scriptOpen``/``scriptSave``.

Test-only helpers start with ``_fake_`` and are not Nuke API. The fake lives in tests/fakes and is installed
only by the tests (``sys.modules['nuke']``); it is never importable outside them.
"""

from __future__ import annotations

import builtins
import os
import queue
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

# --- flags (values as in Nuke) -------------------------------------------------------------------------
STARTLINE = 0x00001000

env: dict[str, Any] = {}

# --- fake state ----------------------------------------------------------------------------------------
_fake_messages: list[str] = []
_fake_tasks: list[ProgressTask] = []
_fake_answers: dict[str, Any] = {}        # prompt -> answer for getFilename/getInput
_fake_scripts: dict[str, Callable[[], None]] = {}   # .nk path -> builder used by scriptOpen
_main_queue: queue.Queue[tuple[Callable[..., Any], tuple, dict]] = queue.Queue()
_main_thread = threading.main_thread()
_this_node: list[Node] = []
_plugin_path: list[str] = []
_menus: dict[str, Menu] = {}
_filename_filters: list[tuple[Callable[..., Any], tuple, dict]] = []
_fake_script_path: list[str] = [""]     # nuke.root().name() of the open script


def _fake_reset(gui: bool = True, version: int = 15) -> None:
    """Forget every node, menu, message and queued call (a fresh Nuke session)."""
    global _root, _context
    env.clear()
    env.update({"gui": gui, "NukeVersionMajor": version, "NukeVersionMinor": 1, "NukeVersionRelease": 1,
                "nukex": True, "studio": False})
    _fake_messages.clear()
    _fake_tasks.clear()
    _fake_answers.clear()
    _fake_scripts.clear()
    _this_node.clear()
    _plugin_path.clear()
    _menus.clear()
    _filename_filters.clear()
    _fake_script_path[0] = ""
    while not _main_queue.empty():
        _main_queue.get_nowait()
    ProgressTask._fake_cancel_at = None
    _root = Root()
    _context = [_root]


# --- knobs ---------------------------------------------------------------------------------------------

class Knob:
    """Base knob: a name, a label, flags, and one value."""

    _default: Any = ""

    def __init__(self, name: str, label: str | None = None, *args: Any):
        self._name = name
        self._label = label if label is not None else name
        self._value: Any = self._default
        self._flags = STARTLINE
        self._tooltip = ""
        self._enabled = True
        self._visible = True
        self._node: Node | None = None

    def Class(self) -> str:
        return type(self).__name__

    def name(self) -> str:
        return self._name

    def label(self) -> str:
        return self._label

    def setLabel(self, label: str) -> None:
        self._label = label

    def node(self) -> Node | None:
        return self._node

    def value(self) -> Any:
        return self._value

    def getValue(self) -> Any:
        return self._value

    def setValue(self, value: Any) -> bool:
        self._value = self._coerce(value)
        return True

    def _coerce(self, value: Any) -> Any:
        return value

    def setFlag(self, flag: int) -> None:
        self._flags |= flag

    def clearFlag(self, flag: int) -> None:
        self._flags &= ~flag

    def getFlag(self, flag: int) -> bool:
        return bool(self._flags & flag)

    def setTooltip(self, text: str) -> None:
        self._tooltip = text

    def tooltip(self) -> str:
        return self._tooltip

    def setEnabled(self, enabled: bool) -> None:
        self._enabled = bool(enabled)

    def enabled(self) -> bool:
        return self._enabled

    def setVisible(self, visible: bool) -> None:
        self._visible = bool(visible)

    def visible(self) -> bool:
        return self._visible


class Array_Knob(Knob):
    _default: Any = 0.0

    def setRange(self, fmin: float, fmax: float) -> None:
        self._range = (fmin, fmax)

    def _coerce(self, value: Any) -> Any:
        if isinstance(value, str):
            raise TypeError(f"{self._name}: a number is required, got {value!r}")
        return float(value)


class Int_Knob(Array_Knob):
    """``Int_Knob(name, label)``; value() returns an int."""

    _default = 0

    def _coerce(self, value: Any) -> Any:
        if isinstance(value, str):
            raise TypeError(f"{self._name}: an integer is required, got {value!r}")
        return int(value)


class Double_Knob(Array_Knob):
    """``Double_Knob(name, label)``; value() returns a float."""


class String_Knob(Knob):
    """``String_Knob(name, label, text)``."""

    def __init__(self, name: str, label: str | None = None, text: str = ""):
        super().__init__(name, label)
        self._value = text

    def _coerce(self, value: Any) -> Any:
        if not isinstance(value, str):
            raise TypeError(f"{self._name}: a string is required, got {value!r}")
        return value

    def evaluate(self) -> str:
        """The value with TCL commands and variables expanded (the fake knows ``[getenv NAME]``, ``$NAME`` /
        ``$env(NAME)`` and ``[python {nuke.script_directory()}]``)."""
        return _fake_expand(self._value)


def _fake_expand(text: str) -> str:
    import re

    text = re.sub(r"\[getenv (\w+)\]", lambda m: os.environ.get(m.group(1), ""), text)
    text = re.sub(r"\$env\((\w+)\)", lambda m: os.environ.get(m.group(1), ""), text)
    text = text.replace("[python {nuke.script_directory()}]", os.path.dirname(_fake_script_path[0]))
    return text


class File_Knob(String_Knob):
    """``File_Knob(name, label)``: a path with a file browser."""


class Text_Knob(Knob):
    """``Text_Knob(name, label, text)``: read-only display text (also used as a divider)."""

    def __init__(self, name: str, label: str | None = None, text: str = ""):
        super().__init__(name, label)
        self._value = text


class Tab_Knob(Knob):
    """``Tab_Knob(name, label)``: starts a tab in the properties panel."""


class Enumeration_Knob(Knob):
    """``Enumeration_Knob(name, label, items)``; value() is the current item string, setValue() takes the item
    string or its index; an unknown item raises ValueError."""

    def __init__(self, name: str, label: str | None = None, items: list[str] | None = None):
        super().__init__(name, label)
        self._items = [str(i) for i in (items or [])]
        self._index = 0

    def values(self) -> list[str]:
        return list(self._items)

    def setValues(self, items: list[str]) -> None:
        self._items = [str(i) for i in items]
        self._index = 0

    def numValues(self) -> int:
        return len(self._items)

    def enumName(self, n: int) -> str:
        return self._items[n]

    def value(self) -> str:
        return self._items[self._index] if self._items else ""

    getValue = value

    def setValue(self, item: Any) -> bool:
        if isinstance(item, int) and not isinstance(item, bool):
            if not 0 <= item < len(self._items):
                raise ValueError(f"{self._name}: index {item} out of range")
            self._index = item
            return True
        if item not in self._items:
            raise ValueError(f"{self._name}: {item!r} is not one of {self._items}")
        self._index = self._items.index(item)
        return True


class Script_Knob(Knob):
    """A button; unlike value knobs it does not start a new row unless STARTLINE is set. ``execute()`` runs its
    command (a string of Python) with ``nuke`` imported and
    ``nuke.thisNode()`` set to the knob's node. The fake counts executions in ``_fake_executed``."""

    def __init__(self, name: str, label: str | None = None, command: str = ""):
        super().__init__(name, label)
        self._flags = 0
        self._value = command
        self._fake_executed = 0
        self._fake_action: Callable[[Node], None] | None = None   # built-in buttons (Read reload, ...)

    def execute(self) -> None:
        self._fake_executed += 1
        node = self._node
        if self._fake_action is not None and node is not None:
            self._fake_action(node)
        if self._value:
            _this_node.append(node)  # type: ignore[arg-type]
            try:
                exec(self._value, {"__builtins__": builtins, "nuke": sys.modules[__name__]})  # noqa: S102 - as Nuke
            finally:
                _this_node.pop()


class PyScript_Knob(Script_Knob):
    """``PyScript_Knob(name, label, command)``: a button that runs Python."""


# --- nodes ---------------------------------------------------------------------------------------------

def _read_knobs() -> list[Knob]:
    cs = Enumeration_Knob("colorspace", "colorspace", _NUKE_DEFAULT_COLORSPACES)
    reload_ = Script_Knob("reload", "Reload")
    reload_._fake_action = lambda node: setattr(node, "_fake_reloads", getattr(node, "_fake_reloads", 0) + 1)
    return [File_Knob("file", "file"), Int_Knob("first", "frame range"), Int_Knob("last", ""),
            Int_Knob("origfirst", "original range"), Int_Knob("origlast", ""), cs, reload_,
            Enumeration_Knob("on_error", "missing frames", ["error", "black", "checkerboard", "nearest frame"]),
            # Read node reference (learn.foundry.com, Read): frame_mode expression / start at / offset with the
            # number or expression in the string knob "frame"; before/after: hold, loop, bounce, black
            Enumeration_Knob("frame_mode", "frame", ["expression", "start at", "offset"]), String_Knob("frame", ""),
            Enumeration_Knob("before", "before", ["hold", "loop", "bounce", "black"]),
            Enumeration_Knob("after", "after", ["hold", "loop", "bounce", "black"])]


def _create_cat_file(node: Node) -> None:
    """CatFileCreator's button: checks the TorchScript file exists and writes the .cat (the fake writes a stub)."""
    source, target = node["torchScriptFile"].value(), node["catFile"].value()
    if not source or not os.path.isfile(source):
        raise RuntimeError(f"CatFileCreator: torchScriptFile {source!r} does not exist")
    if not target:
        raise RuntimeError("CatFileCreator: catFile is empty")
    with open(target, "wb") as fh:
        fh.write(b"FAKE-CAT " + node["modelId"].value().encode() + b" " + node["channelsIn"].value().encode())


def _cat_knobs() -> list[Knob]:
    button = PyScript_Knob("createCatFile", "Create .cat file and Inference")
    button._fake_action = _create_cat_file
    out_scale = Int_Knob("outputScale", "Output Scale")
    out_scale.setValue(1)
    return [File_Knob("torchScriptFile", "TorchScript File"), File_Knob("catFile", "Cat File"),
            String_Knob("channelsIn", "Channels In", "rgba.red, rgba.green, rgba.blue"),
            String_Knob("channelsOut", "Channels Out", "rgba.red, rgba.green, rgba.blue"),
            String_Knob("modelId", "Model Id"), out_scale, button]


_NUKE_DEFAULT_COLORSPACES = ["default", "linear", "sRGB", "rec709", "Cineon", "Gamma1.8", "Gamma2.2",
                             "Gamma2.4", "Panalog", "REDLog", "ViperLog", "AlexaV3LogC", "PLogLin", "SLog",
                             "SLog1", "SLog2", "SLog3", "CLog", "Log3G10", "Log3G12", "HybridLogGamma",
                             "Protune", "BT1886", "st2084", "raw"]

_BUILTIN_KNOBS: dict[str, Callable[[], list[Knob]]] = {
    "Read": _read_knobs,
    "Switch": lambda: [Double_Knob("which", "which")],
    "CatFileCreator": _cat_knobs,
    "Inference": lambda: [File_Knob("modelFile", "Model File")],
    "Root": lambda: [Int_Knob("first_frame", "frame range"), Int_Knob("last_frame", ""),
                     File_Knob("project_directory", "project directory"),
                     Enumeration_Knob("OCIO_config", "OpenColorIO config",
                                      ["nuke-default", "aces_1.2", "fn-nuke_cg-config-v1.0.0_aces-v1.3_ocio-v2.1",
                                       "custom"])],
}
_INPUTS = {"Read": 0, "Input": 0, "Output": 1, "Switch": 2, "Group": 0, "CatFileCreator": 0, "Inference": 1,
           "Dot": 1, "Root": 0}
_NUKEX_ONLY = {"CatFileCreator", "Inference"}


class Node:
    """A node: a class name, a unique name in its group, knobs and inputs."""

    def __init__(self, cls: str, parent: Group | None):
        self._class = cls
        self._parent = parent
        self._knobs: dict[str, Knob] = {}
        self._inputs: dict[int, Node] = {}
        self._x = self._y = 0
        self._selected = False
        self._deleted = False
        self._name = ""
        for knob in _BUILTIN_KNOBS.get(cls, list)():
            self._add(knob)
        if parent is not None:
            self._name = parent._unique(f"{cls}1")
            parent._children.append(self)

    def _add(self, knob: Knob) -> None:
        knob._node = self
        self._knobs[knob.name()] = knob

    def Class(self) -> str:
        return self._class

    def name(self) -> str:
        self._alive()
        return self._name

    def setName(self, name: str, uncollide: bool = True, updateExpressions: bool = False) -> None:
        parent = self._parent
        if parent is not None and parent.node(name) not in (None, self):
            if not uncollide:
                raise ValueError(f"a node named {name!r} already exists")
            name = parent._unique(name)
        self._name = name

    def fullName(self) -> str:
        if self._parent is None or self._parent is _root:
            return self._name
        return f"{self._parent.fullName()}.{self._name}"

    def _alive(self) -> None:
        if self._deleted:   # what Nuke raises for a Python object whose node was deleted
            raise ValueError("A PythonObject is not attached to a node")

    def knob(self, name: str) -> Knob | None:
        self._alive()
        return self._knobs.get(name)

    def knobs(self) -> dict[str, Knob]:
        return dict(self._knobs)

    def __getitem__(self, name: str) -> Knob:
        self._alive()
        try:
            return self._knobs[name]
        except KeyError:
            raise NameError(f"knob {name} does not exist") from None

    def addKnob(self, knob: Knob) -> None:
        if knob.name() in self._knobs:
            raise ValueError(f"knob {knob.name()} already exists")
        self._add(knob)

    def input(self, i: int) -> Node | None:
        return self._inputs.get(i)

    def inputs(self) -> int:
        return max(self._inputs) + 1 if self._inputs else 0

    def maxInputs(self) -> int:
        """A Group has as many inputs as Input nodes inside it; a Switch takes any number."""
        if self._class == "Group" and isinstance(self, Group):
            return sum(1 for child in self._children if child._class == "Input")
        return 1_000_000 if self._class == "Switch" else _INPUTS.get(self._class, 1)

    def setInput(self, i: int, node: Node | None) -> bool:
        """False (and nothing connected) for an input the node does not have, as Nuke's canSetInput."""
        if node is not None and not 0 <= i < self.maxInputs():
            return False
        if node is None:
            self._inputs.pop(i, None)
        else:
            self._inputs[i] = node
        return True

    def xpos(self) -> int:
        return self._x

    def ypos(self) -> int:
        return self._y

    def setXYpos(self, x: int, y: int) -> None:
        self._x, self._y = int(x), int(y)

    def setSelected(self, selected: bool) -> None:
        self._selected = bool(selected)

    def isSelected(self) -> bool:
        return self._selected

    def __repr__(self) -> str:
        return f"<{self._class} {self.fullName()}>"


class Group(Node):
    """A Group: holds nodes. ``begin()``/``end()`` or ``with group:`` make it the context for new nodes."""

    def __init__(self, cls: str = "Group", parent: Group | None = None):
        self._children: list[Node] = []
        super().__init__(cls, parent)

    def _unique(self, name: str) -> str:
        if self.node(name) is None:
            return name
        stem = name.rstrip("0123456789")
        n = 1
        while self.node(f"{stem}{n}") is not None:
            n += 1
        return f"{stem}{n}"

    def node(self, name: str) -> Node | None:
        first, _, rest = name.partition(".")
        for child in self._children:
            if child._name == first:
                if rest:
                    return child.node(rest) if isinstance(child, Group) else None
                return child
        return None

    def nodes(self) -> list[Node]:
        return list(self._children)

    def begin(self) -> Group:
        _context.append(self)
        return self

    def end(self) -> None:
        if len(_context) > 1 and _context[-1] is self:
            _context.pop()

    def __enter__(self) -> Group:  # noqa: PYI034
        return self.begin()

    def __exit__(self, *exc: object) -> None:
        self.end()


class Root(Group):
    def __init__(self) -> None:
        super().__init__("Root", None)
        self._name = "root"
        self["first_frame"].setValue(1)
        self["last_frame"].setValue(100)


_root = Root()
_context: list[Group] = [_root]


class _Nodes:
    """``nuke.nodes.<Class>(**knobs)``: create a node in the current context, knobs set from keywords."""

    def __getattr__(self, cls: str) -> Callable[..., Node]:
        def create(**kwargs: Any) -> Node:
            if cls in _NUKEX_ONLY and not env.get("nukex", False):
                raise RuntimeError(f"{cls} is only available in NukeX or Nuke Studio")
            parent = _context[-1]
            node: Node = Group(cls, parent) if cls == "Group" else Node(cls, parent)
            inputs = kwargs.pop("inputs", None)
            name = kwargs.pop("name", None)
            if name:
                node.setName(name)
            for key, value in kwargs.items():
                node[key].setValue(value)
            for i, n in enumerate(inputs or []):
                node.setInput(i, n)
            return node
        return create


nodes = _Nodes()


def root() -> Root:
    return _root


def thisNode() -> Node:
    return _this_node[-1] if _this_node else _root


def toNode(name: str) -> Node | None:
    if name == "root":
        return _root
    return _context[-1].node(name) or (_root.node(name) if "." in name else None)


def allNodes(filter: str | None = None, group: Group | None = None, recurseGroups: bool = False) -> list[Node]:
    found: list[Node] = []
    for node in (group or _context[-1]).nodes():
        if filter is None or node.Class() == filter:
            found.append(node)
        if recurseGroups and isinstance(node, Group):
            found.extend(allNodes(filter, node, True))
    return found


def selectedNodes(filter: str | None = None) -> list[Node]:
    return [n for n in allNodes(filter) if n.isSelected()]


def selectedNode() -> Node:
    selected = selectedNodes()
    if not selected:
        raise ValueError("No node selected")
    return selected[-1]


def delete(node: Node) -> None:
    if node._parent is not None and node in node._parent._children:
        node._parent._children.remove(node)
    node._deleted = True
    if isinstance(node, Group):
        for child in node.nodes():
            child._deleted = True


# --- UI ------------------------------------------------------------------------------------------------

class MenuItem:
    def __init__(self, name: str, command: str | Callable[[], Any] | None = None, **options: Any):
        self._name = name
        self._command = command
        self._options = options

    def name(self) -> str:
        return self._name

    def script(self) -> str:
        return self._command if isinstance(self._command, str) else ""

    def invoke(self) -> None:
        if callable(self._command):
            self._command()
        elif self._command:
            exec(self._command, {"__builtins__": builtins, "nuke": sys.modules[__name__]})  # noqa: S102 - as Nuke


class Menu(MenuItem):
    def __init__(self, name: str, **options: Any):
        super().__init__(name, None, **options)
        self._items: list[MenuItem] = []

    def items(self) -> list[MenuItem]:
        return list(self._items)

    def findItem(self, name: str) -> MenuItem | None:
        first, _, rest = name.partition("/")
        for item in self._items:
            if item.name() == first:
                if rest:
                    return item.findItem(rest) if isinstance(item, Menu) else None
                return item
        return None

    def addMenu(self, name: str, icon: str | None = None, tooltip: str | None = None,
                index: int = -1) -> Menu:
        found = self.findItem(name)
        if isinstance(found, Menu):
            return found
        first, _, rest = name.partition("/")
        if rest:
            return self.addMenu(first).addMenu(rest, icon=icon, tooltip=tooltip)
        menu = Menu(name, icon=icon, tooltip=tooltip)
        self._items.append(menu)
        return menu

    def addCommand(self, name: str, command: str | Callable[[], Any] | None = None, shortcut: str = "",
                   icon: str = "", tooltip: str = "", index: int = -1, readonly: bool = False,
                   shortcutContext: int = 0, tag: int = 0, tagTarget: int = 0) -> MenuItem:
        head, _, last = name.rpartition("/")
        if head:
            return self.addMenu(head).addCommand(last, command, shortcut, icon, tooltip, index)
        existing = self.findItem(name)
        if existing is not None:
            self._items.remove(existing)
        item = MenuItem(name, command, shortcut=shortcut, icon=icon, tooltip=tooltip)
        self._items.append(item)
        return item


def menu(name: str) -> Menu:
    if name not in _menus:
        _menus[name] = Menu(name)
    return _menus[name]


def message(prompt: str) -> None:
    """A dialog in the GUI (the fake records the text); printed in terminal mode."""
    _fake_messages.append(str(prompt))
    if not env.get("gui"):
        print(prompt)


REPLACE = 1        # nuke.REPLACE: substitute the frame number in nuke.filename


def addFilenameFilter(call: Callable[..., Any], args: tuple = (), kwargs: dict[str, Any] | None = None,
                      nodeClass: str = "*") -> None:
    """Foundry: "Add a function to modify filenames before Nuke passes them to the operating system ... None is
    the same as returning the string unchanged. All added functions are called in backwards order."""
    _filename_filters.append((call, tuple(args), dict(kwargs or {})))


def filename(node: Node, i: int | None = None) -> str | None:
    """Foundry's ``nuke.filename(node, i)``: "the current filename ... All expansion of commands and variables is
    done. However by default it will still have %04d sequences in it"; None when the node has no filename.
    The fake expands (see ``String_Knob.evaluate``), then runs the filename filters in backwards order. It does
    not make a relative path absolute (the reference does not say that it does)."""
    knob = node.knob("file")
    if knob is None or not str(knob.value()):
        return None
    text = _fake_expand(str(knob.value()))
    for call, args, kwargs in reversed(_filename_filters):
        changed = call(text, *args, **kwargs)
        if changed is not None:
            text = changed
    if i == REPLACE:
        import re

        text = re.sub(r"%0?(\d*)d", lambda m: f"{_fake_frame[0]:0{m.group(1) or 1}d}", text)
    return text


_fake_frame = [1]


def getFilename(message: str, pattern: str | None = None, default: str | None = None, favorites: str | None = None,
                type: str | None = None, multiple: bool = False) -> str | None:
    """The file browser. Without ``type='save'`` it is an *open* dialog, which only accepts a file that exists
    (types-nuke 13.2 ``getFilename(message, pattern, default, favorites, type, multiple)``; Foundry: type
    'save' makes it a save dialog): the fake returns None for a path that does not exist, as the artist cannot
    pick one."""
    answer = _fake_answers.get(message, default)
    if answer and type != "save" and not os.path.exists(answer):
        return None
    return answer


def getInput(prompt: str, default: str = "") -> str | None:
    return _fake_answers.get(prompt, default)


class ProgressTask:
    """``ProgressTask(name)``: a progress bar with a Cancel button; it goes away when the object is deleted.

    ``_fake_cancel_at`` (test knob, not Nuke): the user presses Cancel once progress reaches this value.
    """

    _fake_cancel_at: int | None = None

    def __init__(self, name: str):
        self.name = name
        self.message = ""
        self.progress = 0
        self.history: list[int] = []
        self._cancelled = False
        _fake_tasks.append(self)

    def setMessage(self, s: str) -> None:
        self.message = str(s)

    def setProgress(self, i: int) -> None:
        if not isinstance(i, int) or isinstance(i, bool):
            raise TypeError(f"setProgress: an integer is required, got {i!r}")
        self.progress = i
        self.history.append(i)

    def isCancelled(self) -> bool:
        if self._fake_cancel_at is not None and self.progress >= self._fake_cancel_at:
            self._cancelled = True
        return self._cancelled


def executeInMainThread(call: Callable[..., Any], args: Any = (), kwargs: dict[str, Any] | None = None) -> None:
    if type(args) is not tuple:
        args = (args,)
    _main_queue.put((call, args, dict(kwargs or {})))


def _fake_process_events(until: Callable[[], bool] | None = None, timeout: float = 60.0) -> int:
    """Run queued main-thread calls (Nuke's event loop) until ``until()`` is true and the queue is empty, or
    the timeout passes. Must be called from the main thread. Returns how many calls ran."""
    assert threading.current_thread() is _main_thread, "the fake's event loop runs in the main thread"
    ran = 0
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            call, args, kwargs = _main_queue.get(timeout=0.02)
        except queue.Empty:
            if until is None or until():
                return ran
            continue
        call(*args, **kwargs)
        ran += 1
    raise TimeoutError("fake nuke: main-thread queue did not settle")


# --- start-up, scripts ---------------------------------------------------------------------------------

def pluginPath() -> list[str]:
    return list(_plugin_path)


def pluginAddPath(args: str | list[str], addToSysPath: bool = True) -> None:
    """Prepend to the plugin path; add to sys.path if asked; run the folder's init.py (called from an init.py)."""
    paths = [args] if isinstance(args, str) else list(args)
    for path in reversed(paths):
        if path in _plugin_path:
            _plugin_path.remove(path)
        _plugin_path.insert(0, path)
        if addToSysPath and path not in sys.path:
            sys.path.insert(0, path)
        init = os.path.join(path, "init.py")
        if os.path.isfile(init):
            _fake_run_file(init)


def _fake_run_file(path: str) -> None:
    """Run a start-up file (init.py / menu.py) the way Nuke does: a fresh namespace, no ``__file__``."""
    with open(path, encoding="utf-8") as fh:
        code = compile(fh.read(), path, "exec")
    exec(code, {"__builtins__": builtins, "__name__": "__main__"})  # noqa: S102 - as Nuke runs init.py


def scriptOpen(path: str) -> None:
    if path not in _fake_scripts:
        raise RuntimeError(f"{path}: the fake cannot parse .nk files; register a builder in _fake_scripts")
    _fake_scripts[path]()


def scriptSave(path: str = "") -> bool:
    return True


_fake_reset()

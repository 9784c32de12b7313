"""The command bar's vocabulary, in one table: each command's name, aliases, arguments, help,
palette title, whether it changes the cluster, and what it does. The bar's completion, the
help, the command palette and read-only mode all read it."""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from textual.screen import Screen

from .editor import EditorScreen
from .etl_init import InitCodeScreen, InitSpecScreen
from .kube_cluster import KubeClusterScreen
from .offline import OfflineFormScreen
from .pods import PodsScreen


class CommandHost(Protocol):
    """What commands act on: the app."""

    def action_tab(self, mode: str) -> None: ...
    def action_help(self) -> None: ...
    def open_objects(self, bucket: str) -> None: ...
    def open_contexts(self, name: str = "") -> None: ...
    def push_screen(self, screen: Screen, *args, **kwargs): ...
    def exit(self, *args, **kwargs) -> None: ...


Run = Callable[[CommandHost, list[str]], None]


@dataclass(frozen=True)
class Command:
    name: str  # one or two words: "buckets", "init code"
    help: str
    run: Run
    args: str = ""  # "<bucket>" (required) or "[file]" (optional), as help shows them
    aliases: tuple[str, ...] = ()
    title: str = ""  # in the command palette ("" for none)
    mutating: bool = False  # changes the cluster: hidden and refused with --readonly

    @property
    def usage(self) -> str:
        return f":{self.name} {self.args}".rstrip()

    @property
    def needs_arg(self) -> bool:
        return self.args.startswith("<")

    @property
    def shown_help(self) -> str:
        also = ", ".join(f":{a}" for a in self.aliases)
        return f"{self.help} (also {also})" if also else self.help


def _tab(mode: str) -> Run:
    return lambda host, _args: host.action_tab(mode)


def _pods(host: CommandHost, args: list[str]) -> None:
    if args:
        host.push_screen(PodsScreen(only=args[0]))
    else:
        host.action_tab("pods")


def _cluster(host: CommandHost, _args: list[str]) -> None:
    host.push_screen(KubeClusterScreen())


def _init(kind: str) -> Run:
    def run(host: CommandHost, args: list[str]) -> None:
        form = InitCodeScreen if kind == "code" else InitSpecScreen
        host.push_screen(form(args[0] if args else ""))
    return run


def _transform(host: CommandHost, args: list[str]) -> None:
    host.push_screen(OfflineFormScreen(src=args[0] if args else None))


COMMANDS: tuple[Command, ...] = (
    Command("overview", "nodes, ETLs, running jobs and recent errors", _tab("overview"),
            aliases=("pulses",), title="Overview"),
    Command("buckets", "buckets", _tab("buckets"), aliases=("b",), title="Buckets"),
    Command("objects", "objects of a bucket",
            lambda host, args: host.open_objects(args[0].removeprefix("ais://").strip("/")),
            args="<bucket>", aliases=("o", "ls")),
    Command("etls", "ETLs", _tab("etls"), aliases=("e", "etl"), title="ETLs"),
    Command("pods", "transformer pods", _pods, args="[etl]", aliases=("p",), title="Pods"),
    Command("jobs", "transform jobs", _tab("jobs"), aliases=("j",), title="Jobs"),
    Command("ctx", "the clusters (contexts) to switch between, or switch to one",
            lambda host, args: host.open_contexts(args[0] if args else ""), args="[name]",
            aliases=("context", "contexts"), title="Contexts"),
    Command("cluster", "AIStore's proxy and target pods, from Kubernetes", _cluster,
            aliases=("k8s", "kube"), title="Kubernetes cluster"),
    Command("init code", "init an ETL from Python code", _init("code"), args="[file]",
            title="Init ETL from code", mutating=True),
    Command("init spec", "init an ETL from a YAML spec", _init("spec"), args="[file]",
            title="Init ETL from spec", mutating=True),
    Command("edit", "edit a transform and run it on a sample of objects (ctrl+r)",
            lambda host, args: host.push_screen(EditorScreen(args[0] if args else "")),
            args="[file]", title="Edit and try a transform"),
    Command("transform", "start an offline bucket transform", _transform, args="[bucket]",
            title="Transform a bucket", mutating=True),
    Command("help", "this help", lambda host, _args: host.action_help(), aliases=("h", "?")),
    Command("quit", "quit", lambda host, _args: host.exit(), aliases=("q", "exit")),
)


def completions() -> list[str]:
    """What the bar completes to: each name, with a space where arguments follow."""
    return [c.name + (" " if c.args else "") for c in COMMANDS]


def visible(readonly: bool) -> list[Command]:
    """The commands to offer: with ``readonly``, none that changes the cluster."""
    return [c for c in COMMANDS if not (readonly and c.mutating)]


class CommandError(ValueError):
    """A command that cannot run, and why, in words."""


def parse(text: str, readonly: bool = False) -> tuple[Command, list[str]] | None:
    """The command and its arguments that ``text`` (without the ``:``) asks for; None for
    nothing typed; a :class:`CommandError` saying what is wrong otherwise."""
    try:
        words = shlex.split(text)
    except ValueError:
        words = text.split()
    if not words:
        return None
    words[0] = words[0].lower()
    for command in COMMANDS:
        names = (command.name, *command.aliases)
        for name in names:
            size = len(name.split())
            if [w.lower() for w in words[:size]] == name.split():
                return _checked(command, words[size:], readonly)
    starts = [c for c in COMMANDS if c.name.split()[0] == words[0]]
    if starts and readonly and all(c.mutating for c in starts):
        raise CommandError(_readonly(words[0]))
    if starts:  # "init" alone, or "init yaml"
        raise CommandError(f":{words[0]} needs one of: "
                           + ", ".join(c.usage for c in starts))
    raise CommandError(f"unknown command {text!r}: press ? for the list")


def _checked(command: Command, args: list[str], readonly: bool) -> tuple[Command, list[str]]:
    if command.mutating and readonly:
        raise CommandError(_readonly(command.name.split()[0]))
    what = command.args.strip("<>[]")
    if command.needs_arg and not args:
        raise CommandError(f":{command.name} needs a {what}: {command.usage}")
    if len(args) > (1 if command.args else 0):
        extra = " ".join(args[1:] if command.args else args)
        taken = f"one {what}" if command.args else "no arguments"
        raise CommandError(f":{command.name} takes {taken}, not {extra!r}: {command.usage}")
    return command, args


def _readonly(verb: str) -> str:
    return f":{verb} changes the cluster, and the app was started with --readonly"

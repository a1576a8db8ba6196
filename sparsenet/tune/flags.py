"""Sweep flags generated from config fields (after open_lth's ``Hparams.add_args``).

A config field declares its type, choices, range and help once (``option(...)`` in
``sparsenet.experiments.common``); a sweep lists the fields it exposes as :class:`FieldFlag`
and gets one flag each, ``--field-name`` unless renamed. Every generated flag defaults to
``None`` ("not given": the sweep's preset or default applies), so :func:`given_fields`
returns exactly what the user set and a setting the user changed always reaches the config.
Only sweep-level flags (grid axes, budgets, modes) are written by hand.
"""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from dataclasses import dataclass
from typing import Any, Sequence

from sparsenet.experiments.common import declared_choices, help_of, range_of


FIELD_DEFAULT = "<the field's default>"  # FieldFlag(default=...): the config's own default


@dataclass(frozen=True)
class FieldFlag:
    """How a sweep exposes one config field.

    ``flag``: the flag's name (default ``--<field with dashes>``); ``choices``: narrower
    choices than the field's; ``config_checks``: leave the choices to the config (its
    one-line error) and only show them; ``default``: a value other than None when the flag
    is left out (:data:`FIELD_DEFAULT`: the field's own default); ``store_true``: a bool
    flag without ``--no-`` form; ``note``: what applies when the flag is not given
    (appended to the field's help)."""

    field: str
    flag: str | None = None
    choices: tuple[Any, ...] | None = None
    config_checks: bool = False
    default: Any = None
    store_true: bool = False
    note: str = ""

    @property
    def name(self) -> str:
        return self.flag or "--" + self.field.replace("_", "-")

    @property
    def dest(self) -> str:
        return self.name[2:].replace("-", "_")


def _spec(item: FieldFlag | str) -> FieldFlag:
    return item if isinstance(item, FieldFlag) else FieldFlag(item)


def _value_type(cls: type, name: str) -> tuple[type, bool]:
    """(element type, is a sequence) of a field, ``X | None`` unwrapped."""
    hint = typing.get_type_hints(cls)[name]
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if typing.get_origin(hint) in (typing.Union, types.UnionType) and len(args) == 1:
        hint = args[0]
    if typing.get_origin(hint) in (tuple, list):
        return typing.get_args(hint)[0], True
    return hint, False


def add_field_flags(parser: argparse.ArgumentParser | argparse._ArgumentGroup, cls: type,
                    items: Sequence[FieldFlag | str]) -> list[FieldFlag]:
    """One flag per listed field of config class ``cls``; returns the specs (for
    :func:`given_fields`)."""
    specs = [_spec(item) for item in items]
    fields = {f.name for f in dataclasses.fields(cls)}
    for spec in specs:
        if spec.field not in fields:
            raise KeyError(f"{cls.__name__} has no field {spec.field!r} (flag {spec.name})")
        kind, many = _value_type(cls, spec.field)
        choices = spec.choices or declared_choices(cls, spec.field)
        text = help_of(cls, spec.field)
        limits = range_of(cls, spec.field)
        extra = [str(limits)] if limits is not None else []  # choices: in the flag's usage
        extra += [spec.note] if spec.note else []
        help_text = text + (f" ({'; '.join(extra)})" if extra else "")
        default = spec.default
        if default == FIELD_DEFAULT:
            default = _plain(_field_default(cls, spec.field))
            help_text += f" (default {' '.join(map(str, default)) if many else default})"
        kwargs: dict[str, Any] = {"default": default, "help": help_text or None,
                                  "dest": spec.dest}
        if kind is bool:
            kwargs["action"] = "store_true" if spec.store_true else argparse.BooleanOptionalAction
            if spec.store_true:
                kwargs["default"] = bool(spec.default)
        else:
            kwargs["type"] = kind
            if many:
                kwargs["nargs"] = "+"
            if choices and spec.config_checks:
                kwargs["metavar"] = choices_text(choices)
            elif choices:
                kwargs["choices"] = choices
        parser.add_argument(spec.name, **kwargs)
    return specs


def _field_default(cls: type, name: str) -> Any:
    field = next(f for f in dataclasses.fields(cls) if f.name == name)
    if field.default is not dataclasses.MISSING:
        return field.default
    return field.default_factory()  # type: ignore[misc]


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def choices_text(choices: Sequence[Any]) -> str:
    return "{" + ",".join(map(str, choices)) + "}"


def given_fields(args: argparse.Namespace, specs: Sequence[FieldFlag]) -> dict[str, Any]:
    """``{field: value}`` of the generated flags the user gave (sequences as lists);
    flags left out (None, or a ``store_true`` left False) are not included."""
    out: dict[str, Any] = {}
    for spec in specs:
        value = getattr(args, spec.dest)
        if value is None or (spec.store_true and value is False):
            continue
        out[spec.field] = _plain(value)
    return out

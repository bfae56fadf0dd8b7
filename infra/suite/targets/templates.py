"""Templates and conditions of target files: ``"{base}/api/stream/{id}"``, ``status == 200``.

A target file is data written by someone outside the project, so neither may run code:
a template names variables only (``{name}`` or ``{credentials.email}``, no attribute
access, indexing, conversions or format specs), and a condition is a comparison of
names and constants checked node by node. Both can be checked when the file is loaded
(`variables_of`, `Condition.names`), so a typo is reported before any scenario runs.
"""

from __future__ import annotations

import ast
import operator
import re
import string
from dataclasses import dataclass
from typing import Callable, Iterable, Mapping

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?")
WHOLE = re.compile(r"\{(" + NAME.pattern + r")\}")


class TemplateError(ValueError):
    """A template or condition that cannot be used; the message names what is wrong."""


class _Omit:
    """A JSON member whose optional variable was not given: left out of the body."""


OMIT = _Omit()


def variables_of(template: str) -> list[str]:
    """The variables a template names, in order; refuses anything but plain names."""
    names = []
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise TemplateError(f"template {template!r}: {exc} (write {{{{ and }}}} for literal braces)") from None
    for _, field, spec, conversion in parsed:
        if field is None:
            continue
        if not NAME.fullmatch(field) or spec or conversion:
            raise TemplateError(f"template {template!r}: {{{field}{'!' + conversion if conversion else ''}"
                                f"{':' + spec if spec else ''}}} is not a variable name (only {{name}} or "
                                "{group.name}; no indexing, conversions or format specs)")
        names.append(field)
    return names


def render(template: str, variables: Mapping[str, object]) -> str:
    """The template with every ``{name}`` replaced by str(value); None becomes ""."""
    out = []
    for literal, field, _, _ in string.Formatter().parse(template):
        out.append(literal)
        if field is not None:
            out.append(_text(_lookup(field, template, variables)))
    return "".join(out)


def render_value(node: object, variables: Mapping[str, object], optional: Iterable[str] = ()) -> object:
    """A JSON (or form) body template: strings are rendered, other TOML values kept.

    A string that is exactly one ``{name}`` becomes the variable's value with its type
    (a number stays a number, None is null); when that name is optional and was not
    given (or is None), the member is left out, so ``{"expiresIn": "{lifetime}"}``
    sends ``{}`` when no lifetime is asked for."""
    optional = frozenset(optional)
    if isinstance(node, str):
        whole = WHOLE.fullmatch(node)
        if whole:
            name = whole.group(1)
            if name in optional and variables.get(name) is None:
                return OMIT
            return _lookup(name, node, variables)
        return render(node, variables)
    if isinstance(node, dict):
        members = {key: render_value(value, variables, optional) for key, value in node.items()}
        return {key: value for key, value in members.items() if value is not OMIT}
    if isinstance(node, list):
        return [item for item in (render_value(value, variables, optional) for value in node) if item is not OMIT]
    return node


def strings_of(node: object) -> Iterable[str]:
    """Every string inside a body template (for checking its variables at load time)."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from strings_of(value)
    elif isinstance(node, list):
        for value in node:
            yield from strings_of(value)


def _lookup(name: str, template: str, variables: Mapping[str, object]) -> object:
    if name not in variables:
        known = ", ".join(sorted(variables)) or "none"
        raise TemplateError(f"template {template!r}: unknown variable {{{name}}} (known here: {known})")
    return variables[name]


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


_COMPARE: dict[type, Callable[[object, object], bool]] = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
    ast.Gt: operator.gt, ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b,
}


@dataclass(frozen=True)
class Condition:
    """``status == 200``, ``status in [200, 201]``, ``state == "ready" and status != 404``.

    Names, constants, lists, comparisons, and/or/not: nothing else parses."""

    text: str
    tree: ast.Expression

    @classmethod
    def parse(cls, text: str) -> "Condition":
        try:
            tree = ast.parse(text.strip(), mode="eval")
        except SyntaxError as exc:
            raise TemplateError(f"condition {text!r}: {exc.msg}") from None
        condition = cls(text, tree)
        condition._walk(tree.body, None)    # refuse what is not allowed now, not at the first answer
        return condition

    @property
    def names(self) -> set[str]:
        return {node.id for node in ast.walk(self.tree) if isinstance(node, ast.Name)}

    def holds(self, names: Mapping[str, object]) -> bool:
        """Evaluate with `names` (a missing name is None: a capture not in this answer)."""
        return bool(self._walk(self.tree.body, names))

    def _walk(self, node: ast.AST, names: Mapping[str, object] | None) -> object:
        def walk(child: ast.AST) -> object:
            return self._walk(child, names)

        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, str, bool, type(None))):
            return node.value
        if isinstance(node, ast.Name):
            return None if names is None else names.get(node.id)
        if isinstance(node, (ast.List, ast.Tuple)):
            return [walk(item) for item in node.elts]
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return not walk(node.operand)
        if isinstance(node, ast.BoolOp):
            values = [walk(value) for value in node.values]
            return all(values) if isinstance(node.op, ast.And) else any(values)
        if isinstance(node, ast.Compare) and all(type(op) in _COMPARE for op in node.ops):
            left, result = walk(node.left), True
            for op, right_node in zip(node.ops, node.comparators, strict=True):
                right = walk(right_node)
                if names is not None:
                    try:
                        result = result and _COMPARE[type(op)](left, right)
                    except TypeError:     # None < 3, "a" in None: an answer without that value
                        result = False
                left = right
            return result
        raise TemplateError(f"condition {self.text!r}: {ast.unparse(node)!r} is not allowed (use names, constants, "
                            "lists, == != < <= > >= in, not in, and, or, not)")

"""Every name a template uses, checked against what its kind declares, in every branch (issue 18).

The issue asks that "every variable, loop and condition" a deposited template uses exist in the
context. Filling the kind's example reaches only the branches its data take, and docxtpl's list
of variables gives only top-level names: a misspelt ``{{ e.nomm }}`` inside a loop over an empty
table, or ``{{ document.inexistant }}`` in an ``{% else %}`` the example never takes, went into
force and failed on a real document. Here the template's Jinja tree (for a Word template, the
one docxtpl makes of its body, headers, footers and properties) is walked whole: each name, each
attribute path is looked up in the *shape* of the context, made from the kind's schema (its
groups, its tables' rows, ``revue``) and from the names the service adds (``document``,
``calcul``, ``libelles``, ``departement``); a loop variable takes the shape of a row of what it
iterates over, so ``{% for e in menage.enfants %}`` checks ``e.nom`` against the table's columns.

What the shape cannot tell (a filter's result, a macro's parameter, a ``{% set %}`` block) is
not checked: the walk refuses only what is certainly unknown.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from docxtpl import DocxTemplate
from jinja2 import Environment, nodes
from marshmallow import Schema

from schemas.base.fields import field_kind, row_schema
from webforms.rendering.versions import patched_parts


class _Any:
    """Anything: a value whose shape is not known statically (nothing is checked below it)."""


class _Leaf:
    """A plain value: a text, a number, a yes/no (only its own methods are attributes)."""


ANY = _Any()
LEAF = _Leaf()


@dataclass(frozen=True)
class Fields:
    """A mapping whose keys are known: a group of the schema, ``document``, ``calcul``…"""

    keys: Mapping[str, Shape] = field(default_factory=dict)


@dataclass(frozen=True)
class Rows:
    """A list whose items have one shape: a table's rows, a list of texts."""

    row: Shape = ANY


Shape = _Any | _Leaf | Fields | Rows


def shape_of_value(value: Any) -> Shape:
    """Return the shape of a plain value (an example context, the Département's identity)."""
    if isinstance(value, Mapping):
        return Fields({str(k): shape_of_value(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        shapes = [shape_of_value(v) for v in value]
        return Rows(_merge(shapes))
    return LEAF


def _merge(shapes: list[Shape]) -> Shape:
    """Return one shape for a list's items: the union of their keys when all are mappings."""
    if not shapes:
        return ANY
    if all(isinstance(s, Fields) for s in shapes):
        keys: dict[str, Shape] = {}
        for shape in shapes:
            assert isinstance(shape, Fields)
            for key, sub in shape.keys.items():
                keys[key] = sub if key not in keys or keys[key] == sub else _merge([keys[key], sub])
        return Fields(keys)
    if all(isinstance(s, Rows) for s in shapes):
        return Rows(_merge([s.row for s in shapes if isinstance(s, Rows)]))
    return LEAF if all(s is LEAF for s in shapes) else ANY


def shape_of_schema(schema: Schema | type[Schema]) -> Fields:
    """Return the shape ``format_section`` gives a schema's data: every declared field, filled or not."""
    if isinstance(schema, type):
        schema = schema()
    keys: dict[str, Shape] = {}
    for name, f in schema.fields.items():
        widget = field_kind(f)
        if widget == "group":
            keys[name] = shape_of_schema(f.schema)  # type: ignore[attr-defined]
        elif widget == "rows":
            keys[name] = Rows(shape_of_schema(row_schema(f)))
        elif widget == "checkboxes":
            keys[name] = Rows(LEAF)
        else:
            keys[name] = LEAF
    return Fields(keys)


@dataclass(frozen=True)
class Unknown:
    """A name the template uses and the context lacks: its whole path, the last name, and its line."""

    path: str
    name: str
    parent: str
    lineno: int
    template: str | None = None  # another template it extends or includes, else None

    def message(self, owner: str) -> str:
        """Say it in French, for ``owner`` (« le type … », « la page … »)."""
        if not self.parent:
            return f"la variable « {self.name} » n'existe pas pour {owner}"
        return f"« {self.name} » n'existe pas dans « {self.parent} » (« {self.path} ») pour {owner}"


def _attribute(shape: Shape, name: str) -> Shape | None:
    """Return the shape of ``shape.name``; None when it certainly does not exist."""
    if isinstance(shape, _Any):
        return ANY
    if isinstance(shape, Fields):
        if name in shape.keys:
            return shape.keys[name]
        return ANY if hasattr(dict, name) else None
    if isinstance(shape, Rows):
        return ANY if hasattr(list, name) else None
    return ANY if hasattr(str, name) else None


def _path(node: nodes.Node) -> str | None:
    """Return ``a.b.c`` for a chain of names and attributes, else None."""
    if isinstance(node, nodes.Name):
        return node.name
    if isinstance(node, nodes.Getattr):
        parent = _path(node.node)
        return f"{parent}.{node.attr}" if parent else None
    if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
        parent = _path(node.node)
        return f"{parent}.{node.arg.value}" if parent and isinstance(node.arg.value, str) else (f"{parent}[{node.arg.value}]" if parent else None)
    return None


class _Walk:
    """One walk of a template's tree: scopes of local names, and what it found unknown."""

    def __init__(self, context: Fields, globals_: Mapping[str, Shape], template: str | None) -> None:
        self.context = context
        self.globals = globals_
        self.template = template
        self.scopes: list[dict[str, Shape]] = [{}]
        self.found: list[Unknown] = []

    def _unknown(self, node: nodes.Node, name: str, parent: str) -> None:
        path = _path(node) or name
        self.found.append(Unknown(path, name, parent, getattr(node, "lineno", 0) or 0, self.template))

    def _lookup(self, name: str) -> Shape | None:
        for scope in reversed(self.scopes):
            if name in scope:
                return scope[name]
        if name in self.context.keys:
            return self.context.keys[name]
        return self.globals.get(name)

    def _bind(self, target: nodes.Node, shape: Shape) -> None:
        if isinstance(target, nodes.Name):
            self.scopes[-1][target.name] = shape
        elif isinstance(target, nodes.Tuple):
            for item in target.items:
                self._bind(item, ANY)
        elif isinstance(target, nodes.NSRef) and self._lookup(target.name) is None:
            self._unknown(target, target.name, "")

    def _scoped(self, bound: dict[str, Shape], body: list[nodes.Node]) -> None:
        self.scopes.append(dict(bound))
        try:
            self.body(body)
        finally:
            self.scopes.pop()

    def body(self, statements: list[nodes.Node]) -> None:
        """Walk a list of statements in the current scope."""
        for statement in statements:
            self.stmt(statement)

    def stmt(self, node: nodes.Node) -> None:
        """Walk one statement, binding what it binds."""
        if isinstance(node, nodes.For):
            iterated = self.expr(node.iter)
            row = iterated.row if isinstance(iterated, Rows) else ANY
            self.scopes.append({"loop": ANY})
            self._bind(node.target, row)
            try:
                if node.test is not None:
                    self.expr(node.test)
                self.body(node.body)
            finally:
                self.scopes.pop()
            self.body(node.else_)
        elif isinstance(node, nodes.Assign):
            value = self.expr(node.node)
            if isinstance(node.target, nodes.Tuple) and isinstance(node.node, nodes.Tuple) and len(node.target.items) == len(node.node.items):
                for target, item in zip(node.target.items, node.node.items, strict=True):
                    self._bind(target, self.expr(item))
            else:
                self._bind(node.target, value)
        elif isinstance(node, nodes.AssignBlock):
            self.body(node.body)
            self._bind(node.target, ANY)
        elif isinstance(node, nodes.Macro):
            for default in node.defaults:
                self.expr(default)
            self.scopes[-1][node.name] = ANY
            self._scoped({**{a.name: ANY for a in node.args}, "caller": ANY, "varargs": ANY, "kwargs": ANY}, node.body)
        elif isinstance(node, nodes.CallBlock):
            self.expr(node.call)
            for default in node.defaults:
                self.expr(default)
            self._scoped({a.name: ANY for a in node.args}, node.body)
        elif isinstance(node, nodes.With):
            bound = {}
            for target, value in zip(node.targets, node.values, strict=True):
                shape = self.expr(value)
                if isinstance(target, nodes.Name):
                    bound[target.name] = shape
            self._scoped(bound, node.body)
        elif isinstance(node, nodes.Import):
            self.scopes[-1][node.target] = ANY
        elif isinstance(node, nodes.FromImport):
            for name in node.names:
                self.scopes[-1][name if isinstance(name, str) else name[1]] = ANY
        elif isinstance(node, nodes.Expr | nodes.Output | nodes.If | nodes.Template | nodes.Block | nodes.FilterBlock | nodes.ScopedEvalContextModifier | nodes.EvalContextModifier | nodes.Scope | nodes.OverlayScope | nodes.Include | nodes.Extends):
            for child in node.iter_child_nodes():
                if isinstance(child, nodes.Stmt | nodes.Template):
                    self.stmt(child)
                elif isinstance(child, nodes.Expr):
                    self.expr(child)
        elif isinstance(node, nodes.Expr):
            self.expr(node)
        else:
            for child in node.iter_child_nodes():
                self.stmt(child)

    def expr(self, node: nodes.Node) -> Shape:
        """Walk an expression; return the shape of its value."""
        if isinstance(node, nodes.Name):
            if node.ctx != "load":
                return ANY
            found = self._lookup(node.name)
            if found is None:
                self._unknown(node, node.name, "")
                return ANY
            return found
        if isinstance(node, nodes.Getattr):
            return self._member(node, self.expr(node.node), node.attr)
        if isinstance(node, nodes.Getitem):
            owner = self.expr(node.node)
            if isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
                return self._member(node, owner, node.arg.value)
            self.expr(node.arg)
            return owner.row if isinstance(owner, Rows) and isinstance(node.arg, nodes.Const) else ANY
        if isinstance(node, nodes.TemplateData | nodes.Const):
            return LEAF
        for child in node.iter_child_nodes():
            if isinstance(child, nodes.Expr):
                self.expr(child)
            elif isinstance(child, nodes.Keyword | nodes.Pair):
                for grandchild in child.iter_child_nodes():
                    self.expr(grandchild)
        return ANY

    def _member(self, node: nodes.Getattr | nodes.Getitem, owner: Shape, name: str) -> Shape:
        found = _attribute(owner, name)
        if found is None:
            self._unknown(node, name, _path(node.node) or "")
            return ANY
        return found


def unknown_names(tree: nodes.Template, context: Fields, globals_: Mapping[str, Shape], template: str | None = None) -> list[Unknown]:
    """Return every name or attribute path of ``tree`` that ``context`` (or the globals) lacks."""
    walk = _Walk(context, globals_, template)
    walk.stmt(tree)
    return walk.found


def referenced(tree: nodes.Template) -> Iterator[str]:
    """Yield the templates ``tree`` extends, includes or imports, when named by a constant."""
    for node in tree.find_all((nodes.Extends, nodes.Include, nodes.Import, nodes.FromImport)):
        target = node.template
        if isinstance(target, nodes.Const) and isinstance(target.value, str):
            yield target.value


def docx_sources(source: bytes) -> list[str]:
    """Return the Jinja sources docxtpl renders of a Word template: body, headers, footers, properties."""
    properties = DocxTemplate(io.BytesIO(source)).get_docx().core_properties
    # The properties docxtpl renders too (DocxTemplate.render_properties).
    return [*patched_parts(source), *(getattr(properties, name) or "" for name in ("author", "comments", "identifier", "language", "subject", "title"))]


def globals_of(env: Environment) -> dict[str, Shape]:
    """Return the shapes of an environment's globals: the Département's identity, Jinja's functions."""
    return {name: shape_of_value(value) if isinstance(value, Mapping) else ANY for name, value in env.globals.items()}

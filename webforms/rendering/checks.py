"""Checks that each template uses only what its kind's context provides."""

from __future__ import annotations

import datetime as dt
from typing import Any

from jinja2 import TemplateError

from schemas import registry
from schemas.base.kind import Kind
from webforms.rendering import Renderer
from webforms.rendering.context import DocumentMeta, build_context


def example_context(kind: Kind, *, draft: bool = False) -> dict[str, Any]:
    """Return the context of the kind's example, with its review example if it has one."""
    review = kind.review.schema().load(kind.review.example) if kind.review else None
    meta = DocumentMeta(
        reference=f"{kind.reference_prefix}-2019-000001",
        organisation="Organisation exemple",
        author="Auteur exemple",
        issued_at=dt.datetime(2019, 9, 6, 14, 0, tzinfo=dt.UTC),
        draft=draft,
        version=1,
    )
    return build_context(kind, kind.load(kind.example), meta, review)


def check_templates(renderer: Renderer) -> list[str]:
    """Return one French line per problem: a variable a template uses but the context lacks."""
    problems: list[str] = []
    for kind in registry().values():
        ctx = example_context(kind)
        try:
            used = {output.template: renderer.template_variables(output) for output in kind.outputs()}
        except (TemplateError, OSError, ValueError) as exc:
            problems.append(f"{kind.name} : modèle illisible ({exc})")
            continue
        for template, names in used.items():
            for name in sorted(names - set(ctx)):
                problems.append(f"{template} : la variable « {name} » n'est pas fournie par le type « {kind.name} ».")
        # Fill the example too: a strict fill also catches a wrong nested name (menage.nomm). A
        # PDF's HTML is enough: printing it would only add WeasyPrint's time.
        for output in kind.outputs():
            try:
                if output.fmt == "docx":
                    renderer.render(output, ctx)
                else:
                    renderer.html(output, ctx)
            except TemplateError as exc:
                problems.append(f"{output.template} : {exc}")
    return problems

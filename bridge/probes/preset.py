"""The demo shop as a preset written in the drill language: one ``http`` probe and one ``eventually``.

A drill without ``steady_state.probes`` gets these declarations, tuned by its older
``steady_state.probe`` block (rate, timeout, operations, frontend_url), its ``slo`` and its
``channel`` — so every three-line drill keeps its meaning. docs/drill-language.md shows the
preset written out ("The demo shop, written in this language"); ``tests/test_probe_docs.py``
checks that the text there and :func:`shop_document` agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import TypeAdapter

from bridge.probes.contract import ProbeDeclaration
from bridge.probes.kinds.eventually import DEFAULT_POLL_S
from bridge.probes.registry import declaration_union

USER = "probe-{run_id}-{token}-{seq}"  # one fresh cart per flow; the token keeps preflight and drill apart


def shop_document(
    *,
    frontend_url: str = "http://127.0.0.1:8080",
    rate: float = 20.0,
    timeout_s: float = 2.0,
    operations: Sequence[str] = ("add_to_cart", "cart_visible"),
    channel: str = "rocketmq",
    visibility_s_max: float = 5.0,
    product_id: str | None = None,
    max_in_flight: int | None = None,
    poll_delays_s: Sequence[float] = DEFAULT_POLL_S,
) -> list[dict[str, Any]]:
    """The preset as drill-language data (what a user would write under ``steady_state.probes``)."""
    shop: dict[str, Any] = {
        "kind": "http",
        "name": "shop",
        "base_url": frontend_url.rstrip("/"),
        "rate": rate,
        "timeout": timeout_s,
        "mode": channel,
        "operations": [
            {
                "name": "add_to_cart",
                "method": "POST",
                "url": "/cart",
                "form": {"user_id": USER, "product_id": "{product_id}", "quantity": "1", "channel": channel},
                "expect": {"status": ["2xx", "3xx"]},
                "record": "add_to_cart" in operations,
            }
        ],
    }
    if product_id is not None:
        shop["values"] = {"product_id": product_id}
    else:
        shop["setup"] = [
            {
                "name": "products",
                "url": "/products",
                "headers": {"Accept": "application/json"},
                "expect": {"status": [200], "json_path": "$[0].id"},
                "capture": {"product_id": {"json_path": "$[0].id"}},
            }
        ]
    if max_in_flight is not None:
        shop["max_in_flight"] = max_in_flight
    doc = [shop]
    if "cart_visible" in operations:
        doc.append(
            {
                "kind": "eventually",
                "name": "cart_visible",
                "after": "add_to_cart",
                "within": visibility_s_max,
                "poll": list(poll_delays_s),
                "check": {
                    "url": "/cart?user_id=" + USER,
                    "headers": {"Accept": "application/json"},
                    "expect": {"status": [200], "json_path": "$..product_id", "equals": "{product_id}"},
                },
            }
        )
    return doc


def shop_probes(**settings: Any) -> tuple[ProbeDeclaration, ...]:
    """The preset's declarations, validated like any drill's (see :func:`shop_document`)."""
    from bridge.spec.models import check_probes

    adapter: TypeAdapter[Any] = TypeAdapter(list[declaration_union()])  # type: ignore[misc,arg-type]
    probes = adapter.validate_python(shop_document(**settings))
    check_probes(probes)
    return tuple(probes)

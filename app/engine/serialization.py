"""Turns a running workflow into JSON and back, without its specs (they are stored once per version)."""

from __future__ import annotations

from contextvars import ContextVar
from datetime import date
from decimal import Decimal
from typing import Any

from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter
from SpiffWorkflow.bpmn.serializer.helpers.registry import DefaultRegistry
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

_specs_for_load: ContextVar[tuple[Any, dict[str, Any]] | None] = ContextVar(
    "kasane_specs_for_load", default=None
)


_PLAIN = frozenset({str, int, float, bool, type(None)})


class KasaneRegistry(DefaultRegistry):
    """Spiff's registry plus the value types our data may hold (date, Decimal, set)."""

    def __init__(self) -> None:
        super().__init__()
        self.register(
            date, lambda v: {"value": v.isoformat()}, lambda v: date.fromisoformat(v["value"])
        )
        self.register(Decimal, lambda v: {"value": str(v)}, lambda v: Decimal(v["value"]))
        self.register(set, lambda v: {"items": list(v)}, lambda v: set(v["items"]))
        self.register(frozenset, lambda v: {"items": list(v)}, lambda v: frozenset(v["items"]))

    def restore(self, val: Any, **kwargs: Any) -> Any:
        if type(val) in _PLAIN:  # most task data: nothing to look up
            return val
        # A dict whose "typename" names nothing we know is plain data, not a crash.
        if (
            isinstance(val, dict)
            and "typename" in val
            and val["typename"] not in self.convert_from_dict
        ):
            return {k: self.restore(v, **kwargs) for k, v in val.items()}
        return super().restore(val, **kwargs)


class SpeclessWorkflowConverter(BpmnWorkflowConverter):
    """Leaves the specs out of the document; on load they come from the definition cache."""

    def to_dict(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        dct = super(BpmnWorkflowConverter, self).to_dict(workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct: dict[str, Any]) -> BpmnWorkflow:
        specs = _specs_for_load.get()
        if specs is None:
            raise RuntimeError("load a workflow through engine.serialization.load")
        dct["spec"], dct["subprocess_specs"] = specs
        return super().from_dict(dct)


def _build_serializer() -> BpmnWorkflowSerializer:
    config = dict(SPIFF_CONFIG)
    config[BpmnWorkflow] = SpeclessWorkflowConverter
    registry = BpmnWorkflowSerializer.configure(config, KasaneRegistry())
    return BpmnWorkflowSerializer(registry)


_SERIALIZER = _build_serializer()


def dump(workflow: BpmnWorkflow) -> str:
    """Serialize a workflow's state (tasks, data, events) to JSON, without specs."""
    return _SERIALIZER.serialize_json(workflow)


def load(state: str, spec: Any, subprocess_specs: dict[str, Any]) -> BpmnWorkflow:
    """Restore a workflow from ``dump`` output with the given (cached) specs."""
    token = _specs_for_load.set((spec, subprocess_specs))
    try:
        return _SERIALIZER.deserialize_json(state)
    finally:
        _specs_for_load.reset(token)

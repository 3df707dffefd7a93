"""The only package that imports SpiffWorkflow: specs, runtime, scripting, serialization.

Importing it applies one guard to the library: SpiffWorkflow 3.2's task iterators stop
at depth 1000 by default, so a long loop silently stalls and ``is_completed()`` lies.
The iterators are not recursive, so an unbounded depth is safe.
"""

from SpiffWorkflow.bpmn.util.task import BpmnTaskIterator
from SpiffWorkflow.util.task import TaskIterator

UNBOUNDED_DEPTH = 10**9


def _lift_depth_limit() -> None:
    for cls in (TaskIterator, BpmnTaskIterator):
        defaults = list(cls.__init__.__defaults__ or ())
        names = cls.__init__.__code__.co_varnames[1 : cls.__init__.__code__.co_argcount]
        offset = len(names) - len(defaults)
        defaults[names.index("max_depth") - offset] = UNBOUNDED_DEPTH
        cls.__init__.__defaults__ = tuple(defaults)


_lift_depth_limit()

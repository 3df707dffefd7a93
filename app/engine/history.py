"""Bounded history: drops finished tasks that can no longer matter, so a step's cost stays flat.

SpiffWorkflow keeps every finished task in the document, and most operations walk the
whole tree, so a case that loops through monitoring for years gets slower with each step.
Like Temporal's continue-as-new, at a safe point we keep only what is still alive: the
lowest task that is an ancestor of every unfinished task (everything still to happen lies
beneath it) is re-attached directly to the root, and the finished tasks above and beside
it are dropped. The full history lives in Kasane's own tables (work items, submissions).

A point is safe when every unfinished task of the workflow hangs below one task; joins and
boundary events only look inside that subtree, so dropping the rest changes nothing that
can still run. Subprocess documents are compacted the same way; finished subprocesses whose
calling task is dropped are dropped with it.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState


def compact(workflow: BpmnWorkflow) -> int:
    """Compact the main workflow and its live subprocesses; returns the number of tasks dropped."""
    dropped = _compact_one(workflow, workflow)
    for subprocess in list(workflow.subprocesses.values()):
        if not subprocess.completed:
            dropped += _compact_one(subprocess, workflow)
    return dropped


def _compact_one(wf: Any, top: BpmnWorkflow) -> int:
    root = wf.task_tree
    unfinished = [t for t in wf.tasks.values() if not t.has_state(TaskState.FINISHED_MASK)]
    if not unfinished:
        return 0
    anchor = _lowest_common_ancestor(unfinished)
    if anchor is None or anchor is root or anchor.parent is root:
        return 0
    keep: set[UUID] = {root.id}
    stack = [anchor]
    while stack:
        task = stack.pop()
        keep.add(task.id)
        stack.extend(task.children)
    doomed = [tid for tid in wf.tasks if tid not in keep]
    anchor._parent = root.id
    root._children = [anchor.id]
    for tid in doomed:
        if tid in top.subprocesses:
            _drop_subprocess(top, tid)
        del wf.tasks[tid]
    if wf.last_task is not None and wf.last_task.id not in keep:
        wf.last_task = None
    return len(doomed)


def _lowest_common_ancestor(tasks: list[Any]) -> Any:
    def path(task: Any) -> list[Any]:
        chain = []
        while task is not None:
            chain.append(task)
            task = task.parent
        return chain[::-1]

    paths = [path(t) for t in tasks]
    common = None
    for level in zip(*paths, strict=False):
        if all(node is level[0] for node in level):
            common = level[0]
        else:
            break
    return common


def _drop_subprocess(top: BpmnWorkflow, task_id: UUID) -> None:
    subprocess = top.subprocesses.pop(task_id)
    for inner_id in list(subprocess.tasks):
        if inner_id in top.subprocesses:
            _drop_subprocess(top, inner_id)
